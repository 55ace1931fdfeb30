/* The store's tmp/ entries and the locks that tell a live writer's from a
 * killed one's (see tmp.h). */
#include "config.h"
#include "store/tmp.h"
#include "util/fs.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_SUFFIX ".lock"

struct rm_job
{
  int dirfd;
  const char *name;
};

static int
rm_job_fn (void *arg, rl_error_t *err)
{
  struct rm_job *j = arg;
  return rm_rf_at (j->dirfd, j->name, err);
}

int
store_remove_as_owner (const struct idmap *m, int dirfd, const char *name, rl_error_t *err)
{
  struct rm_job j = { dirfd, name };
  /* Files of subordinate ids can only be removed from inside. */
  if (m && m->mode == IDMAP_SUBID)
    return userns_run (m, false, rm_job_fn, &j, err);
  return rm_job_fn (&j, err);
}

/* The lock file appears already locked (an O_TMPFILE locked, then linked),
 * so that no gc can see it unlocked and take it for a leftover. */
static int
lock_create (struct rl_store *st, const char *lockname, rl_error_t *err)
{
  int fd = openat (st->rootfd, "tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

  if (fd >= 0)
    {
      cleanup_free char *proc = xasprintf ("/proc/self/fd/%d", fd);
      if (flock (fd, LOCK_EX) < 0
          || linkat (AT_FDCWD, proc, st->rootfd, lockname, AT_SYMLINK_FOLLOW) < 0)
        {
          int e = errno;
          close (fd);
          return rl_error (err, e, "create `%s/%s`", st->root, lockname);
        }
      return fd;
    }
  /* No O_TMPFILE (some network file systems): a short window in which a
   * gc could take the new lock for a leftover; it then removes an entry
   * that does not exist yet, and the writer's mkdir or open fails cleanly. */
  fd = openat (st->rootfd, lockname, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 || flock (fd, LOCK_EX) < 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return rl_error (err, e, "create `%s/%s`", st->root, lockname);
    }
  return fd;
}

int
store_tmp_new (struct rl_store *st, const char *kind, struct store_tmp *t, rl_error_t *err)
{
  char rnd[17];

  memset (t, 0, sizeof *t);
  t->lockfd = -1;
  if (random_hex (rnd, 8) < 0)
    return rl_error (err, errno, "getrandom");
  if (mkdirat (st->rootfd, "tmp", 0700) < 0 && errno != EEXIST)
    return rl_error (err, errno, "mkdir `%s/tmp`", st->root);
  t->lockname = xasprintf ("tmp/%s-%s" LOCK_SUFFIX, kind, rnd);
  t->lockfd = lock_create (st, t->lockname, err);
  if (t->lockfd < 0)
    {
      free (t->lockname);
      t->lockname = NULL;
      return -1;
    }
  t->name = xasprintf ("tmp/%s-%s", kind, rnd);
  return 0;
}

void
store_tmp_release (struct rl_store *st, const struct idmap *m, struct store_tmp *t)
{
  rl_error_t e = NULL;

  if (t->name && store_remove_as_owner (m, st->rootfd, t->name, &e) < 0)
    {
      rl_warn ("leaving `%s/%s` behind: %s", st->root, t->name, e->msg);
      rl_error_free (&e);
    }
  else if (t->lockname)
    unlinkat (st->rootfd, t->lockname, 0);
  if (t->lockname)
    close (t->lockfd);
  free (t->name);
  free (t->lockname);
  memset (t, 0, sizeof *t);
  t->lockfd = -1;
}

/* Remove what nobody works on any more in tmp/: the rm-* entries, and
 * (with_locks) the entries whose lock nobody holds. */
static void
gc_scan (struct rl_store *st, const struct idmap *m, bool with_locks)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd = openat (st->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  while ((de = readdir (d)) != NULL)
    {
      cleanup_free char *lockname = NULL;
      cleanup_free char *name = NULL;
      cleanup_close int lfd = -1;
      rl_error_t e = NULL;
      size_t n = strlen (de->d_name);

      if (str_has_prefix (de->d_name, STORE_TMP_REMOVED))
        {
          name = xasprintf ("tmp/%s", de->d_name);
          if (store_remove_as_owner (m, st->rootfd, name, &e) < 0)
            {
              /* The removing child itself stays quiet: a later gc says it. */
              if (m)
                rl_warn ("cannot remove a removed container's files in `%s/%s`: %s", st->root, name,
                         e->msg);
              rl_error_free (&e);
            }
          continue;
        }
      if (!with_locks || de->d_name[0] == '.' || !str_has_suffix (de->d_name, LOCK_SUFFIX))
        continue;
      lockname = xasprintf ("tmp/%s", de->d_name);
      name = xasprintf ("tmp/%.*s", (int)(n - strlen (LOCK_SUFFIX)), de->d_name);
      lfd = openat (st->rootfd, lockname, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
      /* Held: its writer is alive. */
      if (lfd < 0 || flock (lfd, LOCK_EX | LOCK_NB) < 0)
        continue;
      if (store_remove_as_owner (m, st->rootfd, name, &e) < 0)
        {
          rl_warn ("cannot remove what a killed command left in `%s/%s`: %s", st->root, name,
                   e->msg);
          rl_error_free (&e);
          continue;
        }
      unlinkat (st->rootfd, lockname, 0);
    }
}

void
store_tmp_gc (struct rl_store *st, const struct idmap *m)
{
  gc_scan (st, m, true);
}

void
store_tmp_gc_removed (struct rl_store *st)
{
  gc_scan (st, NULL, false);
}
