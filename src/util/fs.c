/* File system helpers. */
#include "config.h"
#include "util/fs.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

int
write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      len -= n;
    }
  return 0;
}

ssize_t
read_all (int fd, void *buf, size_t len)
{
  char *p = buf;
  size_t got = 0;
  while (got < len)
    {
      ssize_t n = read (fd, p + got, len - got);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (n == 0)
        break;
      got += n;
    }
  return got;
}

int
write_file_atomic (int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                   rl_error_t *err)
{
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;
  char rnd[17];

  if (random_hex (rnd, 8) < 0)
    return rl_error (err, errno, "getrandom");
  tmp = xasprintf ("%s.tmp-%s", name, rnd);
  fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    return rl_error (err, errno, "create `%s`", tmp);
  if (write_all (fd, data, len) < 0)
    {
      int e = errno;
      unlinkat (dirfd, tmp, 0);
      return rl_error (err, e, "write `%s`", tmp);
    }
  if (close (steal_fd (&fd)) < 0 || renameat (dirfd, tmp, dirfd, name) < 0)
    {
      int e = errno;
      unlinkat (dirfd, tmp, 0);
      return rl_error (err, e, "write `%s`", name);
    }
  return 0;
}

int
read_file_at (int dirfd, const char *name, size_t max, char **out, size_t *len_out, rl_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  size_t len = 0, cap = 4096;
  struct stat st;

  fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return rl_error (err, errno, "open `%s`", name);
  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && (size_t)st.st_size + 1 > cap)
    cap = st.st_size + 1;
  if (cap > max + 1)
    cap = max + 1;
  buf = xmalloc (cap);
  for (;;)
    {
      ssize_t n;
      if (len + 1 >= cap)
        {
          if (cap > max)
            return rl_error (err, 0, "read `%s`: file larger than %zu bytes", name, max);
          cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
          buf = xrealloc (buf, cap);
        }
      n = read (fd, buf + len, cap - 1 - len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return rl_error (err, errno, "read `%s`", name);
        }
      if (n == 0)
        break;
      len += n;
    }
  buf[len] = '\0';
  if (len_out)
    *len_out = len;
  *out = steal_pointer (&buf);
  return 0;
}

int
mkdir_p_at (int dirfd, const char *path, mode_t mode, rl_error_t *err)
{
  cleanup_free char *p = xstrdup (path);
  char *s = p;

  if (*s == '/')
    s++;
  for (;;)
    {
      char *slash = strchr (s, '/');
      if (slash)
        *slash = '\0';
      if (*p && mkdirat (dirfd, p, mode) < 0 && errno != EEXIST)
        return rl_error (err, errno, "mkdir `%s`", p);
      if (slash == NULL)
        break;
      *slash = '/';
      s = slash + 1;
    }
  return 0;
}

static int
rm_rf_children (int dfd, rl_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd2 = dup (dfd);

  if (fd2 < 0)
    return rl_error (err, errno, "dup");
  d = fdopendir (fd2);
  if (d == NULL)
    {
      close (fd2);
      return rl_error (err, errno, "opendir");
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (rm_rf_at (dfd, de->d_name, err) < 0)
        return -1;
    }
  return 0;
}

