/* Store and runtime directory discovery, creation and locking. */
#include "config.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
home_dir (void)
{
  const char *h = getenv ("HOME");
  struct passwd *pw;

  if (h && *h == '/')
    return xstrdup (h);
  pw = getpwuid (getuid ());
  if (pw && pw->pw_dir)
    return xstrdup (pw->pw_dir);
  return xstrdup ("/");
}

char *
store_default_root (void)
{
  const char *x = getenv ("XDG_DATA_HOME");
  cleanup_free char *home = NULL;

  if (x && *x == '/')
    return xasprintf ("%s/rl", x);
  home = home_dir ();
  return xasprintf ("%s/.local/share/rl", home);
}

/* A runtime directory must be ours and private: on a shared machine another
 * user could have created it first to watch or replace our sockets. */
static bool
dir_is_private (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == getuid ()
         && (st.st_mode & 0077) == 0;
}

static bool
xdg_runtime_usable (const char *x)
{
  struct stat st;
  return x && *x == '/' && stat (x, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == getuid ()
         && access (x, W_OK | X_OK) == 0;
}

char *
store_default_runroot (void)
{
  const char *x = getenv ("XDG_RUNTIME_DIR");
  const char *tmp = getenv ("TMPDIR");

  if (xdg_runtime_usable (x))
    return xasprintf ("%s/rl", x);
  if (tmp == NULL || *tmp != '/')
    tmp = "/tmp";
  return xasprintf ("%s/rl-%u", tmp, (unsigned)getuid ());
}

static int
open_dir_created (const char *path, mode_t mode, bool private, rl_error_t *err)
{
  int fd;

  if (mkdir_p_at (AT_FDCWD, path, mode, err) < 0)
    return -1;
  if (private && !dir_is_private (path))
    {
      /* Ours but too open (an old umask): tighten; not ours: refuse. */
      struct stat st;
      if (lstat (path, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == getuid ())
        chmod (path, 0700);
      if (!dir_is_private (path))
        return rl_error (err, 0,
                         "runtime directory `%s` is not a private directory owned by uid %u; "
                         "remove it or set XDG_RUNTIME_DIR",
                         path, (unsigned)getuid ());
    }
  fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return rl_error (err, errno, "open `%s`", path);
  return fd;
}

int
store_open (struct rl_store *st, const struct rl_globals *g, rl_error_t *err)
{
  static const char *const subdirs[] = { "blobs/sha256", "layers", "containers", "tmp" };

  memset (st, 0, sizeof *st);
  st->rootfd = st->runfd = st->lockfd = -1;
  st->root = g && g->root ? xstrdup (g->root) : store_default_root ();
  st->runroot = g && g->runroot ? xstrdup (g->runroot) : store_default_runroot ();
  if (st->root[0] != '/')
    {
      char *cwd = getcwd (NULL, 0);
      char *abs = xasprintf ("%s/%s", cwd ? cwd : "", st->root);
      free (cwd);
      free (st->root);
      st->root = abs;
    }
  st->rootfd = open_dir_created (st->root, 0700, false, err);
  if (st->rootfd < 0)
    return rl_error_wrap (err, "store");
  for (size_t i = 0; i < ARRAY_SIZE (subdirs); i++)
    if (mkdir_p_at (st->rootfd, subdirs[i], 0700, err) < 0)
      return rl_error_wrap (err, "store `%s`", st->root);
  st->runfd = open_dir_created (st->runroot, 0700, true, err);
  if (st->runfd < 0)
    return -1;
  if (mkdir_p_at (st->runfd, "containers", 0700, err) < 0)
    return rl_error_wrap (err, "runtime directory `%s`", st->runroot);
  return 0;
}

void
store_close (struct rl_store *st)
{
  if (st->lockfd >= 0)
    close (st->lockfd);
  if (st->rootfd >= 0)
    close (st->rootfd);
  if (st->runfd >= 0)
    close (st->runfd);
  free (st->root);
  free (st->runroot);
  memset (st, 0, sizeof *st);
  st->rootfd = st->runfd = st->lockfd = -1;
}

void
cleanup_storep (struct rl_store *st)
{
  store_close (st);
}

int
store_lock (struct rl_store *st, rl_error_t *err)
{
  if (st->lock_depth++ > 0)
    return 0;
  st->lockfd = openat (st->rootfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (st->lockfd < 0)
    {
      st->lock_depth = 0;
      return rl_error (err, errno, "open store lock `%s/lock`", st->root);
    }
  while (flock (st->lockfd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int e = errno;
        close (st->lockfd);
        st->lockfd = -1;
        st->lock_depth = 0;
        return rl_error (err, e, "lock store `%s`", st->root);
      }
  return 0;
}

void
store_unlock (struct rl_store *st)
{
  if (st->lock_depth == 0 || --st->lock_depth > 0)
    return;
  close (st->lockfd);
  st->lockfd = -1;
}

char *
store_path (const struct rl_store *st, const char *rel)
{
  return xasprintf ("%s/%s", st->root, rel);
}

char *
store_run_path (const struct rl_store *st, const char *rel)
{
  return xasprintf ("%s/%s", st->runroot, rel);
}
