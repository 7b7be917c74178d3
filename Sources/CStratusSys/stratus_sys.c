#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <spawn.h>
#include <unistd.h>
#include "stratus_sys.h"

int stratus_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int stratus_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int stratus_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int stratus_seqpacket_pair(int fds[2]) { return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds); }

int stratus_launcher_send_spawn(int socket, uint64_t id, const char *environment, size_t length, int in, int out, int err, int status) {
    struct stratus_launcher_request request = {STRATUS_LAUNCHER_SPAWN, 0, id};
    struct iovec parts[2] = {{&request, sizeof request}, {(void *)environment, length}};
    int fds[4] = {in, out, err, status};
    char control[CMSG_SPACE(sizeof fds)];
    memset(control, 0, sizeof control);
    struct msghdr message = {.msg_iov = parts, .msg_iovlen = 2, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(header), fds, sizeof fds);
    ssize_t sent;
    do { sent = sendmsg(socket, &message, MSG_NOSIGNAL); } while (sent < 0 && errno == EINTR);
    return sent < 0 ? -1 : 0;
}

int stratus_launcher_send_kill(int socket, uint64_t id) {
    struct stratus_launcher_request request = {STRATUS_LAUNCHER_KILL, 0, id};
    ssize_t sent;
    do { sent = send(socket, &request, sizeof request, MSG_NOSIGNAL); } while (sent < 0 && errno == EINTR);
    return sent < 0 ? -1 : 0;
}

int stratus_launcher_receive(int socket, struct stratus_launcher_reply *reply) {
    ssize_t got;
    do { got = recv(socket, reply, sizeof *reply, 0); } while (got < 0 && errno == EINTR);
    return got == (ssize_t)sizeof *reply ? 0 : -1;
}
