// stratus-launcher, the classic-mode launcher: one per replica, started once inside the function's sandbox (as its
// user, under its rlimits), it forks and execs the function's command for every call, the way the
// watchdog inside an OpenFaaS container does. The server talks to it over a SOCK_SEQPACKET socket
// on fd 3: a spawn message carries the call's id, its environment and its stdin/stdout/stderr and
// status pipe (as SCM_RIGHTS); a kill message stops a call's process group; the launcher writes each
// call's wait status to its status pipe once the process has exited (what it left behind is killed
// then), so the answer goes straight to the thread waiting for it.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "stratus_sys.h"

// Linked statically (see Package.swift): a layer mounted at /opt, or any other view of the system a
// sandbox gives, cannot hide the libraries it would otherwise load.

#define CHANNEL 3
#define MAX_MESSAGE (1024 * 1024)

struct call { uint64_t id; pid_t pid; int status; };

static struct call *calls;
static size_t call_count, call_capacity;

static int send_message(uint32_t type, uint64_t id, int64_t value) {
    struct stratus_launcher_reply reply = {type, 0, id, value};
    return send(CHANNEL, &reply, sizeof reply, MSG_NOSIGNAL) == (ssize_t)sizeof reply ? 0 : -1;
}

/// Writes a call's wait status to its status pipe and closes it.
static void report(int status_pipe, int64_t value) {
    ssize_t written;
    do { written = write(status_pipe, &value, sizeof value); } while (written < 0 && errno == EINTR);
    close(status_pipe);
}

static void add_call(uint64_t id, pid_t pid, int status) {
    if (call_count == call_capacity) {
        call_capacity = call_capacity ? call_capacity * 2 : 16;
        calls = realloc(calls, call_capacity * sizeof *calls);
        if (!calls) _exit(70);
    }
    calls[call_count++] = (struct call){id, pid, status};
}

static int remove_file(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag;
    if (ftw->level > 0) remove(path);  // a mount point (EBUSY) or someone else's file stays
    return 0;
}

// Between calls a replica's /tmp starts empty again (only when no call is running: calls at once share it).
static void clean_tmp(void) {
    nftw("/tmp", remove_file, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/// What a call's child needs between clone and exec.
struct child_setup {
    const int *fds;
    char **argv;
    char **envp;
    rlim_t cpu_seconds;
};

/// The child's stack: it runs in the launcher's memory until it execs (CLONE_VM | CLONE_VFORK, the
/// launcher waits meanwhile), so one stack serves every call.
static char child_stack[64 * 1024] __attribute__((aligned(16)));

static void say(const char *text) {
    ssize_t ignored = write(2, text, strlen(text));
    (void)ignored;
}

/// From clone to exec, in the launcher's memory: only system calls, nothing that allocates or locks.
static int child_main(void *raw) {
    const struct child_setup *setup = raw;
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);  // its own signal table (no CLONE_SIGHAND)
    dup2(setup->fds[0], 0);
    dup2(setup->fds[1], 1);
    dup2(setup->fds[2], 2);
    syscall(SYS_close_range, 3, ~0U, 0);
    if (setup->cpu_seconds > 0) {
        struct rlimit limit = {setup->cpu_seconds, setup->cpu_seconds};
        setrlimit(RLIMIT_CPU, &limit);
    }
    execve(setup->argv[0], setup->argv, setup->envp);
    say("cannot start ");
    say(setup->argv[0]);
    say(": ");
    say(strerror(errno));
    say("\n");
    _exit(127);
}

static void spawn(uint64_t id, char *environment, size_t length, int fds[4], char **argv, rlim_t cpu_seconds) {
    // The environment block is NUL-separated KEY=VALUE strings.
    size_t count = 0;
    for (size_t i = 0; i < length; i++) if (environment[i] == '\0') count++;
    char **envp = calloc(count + 1, sizeof *envp);
    if (!envp) _exit(70);
    size_t n = 0;
    for (size_t start = 0, i = 0; i < length; i++) {
        if (environment[i] == '\0') { envp[n++] = environment + start; start = i + 1; }
    }
    // With no other call running, the child borrows the launcher's memory until it execs (as
    // posix_spawn does): no copy of it, the lowest latency, and the launcher has nothing else to do
    // meanwhile. With calls running, a plain fork: the launcher goes on at once (reaping, the next
    // spawn) while the child execs on another core; measured, the better throughput. Either way the
    // child sets its own limits before the command runs.
    struct child_setup setup = {fds, argv, envp, cpu_seconds};
    pid_t pid;
    if (call_count == 0) {
        pid = clone(child_main, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &setup);
    } else {
        pid = fork();
        if (pid == 0) child_main(&setup);
    }
    free(envp);
    for (int i = 0; i < 3; i++) close(fds[i]);
    if (pid < 0) {
        report(fds[3], 127 << 8);  // as a shell's "cannot run"
        return;
    }
    setpgid(pid, pid);  // also here, so a kill that comes at once finds the group
    add_call(id, pid, fds[3]);
}

static void kill_call(uint64_t id) {
    for (size_t i = 0; i < call_count; i++) {
        if (calls[i].id == id) kill(-calls[i].pid, SIGKILL);
    }
}

static void reap(int clean) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < call_count; i++) {
            if (calls[i].pid != pid) continue;
            kill(-pid, SIGKILL);  // whatever the call started goes with it
            report(calls[i].status, status);
            calls[i] = calls[--call_count];
            break;
        }
    }
    if (clean && call_count == 0) clean_tmp();
}

