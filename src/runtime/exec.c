/* rl exec and rl top.
 *
 * rl exec stays on the host.  It clones a helper that joins the namespaces
 * of the container's PID 1 through a pidfd, resolves the user in the
 * container's files, opens the pty (-t) from the container's devpts and
 * then clones the process with CLONE_PARENT: rl exec is its parent, waits
 * for it, forwards signals and relays the terminal as `rl run` does.  The
 * process gets the confinement run gives PID 1 (run_confinement and
 * run_confine in run.c) and is executed by run.c's PATH search.
 *
 * Helper and process talk to rl exec over a SOCK_SEQPACKET socket pair:
 *   'T' + fd      the pty master (-t)
 *   'P' NNN       the process's pid (on the host)
 *   'E' NNN text  setup or exec failed, exit status NNN
 * Their end is close-on-exec: end of file means the command runs. */
#include "config.h"
#include "runtime/exec.h"
#include "image/image.h"
#include "runtime/caps.h"
#include "runtime/container.h"
#include "runtime/idmap.h"
#include "runtime/pty.h"
#include "runtime/run.h"
#include "runtime/runspec.h"
#include "runtime/seccomp.h"
#include "runtime/userdb.h"
#include "util/fs.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* As `rl run`'s monitor: these go on to the process. */
static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* What the helper and the process need, all computed before the clone. */
struct exec_ctx
{
  const struct exec_spec *e;
  struct run_spec spec;
  struct rl_image *img;
  struct rl_container c;
  pid_t pid1; /* whose namespaces are joined: PID 1 or (--init) its child */
  int pidfd;
  enum idmap_mode mode;
  unsigned long nids;
  uint64_t caps, caps_user;
  struct seccomp_prog filter;
  int sock[2];
  sigset_t oldmask;
  /* The helper and the process run in rl exec's memory, one after the
   * other while the others wait (CLONE_VM | CLONE_VFORK: no page tables
   * copied, no page copied on write), each on a stack of its own here. */
  char *stacks;
};
#define EXEC_STACK (1024 * 1024)

static void __attribute__ ((noreturn)) exec_fail (int sock, int status, rl_error_t *err)
{
  cleanup_free char *msg = xasprintf ("E%03d%s", status, *err ? (*err)->msg : "failed");
  send (sock, msg, strlen (msg), MSG_NOSIGNAL);
  _exit (status);
}

/* The map of PID 1's user namespace as the host sees it: a single id, the
 * identity of real root, or a subordinate range. */
static int
read_map_mode (pid_t pid, enum idmap_mode *mode, unsigned long *nids, rl_error_t *err)
{
  unsigned long total[2] = { 0, 0 };
  bool identity = false;

  for (int i = 0; i < 2; i++)
    {
      char path[64];
      cleanup_free char *text = NULL;
      char *line, *save = NULL;

      snprintf (path, sizeof path, "/proc/%d/%s", pid, i ? "gid_map" : "uid_map");
      if (read_file_at (AT_FDCWD, path, 65536, &text, NULL, err) < 0)
        return -1;
      for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
        {
          unsigned long in, out, count;
          if (sscanf (line, "%lu %lu %lu", &in, &out, &count) != 3)
            continue;
          total[i] += count;
          if (i == 0 && in == 0 && out == 0 && count == 4294967295UL)
            identity = true;
        }
    }
  *nids = total[0] < total[1] ? total[0] : total[1];
  *mode = identity ? IDMAP_HOST : *nids <= 1 ? IDMAP_SINGLE : IDMAP_SUBID;
  return 0;
}

/* The PPid of /proc/PID/status, -1 when it is gone. */
static pid_t
parent_of (pid_t pid)
{
  char path[64];
  cleanup_free char *text = NULL;
  rl_error_t e = NULL;
  const char *p;

  snprintf (path, sizeof path, "/proc/%d/status", pid);
  if (read_file_at (AT_FDCWD, path, 65536, &text, NULL, &e) < 0)
    {
      rl_error_free (&e);
      return -1;
    }
  p = strstr (text, "\nPPid:");
  return p ? (pid_t)strtol (p + 6, NULL, 10) : -1;
}

