// The floor for Stratus's classic mode: a minimal HTTP server that forks and execs COMMAND for
// every request (body on stdin, stdout is the answer), as OpenFaaS's classic watchdog does inside
// its container, with no sandbox, user switch or rlimits. A process per connection, keep-alive.
//   cc -O2 -o fork_server fork_server.c && ./fork_server PORT COMMAND [ARGUMENT...]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char **command;

static ssize_t run(const char *body, size_t length, char *out, size_t capacity) {
    int in[2], result[2];
    if (pipe(in) || pipe(result)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(result[1], 1);
        close(in[0]); close(in[1]); close(result[0]); close(result[1]);
        execvp(command[0], command);
        _exit(127);
    }
    close(in[0]);
    close(result[1]);
    if (length) (void)!write(in[1], body, length);  // small bodies: the pipe holds them
    close(in[1]);
    size_t used = 0;
    ssize_t n;
    while ((n = read(result[0], out + used, capacity - used)) > 0) used += (size_t)n;
    close(result[0]);
    int status;
    waitpid(pid, &status, 0);
    return (ssize_t)used;
}

static void serve(int connection) {
    static char request[1 << 16], answer[1 << 20], head[256];
    size_t used = 0;
    for (;;) {
        char *end;
        while (!(end = memmem(request, used, "\r\n\r\n", 4))) {
            ssize_t n = read(connection, request + used, sizeof request - used);
            if (n <= 0) return;
            used += (size_t)n;
        }
        size_t header = (size_t)(end - request) + 4, length = 0;
        char *field = strcasestr(request, "\r\ncontent-length:");
        if (field && field < end) length = strtoul(field + 17, NULL, 10);
        while (used < header + length) {
            ssize_t n = read(connection, request + used, sizeof request - used);
            if (n <= 0) return;
            used += (size_t)n;
        }
        ssize_t size = run(request + header, length, answer, sizeof answer);
        if (size < 0) return;
        int h = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zd\r\n\r\n", size);
        struct iovec parts[2] = {{head, (size_t)h}, {answer, (size_t)size}};  // one write: no Nagle wait between head and body
        if (writev(connection, parts, 2) < 0) return;
        memmove(request, request + header + length, used - header - length);
        used -= header + length;
    }
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s PORT COMMAND [ARGUMENT...]\n", argv[0]); return 64; }
    command = argv + 2;
    int listener = socket(AF_INET, SOCK_STREAM, 0), on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *)&address, sizeof address) || listen(listener, 128)) { perror("listen"); return 1; }
    signal(SIGCHLD, SIG_IGN);  // connection handlers reap themselves
    for (;;) {
        int connection = accept(listener, NULL, NULL);
        if (connection < 0) continue;
        if (fork() == 0) {
            signal(SIGCHLD, SIG_DFL);
            close(listener);
            serve(connection);
            _exit(0);
        }
        close(connection);
    }
}
