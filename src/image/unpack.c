/* The safe layer unpacker (shared by import and pull) and the byte readers
 * that feed it: plain fds, hashing, gzip/zstd decompression.
 *
 * A layer is hostile until proven otherwise.  Every entry is created with
 * *at() calls on a parent directory that was resolved with openat2
 * RESOLVE_IN_ROOT below the layer directory, and the entry itself is
 * created fresh (an existing one is removed first) and never followed, so
 * a symlink planted by an earlier entry cannot redirect a write, and no name
 * can reach outside the layer. */
#include "config.h"
#include "image/layer.h"
#include "util/dl.h"
#include "util/fs.h"
#include "util/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define WHITEOUT_PREFIX      ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE      ".wh..wh..opq"

/* ---- readers ---- */

ssize_t
layer_fd_read (void *arg, void *buf, size_t len, rl_error_t *err)
{
  struct layer_fd_reader *r = arg;
  for (;;)
    {
      ssize_t n = read (r->fd, buf, len);
      if (n >= 0)
        return n;
      if (errno != EINTR)
        return rl_error (err, errno, "read %s", r->what ? r->what : "input");
    }
}

void
layer_hash_reader_init (struct layer_hash_reader *hr, layer_read_fn rd, void *arg, uint64_t limit)
{
  hr->rd = rd;
  hr->arg = arg;
  hr->n = 0;
  hr->limit = limit;
  sha256_init (&hr->h);
}

ssize_t
layer_hash_read (void *arg, void *buf, size_t len, rl_error_t *err)
{
  struct layer_hash_reader *hr = arg;
  ssize_t n = hr->rd (hr->arg, buf, len, err);

  if (n <= 0)
    return n;
  hr->n += n;
  if (hr->limit && hr->n > hr->limit)
    return rl_error (err, 0, "more than the %llu bytes declared", (unsigned long long)hr->limit);
  sha256_update (&hr->h, buf, n);
  return n;
}

void
layer_hash_reader_digest (struct layer_hash_reader *hr, char out[DIGEST_LEN + 1])
{
  char hex[SHA256_HEX_LEN + 1];
  sha256_final_hex (&hr->h, hex);
  snprintf (out, DIGEST_LEN + 1, DIGEST_PREFIX "%s", hex);
}

enum decomp_kind
{
  DECOMP_UNKNOWN,
  DECOMP_PLAIN,
  DECOMP_GZIP,
  DECOMP_ZSTD,
};

struct layer_decomp
{
  layer_read_fn rd;
  void *arg;
  enum decomp_kind kind;
  bool eof, done, z_ready;
  z_stream z;
  ZSTD_DStream *zs;
  size_t zs_last; /* last ZSTD_decompressStream result: 0 at a frame end */
  size_t in_len, in_pos;
  unsigned char in[128 * 1024];
};

struct layer_decomp *
layer_decomp_new (layer_read_fn rd, void *arg)
{
  struct layer_decomp *d = xmalloc0 (sizeof *d);
  d->rd = rd;
  d->arg = arg;
  return d;
}

void
layer_decomp_free (struct layer_decomp *d)
{
  if (d == NULL)
    return;
  if (d->z_ready)
    inflateEnd (&d->z);
  if (d->zs)
    ZSTD_freeDStream (d->zs);
  free (d);
}

/* Refill the input buffer when it is used up; returns -1 on error. */
static int
decomp_fill (struct layer_decomp *d, rl_error_t *err)
{
  ssize_t n;

  if (d->in_pos < d->in_len || d->eof)
    return 0;
  n = d->rd (d->arg, d->in, sizeof d->in, err);
  if (n < 0)
    return -1;
  d->in_pos = 0;
  d->in_len = n;
  if (n == 0)
    d->eof = true;
  return 0;
}