/* The process whose namespaces rl exec joins and rl top looks for: PID 1,
 * or with --init, where PID 1 is rl's own code made not dumpable (its
 * namespaces are closed to a rootless owner), a child of it: the command,
 * in the same namespaces. */
static pid_t
ns_process (pid_t pid1)
{
  char path[64];
  struct stat sb;
  struct dirent *de;
  pid_t found = pid1;
  DIR *d;

  snprintf (path, sizeof path, "/proc/%d/ns/pid", pid1);
  if (stat (path, &sb) == 0 || (errno != EACCES && errno != EPERM))
    return pid1;
  d = opendir ("/proc");
  while (d && (de = readdir (d)))
    {
      char *end;
      long n = strtol (de->d_name, &end, 10);

      if (*end || n <= 0 || parent_of (n) != pid1)
        continue;
      snprintf (path, sizeof path, "/proc/%ld/ns/pid", n);
      if (stat (path, &sb) == 0)
        {
          found = n;
          break;
        }
    }
  if (d)
    closedir (d);
  return found;
}

static int
exec_ctx_prepare (struct exec_ctx *x, struct rl_store *st, const char *ref, rl_error_t *err)
{
  cleanup_free char *id = NULL;
  struct container_state state = { 0 };
  int r;

  if (container_resolve (st, ref, &id, err) < 0)
    return -1;
  if (container_get_state (st, id, &state, err) < 0)
    return -1;
  if (state.status != CTR_RUNNING || state.pid <= 0)
    {
      container_state_clear (&state);
      return rl_error (err, 0, "container %s is not running", ref);
    }
  x->pid1 = ns_process (state.pid);
  /* Opened first, then checked: the pidfd names that very process. */
  x->pidfd = syscall (SYS_pidfd_open, x->pid1, 0);
  r = x->pidfd < 0 ? -errno : 0;
  if (x->pidfd >= 0
      && (!proc_alive (state.pid, state.pid_start)
          || (x->pid1 != state.pid && parent_of (x->pid1) != state.pid)))
    r = -ESRCH;
  container_state_clear (&state);
  if (r == -ESRCH)
    return rl_error (err, 0, "container %s is not running", ref);
  if (r < 0)
    return rl_error (err, -r, "open the container's process");

  if (container_load (st, id, &x->c, err) < 0)
    return -1;
  if (run_spec_from_record (&x->spec, x->c.spec, err) < 0)
    return rl_error_wrap (err, "container %s: its run options", ref);
  if (image_lookup (st, x->c.image_id, &x->img, err) < 0)
    return rl_error_wrap (err, "container %s: image %.12s", ref, x->c.image_id);
  if (read_map_mode (x->pid1, &x->mode, &x->nids, err) < 0)
    return -1;
  if (run_confinement (&x->spec, x->mode == IDMAP_SINGLE, &x->caps, &x->caps_user, &x->filter, NULL,
                       err)
      < 0)
    return -1;
  if (x->e->privileged)
    x->caps = caps_all ();
  return 0;
}

static void
exec_ctx_clear (struct exec_ctx *x)
{
  run_spec_clear (&x->spec);
  if (x->img)
    image_free (x->img);
  container_clear (&x->c);
  seccomp_prog_clear (&x->filter);
  if (x->pidfd >= 0)
    close (x->pidfd);
  for (int i = 0; i < 2; i++)
    if (x->sock[i] >= 0)
      close (x->sock[i]);
  /* Unused by now: the process runs its command in memory of its own. */
  if (x->stacks)
    munmap (x->stacks, 2 * EXEC_STACK);
}

/* ---- the helper and the process -------------------------------------- */

/* All of PID 1's namespaces in one step, the user namespace first, so that
 * the others are joined with its capabilities.  A container with
 * CAP_SYS_ADMIN has its PID 1 in a nested user namespace (mounts_lock)
 * whose parent owns the network, pid and cgroup namespaces: the kernel
 * allows those too, as the caller owns both user namespaces. */
static int
join_namespaces (struct exec_ctx *x, rl_error_t *err)
{
  int flags
      = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;

  if (x->spec.network != NETWORK_HOST)
    flags |= CLONE_NEWNET;
  if (setns (x->pidfd, flags) < 0)
    return rl_error (err, errno, "join the container's namespaces");
  return 0;
}

