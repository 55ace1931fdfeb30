/* The vfs storage driver: the container's root as a plain copy of its
 * image's layers, for when neither overlay driver works.  Run inside the
 * container's user namespace, so owners are copied as they are.  The layers
 * hold whiteouts the way the overlay drivers read them (a 0/0 character
 * device; user.overlay.opaque=y on an opaque directory; see image/layer.h);
 * the AUFS names (.wh.NAME, .wh..wh..opq) are honoured as well. */
#include "config.h"
#include "runtime/mounts.h"
#include "util/fs.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

struct hardlink
{
  dev_t dev;
  ino_t ino;
  char *path; /* relative to the copy's root */
};

struct vfs_ctx
{
  int dstroot;
  struct hardlink *links;
  size_t n_links;
};

static bool
is_overlay_xattr (const char *name)
{
  return str_has_prefix (name, "user.overlay.") || str_has_prefix (name, "trusted.overlay.")
         || str_has_prefix (name, "user.fuseoverlayfs.");
}

static bool
is_opaque (int dirfd)
{
  static const char *const names[]
      = { "user.overlay.opaque", "trusted.overlay.opaque", "user.fuseoverlayfs.opaque" };
  struct stat sb;
  char v;

  for (size_t i = 0; i < ARRAY_SIZE (names); i++)
    if (fgetxattr (dirfd, names[i], &v, 1) == 1 && v == 'y')
      return true;
  return fstatat (dirfd, WH_OPAQUE, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Best effort: a security.* or unknown xattr the kernel refuses is dropped. */
static void
copy_xattrs (int from, int to)
{
  char list[8192], value[65536];
  ssize_t n = flistxattr (from, list, sizeof list);

  for (ssize_t off = 0; off < n; off += strlen (list + off) + 1)
    {
      const char *name = list + off;
      ssize_t v;
      if (is_overlay_xattr (name))
        continue;
      v = fgetxattr (from, name, value, sizeof value);
      if (v >= 0)
        fsetxattr (to, name, value, v, 0);
    }
}

/* Owners that are not mapped (single-id map) stay the namespace's root. */
static int
set_meta_fd (int fd, const struct stat *sb, const char *what, rl_error_t *err)
{
  struct timespec t[2] = { sb->st_atim, sb->st_mtim };

  if (fchown (fd, sb->st_uid, sb->st_gid) < 0 && errno != EINVAL && errno != EPERM)
    return rl_error (err, errno, "chown `%s`", what);
  if (fchmod (fd, sb->st_mode & 07777) < 0)
    return rl_error (err, errno, "chmod `%s`", what);
  futimens (fd, t);
  return 0;
}

static int
clear_dir (int dirfd, rl_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd = dup (dirfd);

  if (fd < 0)
    return rl_error (err, errno, "dup");
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return rl_error (err, errno, "opendir");
    }
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0
        && rm_rf_at (dirfd, de->d_name, err) < 0)
      return -1;
  return 0;
}

/* Make room for a new non-directory entry: whatever is there goes. */
static int
replace (int dstfd, const char *name, rl_error_t *err)
{
  return rm_rf_at (dstfd, name, err);
}

static int
copy_regular (struct vfs_ctx *ctx, int srcdir, int dstdir, const char *name, const char *rel,
              const struct stat *sb, rl_error_t *err)
{
  cleanup_close int in = -1;
  cleanup_close int out = -1;

  if (sb->st_nlink > 1)
    for (size_t i = 0; i < ctx->n_links; i++)
      if (ctx->links[i].dev == sb->st_dev && ctx->links[i].ino == sb->st_ino)
        {
          if (replace (dstdir, name, err) < 0)
            return -1;
          if (linkat (ctx->dstroot, ctx->links[i].path, dstdir, name, 0) == 0)
            return 0;
          break; /* the first copy was removed by a later whiteout: copy again */
        }
  in = openat (srcdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0)
    return rl_error (err, errno, "open `%s`", rel);
  if (replace (dstdir, name, err) < 0)
    return -1;
  out = openat (dstdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return rl_error (err, errno, "create `%s`", rel);
  for (;;)
    {
      ssize_t n = copy_file_range (in, NULL, out, NULL, 1 << 30, 0);
      if (n == 0)
        break;
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
            return rl_error (err, errno, "copy `%s`", rel);
          if (copy_fd (in, out, err) < 0)
            return rl_error_wrap (err, "copy `%s`", rel);
          break;
        }
    }
  copy_xattrs (in, out);
  if (set_meta_fd (out, sb, rel, err) < 0)
    return -1;
  if (sb->st_nlink > 1)
    {
      ctx->links = xrealloc (ctx->links, (ctx->n_links + 1) * sizeof *ctx->links);
      ctx->links[ctx->n_links++]
          = (struct hardlink){ sb->st_dev, sb->st_ino, xstrdup (rel[0] == '/' ? rel + 1 : rel) };
    }
  return 0;
}

static int copy_dir (struct vfs_ctx *ctx, int srcfd, int dstfd, const char *rel, rl_error_t *err);