static int stratus_launcher_main(int argc, char **argv) {
    // argv: <program> <cpu seconds> <clean /tmp: 0|1> <executable> [arguments...]
    if (argc < 4) {
        fprintf(stderr, "usage: %s CPU_SECONDS CLEAN_TMP EXECUTABLE [ARGUMENT...] (with the server's socket on fd 3)\n", argv[0]);
        return 64;
    }
    rlim_t cpu_seconds = (rlim_t)strtoul(argv[1], NULL, 10);
    int clean = strcmp(argv[2], "1") == 0;
    char **command = argv + 3;
    signal(SIGPIPE, SIG_IGN);
    sigset_t children;
    sigemptyset(&children);
    sigaddset(&children, SIGCHLD);
    sigprocmask(SIG_BLOCK, &children, NULL);
    int reaper = signalfd(-1, &children, SFD_CLOEXEC | SFD_NONBLOCK);
    char *buffer = malloc(MAX_MESSAGE);
    if (reaper < 0 || !buffer) return 70;
    if (send_message(STRATUS_LAUNCHER_READY, 0, getpid()) != 0) return 0;
    for (;;) {
        struct pollfd watched[2] = {{CHANNEL, POLLIN, 0}, {reaper, POLLIN, 0}};
        if (poll(watched, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return 70;
        }
        if (watched[1].revents) {
            struct signalfd_siginfo info;
            while (read(reaper, &info, sizeof info) == (ssize_t)sizeof info) {}
            reap(clean);
        }
        if (!watched[0].revents) continue;
        char control[CMSG_SPACE(4 * sizeof(int))];
        struct iovec vector = {buffer, MAX_MESSAGE};
        struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
        ssize_t got = recvmsg(CHANNEL, &message, MSG_CMSG_CLOEXEC);
        if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) break;  // the server is gone
        if (got < (ssize_t)sizeof(struct stratus_launcher_request)) continue;
        struct stratus_launcher_request request;
        memcpy(&request, buffer, sizeof request);
        int fds[4] = {-1, -1, -1, -1};
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        if (header && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS
            && header->cmsg_len == CMSG_LEN(4 * sizeof(int))) {
            memcpy(fds, CMSG_DATA(header), sizeof fds);
        }
        if (request.type == STRATUS_LAUNCHER_SPAWN && fds[0] >= 0) {
            spawn(request.id, buffer + sizeof request, (size_t)got - sizeof request, fds, command, cpu_seconds);
        } else {
            for (int i = 0; i < 4; i++) if (fds[i] >= 0) close(fds[i]);
            if (request.type == STRATUS_LAUNCHER_KILL) kill_call(request.id);
        }
    }
    for (size_t i = 0; i < call_count; i++) kill(-calls[i].pid, SIGKILL);
    return 0;
}

int main(int argc, char **argv) { return stratus_launcher_main(argc, argv); }
