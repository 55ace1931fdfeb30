/* A container's files from the host: a child process with "/" = the
 * container's root (joined or mounted), and the tar streams rl cp, export
 * and commit move through pipes. */
#include "config.h"
#include "runtime/ctrfs.h"
#include "image/image.h"
#include "runtime/mounts.h"
#include "util/dl.h"
#include "util/fs.h"
#include "util/util.h"
#include "store/tmp.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the container ---------------------------------------------------- */

int
ctrfs_open (struct rl_store *st, const char *ref, struct ctrfs *c, rl_error_t *err)
{
  cleanup_free char *id = NULL;
  struct container_state s = { 0 };
  struct rl_image *img = NULL;

  memset (c, 0, sizeof *c);
  c->st = st;
  if (container_resolve (st, ref, &id, err) < 0)
    return -1;
  if (container_load (st, id, &c->c, err) < 0)
    return -1;
  if (container_get_state (st, id, &s, err) < 0)
    return -1;
  c->running = s.status == CTR_RUNNING && s.pid > 0;
  c->pid = s.pid;
  c->pid_start = s.pid_start;
  c->used_driver = s.driver ? xstrdup (s.driver) : NULL;
  container_state_clear (&s);
  c->ctrdir = xasprintf ("%s/containers/%s", st->root, c->c.id);
  if (idmap_detect (&c->map, err) < 0)
    return -1;
  if (image_lookup (st, c->c.image_id, &img, err) < 0)
    return rl_error_wrap (err, "the container's image");
  c->layers = image_layer_dirs (st, img);
  image_free (img);
  return 0;
}

void
ctrfs_clear (struct ctrfs *c)
{
  container_clear (&c->c);
  idmap_clear (&c->map);
  free (c->used_driver);
  strv_free (c->layers);
  free (c->ctrdir);
  memset (c, 0, sizeof *c);
}

enum rl_driver
ctrfs_driver (const struct ctrfs *c)
{
  enum rl_driver d = DRIVER_AUTO;
  rl_error_t e = NULL;
  struct stat sb;
  cleanup_free char *rootfs = xasprintf ("%s/rootfs", c->ctrdir);

  if (c->used_driver && *c->used_driver && driver_from_name (c->used_driver, &d, &e) == 0)
    return d;
  rl_error_free (&e);
  if (c->c.driver && driver_from_name (c->c.driver, &d, &e) == 0 && d != DRIVER_AUTO)
    return d;
  rl_error_free (&e);
  /* Never run: a vfs copy on disk tells, else any overlay will do. */
  if (stat (rootfs, &sb) == 0)
    return DRIVER_VFS;
  return DRIVER_AUTO;
}

/* ---- child processes ---------------------------------------------------- */

static int
spawn (ctrfs_fn fn, void *arg, int close_fd, struct ctrfs_job *j, rl_error_t *err)
{
  int msg[2];

  if (pipe2 (msg, O_CLOEXEC) < 0)
    return rl_error (err, errno, "pipe");
  fflush (NULL);
  j->pid = fork ();
  if (j->pid < 0)
    {
      int e = errno;
      close (msg[0]);
      close (msg[1]);
      return rl_error (err, e, "fork");
    }
  if (j->pid == 0)
    {
      rl_error_t cerr = NULL;

      close (msg[0]);
      if (close_fd >= 0)
        close (close_fd);
      /* A failed write to a closed pipe is an error, not a silent death. */
      signal (SIGPIPE, SIG_IGN);
      if (fn (arg, &cerr) < 0 || cerr)
        {
          const char *m = cerr ? cerr->msg : "failed";
          write_all (msg[1], m, strlen (m));
          _exit (1);
        }
      _exit (0);
    }
  close (msg[1]);
  j->errfd = msg[0];
  return 0;
}

