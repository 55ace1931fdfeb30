/* `rl run`: the parent creates the container record, clones the child into
 * new namespaces, writes its id maps and then monitors it (signals, the
 * terminal, the exit record); the child sets up the container's file system
 * and identity and executes the command as its PID 1 (or stays PID 1 as a
 * small init with --init).
 *
 * Parent and child talk over a SOCK_SEQPACKET socket pair, one message per
 * send:
 *   parent -> child  struct go_msg: the maps are written, go on
 *   child -> parent  'D' driver      the root file system is mounted
 *                    'T' + fd        the pty master (-t)
 *                    'E' NNN text    setup or exec failed, exit status NNN
 * The child's end is close-on-exec: end of file means the command runs. */
#include "config.h"
#include "runtime/run.h"
#include "image/image.h"
#include "runtime/caps.h"
#include "runtime/container.h"
#include "runtime/idmap.h"
#include "runtime/mounts.h"
#include "runtime/pty.h"
#include "runtime/seccomp.h"
#include "runtime/userdb.h"
#include "util/fs.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

/* Signals the monitor passes on to the container (and --init to the
 * command).  SIGCHLD and SIGWINCH are the monitor's own. */
static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

struct go_msg
{
  int mode; /* enum idmap_mode, after a possible fallback to the single map */
  bool have_winsize;
  struct winsize ws;
};

struct run_ctx
{
  struct run_spec *spec;
  struct rl_store *st;
  struct rl_image *img;
  struct idmap m;
  char **cmd;
  char **layers;
  struct rl_container c;
  int ctrfd;
  char *ctrdir;
  char *rundir_rel; /* "containers/ID" below the runroot: the live state */
  char *hostname;
  enum rl_driver driver;
  uint64_t caps;      /* the container's capability set */
  uint64_t caps_user; /* what a non-root user keeps: the --cap-add names */
  /* The seccomp filter for the map detected, and the single-id variant
   * (with root emulation) should a subid map fall back to it. */
  struct seccomp_prog filter, filter_single;
  /* --device, then --privileged's; the strings belong to the spec or are static */
  struct rl_device *devices;
  size_t n_devices;
  int sock[2];
  sigset_t oldmask;
};

/* ---- the child ------------------------------------------------------- */

static void __attribute__ ((noreturn)) child_fail (int sock, int status, rl_error_t *err)
{
  cleanup_free char *msg = xasprintf ("E%03d%s", status, *err ? (*err)->msg : "failed");
  /* Setup errors carry rl's status; exec errors their own. */
  send (sock, msg, strlen (msg), MSG_NOSIGNAL);
  _exit (status);
}

/* Become a session leader with the pty slave as controlling terminal and
 * stdin/stdout/stderr; the slave's own fd is then closed. */
static void
take_terminal (int slave, int sock)
{
  rl_error_t err = NULL;

  if (setsid () < 0 || pty_make_controlling (slave, &err) < 0)
    {
      if (err == NULL)
        rl_error (&err, errno, "setsid");
      child_fail (sock, RL_EXIT_FAILURE, &err);
    }
  if (slave > 2)
    close (slave);
}

static int
write_text (int dirfd, const char *name, const char *text, rl_error_t *err)
{
  cleanup_close int fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write_all (fd, text, strlen (text)) < 0)
    return rl_error (err, errno, "write `%s`", name);
  return 0;
}

static char *
host_file (const char *path)
{
  char *text = NULL;
  rl_error_t e = NULL;

  if (read_file_at (AT_FDCWD, path, 256 * 1024, &text, NULL, &e) < 0)
    rl_error_free (&e);
  return text;
}

/* The host's resolv.conf; in a network namespace of its own the container
 * cannot reach a resolver on the host's loopback, so those lines go (and
 * public resolvers stand in when nothing is left), as Docker does. */
static char *
resolv_conf (bool host_network)
{
  cleanup_free char *host = host_file ("/etc/resolv.conf");
  char *out = xstrdup ("");
  bool have_ns = false;
  char *line, *save = NULL;

  if (host && host_network)
    {
      free (out);
      return steal_pointer (&host);
    }
  for (line = host ? strtok_r (host, "\n", &save) : NULL; line; line = strtok_r (NULL, "\n", &save))
    {
      char *o;
      if (str_has_prefix (line, "nameserver"))
        {
          const char *a = line + strlen ("nameserver");
          while (*a == ' ' || *a == '\t')
            a++;
          if (str_has_prefix (a, "127.") || strcmp (a, "::1") == 0)
            continue;
          have_ns = true;
        }
      o = xasprintf ("%s%s\n", out, line);
      free (out);
      out = o;
    }
  if (!have_ns)
    {
      char *o = xasprintf ("%snameserver 8.8.8.8\nnameserver 8.8.4.4\n", out);
      free (out);
      out = o;
    }
  return out;
}

