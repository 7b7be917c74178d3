// Linux calls Swift's Glibc module does not export (they need _GNU_SOURCE).
#ifndef STRATUS_SYS_H
#define STRATUS_SYS_H

#include <spawn.h>

/// pipe2(fds, O_CLOEXEC): a pipe no concurrently spawned child inherits.
int stratus_pipe_cloexec(int fds[2]);

/// posix_spawn_file_actions_addchdir_np: the child starts in `path`.
int stratus_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// posix_spawn_file_actions_addclosefrom_np: the child closes every descriptor from `from` up
/// (it inherits nothing of the server's but what the other actions set up).
int stratus_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);

#endif