int
ctrfs_wait (struct ctrfs_job *j, rl_error_t *err)
{
  char buf[4096];
  size_t len = read_text (j->errfd, buf, sizeof buf);
  int status = 0;

  close (j->errfd);
  j->errfd = -1;
  while (waitpid (j->pid, &status, 0) < 0)
    if (errno != EINTR)
      return rl_error (err, errno, "wait for child");
  j->pid = 0;
  if (len > 0)
    return rl_error (err, 0, "%s", buf);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return rl_error (err, 0, "child process failed (status %d)", status);
  return 0;
}

/* The store's fds are of no use in the container's root, where an fd on
 * a host directory would be a way out of it: closed before going in. */
static void
close_store_fds (struct rl_store *st)
{
  int *fds[] = { &st->rootfd, &st->runfd, &st->lockfd };
  for (size_t i = 0; i < ARRAY_SIZE (fds); i++)
    if (*fds[i] >= 0)
      {
        close (*fds[i]);
        *fds[i] = -1;
      }
}

/* In a running container: join PID 1's user and mount namespaces. */
struct enter_ctx
{
  struct ctrfs *c;
  bool writable;
  ctrfs_fn fn;
  void *arg;
};

static int
enter_running (void *arg, rl_error_t *err)
{
  struct enter_ctx *x = arg;
  cleanup_close int pidfd = -1;

  /* Not dumpable: once in the container's user namespace, its processes
   * must not ptrace us or open our fds through /proc. */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return rl_error (err, errno, "prctl");
  pidfd = syscall (SYS_pidfd_open, x->c->pid, 0);
  if (pidfd < 0 || !proc_alive (x->c->pid, x->c->pid_start))
    return rl_error (err, pidfd < 0 ? errno : ESRCH, "container %.12s is not running anymore",
                     x->c->c.id);
  close_store_fds (x->c->st);
  if (setns (pidfd, CLONE_NEWUSER | CLONE_NEWNS) < 0)
    return rl_error (err, errno, "join the namespaces of container %.12s", x->c->c.id);
  if (chdir ("/") < 0)
    return rl_error (err, errno, "chdir /");
  return x->fn (x->arg, err);
}

/* In the container's root, chrooted: the grandchild of a stopped one. */
struct chroot_ctx
{
  struct rl_store *st;
  int rootfd;
  ctrfs_fn fn;
  void *arg;
};

static int
in_chroot (void *arg, rl_error_t *err)
{
  struct chroot_ctx *x = arg;

  close_store_fds (x->st);
  if (fchdir (x->rootfd) < 0 || chroot (".") < 0 || chdir ("/") < 0)
    return rl_error (err, errno, "chroot into the container's root");
  close (x->rootfd);
  return x->fn (x->arg, err);
}

/* A stopped container, in a new user and mount namespace: mount its root,
 * then run fn chrooted in a child, then unmount (fuse-overlayfs's daemon
 * ends with its mount). */
static int
mount_stopped (void *arg, rl_error_t *err)
{
  struct enter_ctx *x = arg;
  struct ctrfs *c = x->c;
  cleanup_free char *target = xasprintf ("%s/root", c->st->runroot);
  struct rootfs_spec rs = { ctrfs_driver (c), c->layers, -1, c->ctrdir, target, false };
  struct chroot_ctx cx = { c->st, -1, x->fn, x->arg };
  struct ctrfs_job j;
  enum rl_driver used;
  int r;

  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return rl_error (err, errno, "make mounts private");
  if (mounts_scratch (c->st->runroot, err) < 0)
    return -1;
  rs.ctrfd = open (c->ctrdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rs.ctrfd < 0)
    return rl_error (err, errno, "open `%s`", c->ctrdir);
  cx.rootfd = rootfs_mount (&rs, &used, err);
  close (rs.ctrfd);
  if (cx.rootfd < 0)
    return rl_error_wrap (err, "mount the container's root");
  if (!x->writable && mounts_root_readonly (cx.rootfd, err) < 0)
    return -1;
  r = spawn (in_chroot, &cx, -1, &j, err);
  close (cx.rootfd);
  if (r == 0)
    r = ctrfs_wait (&j, err);
  umount2 (target, MNT_DETACH);
  return r;
}