static int
decomp_detect (struct layer_decomp *d, rl_error_t *err)
{
  static const unsigned char gz[] = { 0x1f, 0x8b };
  static const unsigned char zst[] = { 0x28, 0xb5, 0x2f, 0xfd };

  /* Gather 4 bytes (a reader may return fewer at a time). */
  while (d->in_len < 4 && !d->eof)
    {
      ssize_t n = d->rd (d->arg, d->in + d->in_len, sizeof d->in - d->in_len, err);
      if (n < 0)
        return -1;
      if (n == 0)
        d->eof = true;
      d->in_len += n;
    }
  if (d->in_len >= 2 && memcmp (d->in, gz, 2) == 0)
    {
      d->kind = DECOMP_GZIP;
      /* 15 + 16: gzip framing only. */
      if (inflateInit2 (&d->z, 15 + 16) != Z_OK)
        return rl_error (err, 0, "gzip: cannot initialize zlib");
      d->z_ready = true;
    }
  else if (d->in_len >= 4 && memcmp (d->in, zst, 4) == 0)
    {
      d->kind = DECOMP_ZSTD;
      d->zs = ZSTD_createDStream ();
      if (d->zs == NULL)
        return rl_error (err, 0, "zstd: cannot create a decompression stream");
      ZSTD_initDStream (d->zs);
    }
  else
    d->kind = DECOMP_PLAIN;
  return 0;
}

static ssize_t
decomp_gzip (struct layer_decomp *d, void *buf, size_t len, rl_error_t *err)
{
  for (;;)
    {
      int r;
      size_t got;

      if (decomp_fill (d, err) < 0)
        return -1;
      if (d->in_pos == d->in_len && d->eof)
        {
          if (d->done)
            return 0;
          return rl_error (err, 0, "gzip: unexpected end of stream (truncated?)");
        }
      if (d->done)
        {
          /* More bytes after a member: another gzip member follows. */
          inflateReset (&d->z);
          d->done = false;
        }
      d->z.next_in = d->in + d->in_pos;
      d->z.avail_in = d->in_len - d->in_pos;
      d->z.next_out = buf;
      d->z.avail_out = len;
      r = inflate (&d->z, Z_NO_FLUSH);
      d->in_pos = d->in_len - d->z.avail_in;
      got = len - d->z.avail_out;
      if (r == Z_STREAM_END)
        d->done = true;
      else if (r != Z_OK && r != Z_BUF_ERROR)
        return rl_error (err, 0, "gzip: %s", d->z.msg ? d->z.msg : "corrupt data");
      if (got > 0)
        return got;
    }
}

static ssize_t
decomp_zstd (struct layer_decomp *d, void *buf, size_t len, rl_error_t *err)
{
  for (;;)
    {
      ZSTD_inBuffer in;
      ZSTD_outBuffer out = { buf, len, 0 };

      if (decomp_fill (d, err) < 0)
        return -1;
      if (d->in_pos == d->in_len && d->eof)
        {
          if (d->zs_last == 0)
            return 0;
          return rl_error (err, 0, "zstd: unexpected end of stream (truncated?)");
        }
      in.src = d->in;
      in.size = d->in_len;
      in.pos = d->in_pos;
      d->zs_last = ZSTD_decompressStream (d->zs, &out, &in);
      if (ZSTD_isError (d->zs_last))
        return rl_error (err, 0, "zstd: %s", ZSTD_getErrorName (d->zs_last));
      d->in_pos = in.pos;
      if (out.pos > 0)
        return out.pos;
    }
}

ssize_t
layer_decomp_read (void *arg, void *buf, size_t len, rl_error_t *err)
{
  struct layer_decomp *d = arg;

  if (d->kind == DECOMP_UNKNOWN && decomp_detect (d, err) < 0)
    return -1;
  switch (d->kind)
    {
    case DECOMP_GZIP:
      return decomp_gzip (d, buf, len, err);
    case DECOMP_ZSTD:
      return decomp_zstd (d, buf, len, err);
    default:
      if (d->in_pos < d->in_len)
        {
          size_t n = d->in_len - d->in_pos < len ? d->in_len - d->in_pos : len;
          memcpy (buf, d->in + d->in_pos, n);
          d->in_pos += n;
          return n;
        }
      if (d->eof)
        return 0;
      return d->rd (d->arg, buf, len, err);
    }
}

/* ---- the unpacker ---- */

struct deferred_dir
{
  char *path;
  mode_t mode;
  struct timespec mtime;
};

