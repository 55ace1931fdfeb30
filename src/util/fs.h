/* File system helpers: atomic writes, bounded reads, directory trees, and
 * path resolution confined to a root (openat2 RESOLVE_IN_ROOT). */
#ifndef RL_FS_H
#define RL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* Write data to dirfd/name atomically: a temporary name in the same
 * directory, then rename().  No fsync: the store favours start-up speed and
 * a crash leaves either the old or the new file, never a torn one. */
int write_file_atomic (int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                       rl_error_t *err);
/* Read a whole file (at most max bytes, else an error naming the file).
 * *out is NUL-terminated; *len_out may be NULL. */
int read_file_at (int dirfd, const char *name, size_t max, char **out, size_t *len_out,
                  rl_error_t *err);
/* Create dirfd/path and its parents with mode (existing ones are fine). */
int mkdir_p_at (int dirfd, const char *path, mode_t mode, rl_error_t *err);
/* Remove dirfd/name recursively; a missing name is not an error.  Tries to
 * make directories writable when a removal is denied (overlay work dirs). */
int rm_rf_at (int dirfd, const char *name, rl_error_t *err);
/* Copy a regular file's content from one fd to another. */
int copy_fd (int from, int to, rl_error_t *err);
/* Write all of buf, retrying on EINTR and short writes. */
int write_all (int fd, const void *buf, size_t len);
/* Read up to len bytes, retrying on EINTR and short reads; returns bytes read. */
ssize_t read_all (int fd, void *buf, size_t len);
/* Close every fd but the n in keep (-1 entries are ignored). */
void close_fds_except (const int *keep, size_t n);
/* Read fd to its end (or size - 1 bytes, or an error) as text: what a child
 * reported on a pipe.  buf is NUL-terminated; returns its length. */
size_t read_text (int fd, char *buf, size_t size);

/* openat2() with RESOLVE_IN_ROOT: path (absolute or not) is resolved as if
 * rootfd were "/", so symlinks never lead out of it. */
int open_in_root (int rootfd, const char *path, int flags, mode_t mode);
/* Create every component of path below rootfd as a directory (resolved in
 * root) and return an O_PATH|O_DIRECTORY fd on the last one. */
int mkdir_in_root (int rootfd, const char *path, mode_t mode, rl_error_t *err);
/* Make sure path exists below rootfd as a file (creating an empty one, and
 * its parent directories, if needed) and return an O_PATH fd on it. */
int mkfile_in_root (int rootfd, const char *path, mode_t mode, rl_error_t *err);

/* Is the file system holding fd one that cannot carry overlay upper dirs or
 * foreign owners (NFS, Lustre, GPFS, ...)?  Sets *name to its name. */
bool fs_is_network (int fd, const char **name);

#endif