static int
stopped_child (void *arg, rl_error_t *err)
{
  struct enter_ctx *x = arg;
  return userns_run (&x->c->map, true, mount_stopped, x, err);
}

int
ctrfs_spawn (struct ctrfs *c, bool writable, ctrfs_fn fn, void *arg, int host_fd,
             struct ctrfs_job *j, rl_error_t *err)
{
  struct enter_ctx x = { c, writable, fn, arg };

  return spawn (c->running ? enter_running : stopped_child, &x, host_fd, j, err);
}

int
ctrfs_run (struct ctrfs *c, bool writable, ctrfs_fn fn, void *arg, rl_error_t *err)
{
  struct ctrfs_job j;

  if (ctrfs_spawn (c, writable, fn, arg, -1, &j, err) < 0)
    return -1;
  return ctrfs_wait (&j, err);
}

/* ---- stat ---------------------------------------------------------------- */

struct stat_ctx
{
  const char *path;
  bool follow;
  int fd;
};

static int
stat_child (void *arg, rl_error_t *err)
{
  struct stat_ctx *x = arg;
  struct ctrfs_stat res = { 0 };
  struct stat sb;

  if ((x->follow ? stat (x->path, &sb) : lstat (x->path, &sb)) < 0)
    res.errnum = errno;
  else
    res.mode = sb.st_mode;
  if (write_all (x->fd, &res, sizeof res) < 0)
    return rl_error (err, errno, "write");
  return 0;
}

int
ctrfs_stat (struct ctrfs *c, const char *path, bool follow, struct ctrfs_stat *res, rl_error_t *err)
{
  int p[2];
  struct stat_ctx x = { path, follow, -1 };
  ssize_t n;
  int r;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return rl_error (err, errno, "pipe");
  x.fd = p[1];
  r = ctrfs_run (c, false, stat_child, &x, err);
  close (p[1]);
  n = r < 0 ? 0 : read_all (p[0], res, sizeof *res);
  close (p[0]);
  if (r < 0)
    return -1;
  if (n != (ssize_t)sizeof *res)
    return rl_error (err, 0, "stat `%s` in the container: no answer", path);
  return 0;
}

/* ---- tar ---------------------------------------------------------------- */

/* The entry's name below the tree root (archive_read_disk's names start with
 * the path it was opened on); NULL for names outside of it. */
static const char *
rest_of (const char *p, const char *root, size_t rlen)
{
  if (strncmp (p, root, rlen) != 0)
    return NULL;
  p += rlen;
  if (*p != '\0' && *p != '/' && rlen > 0 && root[rlen - 1] != '/')
    return NULL;
  while (*p == '/')
    p++;
  return p;
}

static char *
rename_entry (const struct ctrfs_tar_opts *o, const char *root, size_t rlen, const char *p)
{
  const char *rest = rest_of (p, root, rlen);

  if (rest == NULL)
    return NULL;
  if (*o->name == '\0')
    return xstrdup (rest);
  if (*rest == '\0')
    return xstrdup (o->name);
  return xasprintf ("%s/%s", o->name, rest);
}

static bool
overlay_xattr (const char *name)
{
  return str_has_prefix (name, "user.overlay.") || str_has_prefix (name, "trusted.overlay.")
         || str_has_prefix (name, "user.fuseoverlayfs.");
}