struct unpack
{
  int rootfd;
  const struct layer_unpack_opts *o;
  struct layer_unpack_stats *stats;
  layer_read_fn rd;
  void *rd_arg;
  rl_error_t rd_err; /* the reader's own error, kept over libarchive's */
  char *cached_dir;  /* the parent directory of the last entry ... */
  int cached_fd;     /* ... and an O_PATH fd on it */
  struct deferred_dir *dirs;
  size_t ndirs, cap_dirs;
  unsigned char buf[128 * 1024];
};

static int
openat2_flags (int dirfd, const char *path, int flags, uint64_t resolve)
{
  struct open_how how = {
    .flags = (uint64_t)flags | O_CLOEXEC,
    .resolve = resolve | RESOLVE_NO_MAGICLINKS,
  };
  return syscall (SYS_openat2, dirfd, path, &how, sizeof how);
}

static la_ssize_t
archive_read_cb (struct archive *a, void *data, const void **buf)
{
  struct unpack *u = data;
  ssize_t n = u->rd (u->rd_arg, u->buf, sizeof u->buf, &u->rd_err);

  if (n < 0)
    {
      archive_set_error (a, EIO, "%s", u->rd_err ? u->rd_err->msg : "read error");
      return -1;
    }
  *buf = u->buf;
  return n;
}

/* Clean a tar name: absolute names are taken relative to the layer, "." and
 * empty components vanish, ".." goes up lexically but never above the
 * layer.  "" is the layer root. */
static char *
clean_name (const char *name, rl_error_t *err)
{
  cleanup_free char *out = xmalloc (strlen (name) + 1);
  size_t len = 0;
  const char *p = name;

  while (*p)
    {
      const char *e;
      size_t n;
      while (*p == '/')
        p++;
      e = strchrnul (p, '/');
      n = e - p;
      if (n == 0 || (n == 1 && p[0] == '.'))
        ;
      else if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          if (len == 0)
            return rl_error (err, 0, "`%s`: path leads out of the layer", name), NULL;
          while (len > 0 && out[len - 1] != '/')
            len--;
          if (len > 0)
            len--;
        }
      else
        {
          if (len > 0)
            out[len++] = '/';
          memcpy (out + len, p, n);
          len += n;
        }
      p = e;
    }
  out[len] = '\0';
  return steal_pointer (&out);
}

static void
invalidate_cache (struct unpack *u)
{
  if (u->cached_fd >= 0)
    close (u->cached_fd);
  u->cached_fd = -1;
  free (u->cached_dir);
  u->cached_dir = NULL;
}

/* An O_PATH fd on directory dir ("" for the root), created with its
 * missing parents (mode 0755, as tar does for directories it was not told
 * about).  The fd belongs to the cache: do not close it. */
