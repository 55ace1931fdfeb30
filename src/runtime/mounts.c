/* The container's mounts: the root file system drivers, the list of mount
 * operations and their replay with the new mount API, and pivot_root. */
#include "config.h"
#include "runtime/mounts.h"
#include "util/fs.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The kernel explains a refused fsconfig()/fsmount() in the context's log:
 * add its last line to the error. */
static int
fs_error (int fsfd, rl_error_t *err, int errnum, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  char buf[512], last[512] = "";
  va_list ap;
  ssize_t n;

  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  while (fsfd >= 0 && (n = read (fsfd, buf, sizeof buf - 1)) > 0)
    {
      buf[n] = '\0';
      if (buf[0] == 'e' && buf[1] == ' ')
        snprintf (last, sizeof last, "%s", buf + 2);
    }
  if (*last)
    return rl_error (err, 0, "%s: %s (%s)", msg, strerror (errnum), last);
  return rl_error (err, errnum, "%s", msg);
}

static unsigned
mount_attrs (bool ro, bool noexec, bool nosuid, bool nodev)
{
  return (ro ? MOUNT_ATTR_RDONLY : 0) | (noexec ? MOUNT_ATTR_NOEXEC : 0)
         | (nosuid ? MOUNT_ATTR_NOSUID : 0) | (nodev ? MOUNT_ATTR_NODEV : 0);
}

/* A detached mount of a new fstype instance configured with data
 * ("k=v,flag,..."); returns its fd. */