/* Drop overlay's own xattrs; says whether the directory is opaque. */
static bool
strip_overlay_xattrs (struct archive_entry *e)
{
  struct
  {
    char *name;
    void *value;
    size_t size;
  } keep[64];
  size_t nkeep = 0;
  bool opaque = false, any = false;
  const char *name;
  const void *value;
  size_t size;

  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      if (overlay_xattr (name))
        {
          any = true;
          if (str_has_suffix (name, ".opaque") && size >= 1 && ((const char *)value)[0] == 'y')
            opaque = true;
          continue;
        }
      if (nkeep < ARRAY_SIZE (keep))
        {
          keep[nkeep].name = xstrdup (name);
          keep[nkeep].value = xmalloc (size ? size : 1);
          memcpy (keep[nkeep].value, value, size);
          keep[nkeep].size = size;
          nkeep++;
        }
    }
  if (any)
    {
      archive_entry_xattr_clear (e);
      for (size_t i = 0; i < nkeep; i++)
        archive_entry_xattr_add_entry (e, keep[i].name, keep[i].value, keep[i].size);
    }
  for (size_t i = 0; i < nkeep; i++)
    {
      free (keep[i].name);
      free (keep[i].value);
    }
  return opaque;
}

/* A failed write names the entry and, when there is one, the system's
 * reason ("Broken pipe" when the reader went away). */
static int
tar_error (struct archive *out, const char *name, rl_error_t *err)
{
  if (archive_errno (out) > 0)
    return rl_error (err, archive_errno (out), "write tar at `%s`", name);
  return rl_error (err, 0, "write tar at `%s`: %s", name, archive_error_string (out));
}

/* The empty files `rl run` makes for its bind mounts of the generated /etc
 * files, when the image has none: a container cannot write them (they are
 * covered), so they are rl's, not changes of the container's. */
static bool
generated_mount_point (const char *name, struct archive_entry *e)
{
  static const char *const files[] = { "etc/hosts", "etc/hostname", "etc/resolv.conf" };

  if (archive_entry_filetype (e) != AE_IFREG || archive_entry_size (e) != 0)
    return false;
  for (size_t i = 0; i < ARRAY_SIZE (files); i++)
    if (strcmp (name, files[i]) == 0)
      return true;
  return false;
}

static int
write_marker (struct archive *out, const char *name, rl_error_t *err)
{
  struct archive_entry *m = archive_entry_new ();
  int r = 0;

  archive_entry_set_pathname (m, name);
  archive_entry_set_filetype (m, AE_IFREG);
  archive_entry_set_perm (m, 0);
  archive_entry_set_size (m, 0);
  if (archive_write_header (out, m) < ARCHIVE_WARN)
    r = tar_error (out, name, err);
  archive_entry_free (m);
  return r;
}

struct tar_walk
{
  const struct ctrfs_tar_opts *o;
  const char *root;
  size_t rlen;
  struct archive *in, *out;
  char *buf;
};

static int
copy_one (struct tar_walk *w, struct archive_entry *e, rl_error_t *err)
{
  const struct ctrfs_tar_opts *o = w->o;
  cleanup_free char *name = rename_entry (o, w->root, w->rlen, archive_entry_pathname (e));
  const char *hl = archive_entry_hardlink (e);
  mode_t type = archive_entry_filetype (e);
  bool opaque = false;

  if (name == NULL || *name == '\0' || type == AE_IFSOCK)
    return 0;
  archive_entry_set_pathname (e, name);
  if (hl)
    {
      cleanup_free char *h = rename_entry (o, w->root, w->rlen, hl);
      if (h == NULL || *h == '\0')
        archive_entry_set_hardlink (e, NULL);
      else
        archive_entry_set_hardlink (e, h);
    }
  archive_entry_set_uname (e, NULL);
  archive_entry_set_gname (e, NULL);
  archive_entry_sparse_clear (e);
  if (o->diff)
    {
      if (generated_mount_point (name, e))
        return 0;
      opaque = strip_overlay_xattrs (e);
      if (hl == NULL && type == AE_IFCHR && archive_entry_rdevmajor (e) == 0
          && archive_entry_rdevminor (e) == 0)
        {
          /* An overlay whiteout: the OCI name for it. */
          const char *slash = strrchr (name, '/');
          cleanup_free char *wh
              = slash ? xasprintf ("%.*s/.wh.%s", (int)(slash - name), name, slash + 1)
                      : xasprintf (".wh.%s", name);
          return write_marker (w->out, wh, err);
        }
    }
  if (archive_write_header (w->out, e) < ARCHIVE_WARN)
    return tar_error (w->out, name, err);
  if (opaque && type == AE_IFDIR)
    {
      cleanup_free char *wh = xasprintf ("%s/.wh..wh..opq", name);
      if (write_marker (w->out, wh, err) < 0)
        return -1;
    }
  if (type != AE_IFREG || (hl && archive_entry_size (e) == 0))
    return 0;
  for (;;)
    {
      la_ssize_t n = archive_read_data (w->in, w->buf, 128 * 1024);
      if (n < 0)
        return rl_error (err, 0, "read `%s`: %s", archive_entry_pathname (e),
                         archive_error_string (w->in));
      if (n == 0)
        break;
      if (archive_write_data (w->out, w->buf, n) != n)
        return tar_error (w->out, name, err);
    }
  return 0;
}

