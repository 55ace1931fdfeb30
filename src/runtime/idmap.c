/* Identity mapping: choosing the user namespace map, writing it for a child,
 * and running work inside such a namespace (unpacking and removing files
 * that belong to subordinate ids). */
#include "config.h"
#include "runtime/idmap.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

extern char **environ;

const char *
idmap_mode_name (enum idmap_mode mode)
{
  switch (mode)
    {
    case IDMAP_HOST:
      return "host";
    case IDMAP_SUBID:
      return "subid";
    case IDMAP_SINGLE:
      return "single";
    }
  return "unknown";
}

bool
idmap_parse_subid (const char *text, const char *user, uid_t uid, unsigned long *start,
                   unsigned long *count)
{
  char uidstr[32];
  const char *line = text;

  snprintf (uidstr, sizeof uidstr, "%u", (unsigned)uid);
  while (line && *line)
    {
      const char *end = strchr (line, '\n');
      size_t len = end ? (size_t)(end - line) : strlen (line);
      cleanup_free char *l = xstrndup (line, len);
      char *c1 = strchr (l, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      long long s, n;

      line = end ? end + 1 : NULL;
      if (l[0] == '#' || c1 == NULL || c2 == NULL)
        continue;
      *c1 = *c2 = '\0';
      if (strcmp (l, uidstr) != 0 && (user == NULL || strcmp (l, user) != 0))
        continue;
      if (!parse_long (c1 + 1, 1, 0xFFFFFFFELL, &s) || !parse_long (c2 + 1, 1, 0xFFFFFFFELL, &n))
        continue;
      *start = s;
      *count = n;
      return true;
    }
  return false;
}

static bool
subid_range (const char *file, const char *user, uid_t uid, unsigned long *start,
             unsigned long *count)
{
  cleanup_free char *text = NULL;
  rl_error_t err = NULL;

  if (read_file_at (AT_FDCWD, file, 16 * 1024 * 1024, &text, NULL, &err) < 0)
    {
      rl_error_free (&err);
      return false;
    }
  return idmap_parse_subid (text, user, uid, start, count);
}

/* A helper works only if it can raise privileges: setuid root, or file
 * capabilities (some distributions ship newuidmap with cap_setuid). */
static const char *
helper_problem (const char *name, char **path_out)
{
  static const char *const dirs[] = { "/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin" };
  struct stat st;

  for (size_t i = 0; i < ARRAY_SIZE (dirs); i++)
    {
      cleanup_free char *p = xasprintf ("%s/%s", dirs[i], name);
      if (stat (p, &st) < 0)
        continue;
      if (!(st.st_mode & S_IXOTH) && !(st.st_uid == getuid () && (st.st_mode & S_IXUSR)))
        return "is not executable by you";
      if (!((st.st_mode & S_ISUID) && st.st_uid == 0)
          && getxattr (p, "security.capability", NULL, 0) <= 0)
        return "is neither setuid root nor has file capabilities";
      *path_out = steal_pointer (&p);
      return NULL;
    }
  return "is not installed (Debian package uidmap)";
}

int
idmap_detect (struct idmap *m, rl_error_t *err)
{
  const char *force = getenv ("RL_IDMAP");
  struct passwd *pw;
  cleanup_free char *uidmap = NULL;
  cleanup_free char *gidmap = NULL;
  const char *problem;

  memset (m, 0, sizeof *m);
  m->uid = getuid ();
  m->gid = getgid ();
  if (force && *force && strcmp (force, "single") != 0 && strcmp (force, "auto") != 0)
    return rl_error (err, 0, "RL_IDMAP=`%s`: expected single or auto", force);
  if (m->uid == 0)
    {
      m->mode = IDMAP_HOST;
      m->why = xstrdup ("running as root: all ids are mapped as they are");
      return 0;
    }
  m->mode = IDMAP_SINGLE;
  if (force && strcmp (force, "single") == 0)
    {
      m->why = xstrdup ("RL_IDMAP=single is set");
      return 0;
    }
  pw = getpwuid (m->uid);
  if (!subid_range ("/etc/subuid", pw ? pw->pw_name : NULL, m->uid, &m->subuid_start,
                    &m->subuid_count))
    {
      m->why = xasprintf ("no subordinate uid range for %s in /etc/subuid",
                          pw ? pw->pw_name : "your uid");
      return 0;
    }
  if (!subid_range ("/etc/subgid", pw ? pw->pw_name : NULL, m->uid, &m->subgid_start,
                    &m->subgid_count))
    {
      m->why = xasprintf ("no subordinate gid range for %s in /etc/subgid",
                          pw ? pw->pw_name : "your uid");
      return 0;
    }
  if ((problem = helper_problem ("newuidmap", &uidmap)) != NULL)
    {
      m->why = xasprintf ("newuidmap %s", problem);
      return 0;
    }
  if ((problem = helper_problem ("newgidmap", &gidmap)) != NULL)
    {
      m->why = xasprintf ("newgidmap %s", problem);
      return 0;
    }
  m->mode = IDMAP_SUBID;
  m->newuidmap = steal_pointer (&uidmap);
  m->newgidmap = steal_pointer (&gidmap);
  m->why = xasprintf ("subordinate ids %lu-%lu from /etc/subuid through newuidmap", m->subuid_start,
                      m->subuid_start + m->subuid_count - 1);
  return 0;
}

void
idmap_clear (struct idmap *m)
{
  free (m->why);
  free (m->newuidmap);
  free (m->newgidmap);
  m->why = m->newuidmap = m->newgidmap = NULL;
}

void
cleanup_idmapp (struct idmap *m)
{
  idmap_clear (m);
}

char *
idmap_key (const struct idmap *m)
{
  switch (m->mode)
    {
    case IDMAP_HOST:
      return xstrdup ("host");
    case IDMAP_SINGLE:
      return xstrdup ("single");
    case IDMAP_SUBID:
      return xasprintf ("subid:%lu:%lu:%lu:%lu", m->subuid_start, m->subuid_count, m->subgid_start,
                        m->subgid_count);
    }
  return xstrdup ("unknown");
}

unsigned long
idmap_size (const struct idmap *m)
{
  switch (m->mode)
    {
    case IDMAP_HOST:
      return 4294967295UL;
    case IDMAP_SINGLE:
      return 1;
    case IDMAP_SUBID:
      return 1 + (m->subuid_count < m->subgid_count ? m->subuid_count : m->subgid_count);
    }
  return 1;
}

static bool
to_host (enum idmap_mode mode, unsigned long self, unsigned long start, unsigned long count,
         unsigned long ctr, unsigned long *host)
{
  switch (mode)
    {
    case IDMAP_HOST:
      *host = ctr;
      return true;
    case IDMAP_SINGLE:
      if (ctr != 0)
        return false;
      *host = self;
      return true;
    case IDMAP_SUBID:
      if (ctr == 0)
        *host = self;
      else if (ctr - 1 < count)
        *host = start + ctr - 1;
      else
        return false;
      return true;
    }
  return false;
}

bool
idmap_to_host_uid (const struct idmap *m, uid_t ctr, uid_t *host)
{
  unsigned long h;
  if (!to_host (m->mode, m->uid, m->subuid_start, m->subuid_count, ctr, &h))
    return false;
  *host = h;
  return true;
}

bool
idmap_to_host_gid (const struct idmap *m, gid_t ctr, gid_t *host)
{
  unsigned long h;
  if (!to_host (m->mode, m->gid, m->subgid_start, m->subgid_count, ctr, &h))
    return false;
  *host = h;
  return true;
}

static char *
format_map (enum idmap_mode mode, unsigned long self, unsigned long start, unsigned long count)
{
  switch (mode)
    {
    case IDMAP_HOST:
      return xstrdup ("0 0 4294967295\n");
    case IDMAP_SINGLE:
      return xasprintf ("0 %lu 1\n", self);
    case IDMAP_SUBID:
      return xasprintf ("0 %lu 1\n1 %lu %lu\n", self, start, count);
    }
  return xstrdup ("");
}

char *
idmap_format_uid_map (const struct idmap *m)
{
  return format_map (m->mode, m->uid, m->subuid_start, m->subuid_count);
}

char *
idmap_format_gid_map (const struct idmap *m)
{
  return format_map (m->mode, m->gid, m->subgid_start, m->subgid_count);
}

void
idmap_note_once (struct rl_store *st, const struct idmap *m)
{
  cleanup_free char *key = idmap_key (m);
  cleanup_free char *old = NULL;
  rl_error_t err = NULL;

  if (m->mode == IDMAP_HOST)
    return;
  if (read_file_at (st->rootfd, "idmap", 4096, &old, NULL, &err) == 0 && strcmp (old, key) == 0)
    return;
  rl_error_free (&err);
  if (m->mode == IDMAP_SUBID)
    fprintf (stderr, "rl: user namespace: %s\n", m->why);
  else
    fprintf (stderr,
             "rl: user namespace: single-id map (%s); files in images belong to you and "
             "chown inside succeeds without effect\n",
             m->why);
  write_file_atomic (st->rootfd, "idmap", key, strlen (key), 0600, &err);
  rl_error_free (&err);
}

static int
write_proc_file (pid_t pid, const char *name, const char *text, rl_error_t *err)
{
  char path[64];
  cleanup_close int fd = -1;

  snprintf (path, sizeof path, "/proc/%d/%s", pid, name);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return rl_error (err, errno, "open `%s`", path);
  if (write_all (fd, text, strlen (text)) < 0)
    return rl_error (err, errno, "write `%s`", path);
  return 0;
}

/* The helpers' arguments: `PID 0 SELF 1 1 START COUNT` (the caller as
 * root, the range as 1..N), in storage of the caller's. */
struct helper_args
{
  char num[4][32];
  char *argv[9];
};

static void
helper_args (struct helper_args *h, const char *helper, pid_t target, unsigned long self,
             unsigned long start, unsigned long count)
{
  snprintf (h->num[0], sizeof h->num[0], "%d", (int)target);
  snprintf (h->num[1], sizeof h->num[1], "%lu", self);
  snprintf (h->num[2], sizeof h->num[2], "%lu", start);
  snprintf (h->num[3], sizeof h->num[3], "%lu", count);
  h->argv[0] = (char *)helper;
  h->argv[1] = h->num[0];
  h->argv[2] = (char *)"0";
  h->argv[3] = h->num[1];
  h->argv[4] = (char *)"1";
  h->argv[5] = (char *)"1";
  h->argv[6] = h->num[2];
  h->argv[7] = h->num[3];
  h->argv[8] = NULL;
}

/* Start newuidmap/newgidmap with stderr into a pipe; returns its pid. */
static pid_t
spawn_helper (const char *helper, pid_t child, unsigned long self, unsigned long start,
              unsigned long count, int errfd)
{
  struct helper_args a;
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int r;

  helper_args (&a, helper, child, self, start, count);
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, errfd, 2);
  /* The absolute path found by idmap_detect: no search of $PATH. */
  r = posix_spawn (&pid, helper, &fa, NULL, a.argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  if (r != 0)
    {
      errno = r;
      return -1;
    }
  return pid;
}

static char *
first_line (const char *s)
{
  const char *nl = strchr (s, '\n');
  return nl ? xstrndup (s, nl - s) : xstrdup (s);
}

/* What the helpers u and g (-1: not started) said on errfd (closed here)
 * and how they ended: 0, or -1 with *failure, one line for the user. */
static int
helpers_result (int errfd, pid_t u, pid_t g, char **failure)
{
  char buf[1024];
  size_t len = read_text (errfd, buf, sizeof buf);
  int su = 0, sg = 0;

  close (errfd);
  if (u > 0)
    while (waitpid (u, &su, 0) < 0 && errno == EINTR)
      ;
  if (g > 0)
    while (waitpid (g, &sg, 0) < 0 && errno == EINTR)
      ;
  if (u > 0 && g > 0 && WIFEXITED (su) && WEXITSTATUS (su) == 0 && WIFEXITED (sg)
      && WEXITSTATUS (sg) == 0)
    return 0;
  if (len > 0)
    {
      cleanup_free char *l = first_line (buf);
      *failure = xasprintf ("newuidmap/newgidmap failed: %s", l);
    }
  else
    *failure = xstrdup (u <= 0 || g <= 0 ? "newuidmap/newgidmap could not be started"
                                         : "newuidmap/newgidmap failed");
  return -1;
}

/* Run both helpers at once: each is a setuid exec, and they are the only
 * execs on the start-up path. */
static int
write_subid (const struct idmap *m, pid_t child, void (*during) (void *), void *arg, char **failure)
{
  int pfd[2];
  pid_t u, g;

  if (pipe2 (pfd, O_CLOEXEC) < 0)
    {
      *failure = xasprintf ("pipe: %s", strerror (errno));
      if (during)
        during (arg);
      return -1;
    }
  u = spawn_helper (m->newuidmap ? m->newuidmap : "/usr/bin/newuidmap", child, m->uid,
                    m->subuid_start, m->subuid_count, pfd[1]);
  g = spawn_helper (m->newgidmap ? m->newgidmap : "/usr/bin/newgidmap", child, m->gid,
                    m->subgid_start, m->subgid_count, pfd[1]);
  close (pfd[1]);
  if (during)
    during (arg);
  return helpers_result (pfd[0], u, g, failure);
}

/* ---- the caller becomes root of a new user namespace ------------------ */

/* A helper cloned before the caller's unshare shares its memory (no page
 * tables copied, as posix_spawn does) and waits on the go pipe: exec'd
 * from inside the new namespace, a setuid program would not be setuid. */
struct self_helper
{
  const char *path;
  struct helper_args args;
  int gofd, gofd_w, errfd;
  pid_t pid;
  char stack[32768] __attribute__ ((aligned (16)));
};

struct idmap_self
{
  struct self_helper h[2];
  int go[2], errpipe[2];
};

static int
self_helper_main (void *arg)
{
  struct self_helper *h = arg;
  ssize_t n;
  char c;

  /* Only system calls here: the memory is the caller's.  Every signal
   * stays blocked (see self_helper_start).  Our copy of the write end
   * would keep the pipe open should the caller die. */
  close (h->gofd_w);
  /* Go is a byte for each helper, not the end of file: that would wait
   * for the other helper's close, which on a busy core comes late.  End
   * of file: the caller failed or died. */
  while ((n = read (h->gofd, &c, 1)) < 0 && errno == EINTR)
    ;
  if (n != 1)
    _exit (127);
  if (dup2 (h->errfd, 2) < 0)
    _exit (127);
  execve (h->path, h->args.argv, environ);
  _exit (127);
}

static pid_t
self_helper_start (struct self_helper *h, const char *path, unsigned long self, unsigned long start,
                   unsigned long count, const int go[2], int errfd)
{
  sigset_t all, mask;

  h->path = path;
  h->gofd = go[0];
  h->gofd_w = go[1];
  h->errfd = errfd;
  helper_args (&h->args, path, getpid (), self, start, count);
  /* A handler of ours must never run on the helper's stack with our
   * data: it is cloned with every signal blocked and keeps them so through
   * its exec (which resets the handlers; the helper, a millisecond's
   * work, needs no signal). */
  sigfillset (&all);
  sigprocmask (SIG_SETMASK, &all, &mask);
  h->pid = clone (self_helper_main, h->stack + sizeof h->stack, CLONE_VM | SIGCHLD, h);
  sigprocmask (SIG_SETMASK, &mask, NULL);
  return h->pid;
}

static int
write_self_single (const struct idmap *m, rl_error_t *err)
{
  cleanup_free char *um = idmap_format_uid_map (m);
  cleanup_free char *gm = idmap_format_gid_map (m);
  pid_t self = getpid ();

  if (write_proc_file (self, "setgroups", "deny", err) < 0
      || write_proc_file (self, "uid_map", um, err) < 0
      || write_proc_file (self, "gid_map", gm, err) < 0)
    return rl_error_wrap (err, "write user namespace map");
  return 0;
}

static void
self_close (struct idmap_self *p)
{
  for (int i = 0; i < 2; i++)
    {
      if (p->go[i] >= 0)
        close (p->go[i]);
      if (p->errpipe[i] >= 0)
        close (p->errpipe[i]);
      p->go[i] = p->errpipe[i] = -1;
    }
}

int
idmap_unshare_self (struct idmap *m, struct idmap_self **out, rl_error_t *err)
{
  struct idmap_self *p = NULL;

  *out = NULL;
  if (m->mode == IDMAP_SUBID)
    {
      p = xmalloc (sizeof *p);
      p->go[0] = p->go[1] = p->errpipe[0] = p->errpipe[1] = -1;
      p->h[0].pid = p->h[1].pid = -1;
      if (pipe2 (p->go, O_CLOEXEC) < 0 || pipe2 (p->errpipe, O_CLOEXEC) < 0)
        {
          rl_error (err, errno, "pipe");
          self_close (p);
          free (p);
          return -1;
        }
      self_helper_start (&p->h[0], m->newuidmap ? m->newuidmap : "/usr/bin/newuidmap", m->uid,
                         m->subuid_start, m->subuid_count, p->go, p->errpipe[1]);
      self_helper_start (&p->h[1], m->newgidmap ? m->newgidmap : "/usr/bin/newgidmap", m->gid,
                         m->subgid_start, m->subgid_count, p->go, p->errpipe[1]);
    }
  if (unshare (CLONE_NEWUSER) < 0)
    {
      int e = errno;
      if (p)
        {
          /* No byte: the end of file stops the helpers. */
          self_close (p);
          for (int i = 0; i < 2; i++)
            if (p->h[i].pid > 0)
              waitpid (p->h[i].pid, NULL, 0);
          free (p);
        }
      return rl_error (err, e, "create a user namespace");
    }
  if (p == NULL)
    return write_self_single (m, err);
  /* Go: a byte for each helper.  A pipe takes two bytes at once; were
   * they refused, the end of file would stop the helpers, and the wait
   * tell of it. */
  write_all (p->go[1], "gg", 2);
  close (p->go[1]);
  p->go[1] = -1;
  sched_yield ();
  close (p->errpipe[1]);
  p->errpipe[1] = -1;
  *out = p;
  return 0;
}

int
idmap_self_wait (struct idmap *m, struct idmap_self *p, rl_error_t *err)
{
  char *failure = NULL;
  int r;

  if (p == NULL)
    return 0;
  r = helpers_result (p->errpipe[0], p->h[0].pid, p->h[1].pid, &failure);
  p->errpipe[0] = -1;
  self_close (p);
  free (p);
  if (r == 0)
    return 0;
  /* As with a child's maps: what works without a helper, if neither map
   * was written. */
  free (m->why);
  m->why = failure;
  m->mode = IDMAP_SINGLE;
  if (write_self_single (m, err) < 0)
    return -1;
  return 1;
}

int
idmap_write (struct idmap *m, pid_t child, rl_error_t *err)
{
  return idmap_write_during (m, child, NULL, NULL, err);
}

int
idmap_write_during (struct idmap *m, pid_t child, void (*during) (void *), void *arg,
                    rl_error_t *err)
{
  cleanup_free char *um = NULL;
  cleanup_free char *gm = NULL;

  if (m->mode == IDMAP_SUBID)
    {
      char *failure = NULL;
      if (write_subid (m, child, during, arg, &failure) == 0)
        return 0;
      /* A broken helper must not stop the user: fall back to what works
       * without one, and say why in the mode's reason. */
      free (m->why);
      m->why = failure;
      m->mode = IDMAP_SINGLE;
      if (idmap_write (m, child, err) < 0)
        return -1;
      return 1;
    }
  if (during)
    during (arg);
  um = idmap_format_uid_map (m);
  gm = idmap_format_gid_map (m);
  if (m->mode == IDMAP_SINGLE && write_proc_file (child, "setgroups", "deny", err) < 0)
    return -1;
  if (write_proc_file (child, "uid_map", um, err) < 0
      || write_proc_file (child, "gid_map", gm, err) < 0)
    return rl_error_wrap (err, "write user namespace map");
  return 0;
}

static void
report_and_exit (int fd, rl_error_t *err)
{
  if (err && *err)
    {
      write_all (fd, (*err)->msg, strlen ((*err)->msg));
      _exit (1);
    }
  _exit (0);
}

/* The error a user namespace child reported on msgfd (closed here), and
 * its exit status. */
static int
collect_child (pid_t pid, int msgfd, rl_error_t *err)
{
  char buf[4096];
  size_t len = read_text (msgfd, buf, sizeof buf);
  int status = 0;

  close (msgfd);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return rl_error (err, errno, "wait for user namespace child");
  if (len > 0)
    return rl_error (err, 0, "%s", buf);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return rl_error (err, 0, "user namespace child failed (status %d)", status);
  return 0;
}

int
userns_run (const struct idmap *m, bool new_mountns, userns_fn fn, void *arg, rl_error_t *err)
{
  struct idmap copy = *m;
  int go[2] = { -1, -1 }, msg[2] = { -1, -1 };
  pid_t pid;

  if (pipe2 (go, O_CLOEXEC) < 0 || pipe2 (msg, O_CLOEXEC) < 0)
    return rl_error (err, errno, "pipe");
  fflush (NULL);
  pid = syscall (SYS_clone, CLONE_NEWUSER | (new_mountns ? CLONE_NEWNS : 0) | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0)
    {
      int e = errno;
      close (go[0]), close (go[1]), close (msg[0]), close (msg[1]);
      return rl_error (err, e, "create user namespace");
    }
  if (pid == 0)
    {
      rl_error_t cerr = NULL;
      char c;

      close (go[1]);
      close (msg[0]);
      if (read (go[0], &c, 1) != 1)
        _exit (1);
      if (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
        {
          rl_error (&cerr, errno, "become root in the user namespace");
          report_and_exit (msg[1], &cerr);
        }
      if (copy.mode != IDMAP_SINGLE)
        setgroups (0, NULL);
      fn (arg, &cerr);
      report_and_exit (msg[1], &cerr);
    }
  close (go[0]);
  close (msg[1]);
  if (idmap_write (&copy, pid, err) != 0)
    {
      /* Work on layer files needs the very map the store was made with: a
       * fallback to another map would give files the wrong owners. */
      if (err && *err == NULL)
        rl_error (err, 0, "user namespace: %s", copy.why);
      if (copy.why != m->why)
        free (copy.why);
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      close (go[1]);
      close (msg[0]);
      return -1;
    }
  free (copy.why == m->why ? NULL : copy.why);
  if (write (go[1], "x", 1) != 1)
    {
      int e = errno;
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      close (go[1]);
      close (msg[0]);
      return rl_error (err, e, "start user namespace child");
    }
  close (go[1]);
  return collect_child (pid, msg[0], err);
}

int
userns_join_run (int userns_fd, userns_fn fn, void *arg, rl_error_t *err)
{
  int msg[2];
  pid_t pid;

  if (pipe2 (msg, O_CLOEXEC) < 0)
    return rl_error (err, errno, "pipe");
  fflush (NULL);
  pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (msg[0]), close (msg[1]);
      return rl_error (err, e, "fork");
    }
  if (pid == 0)
    {
      rl_error_t cerr = NULL;

      close (msg[0]);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (setns (userns_fd, CLONE_NEWUSER) < 0)
        {
          rl_error (&cerr, errno, "join the container's user namespace");
          report_and_exit (msg[1], &cerr);
        }
      if (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
        {
          rl_error (&cerr, errno, "become root in the user namespace");
          report_and_exit (msg[1], &cerr);
        }
      fn (arg, &cerr);
      report_and_exit (msg[1], &cerr);
    }
  close (msg[1]);
  return collect_child (pid, msg[0], err);
}
