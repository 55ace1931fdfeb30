/* The container's file system, set up by its first process inside the new
 * user and mount namespaces: the root (overlay, fuse-overlayfs or a copy),
 * then a list of mount operations (/proc, /dev, /sys, the generated /etc
 * files, the user's volumes) replayed in order, then pivot_root.
 *
 * Every target in the container's root is resolved relative to that root
 * (openat2 RESOLVE_IN_ROOT through the open_in_root() family) and mounted
 * onto the resulting fd with the new mount API, so a symlink in the image
 * never leads a mount out of the container. */
#ifndef RL_MOUNTS_H
#define RL_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/runspec.h"
#include "util/error.h"

struct rootfs_spec
{
  enum rl_driver driver; /* DRIVER_AUTO: overlay, else fuse-overlayfs, else vfs */
  char **layers;         /* absolute layer trees, bottom first */
  int ctrfd;             /* the container's store directory */
  const char *ctrdir;    /* and its absolute path */
  const char *target;    /* where to mount it (a directory of the scratch) */
  bool transient;        /* --rm: the upper need not survive a crash */
  /* Overlay drivers: a layer put above the image's (NULL: none), holding
   * rl's mount points so that they need not be made in the upper dir. */
  const char *top;
};

/* Mount the root file system on r->target; returns an O_DIRECTORY fd on it
 * (ready for pivot_root) and the driver that did it in *used. */
int rootfs_mount (const struct rootfs_spec *r, enum rl_driver *used, rl_error_t *err);

/* The container's scratch: a small tmpfs mounted on path in the container's
 * mount namespace only.  It holds the generated /etc files and the directory
 * the root is mounted on, so that no mount point is left on the host's file
 * system: removing a container's files never has to detach mounts of a
 * namespace that is still being torn down, and a killed rl leaves nothing. */
int mounts_scratch (const char *path, rl_error_t *err);

/* vfs: the layers copied, bottom first, into dirfd/name (made once: an
 * existing copy is kept), with whiteouts and opaque directories applied. */
int vfs_make_rootfs (int dirfd, const char *name, char *const *layers, rl_error_t *err);

enum mount_op_type
{
  OP_PROC, /* a new proc, else a recursive bind of the host's */
  OP_TMPFS,
  OP_DEVPTS,
  OP_MQUEUE,  /* skipped when refused */
  OP_SYSFS,   /* a new sysfs (own network namespace), else the host's, read-only */
  OP_BIND,    /* source: a host path (recursive) */
  OP_SYMLINK, /* source: the link's text */
  OP_MASK,    /* hide target: an empty read-only tmpfs on a directory, /dev/null on a file */
  OP_RDONLY,  /* bind target read-only onto itself */
};

struct mount_op
{
  enum mount_op_type type;
  const char *source;
  const char *target;
  bool readonly, noexec, nosuid, nodev;
  const char *data; /* fs options "k=v,k2=v2" (tmpfs, devpts) */
  bool fresh;       /* OP_SYSFS: try a new instance first */
  bool own;         /* one of rl's fixed targets: an odd entry of the image there is replaced */
};

struct mounts_spec
{
  bool netns;         /* own network namespace: a fresh sysfs works */
  bool gid5_mapped;   /* devpts gid=5 (tty) only when that gid exists */
  const char *etcdir; /* holds the generated hostname, hosts, resolv.conf */
  bool no_hosts;      /* --no-hosts: the image's /etc/hosts stays */
  const struct rl_mount *user;
  size_t n_user;
  const struct rl_device *devices; /* --device and --privileged's (checked by the caller) */
  size_t n_devices;
  bool unmasked;     /* --privileged: no masked or read-only paths */
  bool scratch_dirs; /* --read-only: a tmpfs on /tmp, /run and /var/tmp */
};

/* The operations for spec, in order (the strings point into spec, or are
 * static, or owned by *store which the caller frees with strv_free()). */
struct mount_op *mounts_plan (const struct mounts_spec *spec, size_t *n, char ***store);
/* How many of ops come before the first that needs the container's
 * network namespace (a fresh /sys): they may be replayed before it is
 * joined. */
size_t mounts_before_netns (const struct mount_op *ops, size_t n);
/* Replay ops below rootfd (ops may be replayed in parts, in order). */
int mounts_apply (int rootfd, const struct mount_op *ops, size_t n, rl_error_t *err);
/* Make the root mount at fd (its other mounts keep their flags) read-only. */
int mounts_root_readonly (int fd, rl_error_t *err);
/* Once every mount is made: move into a user and mount namespace nested
 * in ours (uid/gid maps copied as identities, written by a forked helper),
 * so that the kernel locks the mounts as copied into a less privileged
 * namespace: read-only ones cannot be made writable, covering ones cannot
 * be unmounted, even with CAP_SYS_ADMIN.  /proc/self/uid_map then shows
 * the container's ids, not the host's. */
int mounts_lock (rl_error_t *err);
/* Make rootfd the root: pivot_root(".", ".") and detach the old root. */
int mounts_pivot (int rootfd, rl_error_t *err);
/* Bind the file at fd (say a pty slave) onto target of the current root. */
int mounts_bind_fd (int fd, const char *target, rl_error_t *err);

#endif