int
ctrfs_write_tar (int fd, const struct ctrfs_tar_opts *o, rl_error_t *err)
{
  cleanup_awrite struct archive *out = NULL;
  cleanup_aread struct archive *in = NULL;
  cleanup_free char *buf = xmalloc (128 * 1024);
  struct archive_entry_linkresolver *lr = NULL;
  struct archive_entry *e = NULL;
  struct tar_walk w = { o, o->path, strlen (o->path), NULL, NULL, buf };
  int r, ret = -1;

  if (dl_need_archive (err) < 0)
    return -1;
  out = archive_write_new ();
  in = archive_read_disk_new ();
  w.in = in;
  w.out = out;
  archive_write_set_format_pax_restricted (out);
  archive_write_add_filter_none (out);
  archive_write_set_bytes_in_last_block (out, 1);
  if (archive_write_open_fd (out, fd) != ARCHIVE_OK)
    return rl_error (err, archive_errno (out), "write tar");
  if (o->follow)
    archive_read_disk_set_symlink_hybrid (in);
  else
    archive_read_disk_set_symlink_physical (in);
  archive_read_disk_set_behavior (in, ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS
                                          | ARCHIVE_READDISK_NO_SPARSE
                                          | (o->one_fs ? ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS : 0));
  if (archive_read_disk_open (in, o->path) != ARCHIVE_OK)
    return rl_error (err, archive_errno (in), "read `%s`", o->path);
  lr = archive_entry_linkresolver_new ();
  archive_entry_linkresolver_set_strategy (lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  e = archive_entry_new ();
  while ((r = archive_read_next_header2 (in, e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      struct archive_entry *spare = NULL, *cur = e;

      archive_read_disk_descend (in);
      archive_entry_linkify (lr, &cur, &spare);
      if (cur && copy_one (&w, cur, err) < 0)
        goto out;
      if (spare && copy_one (&w, spare, err) < 0)
        goto out;
      if (cur != e && cur)
        archive_entry_free (cur);
      archive_entry_clear (e);
    }
  if (r != ARCHIVE_EOF)
    {
      rl_error (err, archive_errno (in), "read `%s`: %s", o->path, archive_error_string (in));
      goto out;
    }
  if (archive_write_close (out) != ARCHIVE_OK)
    {
      rl_error (err, archive_errno (out), "write tar: %s", archive_error_string (out));
      goto out;
    }
  ret = 0;
out:
  archive_entry_free (e);
  archive_entry_linkresolver_free (lr);
  return ret;
}

/* ---- the diff for commit ------------------------------------------------ */

struct diff_ctx
{
  struct ctrfs *c;
  enum rl_driver driver;
  int fd;
  const char *base_rel; /* vfs: a directory under the store root for the image's copy */
};

static int
write_empty_tar (int fd, rl_error_t *err)
{
  static const char zeros[1024];
  if (write_all (fd, zeros, sizeof zeros) < 0)
    return rl_error (err, errno, "write tar");
  return 0;
}

/* lstat of rel below rootfd, no symlink on the way followed out of it. */
static int
lstat_below (int rootfd, const char *rel, struct stat *sb)
{
  cleanup_free char *dir = xstrdup (rel);
  cleanup_close int dfd = -1;
  char *slash = strrchr (dir, '/');
  const char *base = rel;

  if (slash)
    {
      *slash = '\0';
      base = rel + (slash - dir) + 1;
      dfd = open_in_root (rootfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
      if (dfd < 0)
        return -1;
    }
  return fstatat (slash ? dfd : rootfd, base, sb, AT_SYMLINK_NOFOLLOW);
}

static bool
same_link (int afd, int bfd, const char *rel)
{
  char a[PATH_MAX], b[PATH_MAX];
  cleanup_free char *dir = xstrdup (rel);
  cleanup_close int ad = -1;
  cleanup_close int bd = -1;
  char *slash = strrchr (dir, '/');
  const char *base = slash ? rel + (slash - dir) + 1 : rel;
  ssize_t na, nb;

  if (slash)
    *slash = '\0';
  ad = open_in_root (afd, slash ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  bd = open_in_root (bfd, slash ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (ad < 0 || bd < 0)
    return false;
  na = readlinkat (ad, base, a, sizeof a);
  nb = readlinkat (bd, base, b, sizeof b);
  return na >= 0 && na == nb && memcmp (a, b, na) == 0;
}

/* Is the container's file as the image has it?  What Docker's naive diff
 * compares: type, mode, owners, and for non-directories size and mtime. */
static bool
unchanged (const struct stat *a, const struct stat *b)
{
  if ((a->st_mode & S_IFMT) != (b->st_mode & S_IFMT) || a->st_mode != b->st_mode
      || a->st_uid != b->st_uid || a->st_gid != b->st_gid)
    return false;
  if (S_ISDIR (a->st_mode))
    return true;
  if (S_ISCHR (a->st_mode) || S_ISBLK (a->st_mode))
    return a->st_rdev == b->st_rdev;
  return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec
         && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* vfs: the container's copy against a fresh copy of its image. */
static int
vfs_diff (struct diff_ctx *x, rl_error_t *err)
{
  cleanup_awrite struct archive *out = NULL;
  cleanup_free char *rootfs = xasprintf ("%s/rootfs", x->c->ctrdir);
  cleanup_free char *base_rel = xasprintf ("%s/base", x->base_rel);
  cleanup_free char *base = xasprintf ("%s/%s", x->c->st->root, base_rel);
  cleanup_free char *buf = xmalloc (128 * 1024);
  cleanup_close int rootfd = -1;
  cleanup_close int basefd = -1;
  struct ctrfs_tar_opts o = { .path = rootfs, .name = "" };
  struct tar_walk w = { &o, rootfs, strlen (rootfs), NULL, NULL, buf };
  struct archive_entry *e = NULL;
  int r, ret = -1;

  if (vfs_make_rootfs (x->c->st->rootfd, base_rel, x->c->layers, err) < 0)
    return rl_error_wrap (err, "copy the image");
  rootfd = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    {
      if (errno == ENOENT)
        return write_empty_tar (x->fd, err);
      return rl_error (err, errno, "open `%s`", rootfs);
    }
  basefd = open (base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (basefd < 0)
    return rl_error (err, errno, "open `%s`", base);
  out = archive_write_new ();
  w.out = out;
  archive_write_set_format_pax_restricted (out);
  archive_write_add_filter_none (out);
  archive_write_set_bytes_in_last_block (out, 1);
  if (archive_write_open_fd (out, x->fd) != ARCHIVE_OK)
    return rl_error (err, archive_errno (out), "write tar");
  e = archive_entry_new ();
  /* What is new or changed, then what is gone. */
  for (int pass = 0; pass < 2; pass++)
    {
      cleanup_aread struct archive *in = archive_read_disk_new ();
      const char *top = pass == 0 ? rootfs : base;
      size_t tlen = strlen (top);

      w.in = in;
      archive_read_disk_set_symlink_physical (in);
      archive_read_disk_set_behavior (in, ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS
                                              | ARCHIVE_READDISK_NO_SPARSE);
      if (archive_read_disk_open (in, top) != ARCHIVE_OK)
        {
          rl_error (err, archive_errno (in), "read `%s`", top);
          goto out;
        }
      while ((r = archive_read_next_header2 (in, e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
        {
          const char *rel = rest_of (archive_entry_pathname (e), top, tlen);
          struct stat here, there;
          bool found, changed;

          if (rel == NULL || *rel == '\0')
            {
              archive_read_disk_descend (in);
              archive_entry_clear (e);
              continue;
            }
          found = lstat_below (pass == 0 ? basefd : rootfd, rel, &there) == 0;
          if (pass == 1)
            {
              if (!found)
                {
                  const char *slash = strrchr (rel, '/');
                  cleanup_free char *wh
                      = slash ? xasprintf ("%.*s/.wh.%s", (int)(slash - rel), rel, slash + 1)
                              : xasprintf (".wh.%s", rel);
                  if (write_marker (out, wh, err) < 0)
                    goto out;
                }
              else
                archive_read_disk_descend (in);
              archive_entry_clear (e);
              continue;
            }
          archive_read_disk_descend (in);
          if (lstat_below (rootfd, rel, &here) < 0)
            {
              archive_entry_clear (e);
              continue;
            }
          changed = !found || !unchanged (&here, &there)
                    || (S_ISLNK (here.st_mode) && !same_link (rootfd, basefd, rel));
          if (changed && !(!found && generated_mount_point (rel, e)) && copy_one (&w, e, err) < 0)
            goto out;
          archive_entry_clear (e);
        }
      if (r != ARCHIVE_EOF)
        {
          rl_error (err, archive_errno (in), "read `%s`: %s", top, archive_error_string (in));
          goto out;
        }
    }
  if (archive_write_close (out) != ARCHIVE_OK)
    {
      rl_error (err, archive_errno (out), "write tar: %s", archive_error_string (out));
      goto out;
    }
  ret = 0;
out:
  archive_entry_free (e);
  return ret;
}

static int
diff_child (void *arg, rl_error_t *err)
{
  struct diff_ctx *x = arg;
  cleanup_free char *upper = xasprintf ("%s/upper", x->c->ctrdir);
  struct ctrfs_tar_opts o = { .path = upper, .name = "", .diff = true };
  struct stat sb;

  if (x->driver == DRIVER_VFS)
    return vfs_diff (x, err);
  if (stat (upper, &sb) < 0)
    {
      if (errno == ENOENT)
        return write_empty_tar (x->fd, err);
      return rl_error (err, errno, "stat `%s`", upper);
    }
  return ctrfs_write_tar (x->fd, &o, err);
}

int
ctrfs_diff_tar (struct ctrfs *c, int fd, rl_error_t *err)
{
  struct diff_ctx x = { c, ctrfs_driver (c), fd, NULL };
  struct store_tmp tt = { NULL, NULL, -1 };
  int r;

  if (dl_need_archive (err) < 0)
    return -1;
  if (x.driver != DRIVER_VFS)
    return userns_run (&c->map, false, diff_child, &x, err);
  if (store_tmp_new (c->st, "commit-base", &tt, err) < 0)
    return -1;
  if (mkdirat (c->st->rootfd, tt.name, 0700) < 0)
    r = rl_error (err, errno, "mkdir `%s/%s`", c->st->root, tt.name);
  else
    {
      x.base_rel = tt.name;
      r = userns_run (&c->map, false, diff_child, &x, err);
    }
  store_tmp_release (c->st, &c->map, &tt);
  return r;
}