static int
copy_entry (struct vfs_ctx *ctx, int srcfd, int dstfd, const char *name, const char *parent,
            rl_error_t *err)
{
  cleanup_free char *rel = xasprintf ("%s/%s", parent, name);
  struct stat sb, db;

  if (strcmp (name, WH_OPAQUE) == 0)
    return 0;
  if (str_has_prefix (name, WH_PREFIX))
    return rm_rf_at (dstfd, name + strlen (WH_PREFIX), err);
  if (fstatat (srcfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
    return rl_error (err, errno, "stat `%s`", rel);
  switch (sb.st_mode & S_IFMT)
    {
    case S_IFCHR:
      if (sb.st_rdev == makedev (0, 0))
        return rm_rf_at (dstfd, name, err); /* a whiteout */
      return 0;                             /* devices cannot be made in a user namespace */
    case S_IFBLK:
    case S_IFSOCK:
      return 0;
    case S_IFIFO:
      if (replace (dstfd, name, err) < 0)
        return -1;
      if (mkfifoat (dstfd, name, sb.st_mode & 07777) < 0)
        return rl_error (err, errno, "mkfifo `%s`", rel);
      fchownat (dstfd, name, sb.st_uid, sb.st_gid, AT_SYMLINK_NOFOLLOW);
      return 0;
    case S_IFLNK:
      {
        char target[PATH_MAX];
        struct timespec t[2] = { sb.st_atim, sb.st_mtim };
        ssize_t n = readlinkat (srcfd, name, target, sizeof target - 1);

        if (n < 0)
          return rl_error (err, errno, "readlink `%s`", rel);
        target[n] = '\0';
        if (replace (dstfd, name, err) < 0)
          return -1;
        if (symlinkat (target, dstfd, name) < 0)
          return rl_error (err, errno, "symlink `%s`", rel);
        fchownat (dstfd, name, sb.st_uid, sb.st_gid, AT_SYMLINK_NOFOLLOW);
        utimensat (dstfd, name, t, AT_SYMLINK_NOFOLLOW);
        return 0;
      }
    case S_IFREG:
      return copy_regular (ctx, srcfd, dstfd, name, rel, &sb, err);
    case S_IFDIR:
      {
        cleanup_close int s2 = -1;
        cleanup_close int d2 = -1;

        if (fstatat (dstfd, name, &db, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR (db.st_mode)
            && replace (dstfd, name, err) < 0)
          return -1;
        if (mkdirat (dstfd, name, 0700) < 0 && errno != EEXIST)
          return rl_error (err, errno, "mkdir `%s`", rel);
        s2 = openat (srcfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        d2 = openat (dstfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s2 < 0 || d2 < 0)
          return rl_error (err, errno, "open `%s`", rel);
        if (copy_dir (ctx, s2, d2, rel, err) < 0)
          return -1;
        copy_xattrs (s2, d2);
        return set_meta_fd (d2, &sb, rel, err);
      }
    }
  return 0;
}

static int
copy_dir (struct vfs_ctx *ctx, int srcfd, int dstfd, const char *rel, rl_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd;

  /* Opaque: what lower layers put here is hidden. */
  if (is_opaque (srcfd) && clear_dir (dstfd, err) < 0)
    return -1;
  fd = dup (srcfd);
  if (fd < 0)
    return rl_error (err, errno, "dup");
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return rl_error (err, errno, "opendir `%s`", rel);
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (copy_entry (ctx, srcfd, dstfd, de->d_name, rel, err) < 0)
        return -1;
    }
  if (errno != 0)
    return rl_error (err, errno, "read directory `%s`", rel);
  return 0;
}

int
vfs_make_rootfs (int dirfd, const char *name, char *const *layers, rl_error_t *err)
{
  cleanup_free char *tmp = xasprintf ("%s.tmp", name);
  cleanup_close int dst = -1;
  struct vfs_ctx ctx = { .dstroot = -1 };
  struct stat sb;
  int ret = -1;

  if (fstatat (dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (sb.st_mode))
    return 0;
  /* Copied under a temporary name: a copy cut short is never used. */
  if (rm_rf_at (dirfd, tmp, err) < 0)
    return -1;
  if (mkdirat (dirfd, tmp, 0755) < 0)
    return rl_error (err, errno, "mkdir `%s`", tmp);
  dst = openat (dirfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dst < 0)
    return rl_error (err, errno, "open `%s`", tmp);
  ctx.dstroot = dst;
  for (size_t i = 0; layers[i]; i++)
    {
      cleanup_close int src = open (layers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (src < 0)
        {
          rl_error (err, errno, "open layer `%s`", layers[i]);
          goto out;
        }
      if (copy_dir (&ctx, src, dst, "", err) < 0 || fstat (src, &sb) < 0
          || set_meta_fd (dst, &sb, "/", err) < 0)
        {
          rl_error_wrap (err, "copy layer `%s`", layers[i]);
          goto out;
        }
      /* Hard links never span layers. */
      for (size_t j = 0; j < ctx.n_links; j++)
        free (ctx.links[j].path);
      ctx.n_links = 0;
    }
  if (renameat (dirfd, tmp, dirfd, name) < 0)
    {
      rl_error (err, errno, "rename `%s`", tmp);
      goto out;
    }
  ret = 0;
out:
  for (size_t j = 0; j < ctx.n_links; j++)
    free (ctx.links[j].path);
  free (ctx.links);
  return ret;
}