static int
fs_new (const char *fstype, const char *data, unsigned attrs, rl_error_t *err)
{
  cleanup_close int fsfd = fsopen (fstype, FSOPEN_CLOEXEC);
  cleanup_free char *copy = data ? xstrdup (data) : NULL;
  char *save = NULL;
  int mfd;

  if (fsfd < 0)
    return rl_error (err, errno, "fsopen %s", fstype);
  /* Names the mount in /proc/mounts ("none" otherwise). */
  fsconfig (fsfd, FSCONFIG_SET_STRING, "source", fstype, 0);
  for (char *kv = copy ? strtok_r (copy, ",", &save) : NULL; kv; kv = strtok_r (NULL, ",", &save))
    {
      char *v = strchr (kv, '=');
      int r;
      if (v)
        {
          *v++ = '\0';
          r = fsconfig (fsfd, FSCONFIG_SET_STRING, kv, v, 0);
        }
      else
        r = fsconfig (fsfd, FSCONFIG_SET_FLAG, kv, NULL, 0);
      if (r < 0)
        return fs_error (fsfd, err, errno, "%s option `%s`", fstype, kv);
    }
  if (fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return fs_error (fsfd, err, errno, "create %s", fstype);
  mfd = fsmount (fsfd, FSMOUNT_CLOEXEC, attrs);
  if (mfd < 0)
    return fs_error (fsfd, err, errno, "mount %s", fstype);
  return mfd;
}

/* Attach the detached mount mfd onto the file or directory at tfd. */
static int
attach (int mfd, int tfd, const char *target, rl_error_t *err)
{
  if (move_mount (mfd, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return rl_error (err, errno, "mount on `%s`", target);
  return 0;
}

/* A detached copy of the host's tree at path (recursive), optionally
 * read-only. */
static int
clone_tree (int dirfd, const char *path, bool recursive, bool ro, rl_error_t *err)
{
  cleanup_close int tfd = -1;
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);

  if (*path == '\0')
    flags |= AT_EMPTY_PATH;
  tfd = open_tree (dirfd, path, flags);
  if (tfd < 0)
    return rl_error (err, errno, "bind `%s`", *path ? path : "fd");
  if (ro)
    {
      struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
      if (mount_setattr (tfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a) < 0)
        return rl_error (err, errno, "make `%s` read-only", *path ? path : "fd");
    }
  return steal_fd (&tfd);
}

/* ---- root file system ---------------------------------------------- */

static int
mkdir_at (int dirfd, const char *name, rl_error_t *err)
{
  if (mkdirat (dirfd, name, 0700) < 0 && errno != EEXIST)
    return rl_error (err, errno, "mkdir `%s`", name);
  return 0;
}

/* The old way, for kernels without `lowerdir+` (before 6.8): one option
 * string, kept within a page by naming the layers relative to their common
 * directory, which becomes the working directory. */
static int
overlay_mount_legacy (const struct rootfs_spec *r, rl_error_t *err)
{
  cleanup_free char *parent = NULL;
  size_t plen, cap = 256, len = 0;
  cleanup_free char *data = NULL;
  size_t n = strv_len (r->layers);
  const char *slash = strrchr (r->layers[0], '/');

  cleanup_strv char **layers = strv_dup (r->layers);

  if (r->top)
    {
      strv_add (&layers, r->top);
      n++;
    }
  parent = xstrndup (layers[0], slash - r->layers[0]);
  plen = strlen (parent);
  for (size_t i = 0; i < n; i++)
    if (strncmp (layers[i], parent, plen) != 0 || layers[i][plen] != '/'
        || strchr (layers[i] + plen + 1, '/'))
      {
        free (parent);
        parent = xstrdup ("/");
        plen = 0;
        break;
      }
  data = xmalloc (cap);
  len = snprintf (data, cap, "lowerdir=");
  for (size_t i = n; i-- > 0;)
    {
      const char *name = plen ? layers[i] + plen + 1 : layers[i];
      size_t need = strlen (name) + 2;
      if (len + need + 1 > cap)
        {
          cap = (cap + need) * 2;
          data = xrealloc (data, cap);
        }
      len += snprintf (data + len, cap - len, "%s%s", name, i ? ":" : "");
    }
  {
    char *full = xasprintf ("%s,upperdir=%s/upper,workdir=%s/work,userxattr%s", data, r->ctrdir,
                            r->ctrdir, r->transient ? ",volatile" : "");
    free (data);
    data = full;
  }
  if (strlen (data) >= (size_t)sysconf (_SC_PAGESIZE))
    return rl_error (err, 0, "mount overlay: %zu layers do not fit in the mount options", n);
  if (chdir (parent) < 0)
    return rl_error (err, errno, "chdir `%s`", parent);
  if (mount ("overlay", r->target, "overlay", 0, data) < 0)
    return rl_error (err, errno, "mount overlay on `%s`", r->target);
  return 0;
}

/* The upper directory's own owner and mode become those of the container's
 * root directory: give it the topmost layer's. */
static int
make_upper (const struct rootfs_spec *r, rl_error_t *err)
{
  struct stat sb;

  if (mkdir_at (r->ctrfd, "upper", err) < 0 || mkdir_at (r->ctrfd, "work", err) < 0)
    return -1;
  if (stat (r->layers[strv_len (r->layers) - 1], &sb) < 0)
    return rl_error (err, errno, "stat `%s`", r->layers[strv_len (r->layers) - 1]);
  /* Owners that are not mapped (single-id map) stay ours. */
  fchownat (r->ctrfd, "upper", sb.st_uid, sb.st_gid, 0);
  if (fchmodat (r->ctrfd, "upper", sb.st_mode & 07777, 0) < 0)
    return rl_error (err, errno, "chmod `%s/upper`", r->ctrdir);
  return 0;
}

static int
overlay_mount (const struct rootfs_spec *r, rl_error_t *err)
{
  cleanup_close int fsfd = -1;
  cleanup_close int mfd = -1;
  cleanup_close int tfd = -1;
  cleanup_free char *upper = xasprintf ("%s/upper", r->ctrdir);
  cleanup_free char *work = xasprintf ("%s/work", r->ctrdir);
  size_t n = strv_len (r->layers);

  if (make_upper (r, err) < 0)
    return -1;
  fsfd = fsopen ("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0)
    return rl_error (err, errno, "fsopen overlay");
  /* lowerdir+ takes one layer at a time, topmost first: no option page
   * to overflow however many layers an image has. */
  if (r->top && fsconfig (fsfd, FSCONFIG_SET_STRING, "lowerdir+", r->top, 0) < 0)
    {
      if (errno == EINVAL)
        return overlay_mount_legacy (r, err);
      return fs_error (fsfd, err, errno, "overlay layer `%s`", r->top);
    }
  for (size_t i = n; i-- > 0;)
    if (fsconfig (fsfd, FSCONFIG_SET_STRING, "lowerdir+", r->layers[i], 0) < 0)
      {
        if (errno == EINVAL && i == n - 1 && r->top == NULL)
          return overlay_mount_legacy (r, err);
        return fs_error (fsfd, err, errno, "overlay layer `%s`", r->layers[i]);
      }
  if (fsconfig (fsfd, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0
      || fsconfig (fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0
      || fsconfig (fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0
      || fsconfig (fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
    return fs_error (fsfd, err, errno, "overlay options");
  /* No syncfs of the whole upper file system when it is unmounted: a
   * container removed on exit does not care about a crash. */
  if (r->transient && fsconfig (fsfd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0)
    return fs_error (fsfd, err, errno, "overlay option `volatile`");
  if (fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return fs_error (fsfd, err, errno, "mount overlay");
  mfd = fsmount (fsfd, FSMOUNT_CLOEXEC, 0);
  if (mfd < 0)
    return fs_error (fsfd, err, errno, "mount overlay");
  tfd = open (r->target, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (tfd < 0)
    return rl_error (err, errno, "open `%s`", r->target);
  return attach (mfd, tfd, r->target, err);
}

static int
fuse_overlay_mount (const struct rootfs_spec *r, rl_error_t *err)
{
  cleanup_free char *opts = NULL;
  cleanup_free char *lower = xstrdup ("");
  char msg[1024];
  int pfd[2];
  ssize_t len = 0, got;
  pid_t pid;
  int status;

  if (access (FUSE_OVERLAYFS_PATH, X_OK) < 0)
    return rl_error (err, 0,
                     "fuse-overlayfs: `%s` not found; install the fuse-overlayfs package or use "
                     "another storage driver",
                     FUSE_OVERLAYFS_PATH);
  if (make_upper (r, err) < 0)
    return -1;
  if (r->top)
    {
      free (lower);
      lower = xstrdup (r->top);
      if (strpbrk (r->top, ":,"))
        return rl_error (err, 0, "fuse-overlayfs: layer path `%s` has `:` or `,`", r->top);
    }
  for (size_t i = strv_len (r->layers); i-- > 0;)
    {
      char *l;
      if (strpbrk (r->layers[i], ":,"))
        return rl_error (err, 0, "fuse-overlayfs: layer path `%s` has `:` or `,`", r->layers[i]);
      l = xasprintf ("%s%s%s", lower, *lower ? ":" : "", r->layers[i]);
      free (lower);
      lower = l;
    }
  if (strpbrk (r->ctrdir, ":,"))
    return rl_error (err, 0, "fuse-overlayfs: path `%s` has `:` or `,`", r->ctrdir);
  /* allow_other: the container's processes may run as other ids than the
   * one that mounted it. */
  opts = xasprintf ("lowerdir=%s,upperdir=%s/upper,workdir=%s/work,allow_other", lower, r->ctrdir,
                    r->ctrdir);
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return rl_error (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    {
      close (pfd[0]);
      close (pfd[1]);
      return rl_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      /* It stays in the container's pid namespace and dies with it. */
      char *argv[] = { (char *)"fuse-overlayfs", (char *)"-o", opts, (char *)r->target, NULL };
      char *envp[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      sigset_t all;

      sigemptyset (&all);
      sigprocmask (SIG_SETMASK, &all, NULL);
      if (null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (pfd[1], 2) < 0)
        _exit (127);
      syscall (SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
      execve (FUSE_OVERLAYFS_PATH, argv, envp);
      dprintf (2, "exec `%s`: %s\n", FUSE_OVERLAYFS_PATH, strerror (errno));
      _exit (127);
    }
  close (pfd[1]);
  /* It daemonizes once mounted; its daemon has dropped our pipe by then. */
  while ((got = read (pfd[0], msg + len, sizeof msg - 1 - len)) != 0)
    {
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0 || (len += got) >= (ssize_t)sizeof msg - 1)
        break;
    }
  close (pfd[0]);
  msg[len] = '\0';
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return rl_error (err, errno, "wait for fuse-overlayfs");
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      char *nl = strchr (msg, '\n');
      if (nl)
        *nl = '\0';
      return rl_error (err, 0, "fuse-overlayfs failed: %s", *msg ? msg : "no message");
    }
  return 0;
}

static int
vfs_mount (const struct rootfs_spec *r, rl_error_t *err)
{
  cleanup_close int tree = -1;
  cleanup_close int tfd = -1;

  if (vfs_make_rootfs (r->ctrfd, "rootfs", r->layers, err) < 0)
    return rl_error_wrap (err, "vfs");
  tree = open_tree (r->ctrfd, "rootfs", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0)
    return rl_error (err, errno, "vfs: bind `%s/rootfs`", r->ctrdir);
  tfd = open (r->target, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (tfd < 0)
    return rl_error (err, errno, "open `%s`", r->target);
  return attach (tree, tfd, r->target, err);
}

int
rootfs_mount (const struct rootfs_spec *r, enum rl_driver *used, rl_error_t *err)
{
  static const struct
  {
    enum rl_driver d;
    int (*mount) (const struct rootfs_spec *r, rl_error_t *err);
  } drivers[] = {
    { DRIVER_OVERLAY, overlay_mount },
    { DRIVER_FUSE, fuse_overlay_mount },
    { DRIVER_VFS, vfs_mount },
  };
  int fd;

  if (r->layers == NULL || r->layers[0] == NULL)
    return rl_error (err, 0, "the image has no layers");
  if (mkdir (r->target, 0755) < 0 && errno != EEXIST)
    return rl_error (err, errno, "mkdir `%s`", r->target);
  for (size_t i = 0; i < ARRAY_SIZE (drivers); i++)
    {
      if (r->driver != DRIVER_AUTO && r->driver != drivers[i].d)
        continue;
      if (drivers[i].mount (r, err) == 0)
        {
          *used = drivers[i].d;
          fd = open (r->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (fd < 0)
            return rl_error (err, errno, "open `%s`", r->target);
          return fd;
        }
      if (r->driver != DRIVER_AUTO)
        return rl_error_wrap (err, "storage driver %s", driver_name (drivers[i].d));
      /* Auto: quietly try the next one. */
      rl_error_free (err);
    }
  return rl_error (err, 0, "no storage driver could mount the root file system");
}

int
mounts_scratch (const char *path, rl_error_t *err)
{
  cleanup_close int mfd = -1;
  cleanup_close int tfd = -1;

  mfd = fs_new ("tmpfs", "mode=0755,size=1m,nr_inodes=64", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                err);
  if (mfd < 0)
    return rl_error_wrap (err, "scratch");
  tfd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (tfd < 0)
    return rl_error (err, errno, "open `%s`", path);
  return attach (mfd, tfd, path, err);
}

/* ---- the list of mount operations ---------------------------------- */

static const char *const host_devices[] = { "null", "zero", "full", "random", "urandom", "tty" };

/* The defaults of Podman (and Docker, whose list adds /proc/asound): files
 * that tell about the host's hardware and kernel, or let a process read
 * kernel memory or keys, hidden; knobs of the kernel, read-only.  Podman
 * does not mask /proc/interrupts, nor does rl. */
static const char *const masked_paths[] = {
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
  "/sys/dev/block",
  "/sys/fs/selinux",
};
static const char *const readonly_paths[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
/* Where programs expect to write under a --read-only root. */
static const char *const scratch_dirs[] = { "/tmp", "/run", "/var/tmp" };

static void
add_op (struct mount_op **ops, size_t *n, struct mount_op op)
{
  *ops = xrealloc (*ops, (*n + 1) * sizeof op);
  (*ops)[(*n)++] = op;
}

static const char *
keep (char ***store, char *s)
{
  strv_add_take (store, s);
  return s;
}

struct mount_op *
mounts_plan (const struct mounts_spec *spec, size_t *n, char ***store)
{
  static const struct
  {
    const char *target, *source;
  } links[] = {
    { "/dev/ptmx", "pts/ptmx" },          { "/dev/fd", "/proc/self/fd" },
    { "/dev/stdin", "/proc/self/fd/0" },  { "/dev/stdout", "/proc/self/fd/1" },
    { "/dev/stderr", "/proc/self/fd/2" },
  };
  static const char *const etc_files[] = { "hostname", "hosts", "resolv.conf" };
  struct mount_op *ops = NULL;

  *n = 0;
  add_op (&ops, n,
          (struct mount_op){ OP_PROC, NULL, "/proc", .nosuid = true, .nodev = true, .noexec = true,
                             .own = true });
  add_op (&ops, n,
          (struct mount_op){ OP_TMPFS, NULL, "/dev", .nosuid = true, .noexec = true,
                             .data = "mode=755,size=65536k", .own = true });
  for (size_t i = 0; i < ARRAY_SIZE (host_devices); i++)
    {
      const char *path = keep (store, xasprintf ("/dev/%s", host_devices[i]));
      add_op (&ops, n, (struct mount_op){ OP_BIND, path, path, .own = true });
    }
  add_op (&ops, n,
          (struct mount_op){ OP_DEVPTS, NULL, "/dev/pts", .nosuid = true, .noexec = true,
                             .data = spec->gid5_mapped ? "newinstance,ptmxmode=0666,mode=0620,gid=5"
                                                       : "newinstance,ptmxmode=0666,mode=0620",
                             .own = true });
  add_op (&ops, n,
          (struct mount_op){ OP_TMPFS, NULL, "/dev/shm", .nosuid = true, .nodev = true,
                             .noexec = true, .data = "mode=1777,size=65536k", .own = true });
  add_op (&ops, n,
          (struct mount_op){ OP_MQUEUE, NULL, "/dev/mqueue", .nosuid = true, .nodev = true,
                             .noexec = true, .own = true });
  for (size_t i = 0; i < ARRAY_SIZE (links); i++)
    add_op (&ops, n, (struct mount_op){ OP_SYMLINK, links[i].source, links[i].target });
  add_op (&ops, n,
          (struct mount_op){ OP_SYSFS, NULL, "/sys", .readonly = true, .nosuid = true,
                             .nodev = true, .noexec = true, .fresh = spec->netns, .own = true });
  for (size_t i = 0; i < ARRAY_SIZE (etc_files); i++)
    if (!spec->no_hosts || strcmp (etc_files[i], "hosts") != 0)
      add_op (&ops, n,
              (struct mount_op){ OP_BIND,
                                 keep (store, xasprintf ("%s/%s", spec->etcdir, etc_files[i])),
                                 keep (store, xasprintf ("/etc/%s", etc_files[i])), .own = true });
  for (size_t i = 0; i < spec->n_devices; i++)
    add_op (&ops, n,
            (struct mount_op){ OP_BIND, spec->devices[i].host, spec->devices[i].ctr,
                               .readonly = !spec->devices[i].write, .nosuid = true,
                               .noexec = true });
  if (spec->scratch_dirs)
    for (size_t i = 0; i < ARRAY_SIZE (scratch_dirs); i++)
      add_op (&ops, n,
              (struct mount_op){
                  OP_TMPFS, NULL, scratch_dirs[i], .own = true, .nosuid = true, .nodev = true,
                  .data = strcmp (scratch_dirs[i], "/run") == 0 ? "mode=755" : "mode=1777" });
  for (size_t i = 0; i < spec->n_user; i++)
    {
      const struct rl_mount *m = &spec->user[i];
      if (m->type == MOUNT_BIND)
        add_op (&ops, n,
                (struct mount_op){ OP_BIND, m->source, m->target, .readonly = m->readonly });
      else
        {
          char *data = m->size ? xasprintf ("mode=%o,size=%llu", m->mode, m->size)
                               : xasprintf ("mode=%o", m->mode);
          add_op (&ops, n,
                  (struct mount_op){ OP_TMPFS, NULL, m->target, .readonly = m->readonly,
                                     .noexec = m->noexec, .nosuid = m->nosuid, .nodev = m->nodev,
                                     .data = keep (store, data) });
        }
    }
  /* Last, so that no mount above (a volume on /proc/sys...) uncovers them. */
  if (!spec->unmasked)
    {
      for (size_t i = 0; i < ARRAY_SIZE (masked_paths); i++)
        add_op (&ops, n, (struct mount_op){ OP_MASK, NULL, masked_paths[i] });
      for (size_t i = 0; i < ARRAY_SIZE (readonly_paths); i++)
        add_op (&ops, n, (struct mount_op){ OP_RDONLY, NULL, readonly_paths[i] });
    }
  return ops;
}

/* rl's own /dev, once mounted by mounts_apply: an empty tmpfs that only
 * rl has written to, so an entry of it is made in one call and used by
 * name, with no lookup from the root (see in_own_dev). */
static int own_dev_fd = -1;

/* The name in rl's own /dev that target is ("/dev/null": "null"), or NULL
 * when target is elsewhere or deeper. */
static const char *
in_own_dev (const char *target)
{
  const char *name = target + 5;

  if (own_dev_fd < 0 || strncmp (target, "/dev/", 5) != 0 || *name == '\0' || strchr (name, '/')
      || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return NULL;
  return name;
}

static int
symlink_in_root (int rootfd, const char *text, const char *target, rl_error_t *err)
{
  cleanup_free char *dir = xstrdup (target);
  cleanup_close int dfd = -1;
  char *slash = strrchr (dir, '/');
  const char *dev = in_own_dev (target);

  if (dev)
    {
      if (symlinkat (text, own_dev_fd, dev) < 0 && errno != EEXIST)
        return rl_error (err, errno, "symlink `%s`", target);
      return 0;
    }
  *slash = '\0';
  dfd = mkdir_in_root (rootfd, *dir ? dir : "/", 0755, err);
  if (dfd < 0)
    return -1;
  if (symlinkat (text, dfd, slash + 1) < 0 && errno != EEXIST)
    return rl_error (err, errno, "symlink `%s`", target);
  return 0;
}

/* OP_MASK and OP_RDONLY: the target is a path of the container's /proc or
 * /sys, mounted just before; one the kernel does not have is skipped.  The
 * last component is not followed: a link is left alone.
 *
 * The first directory masked and the first file masked, once covered:
 * the others get copies of those read-only mounts (an empty tmpfs, a bind
 * of /dev/null) rather than one each: a superblock less to make, and to
 * tear down at exit, per masked directory, and no flags to set again. */
static int mask_dir_fd = -1;
static int mask_file_fd = -1;

static int
apply_cover (int rootfd, const struct mount_op *op, rl_error_t *err)
{
  cleanup_close int tfd = open_in_root (rootfd, op->target, O_PATH | O_NOFOLLOW, 0);
  cleanup_close int mfd = -1;
  struct stat sb;
  int *first = NULL;

  if (tfd < 0 && errno == ENOENT)
    return 0;
  if (tfd < 0 || fstat (tfd, &sb) < 0)
    return rl_error (err, errno, "open `%s`", op->target);
  if (S_ISLNK (sb.st_mode))
    return 0;
  if (op->type == OP_RDONLY)
    mfd = clone_tree (tfd, "", true, true, err);
  else
    {
      first = S_ISDIR (sb.st_mode) ? &mask_dir_fd : &mask_file_fd;
      if (*first >= 0)
        {
          mfd = clone_tree (*first, "", false, false, err); /* read-only already */
          first = NULL;
        }
      else if (S_ISDIR (sb.st_mode))
        mfd = fs_new ("tmpfs", "size=0,nr_inodes=1,mode=0555",
                      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                      err);
      else
        mfd = clone_tree (AT_FDCWD, "/dev/null", false, true, err);
    }
  if (mfd < 0)
    return rl_error_wrap (err, "%s `%s`", op->type == OP_MASK ? "mask" : "read-only", op->target);
  if (attach (mfd, tfd, op->target, err) < 0)
    return -1;
  if (first)
    *first = steal_fd (&mfd);
  return 0;
}

/* rl's own mount points must be what rl expects, whatever the image
 * ships there: a symlink (to / or to the host's /etc: resolved in the root
 * it could only land inside, but on the wrong place), a fifo where a file
 * goes, a file where a directory goes.  Such an entry is removed (the
 * container's upper layer records it), an empty directory too; a directory
 * with content where a file goes is an error. */
static int
replace_odd_entry (int rootfd, const char *target, bool want_dir, rl_error_t *err)
{
  cleanup_free char *dir = xstrdup (target);
  cleanup_close int dfd = -1;
  char *slash = strrchr (dir, '/');
  const char *name = slash + 1;
  struct stat sb;

  *slash = '\0';
  if (*name == '\0')
    return 0;
  dfd = mkdir_in_root (rootfd, *dir ? dir : "/", 0755, err);
  if (dfd < 0)
    return -1;
  {
    /* mkdir_in_root gives an O_PATH fd: unlinkat needs a real one. */
    cleanup_close int real = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (real < 0)
      return rl_error (err, errno, "open the parent of `%s`", target);
    if (fstatat (real, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
      return errno == ENOENT ? 0 : rl_error (err, errno, "stat `%s`", target);
    if (want_dir ? S_ISDIR (sb.st_mode) : S_ISREG (sb.st_mode))
      return 0;
    if (unlinkat (real, name, S_ISDIR (sb.st_mode) ? AT_REMOVEDIR : 0) < 0)
      return rl_error (err, errno, "the image's `%s` is not a %s and cannot be replaced", target,
                       want_dir ? "directory" : "regular file");
  }
  return 0;
}

/* The mount point of op, made when missing.  An entry of the right type
 * already there (a directory, or a regular file) is taken with one lookup;
 * in rl's own /dev the entry is made in one call; anything else goes the
 * careful way, component by component. */
static int
mount_point (int rootfd, const struct mount_op *op, bool is_dir, rl_error_t *err)
{
  const char *dev = op->own ? in_own_dev (op->target) : NULL;
  struct stat sb;
  int fd;

  if (dev)
    {
      if ((is_dir ? mkdirat (own_dev_fd, dev, 0755) : mknodat (own_dev_fd, dev, S_IFREG | 0644, 0))
              < 0
          && errno != EEXIST)
        return rl_error (err, errno, "create `%s`", op->target);
      fd = openat (own_dev_fd, dev, O_PATH | O_NOFOLLOW | O_CLOEXEC | (is_dir ? O_DIRECTORY : 0));
      if (fd < 0)
        return rl_error (err, errno, "open `%s`", op->target);
      return fd;
    }
  if (strstr (op->target, "..") == NULL)
    {
      fd = open_in_root (rootfd, op->target, O_PATH | O_NOFOLLOW | (is_dir ? O_DIRECTORY : 0), 0);
      if (fd >= 0 && (is_dir || (fstat (fd, &sb) == 0 && S_ISREG (sb.st_mode))))
        return fd;
      if (fd >= 0)
        close (fd);
    }
  if (op->own && replace_odd_entry (rootfd, op->target, is_dir, err) < 0)
    return -1;
  return is_dir ? mkdir_in_root (rootfd, op->target, 0755, err)
                : mkfile_in_root (rootfd, op->target, 0644, err);
}

static int
apply_one (int rootfd, const struct mount_op *op, rl_error_t *err)
{
  cleanup_close int mfd = -1;
  cleanup_close int tfd = -1;
  unsigned attrs = mount_attrs (op->readonly, op->noexec, op->nosuid, op->nodev);
  bool is_dir = true;

  switch (op->type)
    {
    case OP_SYMLINK:
      return symlink_in_root (rootfd, op->source, op->target, err);
    case OP_MASK:
    case OP_RDONLY:
      return apply_cover (rootfd, op, err);
    case OP_PROC:
      mfd = fs_new ("proc", NULL, attrs, err);
      if (mfd < 0)
        {
          /* Refused (say /proc of the host is partly covered): bind it. */
          rl_error_free (err);
          mfd = clone_tree (AT_FDCWD, "/proc", true, false, err);
        }
      break;
    case OP_TMPFS:
      mfd = fs_new ("tmpfs", op->data, attrs, err);
      break;
    case OP_DEVPTS:
      mfd = fs_new ("devpts", op->data, attrs, err);
      break;
    case OP_MQUEUE:
      mfd = fs_new ("mqueue", NULL, attrs, err);
      if (mfd < 0)
        {
          rl_error_free (err);
          return 0;
        }
      break;
    case OP_SYSFS:
      mfd = op->fresh ? fs_new ("sysfs", NULL, attrs, err) : -1;
      if (mfd < 0)
        {
          /* The host's network namespace: the kernel refuses a new sysfs. */
          rl_error_free (err);
          mfd = clone_tree (AT_FDCWD, "/sys", true, true, err);
        }
      break;
    case OP_BIND:
      {
        struct stat sb;
        if (stat (op->source, &sb) < 0)
          return rl_error (err, errno, "bind source `%s`", op->source);
        is_dir = S_ISDIR (sb.st_mode);
        mfd = clone_tree (AT_FDCWD, op->source, true, op->readonly, err);
      }
      break;
    }
  if (mfd < 0)
    return rl_error_wrap (err, "mount `%s`", op->target);
  tfd = mount_point (rootfd, op, is_dir, err);
  if (tfd < 0)
    return rl_error_wrap (err, "mount `%s`", op->target);
  if (attach (mfd, tfd, op->target, err) < 0)
    return -1;
  if (op->own && op->type == OP_TMPFS && strcmp (op->target, "/dev") == 0)
    own_dev_fd = steal_fd (&mfd);
  return 0;
}

size_t
mounts_before_netns (const struct mount_op *ops, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (ops[i].type == OP_SYSFS)
      return i;
  return n;
}

int
mounts_apply (int rootfd, const struct mount_op *ops, size_t n, rl_error_t *err)
{
  int r = 0;
  int *kept[] = { &mask_dir_fd, &mask_file_fd, &own_dev_fd };

  for (size_t i = 0; i < n && r == 0; i++)
    r = apply_one (rootfd, &ops[i], err);
  for (size_t i = 0; i < ARRAY_SIZE (kept); i++)
    if (*kept[i] >= 0)
      {
        close (*kept[i]);
        *kept[i] = -1;
      }
  return r;
}

int
mounts_root_readonly (int fd, rl_error_t *err)
{
  struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };

  if (mount_setattr (fd, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
    return rl_error (err, errno, "make the root file system read-only");
  return 0;
}

int
mounts_pivot (int rootfd, rl_error_t *err)
{
  if (fchdir (rootfd) < 0)
    return rl_error (err, errno, "chdir to the root file system");
  /* The old root ends up stacked under the new one, and is detached. */
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    return rl_error (err, errno, "pivot_root");
  if (umount2 (".", MNT_DETACH) < 0)
    return rl_error (err, errno, "detach the old root");
  if (chdir ("/") < 0)
    return rl_error (err, errno, "chdir /");
  return 0;
}

int
mounts_bind_fd (int fd, const char *target, rl_error_t *err)
{
  cleanup_close int root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int mfd = -1;
  cleanup_close int tfd = -1;

  if (root < 0)
    return rl_error (err, errno, "open /");
  mfd = clone_tree (fd, "", false, false, err);
  if (mfd < 0)
    return rl_error_wrap (err, "mount `%s`", target);
  tfd = mkfile_in_root (root, target, 0600, err);
  if (tfd < 0)
    return rl_error_wrap (err, "mount `%s`", target);
  return attach (mfd, tfd, target, err);
}

/* The id map of our user namespace as an identity ("inner inner count"
 * for each extent), for a namespace nested in it. */
static char *
nested_map (const char *file, rl_error_t *err)
{
  cleanup_free char *text = NULL;
  char *out = xstrdup (""), *save = NULL;

  if (read_file_at (AT_FDCWD, file, 65536, &text, NULL, err) < 0)
    {
      free (out);
      return NULL;
    }
  for (char *l = strtok_r (text, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      unsigned long inner, outer, count;
      char *line;
      if (sscanf (l, "%lu %lu %lu", &inner, &outer, &count) != 3)
        continue;
      line = xasprintf ("%s%lu %lu %lu\n", out, inner, inner, count);
      free (out);
      out = line;
    }
  return out;
}

static int
write_map (int dirfd, const char *name, const char *text)
{
  cleanup_close int fd = openat (dirfd, name, O_WRONLY | O_CLOEXEC);
  return fd < 0 || write (fd, text, strlen (text)) != (ssize_t)strlen (text) ? -1 : 0;
}

int
mounts_lock (rl_error_t *err)
{
  cleanup_free char *uids = nested_map ("/proc/self/uid_map", err);
  cleanup_free char *gids = uids ? nested_map ("/proc/self/gid_map", err) : NULL;
  cleanup_close int self = -1;
  int pfd[2], status, e;
  pid_t pid;

  if (gids == NULL)
    return rl_error_wrap (err, "lock the mounts");
  /* Opened now, it names this process whatever /proc shows later. */
  self = open ("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (self < 0)
    return rl_error (err, errno, "lock the mounts: open /proc/self");
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return rl_error (err, errno, "lock the mounts: pipe");
  pid = fork ();
  if (pid < 0)
    {
      e = errno;
      close (pfd[0]);
      close (pfd[1]);
      return rl_error (err, e, "lock the mounts: fork");
    }
  if (pid == 0)
    {
      /* Still in the outer namespace, with its capabilities: only such a
       * process may write the maps of the nested one. */
      char c;
      close (pfd[1]);
      if (read (pfd[0], &c, 1) != 1)
        _exit (1);
      _exit (write_map (self, "uid_map", uids) < 0 || write_map (self, "gid_map", gids) < 0 ? 2
                                                                                            : 0);
    }
  close (pfd[0]);
  /* uts and ipc too, so that the nested root keeps sethostname and its
   * own IPC objects; the network and pid namespaces stay the outer's. */
  e = unshare (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC) < 0 ? errno : 0;
  if (e == 0 && write (pfd[1], "x", 1) != 1)
    e = errno;
  close (pfd[1]);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return rl_error (err, errno, "lock the mounts: wait");
  if (e)
    return rl_error (err, e, "lock the mounts: unshare");
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return rl_error (err, 0, "lock the mounts: cannot write the nested id maps");
  return 0;
}