/* Into dir, the scratch of the container's own mount namespace. */
static int
write_etc_files (struct run_ctx *x, const char *dir, rl_error_t *err)
{
  cleanup_close int dfd = -1;
  cleanup_free char *hostname = xasprintf ("%s\n", x->hostname);
  cleanup_free char *hosts = NULL;
  cleanup_free char *resolv = resolv_conf (x->spec->network == NETWORK_HOST);

  if (x->spec->network == NETWORK_HOST)
    hosts = host_file ("/etc/hosts");
  if (hosts == NULL)
    hosts = xasprintf ("127.0.0.1\tlocalhost localhost.localdomain\n"
                       "::1\tlocalhost localhost.localdomain ip6-localhost ip6-loopback\n"
                       "127.0.1.1\t%s\n",
                       x->hostname);
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return rl_error (err, errno, "open `%s`", dir);
  if (write_text (dfd, "hostname", hostname, err) < 0 || write_text (dfd, "hosts", hosts, err) < 0
      || write_text (dfd, "resolv.conf", resolv, err) < 0)
    return -1;
  return 0;
}

/* A new network namespace starts with loopback down. */
static int
loopback_up (rl_error_t *err)
{
  cleanup_close int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = { .ifr_name = "lo" };

  if (s < 0)
    return rl_error (err, errno, "socket");
  if (ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    return rl_error (err, errno, "get flags of `lo`");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
    return rl_error (err, errno, "bring `lo` up");
  return 0;
}

/* execvpe() would search the caller's PATH: search the container's. */
void
run_exec_command (char **cmd, char **env, int sock)
{
  const char *path = env_get (env, "PATH");
  rl_error_t err = NULL;
  bool denied = false;
  int e;

  if (strchr (cmd[0], '/'))
    {
      execve (cmd[0], cmd, env);
      e = errno;
      if (e == ENOENT || e == ENOTDIR)
        rl_error_status (&err, RL_EXIT_NOT_FOUND, 0, "`%s`: no such file or directory", cmd[0]);
      else
        rl_error_status (&err, RL_EXIT_CANNOT_INVOKE, e, "exec `%s`", cmd[0]);
      child_fail (sock, err->status, &err);
    }
  if (path == NULL)
    path = RL_DEFAULT_PATH;
  for (const char *p = path;; p++)
    {
      const char *end = strchrnul (p, ':');
      cleanup_free char *file = NULL;

      /* An empty entry means the working directory, as in execvp(). */
      file = end == p ? xstrdup (cmd[0]) : xasprintf ("%.*s/%s", (int)(end - p), p, cmd[0]);
      execve (file, cmd, env);
      e = errno;
      if (e == EACCES)
        denied = true;
      else if (e != ENOENT && e != ENOTDIR && e != ELOOP && e != ENAMETOOLONG)
        {
          rl_error_status (&err, RL_EXIT_CANNOT_INVOKE, e, "exec `%s`", file);
          child_fail (sock, err->status, &err);
        }
      if (*end == '\0')
        break;
      p = end;
    }
  if (denied)
    rl_error_status (&err, RL_EXIT_CANNOT_INVOKE, EACCES, "exec `%s`", cmd[0]);
  else
    rl_error_status (&err, RL_EXIT_NOT_FOUND, 0, "executable file `%s` not found in $PATH", cmd[0]);
  child_fail (sock, err->status, &err);
}

static void
noop_handler (int sig)
{
  (void)sig;
}

/* --init: stay PID 1, run the command as a child, pass signals on, reap
 * every orphan, and exit with the command's status. */
static void __attribute__ ((noreturn)) run_init (char **cmd, char **env, int sock, int slave)
{
  struct sigaction sa = { .sa_handler = noop_handler };
  sigset_t set, empty;
  pid_t child;

  sigemptyset (&set);
  sigemptyset (&empty);
  /* PID 1 of a pid namespace never gets a signal it has no handler for,
   * even a blocked one: install one, then take them with sigwaitinfo(). */
  for (size_t i = 0; i < ARRAY_SIZE (forwarded_signals); i++)
    {
      sigaddset (&set, forwarded_signals[i]);
      sigaction (forwarded_signals[i], &sa, NULL);
    }
  sigaddset (&set, SIGCHLD);
  sigaddset (&set, SIGWINCH);
  sigaction (SIGCHLD, &sa, NULL);
  sigaction (SIGWINCH, &sa, NULL);
  sigprocmask (SIG_BLOCK, &set, NULL);

  child = fork ();
  if (child < 0)
    {
      rl_error_t err = NULL;
      rl_error (&err, errno, "init: fork");
      child_fail (sock, RL_EXIT_FAILURE, &err);
    }
  if (child == 0)
    {
      struct sigaction dfl = { .sa_handler = SIG_DFL };
      for (int s = 1; s < NSIG; s++)
        if (sigismember (&set, s))
          sigaction (s, &dfl, NULL);
      sigprocmask (SIG_SETMASK, &empty, NULL);
      if (slave >= 0)
        take_terminal (slave, sock);
      run_exec_command (cmd, env, sock);
    }
  close (sock);
  if (slave >= 0)
    close (slave);
  /* This process runs rl's code and never execs: the fds of rl it
   * inherited (the store, the container's directory, the signalfd) are
   * only close-on-exec, and a process of the container could open them
   * through /proc/1/fd.  Close them; not dumpable keeps /proc/1/exe (rl)
   * and /proc/1/fd out of reach of the container's root too. */
  syscall (SYS_close_range, 3, ~0U, 0);
  prctl (PR_SET_DUMPABLE, 0);
  for (;;)
    {
      siginfo_t si;
      int status;
      pid_t w;

      if (sigwaitinfo (&set, &si) < 0)
        continue;
      if (si.si_signo != SIGCHLD)
        {
          kill (child, si.si_signo);
          continue;
        }
      while ((w = waitpid (-1, &status, WNOHANG)) > 0)
        if (w == child)
          _exit (WIFSIGNALED (status) ? 128 + WTERMSIG (status) : WEXITSTATUS (status));
    }
}

static int
switch_user (enum idmap_mode mode, unsigned long nids, const struct rl_user *u, const char *spec,
             rl_error_t *err)
{
  /* One id only: other users cannot exist; root emulation makes the
   * program's own setuid calls succeed, so it stays root, silently. */
  if (mode == IDMAP_SINGLE)
    return 0;
  if (setgroups (u->n_groups, u->groups) < 0)
    return rl_error (err, errno, "setgroups for user `%s`", spec);
  if (setresgid (u->gid, u->gid, u->gid) < 0)
    {
      if (errno == EINVAL)
        return rl_error (err, 0, "user `%s`: gid %u is not mapped in the container (%lu ids)", spec,
                         (unsigned)u->gid, nids);
      return rl_error (err, errno, "setgid %u", (unsigned)u->gid);
    }
  if (setresuid (u->uid, u->uid, u->uid) < 0)
    {
      if (errno == EINVAL)
        return rl_error (err, 0, "user `%s`: uid %u is not mapped in the container (%lu ids)", spec,
                         (unsigned)u->uid, nids);
      return rl_error (err, errno, "setuid %u", (unsigned)u->uid);
    }
  return 0;
}

int
run_confine (const struct seccomp_prog *filter, uint64_t caps, uint64_t caps_user,
             enum idmap_mode mode, unsigned long nids, const struct rl_user *u,
             const char *user_spec, bool no_new_privs, rl_error_t *err)
{
  bool root_user = u->uid == 0;
  uint64_t keep = root_user ? 0 : caps_user;

  /* The filter goes first, while we hold CAP_SYS_ADMIN of the namespace:
   * loading it later would need no_new_privs, which is the user's choice.
   * what follows (capset, prctl, the setuid family, chdir, execve) is in
   * the default profile, and a seccomp=FILE profile must allow it too. */
  if (seccomp_load_prog (filter, err) < 0)
    return -1;
  if (caps_apply_before_user (caps, keep, err) < 0
      || switch_user (mode, nids, u, user_spec, err) < 0
      || caps_apply_after_user (caps, keep, root_user, mode == IDMAP_SINGLE && !root_user, err) < 0)
    return -1;
  if (no_new_privs && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return rl_error (err, errno, "set no_new_privs");
  return 0;
}

static void __attribute__ ((noreturn)) child_main (struct run_ctx *x)
{
  struct run_spec *s = x->spec;
  const struct rl_image_config *ic = &x->img->config;
  const char *user_spec = s->user ? s->user : ic->user && *ic->user ? ic->user : "0";
  const char *workdir = s->workdir ? s->workdir : ic->workdir && *ic->workdir ? ic->workdir : "/";
  int sock = x->sock[1];
  rl_error_t err = NULL;
  struct go_msg go;
  struct rl_user user = { 0 };
  cleanup_free char *target = xasprintf ("%s/root", x->st->runroot);
  struct rootfs_spec rs = { x->driver, x->layers, -1, x->ctrdir, target, s->rm };
  struct mounts_spec ms;
  struct mount_op *ops;
  cleanup_strv char **store = NULL;
  char **env;
  enum rl_driver used;
  size_t n_ops;
  int rootfd, master = -1, slave = -1;
  char dmsg[32];

  /* Should rl die before the command runs, the container dies too. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  close (x->sock[0]);
  /* Signals our caller ignored (a shell's background job ignores SIGINT
   * and SIGQUIT) would stay ignored across exec: the command starts clean. */
  for (int sig = 1; sig < NSIG; sig++)
    {
      struct sigaction sa;
      if (sigaction (sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
        signal (sig, SIG_DFL);
    }
  sigemptyset (&x->oldmask);
  sigprocmask (SIG_SETMASK, &x->oldmask, NULL);
  if (recv (sock, &go, sizeof go, 0) != sizeof go)
    _exit (RL_EXIT_FAILURE);

  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      rl_error (&err, errno, "make mounts private");
      child_fail (sock, RL_EXIT_FAILURE, &err);
    }
  /* The runroot is ours and never removed: a good place for the scratch. */
  if (mounts_scratch (x->st->runroot, &err) < 0 || write_etc_files (x, x->st->runroot, &err) < 0)
    child_fail (sock, RL_EXIT_FAILURE, &err);
  /* An fd opened before the clone walks the mounts of rl's namespace, not
   * ours: the mounts we make would not be found through it. */
  rs.ctrfd = open (x->ctrdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rs.ctrfd < 0)
    {
      rl_error (&err, errno, "open `%s`", x->ctrdir);
      child_fail (sock, RL_EXIT_FAILURE, &err);
    }
  rootfd = rootfs_mount (&rs, &used, &err);
  if (rootfd < 0)
    child_fail (sock, RL_EXIT_FAILURE, &err);
  snprintf (dmsg, sizeof dmsg, "D%s", driver_name (used));
  send (sock, dmsg, strlen (dmsg), MSG_NOSIGNAL);

  if (s->network != NETWORK_HOST && loopback_up (&err) < 0)
    child_fail (sock, RL_EXIT_FAILURE, &err);
  ms = (struct mounts_spec){ .netns = s->network != NETWORK_HOST,
                             .gid5_mapped = go.mode != IDMAP_SINGLE && idmap_size (&x->m) > 5,
                             .etcdir = x->st->runroot,
                             .user = s->mounts,
                             .n_user = s->n_mounts,
                             .devices = x->devices,
                             .n_devices = x->n_devices,
                             .unmasked = s->privileged,
                             .scratch_dirs = s->read_only && s->read_only_tmpfs };
  ops = mounts_plan (&ms, &n_ops, &store);
  if (mounts_apply (rootfd, ops, n_ops, &err) < 0)
    child_fail (sock, RL_EXIT_FAILURE, &err);
  free (ops);
  if (userdb_resolve_in_root (rootfd, user_spec, &user, &err) < 0)
    child_fail (sock, RL_EXIT_FAILURE, &err);
  if (mounts_pivot (rootfd, &err) < 0)
    child_fail (sock, RL_EXIT_FAILURE, &err);
  close (rootfd);
  if (sethostname (x->hostname, strlen (x->hostname)) < 0)
    {
      rl_error (&err, errno, "set hostname `%s`", x->hostname);
      child_fail (sock, RL_EXIT_FAILURE, &err);
    }
  {
    cleanup_close int root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    cleanup_close int wd = -1;
    /* Docker creates a missing working directory. */
    if (root < 0 || (wd = mkdir_in_root (root, workdir, 0755, &err)) < 0)
      {
        if (err == NULL)
          rl_error (&err, errno, "open /");
        rl_error_wrap (&err, "working directory `%s`", workdir);
        child_fail (sock, RL_EXIT_FAILURE, &err);
      }
    /* Only now: the working directory may have had to be made. */
    if (s->read_only && mounts_root_readonly (root, &err) < 0)
      child_fail (sock, RL_EXIT_FAILURE, &err);
  }

  if (s->tty)
    {
      if (pty_open ("/dev/ptmx", &master, &slave, &err) < 0)
        child_fail (sock, RL_EXIT_FAILURE, &err);
      if (go.have_winsize)
        ioctl (slave, TIOCSWINSZ, &go.ws);
      if (mounts_bind_fd (slave, "/dev/console", &err) < 0)
        child_fail (sock, RL_EXIT_FAILURE, &err);
      if (fd_send (sock, "T", 1, master) < 0)
        {
          rl_error (&err, errno, "send the pty to rl");
          child_fail (sock, RL_EXIT_FAILURE, &err);
        }
      close (master);
      if (!s->init)
        {
          take_terminal (slave, sock);
          slave = -1;
        }
    }
  else if (!s->interactive)
    {
      int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null < 0 || dup2 (null, 0) < 0)
        {
          rl_error (&err, errno, "open `/dev/null`");
          child_fail (sock, RL_EXIT_FAILURE, &err);
        }
      close (null);
    }

  env = run_environment (s, ic->env, x->hostname,
                         user.home       ? user.home
                         : user.uid == 0 ? "/root"
                                         : "/");
  for (size_t i = 0; i < s->n_ulimits; i++)
    {
      struct rlimit rl = { s->ulimits[i].soft, s->ulimits[i].hard };
      if (setrlimit (s->ulimits[i].resource, &rl) < 0)
        {
          rl_error (&err, errno, "--ulimit %s=%llu:%llu", ulimit_name (s->ulimits[i].resource),
                    s->ulimits[i].soft, s->ulimits[i].hard);
          child_fail (sock, RL_EXIT_FAILURE, &err);
        }
    }
  /* Only a container with CAP_SYS_ADMIN could undo a read-only or masking
   * mount; locking costs it capabilities over the network and pid
   * namespaces (they stay rl's), so the others keep their plain setup. */
  if ((x->caps & CAP_BIT (CAP_SYS_ADMIN)) && mounts_lock (&err) < 0)
    child_fail (sock, RL_EXIT_FAILURE, &err);
  /* No fd of rl's reaches the command (the socket closes on exec too). */
  syscall (SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (run_confine (go.mode == IDMAP_SINGLE && x->m.mode != IDMAP_SINGLE ? &x->filter_single
                                                                        : &x->filter,
                   x->caps, x->caps_user, go.mode, idmap_size (&x->m), &user, user_spec,
                   s->no_new_privileges, &err)
      < 0)
    child_fail (sock, RL_EXIT_FAILURE, &err);
  /* A change of credentials clears the parent-death signal: set it again,
   * then make sure rl did not die before it was set. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  {
    char c;
    if (recv (sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
      _exit (RL_EXIT_FAILURE);
  }
  if (chdir (workdir) < 0)
    {
      rl_error (&err, errno, "chdir to working directory `%s`", workdir);
      child_fail (sock, RL_EXIT_FAILURE, &err);
    }
  if (s->init)
    run_init (x->cmd, env, sock, slave);
  run_exec_command (x->cmd, env, sock);
}

/* ---- the parent ------------------------------------------------------ */

struct clone_args_v0
{
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* clone() like fork(): the child runs on a copy of our stack. */
static pid_t
clone_child (unsigned long flags, int *pidfd)
{
  struct clone_args_v0 a = {
    .flags = flags | CLONE_PIDFD,
    .pidfd = (uint64_t)(uintptr_t)pidfd,
    .exit_signal = SIGCHLD,
  };
  pid_t pid;

  *pidfd = -1;
  pid = syscall (SYS_clone3, &a, sizeof a);
  if (pid < 0 && errno == ENOSYS)
    {
      pid = syscall (SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
      if (pid > 0)
        *pidfd = syscall (SYS_pidfd_open, pid, 0);
    }
  return pid;
}

static void
forward_signal (pid_t pid, int pidfd, int sig)
{
  if (pidfd >= 0)
    syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
  else
    kill (pid, sig);
}

struct monitor
{
  pid_t pid;
  int pidfd;
  int sock;
  int sigfd;
  bool tty, interactive;
  bool exited;
  int status;
  int fail_status; /* from an 'E' message, else 0 */
  char *fail_msg;
  char *driver;
  bool relaying;
  struct pty_relay relay;
  struct pty_saved saved;
};

static void
handle_message (struct monitor *mo, struct run_ctx *x)
{
  char buf[4096];
  int fd = -1;
  ssize_t n = fd_recv (mo->sock, buf, sizeof buf - 1, &fd);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      close (mo->sock);
      mo->sock = -1;
      return;
    }
  buf[n] = '\0';
  switch (buf[0])
    {
    case 'D':
      {
        struct container_state live = { 0 };
        rl_error_t e = NULL;

        free (mo->driver);
        mo->driver = xstrdup (buf + 1);
        live.pid = mo->pid;
        proc_start_time (mo->pid, &live.pid_start);
        live.monitor = getpid ();
        proc_start_time (live.monitor, &live.monitor_start);
        live.started = now_ns ();
        live.driver = mo->driver;
        /* Without it ps only misses the container: not worth failing. */
        if ((mkdirat (x->st->runfd, x->rundir_rel, 0700) < 0 && errno != EEXIST)
            || container_write_live (x->st, x->c.id, &live, &e) < 0)
          rl_error_free (&e);
      }
      break;
    case 'T':
      if (fd < 0)
        break;
      if (mo->relaying)
        {
          close (fd);
          break;
        }
      {
        rl_error_t e = NULL;
        if (pty_make_raw (0, &mo->saved, &e) < 0)
          rl_error_free (&e);
      }
      pty_relay_init (&mo->relay, mo->interactive ? 0 : -1, 1, fd);
      mo->relaying = true;
      break;
    case 'E':
      if (n >= 4 && mo->fail_msg == NULL)
        {
          char code[4] = { buf[1], buf[2], buf[3], '\0' };
          mo->fail_status = atoi (code);
          mo->fail_msg = xstrdup (buf + 4);
        }
      break;
    }
  if (fd >= 0 && buf[0] != 'T')
    close (fd);
}

static void
handle_signals (struct monitor *mo)
{
  struct signalfd_siginfo si[8];
  ssize_t n = read (mo->sigfd, si, sizeof si);

  for (ssize_t i = 0; i < n / (ssize_t)sizeof si[0]; i++)
    {
      int sig = si[i].ssi_signo;
      if (sig == SIGCHLD)
        {
          int status;
          if (!mo->exited && waitpid (mo->pid, &status, WNOHANG) == mo->pid)
            {
              mo->exited = true;
              mo->status = status;
            }
        }
      else if (sig == SIGWINCH)
        {
          struct winsize ws;
          if (mo->relaying && ioctl (0, TIOCGWINSZ, &ws) == 0)
            ioctl (mo->relay.master, TIOCSWINSZ, &ws);
        }
      else if (mo->sock >= 0)
        /* Still setting up: our own code is PID 1 and would ignore it. */
        forward_signal (mo->pid, mo->pidfd, SIGKILL);
      else
        forward_signal (mo->pid, mo->pidfd, sig);
    }
}

static void
monitor_loop (struct monitor *mo, struct run_ctx *x)
{
  while (!mo->exited)
    {
      struct pollfd p[4];
      size_t n = 0, relay_at = 0, relay_n = 0;
      bool sock_polled = false;

      p[n++] = (struct pollfd){ .fd = mo->sigfd, .events = POLLIN };
      if (mo->sock >= 0)
        {
          p[n++] = (struct pollfd){ .fd = mo->sock, .events = POLLIN };
          sock_polled = true;
        }
      if (mo->relaying)
        {
          relay_at = n;
          relay_n = pty_relay_pollfds (&mo->relay, p + n);
          n += relay_n;
        }
      if (poll (p, n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (sock_polled && p[1].revents)
        handle_message (mo, x);
      if (relay_n)
        pty_relay_handle (&mo->relay, p + relay_at, relay_n);
      if (p[0].revents)
        handle_signals (mo);
    }
  /* A message sent just before the exit may still be queued. */
  while (mo->sock >= 0)
    {
      struct pollfd p = { .fd = mo->sock, .events = POLLIN };
      if (poll (&p, 1, 0) <= 0)
        break;
      handle_message (mo, x);
    }
  if (mo->relaying)
    pty_relay_drain (&mo->relay);
}

static char *
default_hostname (const struct run_ctx *x)
{
  char buf[HOST_NAME_MAX + 1];

  if (x->spec->hostname)
    return xstrdup (x->spec->hostname);
  if (x->spec->network == NETWORK_HOST && gethostname (buf, sizeof buf) == 0)
    {
      buf[sizeof buf - 1] = '\0';
      return xstrdup (buf);
    }
  return xstrndup (x->c.id, 12);
}

static int
check_bind_sources (const struct run_spec *s, rl_error_t *err)
{
  for (size_t i = 0; i < s->n_mounts; i++)
    {
      struct stat sb;
      if (s->mounts[i].type == MOUNT_BIND && stat (s->mounts[i].source, &sb) < 0)
        return rl_error (err, errno, "bind source `%s`", s->mounts[i].source);
    }
  return 0;
}

/* --device: the node is bind-mounted (mknod is refused in a user
 * namespace), so it must exist and be open to the caller as asked. */
static int
check_device (const struct rl_device *d, rl_error_t *err)
{
  struct stat sb;

  if (stat (d->host, &sb) < 0)
    return rl_error (err, errno, "device `%s`", d->host);
  if (!S_ISCHR (sb.st_mode) && !S_ISBLK (sb.st_mode))
    return rl_error (err, 0, "device `%s`: not a device", d->host);
  if (access (d->host, d->write ? R_OK | W_OK : R_OK) < 0)
    return rl_error (err, errno, "device `%s`", d->host);
  return 0;
}

/* --privileged gives these when the caller may use them: the ones a
 * rootless user commonly needs, none that reaches the host's disks. */
static const char *const privileged_devices[] = { "/dev/fuse", "/dev/net/tun", "/dev/kvm" };

static int
collect_devices (struct run_ctx *x, rl_error_t *err)
{
  const struct run_spec *s = x->spec;

  for (size_t i = 0; i < s->n_devices; i++)
    if (check_device (&s->devices[i], err) < 0)
      return -1;
  x->devices = xmalloc0 ((s->n_devices + ARRAY_SIZE (privileged_devices)) * sizeof *x->devices);
  if (s->n_devices)
    memcpy (x->devices, s->devices, s->n_devices * sizeof *x->devices);
  x->n_devices = s->n_devices;
  for (size_t i = 0; s->privileged && i < ARRAY_SIZE (privileged_devices); i++)
    {
      struct rl_device d = { (char *)privileged_devices[i], (char *)privileged_devices[i], true };
      rl_error_t e = NULL;
      bool dup = false;
      for (size_t j = 0; j < s->n_devices; j++)
        dup |= strcmp (s->devices[j].ctr, d.ctr) == 0;
      if (dup || check_device (&d, &e) < 0)
        {
          rl_error_free (&e);
          continue;
        }
      x->devices[x->n_devices++] = d;
    }
  return 0;
}

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* --pids-limit, --memory and --cpus need a cgroup v2 subtree the user may
 * write to (systemd's Delegate=yes).  rl does not yet create cgroups, so
 * an explicit limit is refused, saying why: silently running without the
 * limit would be worse. */
static int
check_limits (const struct run_spec *s, rl_error_t *err)
{
  const char *what = s->pids_limit > 0 ? "--pids-limit"
                     : s->memory       ? "--memory"
                     : s->cpus > 0     ? "--cpus"
                                       : NULL;
  cleanup_free char *cg = NULL;
  cleanup_free char *ctl = NULL;
  const char *kind, *path;
  struct statfs sf;

  if (what == NULL)
    return 0;
  if (statfs ("/sys/fs/cgroup", &sf) < 0)
    kind = "no cgroup file system";
  else if (sf.f_type == CGROUP2_SUPER_MAGIC)
    kind = "cgroup v2";
  else if (statfs ("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
    kind = "hybrid v1/v2";
  else
    kind = "cgroup v1";
  if (strcmp (kind, "cgroup v2") != 0)
    return rl_error (err, 0,
                     "%s cannot be enforced here: cgroup v2 with delegation is needed (this "
                     "machine: %s)",
                     what, kind);
  {
    rl_error_t e = NULL;
    if (read_file_at (AT_FDCWD, "/proc/self/cgroup", 65536, &cg, NULL, &e) < 0)
      {
        rl_error_free (&e);
        return rl_error (err, 0, "%s cannot be enforced: cannot read /proc/self/cgroup", what);
      }
  }
  path = strstr (cg, "0::");
  path = path ? path + 3 : "/";
  ctl = xasprintf ("/sys/fs/cgroup%.*s/cgroup.subtree_control", (int)strcspn (path, "\n"), path);
  if (access (ctl, W_OK) < 0)
    return rl_error (err, 0,
                     "%s cannot be enforced here: cgroup v2 with delegation is needed (this "
                     "machine: cgroup v2, `%s` not writable)",
                     what, ctl);
  return rl_error (err, 0, "%s: cgroup limits are not implemented in rl yet", what);
}

/* After the container ended (or failed to start): record the exit, or with
 * --rm remove it. */
static void
finish (struct run_ctx *x, int exit_code, const char *driver, int64_t started, int userns_fd)
{
  rl_error_t e = NULL;

  if (x->spec->rm)
    {
      if (container_delete_files (x->st, x->c.id, x->c.name, userns_fd, &e) < 0)
        {
          fprintf (stderr, "rl: remove container %.12s: %s\n", x->c.id, e->msg);
          rl_error_free (&e);
        }
      return;
    }
  {
    struct container_state s = { .status = CTR_EXITED,
                                 .exit_code = exit_code,
                                 .started = started,
                                 .finished = now_ns (),
                                 .driver = (char *)driver };
    if (container_write_exit (x->st, x->c.id, &s, &e) < 0)
      rl_error_free (&e); /* removed meanwhile by `rl rm -f` */
  }
}

int
run_confinement (struct run_spec *s, bool single, uint64_t *caps, uint64_t *caps_user,
                 struct seccomp_prog *filter, struct seccomp_prog *filter_single, rl_error_t *err)
{
  /* --privileged: no filter, unless a profile was named. */
  if (s->privileged && s->seccomp == SECCOMP_DEFAULT)
    s->seccomp = SECCOMP_UNCONFINED;
  if (caps_compute (s->cap_add, s->cap_drop, caps, caps_user, err) < 0)
    return -1;
  if (s->privileged)
    {
      /* All of the namespace's capabilities (ALL goes before the drops);
       * a non-root user still gets only what --cap-add named, as with
       * Podman and Docker. */
      cleanup_strv char **all = strv_dup (s->cap_add);
      uint64_t unused;
      strv_add (&all, "ALL");
      if (caps_compute (all, s->cap_drop, caps, &unused, err) < 0)
        return -1;
    }
  {
    struct seccomp_opts so
        = { .profile = s->seccomp == SECCOMP_FILE         ? SECCOMP_PROFILE_FILE
                       : s->seccomp == SECCOMP_UNCONFINED ? SECCOMP_PROFILE_UNCONFINED
                                                          : SECCOMP_PROFILE_DEFAULT,
            .file = s->seccomp_file,
            .root_emulation = single,
            .caps = *caps };
    if (seccomp_prepare (&so, filter, err) < 0)
      return -1;
    so.root_emulation = true;
    if (filter_single && !single && seccomp_prepare (&so, filter_single, err) < 0)
      {
        seccomp_prog_clear (filter);
        return -1;
      }
  }
  return 0;
}

static int
run_ctx_prepare (struct run_ctx *x, struct rl_globals *g, rl_error_t *err)
{
  struct run_spec *s = x->spec;
  const char *drv = s->storage_driver ? s->storage_driver : g->storage_driver;

  x->driver = DRIVER_AUTO;
  if (drv && driver_from_name (drv, &x->driver, err) < 0)
    return -1;
  x->cmd = run_command (s, x->img->config.entrypoint, x->img->config.cmd);
  if (x->cmd == NULL || x->cmd[0] == NULL)
    return rl_error (err, 0, "no command specified");
  if (check_bind_sources (s, err) < 0 || check_limits (s, err) < 0 || collect_devices (x, err) < 0)
    return -1;
  x->layers = image_layer_dirs (x->st, x->img);
  if (idmap_detect (&x->m, err) < 0)
    return -1;
  if (run_confinement (s, x->m.mode == IDMAP_SINGLE, &x->caps, &x->caps_user, &x->filter,
                       x->m.mode == IDMAP_SUBID ? &x->filter_single : NULL, err)
      < 0)
    return -1;

  x->c.name = s->name ? xstrdup (s->name) : NULL;
  x->c.image_id = xstrdup (x->img->id);
  x->c.image_name = x->img->names && x->img->names[0] ? xstrdup (x->img->names[0]) : NULL;
  x->c.command = strv_dup (x->cmd);
  x->c.driver = xstrdup (driver_name (x->driver));
  x->c.rm = s->rm;
  x->c.labels = strv_dup (s->labels);
  x->c.spec = strv_dup (s->canon);
  x->ctrfd = container_create (x->st, &x->c, err);
  if (x->ctrfd < 0)
    return -1;
  x->ctrdir = xasprintf ("%s/containers/%s", x->st->root, x->c.id);
  x->rundir_rel = xasprintf ("containers/%s", x->c.id);
  x->hostname = default_hostname (x);
  return 0;
}

static void
run_ctx_clear (struct run_ctx *x)
{
  if (x->img)
    image_free (x->img);
  idmap_clear (&x->m);
  strv_free (x->cmd);
  strv_free (x->layers);
  container_clear (&x->c);
  if (x->ctrfd >= 0)
    close (x->ctrfd);
  free (x->ctrdir);
  free (x->rundir_rel);
  free (x->hostname);
  seccomp_prog_clear (&x->filter);
  seccomp_prog_clear (&x->filter_single);
  free (x->devices);
}

int
run_container (struct rl_globals *g, struct rl_store *st, struct rl_image *img,
               struct run_spec *spec, rl_error_t *err)
{
  struct run_ctx x = { .spec = spec, .st = st, .img = img, .ctrfd = -1, .sock = { -1, -1 } };
  struct monitor mo = {
    .pidfd = -1, .sock = -1, .sigfd = -1, .tty = spec->tty, .interactive = spec->interactive
  };
  cleanup_close int userns_fd = -1;
  unsigned long flags
      = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
  struct go_msg go = { 0 };
  sigset_t mask;
  int64_t started;
  int ret = -1, r;

  if (run_ctx_prepare (&x, g, err) < 0)
    {
      /* Nothing was started: a failed record is no use to anyone. */
      if (x.c.id && x.ctrfd >= 0)
        {
          rl_error_t e = NULL;
          container_delete_files (st, x.c.id, x.c.name, -1, &e);
          rl_error_free (&e);
        }
      goto out;
    }
  if (spec->network != NETWORK_HOST)
    flags |= CLONE_NEWNET;

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x.sock) < 0)
    {
      rl_error (err, errno, "socketpair");
      goto fail_early;
    }
  sigemptyset (&mask);
  for (size_t i = 0; i < ARRAY_SIZE (forwarded_signals); i++)
    sigaddset (&mask, forwarded_signals[i]);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGWINCH);
  sigprocmask (SIG_BLOCK, &mask, &x.oldmask);
  mo.sigfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (mo.sigfd < 0)
    {
      rl_error (err, errno, "signalfd");
      goto fail_early;
    }

  fflush (NULL);
  mo.pid = clone_child (flags, &mo.pidfd);
  if (mo.pid < 0)
    {
      rl_error (err, errno, "create the container's namespaces");
      goto fail_early;
    }
  if (mo.pid == 0)
    child_main (&x);
  close (x.sock[1]);
  x.sock[1] = -1;
  mo.sock = x.sock[0];
  x.sock[0] = -1;
  /* A gone terminal must not kill the monitor before it records the exit. */
  signal (SIGPIPE, SIG_IGN);

  r = idmap_write (&x.m, mo.pid, err);
  if (r < 0)
    {
      rl_error_wrap (err, "user namespace");
      forward_signal (mo.pid, mo.pidfd, SIGKILL);
      waitpid (mo.pid, NULL, 0);
      goto fail_early;
    }
  idmap_note_once (st, &x.m);
  /* --rm of files owned by subordinate ids needs this namespace later. */
  if (spec->rm && x.m.mode == IDMAP_SUBID)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/ns/user", mo.pid);
      userns_fd = open (path, O_RDONLY | O_CLOEXEC);
    }
  go.mode = x.m.mode;
  if (spec->tty && ioctl (0, TIOCGWINSZ, &go.ws) == 0)
    go.have_winsize = true;
  started = now_ns ();
  if (send (mo.sock, &go, sizeof go, MSG_NOSIGNAL) != sizeof go)
    {
      rl_error (err, errno, "start the container");
      forward_signal (mo.pid, mo.pidfd, SIGKILL);
      waitpid (mo.pid, NULL, 0);
      goto fail_early;
    }

  monitor_loop (&mo, &x);
  if (!mo.exited)
    {
      /* poll() failed: never leave the container behind. */
      forward_signal (mo.pid, mo.pidfd, SIGKILL);
      while (waitpid (mo.pid, &mo.status, 0) < 0 && errno == EINTR)
        ;
    }
  pty_restore (&mo.saved);
  if (mo.fail_msg)
    {
      rl_error_status (err, mo.fail_status ? mo.fail_status : RL_EXIT_FAILURE, 0, "%s",
                       mo.fail_msg);
      finish (&x, (*err)->status, mo.driver, started, userns_fd);
      ret = -1;
    }
  else
    {
      ret = WIFSIGNALED (mo.status) ? 128 + WTERMSIG (mo.status) : WEXITSTATUS (mo.status);
      finish (&x, ret, mo.driver, started, userns_fd);
    }
  goto out;

fail_early:
  finish (&x, RL_EXIT_FAILURE, NULL, 0, -1);
out:
  if (ret < 0 && err && *err)
    rl_error_wrap (err, "run %s", spec->image);
  pty_restore (&mo.saved);
  if (mo.relaying)
    close (mo.relay.master);
  if (mo.sock >= 0)
    close (mo.sock);
  if (mo.sigfd >= 0)
    close (mo.sigfd);
  if (mo.pidfd >= 0)
    close (mo.pidfd);
  for (int i = 0; i < 2; i++)
    if (x.sock[i] >= 0)
      close (x.sock[i]);
  free (mo.fail_msg);
  free (mo.driver);
  run_ctx_clear (&x);
  return ret;
}
