// Linux calls Swift's Glibc module does not export (they need _GNU_SOURCE).
#ifndef STRATUS_SYS_H
#define STRATUS_SYS_H

#include <spawn.h>
#include <stddef.h>
#include <stdint.h>

/// pipe2(fds, O_CLOEXEC): a pipe no concurrently spawned child inherits.
int stratus_pipe_cloexec(int fds[2]);

/// posix_spawn_file_actions_addchdir_np: the child starts in `path`.
int stratus_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// posix_spawn_file_actions_addclosefrom_np: the child closes every descriptor from `from` up
/// (it inherits nothing of the server's but what the other actions set up).
int stratus_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// Messages between the server and a classic-mode launcher (`stratus-launcher`), on a
/// SOCK_SEQPACKET socket. A spawn request is followed by the call's environment (NUL-separated
/// KEY=VALUE strings) and carries its stdin, stdout, stderr and status pipe as SCM_RIGHTS: the
/// launcher writes the call's wait status (an int64) to the status pipe when its process has
/// exited (127 << 8 when it could not fork), straight to the call's thread; the status pipe
/// closing without one means the launcher is gone.
enum {
    STRATUS_LAUNCHER_SPAWN = 1,
    STRATUS_LAUNCHER_KILL = 2,
    STRATUS_LAUNCHER_READY = 3,
};

struct stratus_launcher_request {
    uint32_t type;
    uint32_t reserved;
    uint64_t id;
};

/// `value`: the launcher's pid (ready).
struct stratus_launcher_reply {
    uint32_t type;
    uint32_t reserved;
    uint64_t id;
    int64_t value;
};

/// socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC): the server's end and the launcher's.
int stratus_seqpacket_pair(int fds[2]);

/// Sends a spawn request for call `id` with `environment` (`length` bytes) and the four descriptors.
int stratus_launcher_send_spawn(int socket, uint64_t id, const char *environment, size_t length, int in, int out, int err, int status);

/// Sends a kill request for call `id`.
int stratus_launcher_send_kill(int socket, uint64_t id);

/// Receives one reply (blocking); 0 on success, -1 at end of file or on error.
int stratus_launcher_receive(int socket, struct stratus_launcher_reply *reply);

/// The inode of the IPv4 loopback TCP socket bound to 127.0.0.1:`local_port` and connected to
/// 127.0.0.1:`remote_port`, looked up by the kernel through sock_diag (one exact query, however
/// many sockets the machine has): 0 when there is none, -1 when sock_diag cannot answer.
long long stratus_tcp_socket_inode(int local_port, int remote_port);

#endif
