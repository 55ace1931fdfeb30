/* A container's files from the host (rl cp, export, commit): work in a
 * child process whose "/" is the container's root, and tar streams between
 * that child and the host.
 *
 * A running container is entered: the child joins the user and mount
 * namespaces of its PID 1, so "/" is the container's root with its volumes,
 * and no path or symlink in there can name a host file.  A stopped one is
 * mounted the way `rl run` mounts it (overlay of the layers and the upper
 * dir, fuse-overlayfs, or the vfs copy) in a new user and mount namespace
 * with the store's id map, and the child chroots into it. */
#ifndef RL_CTRFS_H
#define RL_CTRFS_H

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/container.h"
#include "runtime/idmap.h"
#include "runtime/runspec.h"
#include "store/store.h"
#include "util/error.h"

struct ctrfs
{
  struct rl_store *st;
  struct idmap map; /* the store's */
  struct rl_container c;
  bool running;
  pid_t pid; /* PID 1 when running */
  unsigned long long pid_start;
  char *used_driver; /* the driver its last run used, or NULL */
  char **layers;     /* the image's layer trees, bottom first */
  char *ctrdir;      /* absolute */
};

/* Find the container (name, id or id prefix) and what its files need. */
int ctrfs_open (struct rl_store *st, const char *ref, struct ctrfs *c, rl_error_t *err);
void ctrfs_clear (struct ctrfs *c);
/* The storage driver of the container's files (its last run's, else as
 * asked, else what is on disk). */
enum rl_driver ctrfs_driver (const struct ctrfs *c);

/* A function run in the container's root; fds it needs come through arg
 * (a fork carries them). */
typedef int (*ctrfs_fn) (void *arg, rl_error_t *err);

struct ctrfs_job
{
  pid_t pid;
  int errfd; /* the child's error message, if any, then EOF */
};

/* Start fn(arg) in a child process with "/" = the container's root
 * (writable: a stopped container's root is mounted read-write; else
 * read-only).  host_fd (-1: none) is closed in the child: the host's end of
 * the pipe the child talks through. */
int ctrfs_spawn (struct ctrfs *c, bool writable, ctrfs_fn fn, void *arg, int host_fd,
                 struct ctrfs_job *j, rl_error_t *err);
/* Wait for the child; its error, if any, in err. */
int ctrfs_wait (struct ctrfs_job *j, rl_error_t *err);
/* Both in one. */
int ctrfs_run (struct ctrfs *c, bool writable, ctrfs_fn fn, void *arg, rl_error_t *err);

/* What a path is in the container (stat, or lstat unless follow). */
struct ctrfs_stat
{
  int errnum; /* 0: exists */
  mode_t mode;
};
int ctrfs_stat (struct ctrfs *c, const char *path, bool follow, struct ctrfs_stat *res,
                rl_error_t *err);

/* A pax tar of path (file or tree) written to fd, in the current root.
 * Entry names: path itself becomes name, what is below it name/REST; with
 * name "" the entries are named REST and path itself is left out. */
struct ctrfs_tar_opts
{
  const char *path;
  const char *name;
  bool follow; /* path itself, when a symlink, is followed (cp -L) */
  bool one_fs; /* do not descend into other mounts (export) */
  bool diff;   /* an overlay upper dir: whiteouts and opaque dirs in OCI form */
};
int ctrfs_write_tar (int fd, const struct ctrfs_tar_opts *o, rl_error_t *err);

/* The container's changes against its image as an OCI layer tar on fd (the
 * files are read in a user namespace with the store's map, so the tar has
 * the container's ids). */
int ctrfs_diff_tar (struct ctrfs *c, int fd, rl_error_t *err);

#endif