static void __attribute__ ((noreturn))
process_main (struct exec_ctx *x, const struct rl_user *user, const char *user_spec,
              const char *workdir, char **env, int slave)
{
  const struct exec_spec *e = x->e;
  struct run_spec *s = &x->spec;
  int sock = x->sock[1];
  rl_error_t err = NULL;

  if (!e->detach)
    prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (slave >= 0)
    {
      if (setsid () < 0 || pty_make_controlling (slave, &err) < 0)
        {
          if (err == NULL)
            rl_error (&err, errno, "setsid");
          exec_fail (sock, RL_EXIT_FAILURE, &err);
        }
      if (slave > 2)
        close (slave);
    }
  else if (!e->interactive || e->detach)
    {
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      /* Detached, it keeps none of rl exec's stdio: a caller reading rl
       * exec's output to the end would wait for the process too. */
      if (null < 0 || dup2 (null, 0) < 0
          || (e->detach && (dup2 (null, 1) < 0 || dup2 (null, 2) < 0)))
        {
          rl_error (&err, errno, "open `/dev/null`");
          exec_fail (sock, RL_EXIT_FAILURE, &err);
        }
      close (null);
      if (e->detach)
        setsid ();
    }
  for (size_t i = 0; i < s->n_ulimits; i++)
    {
      struct rlimit rl = { s->ulimits[i].soft, s->ulimits[i].hard };
      if (setrlimit (s->ulimits[i].resource, &rl) < 0)
        {
          rl_error (&err, errno, "--ulimit %s=%llu:%llu", ulimit_name (s->ulimits[i].resource),
                    s->ulimits[i].soft, s->ulimits[i].hard);
          exec_fail (sock, RL_EXIT_FAILURE, &err);
        }
    }
  /* No fd of rl's reaches the command (the socket closes on exec too). */
  syscall (SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (run_confine (&x->filter, x->caps, x->caps_user, x->mode, x->nids, user, user_spec,
                   s->no_new_privileges, &err)
      < 0)
    exec_fail (sock, RL_EXIT_FAILURE, &err);
  /* A change of credentials clears the parent-death signal. */
  if (!e->detach)
    prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (chdir (workdir) < 0)
    {
      rl_error (&err, errno, "chdir to working directory `%s`", workdir);
      exec_fail (sock, RL_EXIT_FAILURE, &err);
    }
  run_exec_command (e->cmd, env, sock);
}

struct process_args
{
  struct exec_ctx *x;
  const struct rl_user *user;
  const char *user_spec, *workdir;
  char **env;
  int slave;
};

static int
process_fn (void *arg)
{
  struct process_args *a = arg;
  process_main (a->x, a->user, a->user_spec, a->workdir, a->env, a->slave);
}

static void __attribute__ ((noreturn)) helper_main (struct exec_ctx *x)
{
  const struct exec_spec *e = x->e;
  const struct rl_image_config *ic = &x->img->config;
  const char *user_spec = e->user                 ? e->user
                          : x->spec.user          ? x->spec.user
                          : ic->user && *ic->user ? ic->user
                                                  : "0";
  const char *workdir = e->workdir                    ? e->workdir
                        : x->spec.workdir             ? x->spec.workdir
                        : ic->workdir && *ic->workdir ? ic->workdir
                                                      : "/";
  int sock = x->sock[1];
  rl_error_t err = NULL;
  struct rl_user user = { 0 };
  char hostname[HOST_NAME_MAX + 1] = "";
  cleanup_close int root = -1;
  char **env;
  int master = -1, slave = -1;
  pid_t pid;
  char msg[32];

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  close (x->sock[0]);
  /* Signals our caller ignored would stay ignored across exec. */
  for (int sig = 1; sig < NSIG; sig++)
    {
      struct sigaction sa;
      if (sigaction (sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
        signal (sig, SIG_DFL);
    }
  sigprocmask (SIG_SETMASK, &x->oldmask, NULL);

  if (join_namespaces (x, &err) < 0)
    exec_fail (sock, RL_EXIT_FAILURE, &err);
  /* Joining the mount namespace made its root ours. */
  root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    {
      rl_error (&err, errno, "open the container's /");
      exec_fail (sock, RL_EXIT_FAILURE, &err);
    }
  if (userdb_resolve_in_root (root, user_spec, &user, &err) < 0)
    exec_fail (sock, RL_EXIT_FAILURE, &err);
  gethostname (hostname, sizeof hostname - 1);

  /* TERM under -t, as run gives it. */
  x->spec.tty = e->tty;
  env = run_environment (&x->spec, ic->env, hostname,
                         user.home       ? user.home
                         : user.uid == 0 ? "/root"
                                         : "/");
  for (size_t i = 0; e->env && e->env[i]; i++)
    env_set (&env, e->env[i]);

  if (e->tty)
    {
      struct winsize ws;
      if (pty_open ("/dev/ptmx", &master, &slave, &err) < 0)
        exec_fail (sock, RL_EXIT_FAILURE, &err);
      if (ioctl (0, TIOCGWINSZ, &ws) == 0)
        ioctl (slave, TIOCSWINSZ, &ws);
      if (fd_send (sock, "T", 1, master) < 0)
        {
          rl_error (&err, errno, "send the pty to rl");
          exec_fail (sock, RL_EXIT_FAILURE, &err);
        }
      close (master);
    }

  /* A sibling, rl exec's child: it waits for it and gets its status (the
   * exit signal is ours, SIGCHLD).  In our memory too, on the second
   * stack, while we wait for its exec. */
  {
    struct process_args pa = { x, &user, user_spec, workdir, env, slave };
    pid = clone (process_fn, x->stacks + 2 * EXEC_STACK, CLONE_PARENT | CLONE_VM | CLONE_VFORK,
                 &pa);
  }
  if (pid < 0)
    {
      rl_error (&err, errno, "create the process in the container");
      exec_fail (sock, RL_EXIT_FAILURE, &err);
    }
  snprintf (msg, sizeof msg, "P%d", (int)pid);
  send (sock, msg, strlen (msg), MSG_NOSIGNAL);
  _exit (0);
}

static int
helper_fn (void *arg)
{
  helper_main (arg);
}

/* ---- rl exec's side --------------------------------------------------- */

struct waiter
{
  pid_t helper, pid;
  bool helper_done, exited;
  int helper_status, status;
  int sock, sigfd;
  int fail_status;
  char *fail_msg;
  bool interactive, relaying;
  struct pty_relay relay;
  struct pty_saved saved;
};

static void
handle_message (struct waiter *w)
{
  char buf[4096];
  int fd = -1;
  ssize_t n = fd_recv (w->sock, buf, sizeof buf - 1, &fd);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      close (w->sock);
      w->sock = -1;
      return;
    }
  buf[n] = '\0';
  switch (buf[0])
    {
    case 'P':
      if (w->pid == 0)
        w->pid = atoi (buf + 1);
      break;
    case 'T':
      if (fd < 0 || w->relaying)
        break;
      {
        rl_error_t e = NULL;
        if (pty_make_raw (0, &w->saved, &e) < 0)
          rl_error_free (&e);
      }
      pty_relay_init (&w->relay, w->interactive ? 0 : -1, 1, fd);
      w->relaying = true;
      fd = -1;
      break;
    case 'E':
      if (n >= 4 && w->fail_msg == NULL)
        {
          char code[4] = { buf[1], buf[2], buf[3], '\0' };
          w->fail_status = atoi (code);
          w->fail_msg = xstrdup (buf + 4);
        }
      break;
    }
  if (fd >= 0)
    close (fd);
}

static void
handle_signals (struct waiter *w)
{
  struct signalfd_siginfo si[8];
  ssize_t n = read (w->sigfd, si, sizeof si);

  for (ssize_t i = 0; i < n / (ssize_t)sizeof si[0]; i++)
    {
      int sig = si[i].ssi_signo;
      if (sig == SIGCHLD)
        {
          int status;
          pid_t p;
          /* Only two children: the helper and the process. */
          while ((p = waitpid (-1, &status, WNOHANG)) > 0)
            if (p == w->helper)
              {
                w->helper_done = true;
                w->helper_status = status;
              }
            else
              {
                w->pid = p;
                w->exited = true;
                w->status = status;
              }
        }
      else if (sig == SIGWINCH)
        {
          struct winsize ws;
          if (w->relaying && ioctl (0, TIOCGWINSZ, &ws) == 0)
            ioctl (w->relay.master, TIOCSWINSZ, &ws);
        }
      else if (w->pid > 0 && !w->exited)
        kill (w->pid, sig);
      else if (!w->helper_done)
        kill (w->helper, SIGKILL);
    }
}

/* Done: the process ended, or (detached) it runs, or it never came. */
static bool
waiter_done (const struct waiter *w, bool detach)
{
  if (w->exited)
    return true;
  if (w->sock < 0 && w->helper_done && (detach || w->pid == 0))
    return true;
  return false;
}

static void
wait_loop (struct waiter *w, bool detach)
{
  while (!waiter_done (w, detach))
    {
      struct pollfd p[4];
      size_t n = 0, relay_at = 0, relay_n = 0;
      bool sock_polled = false;

      p[n++] = (struct pollfd){ .fd = w->sigfd, .events = POLLIN };
      if (w->sock >= 0)
        {
          p[n++] = (struct pollfd){ .fd = w->sock, .events = POLLIN };
          sock_polled = true;
        }
      if (w->relaying)
        {
          relay_at = n;
          relay_n = pty_relay_pollfds (&w->relay, p + n);
          n += relay_n;
        }
      if (poll (p, n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (sock_polled && p[1].revents)
        handle_message (w);
      if (relay_n)
        pty_relay_handle (&w->relay, p + relay_at, relay_n);
      if (p[0].revents)
        handle_signals (w);
    }
  /* A message sent just before the exit may still be queued. */
  while (w->sock >= 0)
    {
      struct pollfd p = { .fd = w->sock, .events = POLLIN };
      if (poll (&p, 1, 0) <= 0)
        break;
      handle_message (w);
    }
  if (w->relaying)
    pty_relay_drain (&w->relay);
}

int
exec_container (struct rl_store *st, const char *ref, const struct exec_spec *e, rl_error_t *err)
{
  struct exec_ctx x = { .e = e, .pidfd = -1, .sock = { -1, -1 } };
  struct waiter w = { .sock = -1, .sigfd = -1, .interactive = e->interactive };
  sigset_t mask;
  int ret = -1;

  if (exec_ctx_prepare (&x, st, ref, err) < 0)
    goto out;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x.sock) < 0)
    {
      rl_error (err, errno, "socketpair");
      goto out;
    }
  sigemptyset (&mask);
  for (size_t i = 0; i < ARRAY_SIZE (forwarded_signals); i++)
    sigaddset (&mask, forwarded_signals[i]);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGWINCH);
  sigprocmask (SIG_BLOCK, &mask, &x.oldmask);
  w.sigfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (w.sigfd < 0)
    {
      rl_error (err, errno, "signalfd");
      goto out_mask;
    }
  fflush (NULL);
  x.stacks = mmap (NULL, 2 * EXEC_STACK, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (x.stacks == MAP_FAILED)
    {
      x.stacks = NULL;
      rl_error (err, errno, "mmap");
      goto out_mask;
    }
  /* Back once the helper has exited, its messages in the socket. */
  w.helper = clone (helper_fn, x.stacks + EXEC_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &x);
  if (w.helper < 0)
    {
      rl_error (err, errno, "create the helper that joins the container");
      goto out_mask;
    }
  close (x.sock[1]);
  x.sock[1] = -1;
  w.sock = x.sock[0];
  x.sock[0] = -1;
  /* A gone terminal must not kill rl exec before the process ends. */
  signal (SIGPIPE, SIG_IGN);

  wait_loop (&w, e->detach);
  if (!waiter_done (&w, e->detach))
    {
      /* poll() failed: leave nothing behind. */
      if (w.pid > 0)
        kill (w.pid, SIGKILL);
      if (!w.helper_done)
        kill (w.helper, SIGKILL);
    }
  pty_restore (&w.saved);
  if (w.fail_msg)
    rl_error_status (err, w.fail_status ? w.fail_status : RL_EXIT_FAILURE, 0, "%s", w.fail_msg);
  else if (e->detach && w.pid > 0)
    ret = 0;
  else if (w.exited)
    ret = WIFSIGNALED (w.status) ? 128 + WTERMSIG (w.status) : WEXITSTATUS (w.status);
  else
    rl_error (err, 0, "the process could not be started in the container");
  goto out;

out_mask:
  sigprocmask (SIG_SETMASK, &x.oldmask, NULL);
out:
  if (ret < 0 && err && *err)
    rl_error_wrap (err, "exec %s", ref);
  pty_restore (&w.saved);
  if (w.relaying)
    close (w.relay.master);
  if (w.sock >= 0)
    close (w.sock);
  if (w.sigfd >= 0)
    close (w.sigfd);
  free (w.fail_msg);
  exec_ctx_clear (&x);
  return ret;
}

/* ---- rl top ------------------------------------------------------------ */

struct top_proc
{
  pid_t host_pid, host_ppid;
  long pid; /* as the container sees it */
  uid_t uid;
  unsigned long long start, cpu; /* clock ticks */
  unsigned long tty;
  char *cmd;
};

/* The last NSpid field of /proc/PID/status: the pid in the innermost
 * namespace; also the effective uid (as the host sees it). */
static bool
read_status (pid_t pid, long *nspid, uid_t *uid)
{
  char path[64];
  cleanup_free char *text = NULL;
  rl_error_t e = NULL;
  char *line, *save = NULL;
  bool have = false;

  snprintf (path, sizeof path, "/proc/%d/status", pid);
  if (read_file_at (AT_FDCWD, path, 65536, &text, NULL, &e) < 0)
    {
      rl_error_free (&e);
      return false;
    }
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    if (str_has_prefix (line, "NSpid:"))
      {
        char *last = strrchr (line, '\t');
        *nspid = strtol (last ? last + 1 : line + 6, NULL, 10);
        have = true;
      }
    else if (str_has_prefix (line, "Uid:"))
      {
        unsigned long r, eff;
        if (sscanf (line + 4, "%lu %lu", &r, &eff) == 2)
          *uid = eff;
      }
  return have;
}

static bool
read_stat (struct top_proc *p)
{
  char path[64];
  cleanup_free char *text = NULL;
  rl_error_t e = NULL;
  unsigned long long utime, stime, start;
  int ppid;
  unsigned long tty;
  char *rp;

  snprintf (path, sizeof path, "/proc/%d/stat", p->host_pid);
  if (read_file_at (AT_FDCWD, path, 65536, &text, NULL, &e) < 0)
    {
      rl_error_free (&e);
      return false;
    }
  /* The command name may hold anything: the fields start after its ')'. */
  rp = strrchr (text, ')');
  if (rp == NULL
      || sscanf (rp + 2,
                 "%*c %d %*d %*d %lu %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
                 "%llu",
                 &ppid, &tty, &utime, &stime, &start)
             != 5)
    return false;
  p->host_ppid = ppid;
  p->tty = tty;
  p->cpu = utime + stime;
  p->start = start;
  return true;
}

static char *
read_cmdline (pid_t pid)
{
  char path[64];
  char *text = NULL;
  size_t len = 0;
  rl_error_t e = NULL;

  snprintf (path, sizeof path, "/proc/%d/cmdline", pid);
  if (read_file_at (AT_FDCWD, path, 65536, &text, &len, &e) < 0)
    {
      rl_error_free (&e);
      return NULL;
    }
  while (len > 0 && text[len - 1] == '\0')
    len--;
  for (size_t i = 0; i < len; i++)
    if (text[i] == '\0')
      text[i] = ' ';
  text[len] = '\0';
  if (len == 0)
    {
      cleanup_free char *comm = NULL;
      free (text);
      snprintf (path, sizeof path, "/proc/%d/comm", pid);
      if (read_file_at (AT_FDCWD, path, 4096, &comm, NULL, &e) < 0)
        {
          rl_error_free (&e);
          return xstrdup ("?");
        }
      comm[strcspn (comm, "\n")] = '\0';
      return xasprintf ("[%s]", comm);
    }
  return text;
}

/* Go's time.Duration text, as Podman prints ELAPSED and TIME: 0s, 1.5s,
 * 2m3s, 1h0m5s. */
static char *
go_duration (double secs)
{
  long long total = (long long)secs;

  if (secs < 60)
    {
      if (secs < 0.0005)
        return xstrdup ("0s");
      char buf[32];
      snprintf (buf, sizeof buf, "%.3f", secs);
      /* Trailing zeros go, as Go drops them. */
      for (size_t n = strlen (buf); n > 0 && buf[n - 1] == '0'; n--)
        buf[n - 1] = '\0';
      if (buf[strlen (buf) - 1] == '.')
        buf[strlen (buf) - 1] = '\0';
      return xasprintf ("%ss", buf);
    }
  if (total < 3600)
    return xasprintf ("%lldm%llds", total / 60, total % 60);
  return xasprintf ("%lldh%lldm%llds", total / 3600, total / 60 % 60, total % 60);
}

static char *
tty_name (unsigned long tty_nr)
{
  unsigned long major = (tty_nr >> 8) & 0xfff, minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);

  if (tty_nr == 0)
    return xstrdup ("?");
  if (major >= 136 && major <= 143)
    return xasprintf ("pts/%lu", (major - 136) * 256 + minor);
  if (major == 4 && minor < 64)
    return xasprintf ("tty%lu", minor);
  if (major == 5 && minor == 1)
    return xstrdup ("console");
  return xstrdup ("?");
}

/* The user's name in the container's /etc/passwd, else the number.  uid is
 * the host's: mapped back through PID 1's map. */
static char *
user_name (int rootfd, const char *uid_map, uid_t host_uid)
{
  cleanup_free char *map = xstrdup (uid_map ? uid_map : "");
  unsigned long ctr = host_uid;
  char *line, *save = NULL;
  bool mapped = false;

  for (line = strtok_r (map, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      unsigned long in, out, count;
      if (sscanf (line, "%lu %lu %lu", &in, &out, &count) == 3 && host_uid >= out
          && host_uid - out < count)
        {
          ctr = in + (host_uid - out);
          mapped = true;
          break;
        }
    }
  if (!mapped)
    return xstrdup ("?");
  if (rootfd >= 0)
    {
      cleanup_close int fd = open_in_root (rootfd, "/etc/passwd", O_RDONLY | O_CLOEXEC, 0);
      char buf[65536];
      ssize_t n = fd >= 0 ? read_all (fd, buf, sizeof buf - 1) : -1;

      if (n > 0)
        {
          buf[n] = '\0';
          save = NULL;
          for (line = strtok_r (buf, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
            {
              char *c1 = strchr (line, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
              if (c2 && strtoul (c2 + 1, NULL, 10) == ctr && c2[1] >= '0' && c2[1] <= '9')
                return xstrndup (line, c1 - line);
            }
        }
    }
  return xasprintf ("%lu", ctr);
}

static int
proc_cmp (const void *a, const void *b)
{
  const struct top_proc *x = a, *y = b;
  return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int
top_container (struct rl_store *st, const char *ref, rl_error_t *err)
{
  static const char *const headers[8]
      = { "USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND" };
  cleanup_free char *id = NULL;
  cleanup_free char *uid_map = NULL;
  struct container_state state = { 0 };
  struct top_proc *procs = NULL;
  size_t n = 0, width[8];
  char ***rows = NULL;
  cleanup_close int rootfd = -1;
  struct stat ns;
  char path[64];
  double uptime = 0, hz = sysconf (_SC_CLK_TCK);
  pid_t pid1, nsp;
  DIR *d;
  struct dirent *de;

  if (container_resolve (st, ref, &id, err) < 0 || container_get_state (st, id, &state, err) < 0)
    return rl_error_wrap (err, "top %s", ref);
  if (state.status != CTR_RUNNING || state.pid <= 0)
    {
      container_state_clear (&state);
      return rl_error (err, 0, "top %s: container %s is not running", ref, ref);
    }
  pid1 = state.pid;
  nsp = ns_process (pid1);
  snprintf (path, sizeof path, "/proc/%d/ns/pid", nsp);
  if (stat (path, &ns) < 0 || !proc_alive (state.pid, state.pid_start))
    {
      int e = errno;
      bool alive = proc_alive (state.pid, state.pid_start);
      container_state_clear (&state);
      if (!alive)
        return rl_error (err, 0, "top %s: container %s is not running", ref, ref);
      return rl_error (err, e, "top %s: `%s`", ref, path);
    }
  {
    rl_error_t e = NULL;
    cleanup_free char *up = NULL;
    snprintf (path, sizeof path, "/proc/%d/uid_map", nsp);
    if (read_file_at (AT_FDCWD, path, 65536, &uid_map, NULL, &e) < 0)
      rl_error_free (&e);
    if (read_file_at (AT_FDCWD, "/proc/uptime", 4096, &up, NULL, &e) < 0)
      rl_error_free (&e);
    else
      uptime = strtod (up, NULL);
    snprintf (path, sizeof path, "/proc/%d/root", nsp);
    rootfd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  container_state_clear (&state);

  d = opendir ("/proc");
  if (d == NULL)
    return rl_error (err, errno, "top %s: open /proc", ref);
  while ((de = readdir (d)))
    {
      struct top_proc p = { 0 };
      struct stat sb;
      char *end;
      long hp = strtol (de->d_name, &end, 10);

      if (*end || hp <= 0)
        continue;
      p.host_pid = hp;
      snprintf (path, sizeof path, "/proc/%ld/ns/pid", hp);
      /* PID 1 itself may be closed to us (--init). */
      if (hp != pid1 && (stat (path, &sb) < 0 || sb.st_dev != ns.st_dev || sb.st_ino != ns.st_ino))
        continue;
      if (!read_status (p.host_pid, &p.pid, &p.uid) || !read_stat (&p))
        continue;
      p.cmd = read_cmdline (p.host_pid);
      if (p.cmd == NULL)
        continue;
      procs = xrealloc (procs, (n + 1) * sizeof *procs);
      procs[n++] = p;
    }
  closedir (d);
  qsort (procs, n, sizeof *procs, proc_cmp);

  rows = xmalloc0 ((n + 1) * sizeof *rows);
  for (size_t j = 0; j < 8; j++)
    width[j] = strlen (headers[j]);
  for (size_t i = 0; i < n; i++)
    {
      struct top_proc *p = &procs[i];
      double elapsed = uptime - p->start / hz, cpu = p->cpu / hz;
      long ppid = 0;

      if (elapsed < 0)
        elapsed = 0;
      /* The parent as the container sees it; 0 when it is outside. */
      for (size_t k = 0; k < n; k++)
        if (procs[k].host_pid == p->host_ppid)
          ppid = procs[k].pid;
      rows[i] = xmalloc0 (8 * sizeof (char *));
      rows[i][0] = user_name (rootfd, uid_map, p->uid);
      rows[i][1] = xasprintf ("%ld", p->pid);
      rows[i][2] = xasprintf ("%ld", ppid);
      rows[i][3] = xasprintf ("%.3f", elapsed > 0 ? 100.0 * cpu / elapsed : 0.0);
      rows[i][4] = go_duration (elapsed);
      rows[i][5] = tty_name (p->tty);
      rows[i][6] = go_duration (cpu);
      rows[i][7] = xstrdup (p->cmd);
      for (size_t j = 0; j < 8; j++)
        if (strlen (rows[i][j]) > width[j])
          width[j] = strlen (rows[i][j]);
    }
  for (size_t j = 0; j < 8; j++)
    printf ("%-*s%s", j < 7 ? (int)width[j] : 0, headers[j], j < 7 ? "   " : "\n");
  for (size_t i = 0; i < n; i++)
    {
      for (size_t j = 0; j < 8; j++)
        {
          printf ("%-*s%s", j < 7 ? (int)width[j] : 0, rows[i][j], j < 7 ? "   " : "\n");
          free (rows[i][j]);
        }
      free (rows[i]);
      free (procs[i].cmd);
    }
  free (rows);
  free (procs);
  return 0;
}