static int
parent_dir (struct unpack *u, const char *dir, rl_error_t *err)
{
  cleanup_free char *p = NULL;
  cleanup_close int cur = -1;
  int fd;

  if (u->cached_dir && strcmp (u->cached_dir, dir) == 0)
    return u->cached_fd;
  invalidate_cache (u);
  fd = openat2_flags (u->rootfd, *dir ? dir : ".", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
  if (fd < 0 && errno != ENOENT)
    return rl_error (err, errno, "open directory `%s`", dir);
  if (fd < 0)
    {
      /* Walk down, creating what is missing; each step is resolved in root. */
      p = xstrdup (dir);
      cur = openat2_flags (u->rootfd, ".", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
      if (cur < 0)
        return rl_error (err, errno, "open layer root");
      for (char *c = p, *e; c && *c; c = e)
        {
          int next;
          e = strchr (c, '/');
          if (e)
            *e++ = '\0';
          next = openat2_flags (cur, c, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
          if (next < 0 && errno == ENOENT)
            {
              if (mkdirat (cur, c, 0755) < 0 && errno != EEXIST)
                return rl_error (err, errno, "mkdir `%s`", dir);
              next = openat2_flags (cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, RESOLVE_IN_ROOT);
              /* The umask must not decide the mode of a directory in an image. */
              if (next >= 0)
                fchmod (next, 0755);
            }
          if (next < 0)
            return rl_error (err, errno, "open directory `%s`", dir);
          close (cur);
          cur = next;
        }
      fd = steal_fd (&cur);
    }
  u->cached_dir = xstrdup (dir);
  u->cached_fd = fd;
  return fd;
}

/* xattrs that decide how overlay drivers read a layer (opaque dirs,
 * whiteouts, redirects, fuse-overlayfs's owner override): only rl's own
 * whiteout handling may set them. */
static bool
xattr_forbidden (const char *name)
{
  static const char *const prefixes[]
      = { "trusted.overlay.", "user.overlay.", "user.fuseoverlayfs.",
          "user.containers.override_stat", "security.selinux" };
  for (size_t i = 0; i < ARRAY_SIZE (prefixes); i++)
    if (str_has_prefix (name, prefixes[i]))
      return true;
  return false;
}

/* Set the entry's xattrs on fd (a regular file or directory opened for
 * reading or writing).  Those the kernel refuses us (security.* without
 * privilege, trusted.*) are counted, not fatal. */
static int
apply_xattrs (struct unpack *u, struct archive_entry *e, int fd, const char *path, rl_error_t *err)
{
  const char *name;
  const void *value;
  size_t size;

  if (archive_entry_xattr_reset (e) == 0)
    return 0;
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      if (xattr_forbidden (name))
        continue;
      if (fsetxattr (fd, name, value, size, 0) < 0)
        {
          if (errno == EPERM || errno == ENOTSUP || errno == EACCES || errno == EINVAL)
            {
              u->stats->skipped_xattrs++;
              continue;
            }
          return rl_error (err, errno, "`%s`: set xattr `%s`", path, name);
        }
    }
  return 0;
}

static int
check_owner (struct unpack *u, struct archive_entry *e, const char *path, rl_error_t *err)
{
  unsigned long uid = archive_entry_uid (e), gid = archive_entry_gid (e);
  unsigned long lim = u->o->id_limit;

  if (!u->o->chown || lim == 0 || (uid < lim && gid < lim))
    return 0;
  return rl_error (err, 0,
                   "`%s` is owned by %lu:%lu, outside the %lu ids of the user namespace "
                   "(a larger /etc/subuid and /etc/subgid range is needed)",
                   path, uid, gid, lim);
}

static int
chown_at (struct unpack *u, int dirfd, const char *name, struct archive_entry *e, const char *path,
          rl_error_t *err)
{
  if (!u->o->chown)
    return 0;
  if (fchownat (dirfd, name, archive_entry_uid (e), archive_entry_gid (e),
                AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH))
      < 0)
    return rl_error (err, errno, "chown `%s` to %ld:%ld", path, (long)archive_entry_uid (e),
                     (long)archive_entry_gid (e));
  return 0;
}

static struct timespec
entry_mtime (struct archive_entry *e)
{
  struct timespec ts = { 0, 0 };
  if (archive_entry_mtime_is_set (e))
    {
      ts.tv_sec = archive_entry_mtime (e);
      ts.tv_nsec = archive_entry_mtime_nsec (e);
    }
  return ts;
}

static void
defer_dir (struct unpack *u, const char *path, struct archive_entry *e)
{
  if (u->ndirs == u->cap_dirs)
    {
      u->cap_dirs = u->cap_dirs ? 2 * u->cap_dirs : 64;
      u->dirs = xrealloc (u->dirs, u->cap_dirs * sizeof *u->dirs);
    }
  u->dirs[u->ndirs].path = xstrdup (path);
  u->dirs[u->ndirs].mode = archive_entry_perm (e) & 07777;
  u->dirs[u->ndirs].mtime = entry_mtime (e);
  u->ndirs++;
}

/* Directories get their final mode and mtime last: a read-only directory
 * must still take its children, and creating children changes mtimes. */
static int
finish_dirs (struct unpack *u, rl_error_t *err)
{
  for (size_t i = 0; i < u->ndirs; i++)
    {
      struct deferred_dir *d = &u->dirs[i];
      struct timespec ts[2] = { d->mtime, d->mtime };
      cleanup_close int fd
          = openat2_flags (u->rootfd, *d->path ? d->path : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
                           RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
      if (fd < 0)
        {
          /* Replaced by a later entry or whited out: nothing to do. */
          if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            continue;
          return rl_error (err, errno, "open directory `%s`", d->path);
        }
      if (fchmod (fd, d->mode) < 0)
        return rl_error (err, errno, "chmod `%s`", d->path);
      if (futimens (fd, ts) < 0)
        return rl_error (err, errno, "set times of `%s`", d->path);
    }
  return 0;
}

/* Remove whatever is at dirfd/name (from an earlier entry of this layer).
 * The cached directory is dirfd itself, the parent: it stays valid. */
static int
remove_existing (struct unpack *u, int dirfd, const char *name, const char *path, rl_error_t *err)
{
  if (rm_rf_at (dirfd, name, err) < 0)
    return rl_error_wrap (err, "replace `%s`", path);
  return 0;
}

static int
set_opaque (struct unpack *u, int dirfd, const char *path, rl_error_t *err)
{
  cleanup_close int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return rl_error (err, errno, "open directory `%s`", path);
  if (fsetxattr (fd, "user.overlay.opaque", "y", 1, 0) < 0)
    return rl_error (err, errno, "mark `%s` opaque (xattr user.overlay.opaque)", path);
  /* The kernel's overlay mounted without userxattr (real root) reads the
   * trusted namespace, which only real root may write. */
  if (u->o->devices)
    fsetxattr (fd, "trusted.overlay.opaque", "y", 1, 0);
  return 0;
}

static int
make_whiteout (struct unpack *u, int dirfd, const char *name, const char *path, rl_error_t *err)
{
  struct stat st;

  if (*name == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0 || strchr (name, '/'))
    return rl_error (err, 0, "`%s`: invalid whiteout", path);
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
      && remove_existing (u, dirfd, name, path, err) < 0)
    return -1;
  /* A 0/0 character device: overlay's whiteout, which unprivileged users
   * may create since Linux 5.8. */
  if (mknodat (dirfd, name, S_IFCHR | 0000, makedev (0, 0)) < 0)
    return rl_error (err, errno, "create whiteout for `%s`", path);
  return 0;
}

static int
write_file_data (struct unpack *u, struct archive *a, int fd, const char *path, rl_error_t *err)
{
  const void *buf;
  size_t size;
  la_int64_t off;
  off_t end = 0;
  int r;

  while ((r = archive_read_data_block (a, &buf, &size, &off)) == ARCHIVE_OK)
    {
      const char *p = buf;
      size_t left = size;
      while (left > 0)
        {
          ssize_t n = pwrite (fd, p, left, off);
          if (n < 0)
            {
              if (errno == EINTR)
                continue;
              return rl_error (err, errno, "write `%s`", path);
            }
          p += n;
          off += n;
          left -= n;
        }
      if (off > end)
        end = off;
    }
  if (r != ARCHIVE_EOF)
    {
      if (u->rd_err)
        return rl_error (err, 0, "%s", u->rd_err->msg);
      return rl_error (err, 0, "read data of `%s`: %s", path, archive_error_string (a));
    }
  return 0;
}

static int
unpack_entry (struct unpack *u, struct archive *a, struct archive_entry *e, rl_error_t *err)
{
  cleanup_free char *path = NULL;
  cleanup_free char *dir = NULL;
  const char *base, *hl = archive_entry_hardlink (e);
  mode_t type = archive_entry_filetype (e);
  struct timespec mt = entry_mtime (e);
  struct timespec ts[2] = { mt, mt };
  struct stat st;
  bool exists;
  int dirfd;

  path = clean_name (archive_entry_pathname (e) ? archive_entry_pathname (e) : "", err);
  if (path == NULL)
    return -1;
  u->stats->entries++;
  if (check_owner (u, e, path, err) < 0)
    return -1;

  if (*path == '\0')
    {
      /* The layer root itself: only its metadata. */
      if (type != AE_IFDIR || hl)
        return rl_error (err, 0, "`%s`: the layer root must be a directory",
                         archive_entry_pathname (e));
      if (chown_at (u, u->rootfd, "", e, "/", err) < 0)
        return -1;
      defer_dir (u, "", e);
      return 0;
    }

  dir = xstrdup (path);
  {
    char *slash = strrchr (dir, '/');
    if (slash)
      {
        *slash = '\0';
        base = path + (slash - dir) + 1;
      }
    else
      {
        dir[0] = '\0';
        base = path;
      }
  }
  dirfd = parent_dir (u, dir, err);
  if (dirfd < 0)
    return -1;

  if (str_has_prefix (base, WHITEOUT_PREFIX))
    {
      if (strcmp (base, WHITEOUT_OPAQUE) == 0)
        return set_opaque (u, dirfd, *dir ? dir : "/", err);
      /* Other .wh..wh. names are aufs bookkeeping with no meaning here. */
      if (str_has_prefix (base, WHITEOUT_META_PREFIX))
        return 0;
      return make_whiteout (u, dirfd, base + strlen (WHITEOUT_PREFIX), path, err);
    }

  if (hl == NULL && (type == AE_IFCHR || type == AE_IFBLK))
    {
      if (type == AE_IFCHR && archive_entry_rdevmajor (e) == 0 && archive_entry_rdevminor (e) == 0)
        return rl_error (err, 0,
                         "`%s`: a 0/0 character device (an overlay whiteout) is not allowed in a "
                         "layer; whiteouts are `.wh.` names",
                         path);
      if (!u->o->devices)
        {
          u->stats->skipped_devices++;
          return 0;
        }
    }
  if (hl == NULL && type == AE_IFSOCK)
    return 0;

  exists = fstatat (dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !(type == AE_IFDIR && hl == NULL && S_ISDIR (st.st_mode)))
    {
      if (remove_existing (u, dirfd, base, path, err) < 0)
        return -1;
      exists = false;
    }

  if (hl)
    {
      cleanup_free char *target = clean_name (hl, err);
      cleanup_free char *tdir = NULL;
      cleanup_close int tdirfd = -1;
      const char *tbase;
      char *slash;

      if (target == NULL)
        return rl_error_wrap (err, "hardlink `%s`", path);
      if (*target == '\0')
        return rl_error (err, 0, "hardlink `%s` to `%s`: not a file", path, hl);
      tdir = xstrdup (target);
      slash = strrchr (tdir, '/');
      if (slash)
        {
          *slash = '\0';
          tbase = target + (slash - tdir) + 1;
        }
      else
        {
          tdir[0] = '\0';
          tbase = target;
        }
      tdirfd = openat2_flags (u->rootfd, *tdir ? tdir : ".", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
      /* Flags 0: a link to a symlink links the symlink, never its target. */
      if (tdirfd < 0 || linkat (tdirfd, tbase, dirfd, base, 0) < 0)
        {
          if (errno == ENOENT || errno == ENOTDIR)
            return rl_error (err, 0, "hardlink `%s` to `%s`: target is not in the layer", path, hl);
          return rl_error (err, errno, "hardlink `%s` to `%s`", path, hl);
        }
      return 0;
    }

  switch (type)
    {
    case AE_IFREG:
      {
        cleanup_close int fd
            = openat (dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
          return rl_error (err, errno, "create `%s`", path);
        if (write_file_data (u, a, fd, path, err) < 0)
          return -1;
        if (archive_entry_size_is_set (e) && ftruncate (fd, archive_entry_size (e)) < 0)
          return rl_error (err, errno, "truncate `%s`", path);
        /* chown first: it clears set-id bits and file capabilities. */
        if (u->o->chown && fchown (fd, archive_entry_uid (e), archive_entry_gid (e)) < 0)
          return rl_error (err, errno, "chown `%s` to %ld:%ld", path, (long)archive_entry_uid (e),
                           (long)archive_entry_gid (e));
        if (apply_xattrs (u, e, fd, path, err) < 0)
          return -1;
        if (fchmod (fd, archive_entry_perm (e) & 07777) < 0)
          return rl_error (err, errno, "chmod `%s`", path);
        if (futimens (fd, ts) < 0)
          return rl_error (err, errno, "set times of `%s`", path);
        return 0;
      }
    case AE_IFDIR:
      {
        cleanup_close int fd = -1;
        /* Owner-only until finish_dirs() gives the final mode. */
        if (!exists && mkdirat (dirfd, base, 0700) < 0)
          return rl_error (err, errno, "mkdir `%s`", path);
        fd = openat (dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
          return rl_error (err, errno, "open directory `%s`", path);
        if (u->o->chown && fchown (fd, archive_entry_uid (e), archive_entry_gid (e)) < 0)
          return rl_error (err, errno, "chown `%s` to %ld:%ld", path, (long)archive_entry_uid (e),
                           (long)archive_entry_gid (e));
        if (apply_xattrs (u, e, fd, path, err) < 0)
          return -1;
        defer_dir (u, path, e);
        return 0;
      }
    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (e);
        /* Any target is fine: nothing here ever follows a symlink out. */
        if (target == NULL || symlinkat (target, dirfd, base) < 0)
          return rl_error (err, target ? errno : EINVAL, "symlink `%s`", path);
        if (chown_at (u, dirfd, base, e, path, err) < 0)
          return -1;
        if (utimensat (dirfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
          return rl_error (err, errno, "set times of `%s`", path);
        return 0;
      }
    case AE_IFIFO:
    case AE_IFCHR:
    case AE_IFBLK:
      {
        mode_t fmt = type == AE_IFIFO ? S_IFIFO : type == AE_IFCHR ? S_IFCHR : S_IFBLK;
        dev_t dev = type == AE_IFIFO
                        ? 0
                        : makedev (archive_entry_rdevmajor (e), archive_entry_rdevminor (e));
        if (mknodat (dirfd, base, fmt | 0600, dev) < 0)
          return rl_error (err, errno, "create `%s`", path);
        if (chown_at (u, dirfd, base, e, path, err) < 0)
          return -1;
        /* We just made it in a directory only we write: not a symlink. */
        if (fchmodat (dirfd, base, archive_entry_perm (e) & 07777, 0) < 0)
          return rl_error (err, errno, "chmod `%s`", path);
        if (utimensat (dirfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
          return rl_error (err, errno, "set times of `%s`", path);
        return 0;
      }
    default:
      return rl_error (err, 0, "`%s`: unsupported file type 0%o", path, (unsigned)type);
    }
}

/* The reader's own error when it failed, else libarchive's. */
static void
tar_error (struct unpack *u, struct archive *a, rl_error_t *err)
{
  const char *msg = archive_error_string (a);

  if (u->rd_err)
    {
      *err = u->rd_err;
      u->rd_err = NULL;
    }
  else if (u->stats->entries == 0 && msg && strstr (msg, "Unrecognized archive format"))
    rl_error (err, 0, "not a tar archive");
  else
    rl_error (err, 0, "read tar: %s", msg ? msg : "error");
}

int
layer_unpack (int dirfd, layer_read_fn rd, void *arg, const struct layer_unpack_opts *o,
              struct layer_unpack_stats *stats, rl_error_t *err)
{
  struct layer_unpack_stats dummy = { 0 };
  struct archive_entry *e;
  struct archive *a;
  struct unpack *u;
  int r, ret = -1;

  if (dl_need_archive (err) < 0)
    return -1;
  u = xmalloc0 (sizeof *u);
  a = archive_read_new ();
  u->rootfd = dirfd;
  u->o = o;
  u->stats = stats ? stats : &dummy;
  u->rd = rd;
  u->rd_arg = arg;
  u->cached_fd = -1;
  archive_read_support_format_tar (a);
  if (archive_read_open (a, u, NULL, archive_read_cb, NULL) != ARCHIVE_OK)
    {
      tar_error (u, a, err);
      goto out;
    }
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    if (unpack_entry (u, a, e, err) < 0)
      goto out;
  if (r != ARCHIVE_EOF)
    {
      tar_error (u, a, err);
      goto out;
    }
  if (finish_dirs (u, err) < 0)
    goto out;
  /* Drain what follows the end-of-archive blocks: the diff_id covers every
   * byte of the stream, padding included. */
  for (;;)
    {
      ssize_t n = rd (arg, u->buf, sizeof u->buf, err);
      if (n < 0)
        goto out;
      if (n == 0)
        break;
    }
  ret = 0;
out:
  archive_read_free (a);
  invalidate_cache (u);
  for (size_t i = 0; i < u->ndirs; i++)
    free (u->dirs[i].path);
  free (u->dirs);
  if (u->rd_err)
    rl_error_free (&u->rd_err);
  free (u);
  return ret;
}
