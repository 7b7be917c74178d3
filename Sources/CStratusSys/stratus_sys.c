#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <spawn.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/uio.h>
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

long long stratus_tcp_socket_inode(int local_port, int remote_port) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -1;
    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } message;
    memset(&message, 0, sizeof message);
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST;  // one socket by its address, not a dump
    message.request.sdiag_family = AF_INET;
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = ~0U;
    message.request.id.idiag_sport = htons((uint16_t)local_port);
    message.request.id.idiag_dport = htons((uint16_t)remote_port);
    message.request.id.idiag_src[0] = htonl(INADDR_LOOPBACK);
    message.request.id.idiag_dst[0] = htonl(INADDR_LOOPBACK);
    message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    long long result = -1;
    if (sendto(fd, &message, sizeof message, 0, (struct sockaddr *)&kernel, sizeof kernel) == (ssize_t)sizeof message) {
        long buffer[2048];  // aligned for nlmsghdr
        ssize_t got;
        do { got = recv(fd, buffer, sizeof buffer, 0); } while (got < 0 && errno == EINTR);
        struct nlmsghdr *reply = (struct nlmsghdr *)buffer;
        if (got > 0 && NLMSG_OK(reply, (unsigned)got)) {
            if (reply->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *error = NLMSG_DATA(reply);
                result = error->error == -ENOENT ? 0 : -1;
            } else if (reply->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
                struct inet_diag_msg *socket_info = NLMSG_DATA(reply);
                result = (long long)socket_info->idiag_inode;
            }
        }
    }
    close(fd);
    return result;
}