int
rm_rf_at (int dirfd, const char *name, rl_error_t *err)
{
  cleanup_close int dfd = -1;

  if (unlinkat (dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    {
      /* A file in a directory we may not write: fixed by the caller's chmod. */
      if (errno != EACCES)
        return rl_error (err, errno, "remove `%s`", name);
    }
  dfd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0 && errno == EACCES)
    {
      /* Overlay work dirs are created mode 0: make them usable first. */
      fchmodat (dirfd, name, 0700, 0);
      dfd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
  if (dfd < 0)
    {
      if (errno == ENOENT)
        return 0;
      return rl_error (err, errno, "remove `%s`", name);
    }
  {
    /* Only touch the mode when we could not empty it otherwise: a chmod per
     * directory is a metadata write the removal does not need. */
    struct stat st;
    if (fstat (dfd, &st) == 0 && (st.st_mode & 0700) != 0700)
      fchmod (dfd, st.st_mode | 0700);
  }
  if (rm_rf_children (dfd, err) < 0)
    return rl_error_wrap (err, "remove `%s`", name);
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return rl_error (err, errno, "remove `%s`", name);
  return 0;
}

void
close_fds_except (const int *keep, size_t n)
{
  unsigned from = 0;

  for (;;)
    {
      /* The lowest fd kept at or above from. */
      int next = -1;
      for (size_t i = 0; i < n; i++)
        if (keep[i] >= 0 && (unsigned)keep[i] >= from && (next < 0 || keep[i] < next))
          next = keep[i];
      if (next < 0)
        break;
      if ((unsigned)next > from)
        syscall (SYS_close_range, from, next - 1, 0);
      from = next + 1;
    }
  syscall (SYS_close_range, from, ~0U, 0);
}

size_t
read_text (int fd, char *buf, size_t size)
{
  size_t len = 0;
  ssize_t n;

  while (len < size - 1 && (n = read (fd, buf + len, size - 1 - len)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      len += (size_t)n;
    }
  buf[len] = '\0';
  return len;
}

int
copy_fd (int from, int to, rl_error_t *err)
{
  char buf[65536];
  for (;;)
    {
      ssize_t n = read (from, buf, sizeof buf);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return rl_error (err, errno, "read");
        }
      if (n == 0)
        return 0;
      if (write_all (to, buf, n) < 0)
        return rl_error (err, errno, "write");
    }
}

int
open_in_root (int rootfd, const char *path, int flags, mode_t mode)
{
  struct open_how how = {
    .flags = (uint64_t)flags | O_CLOEXEC,
    .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };

  while (*path == '/')
    path++;
  if (*path == '\0')
    path = ".";
  return syscall (SYS_openat2, rootfd, path, &how, sizeof how);
}

static int
mkdir_in_root_depth (int rootfd, const char *path, mode_t mode, int depth, rl_error_t *err)
{
  cleanup_free char *p = xstrdup (path);
  cleanup_free char *prefix = xmalloc0 (strlen (path) + 2);
  cleanup_close int cur = -1;
  char *s, *save = NULL;

  if (depth > 40)
    return rl_error (err, ELOOP, "mkdir `%s`", path);
  /* Each prefix is resolved from rootfd itself, so an absolute symlink in
   * the image (say /var/run -> /run) means the container's /run. */
  cur = open_in_root (rootfd, "/", O_PATH | O_DIRECTORY, 0);
  if (cur < 0)
    return rl_error (err, errno, "open root");
  for (s = strtok_r (p, "/", &save); s; s = strtok_r (NULL, "/", &save))
    {
      int next;
      if (strcmp (s, ".") == 0)
        continue;
      if (strcmp (s, "..") == 0)
        return rl_error (err, 0, "path `%s`: `..` is not allowed", path);
      strcat (prefix, "/");
      strcat (prefix, s);
      next = open_in_root (rootfd, prefix, O_PATH | O_DIRECTORY, 0);
      if (next < 0 && errno == ENOENT)
        {
          char target[PATH_MAX];
          ssize_t n;

          if (mkdirat (cur, s, mode) == 0 || errno != EEXIST)
            next = open_in_root (rootfd, prefix, O_PATH | O_DIRECTORY, 0);
          else if ((n = readlinkat (cur, s, target, sizeof target - 1)) > 0)
            {
              /* A dangling symlink: create its target, still inside root. */
              cleanup_free char *rest = NULL;
              cleanup_free char *full = NULL;
              target[n] = '\0';
              prefix[strlen (prefix) - strlen (s)] = '\0';
              rest = xstrdup (save ? save : "");
              full = target[0] == '/' ? xasprintf ("%s/%s", target, rest)
                                      : xasprintf ("%s%s/%s", prefix, target, rest);
              return mkdir_in_root_depth (rootfd, full, mode, depth + 1, err);
            }
          else
            errno = EEXIST;
        }
      if (next < 0)
        return rl_error (err, errno, "mkdir `%s`", prefix);
      close (cur);
      cur = next;
    }
  return steal_fd (&cur);
}

int
mkdir_in_root (int rootfd, const char *path, mode_t mode, rl_error_t *err)
{
  return mkdir_in_root_depth (rootfd, path, mode, 0, err);
}

int
mkfile_in_root (int rootfd, const char *path, mode_t mode, rl_error_t *err)
{
  cleanup_free char *dir = xstrdup (path);
  cleanup_close int dfd = -1;
  char *slash = strrchr (dir, '/');
  const char *base = path;
  int fd;

  fd = open_in_root (rootfd, path, O_PATH, 0);
  if (fd >= 0)
    return fd;
  if (errno != ENOENT)
    return rl_error (err, errno, "open `%s`", path);
  if (slash)
    {
      *slash = '\0';
      base = slash + 1;
      dfd = mkdir_in_root (rootfd, *dir ? dir : "/", 0755, err);
      if (dfd < 0)
        return -1;
    }
  else
    {
      dfd = open_in_root (rootfd, "/", O_PATH | O_DIRECTORY, 0);
      if (dfd < 0)
        return rl_error (err, errno, "open root");
    }
  {
    cleanup_close int dfd2 = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd2 < 0)
      return rl_error (err, errno, "open parent of `%s`", path);
    fd = openat (dfd2, base, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno != EEXIST && errno != EISDIR)
      return rl_error (err, errno, "create `%s`", path);
    if (fd >= 0)
      close (fd);
    fd = open_in_root (dfd2, base, O_PATH, 0);
    if (fd < 0)
      return rl_error (err, errno, "open `%s`", path);
  }
  return fd;
}

bool
fs_is_network (int fd, const char **name)
{
  static const struct
  {
    long magic;
    const char *name;
  } nets[] = {
    { 0x6969, "nfs" },       { 0x0BD00BD0, "lustre" }, { 0x47504653, "gpfs" },
    { 0xFF534D42, "cifs" },  { 0xFE534D42, "smb2" },   { 0x65735546, "fuse" },
    { 0x00C36400, "ceph" },  { 0x013111A8, "ibrix" },  { 0x5346414F, "afs" },
    { 0x7461636f, "ocfs2" }, { 0x01161970, "gfs2" },   { 0x19830326, "fhgfs/beegfs" },
  };
  struct statfs sf;

  if (fstatfs (fd, &sf) < 0)
    return false;
  for (size_t i = 0; i < ARRAY_SIZE (nets); i++)
    if ((unsigned long)sf.f_type == (unsigned long)nets[i].magic)
      {
        if (name)
          *name = nets[i].name;
        return true;
      }
  return false;
}
