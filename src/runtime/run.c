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
 *                    'N' + fd        the tap device (--network slirp)
 *                    'E' NNN text    setup or exec failed, exit status NNN
 * The child's end is close-on-exec: end of file means the command runs. */
#include "config.h"
#include "runtime/run.h"
#include "image/image.h"
#include "runtime/caps.h"
#include "runtime/container.h"
#include "runtime/ctrlog.h"
#include "runtime/idmap.h"
#include "runtime/mounts.h"
#include "runtime/net.h"
#include "runtime/pty.h"
#include "runtime/seccomp.h"
#include "runtime/userdb.h"
#include "util/fs.h"
#include "util/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
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
  char *top_layer; /* rl's mount points above the image (overlay drivers), or NULL */
  struct rl_container c;
  bool create_pending; /* the record is made while the maps are written */
  /* rl itself is root of the container's user namespace (made for its
   * first start, kept for restarts): the container's clone only adds the
   * other namespaces. */
  bool in_userns;
  /* --network none in rl's own user namespace: the container's network
   * namespace is made by rl after go, while the child mounts its root,
   * rather than by the clone, while the helpers run. */
  bool netns_from_rl;
  /* --network none, the helpers writing rl's maps: rl made the network
   * namespace for itself while they ran, and the child inherits it. */
  bool netns_in_rl;
  /* --network slirp, the helpers writing rl's maps: a short child of
   * rl's made the network namespace in their window; netns_fd is it, and
   * the child joins it first thing. */
  bool netns_made;
  int netns_fd;
  /* --network slirp with the helpers still to run: libslirp is loaded
   * and the ports bound in their window (see shared_before_clone). */
  bool net_deferred;
  /* The child shares rl's memory and rl waits while it sets the
   * container up, to its exec (see launch). */
  bool shared_vm;
  /* --rm in the foreground: the child that removes the files, cloned while
   * the container sets itself up. */
  struct container_remover remover;
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
  sigset_t ignored; /* what the child sets back to default (see run_loop) */
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

/* Append fmt, formatted with up to two strings, to the text *out. */
static void
append (char **out, const char *fmt, const char *a, const char *b)
{
  cleanup_free char *line = xasprintf (fmt, a, b);
  char *o = xasprintf ("%s%s", *out, line);

  free (*out);
  *out = o;
}

/* The container's resolv.conf.  Nameservers: --dns, else slirp's forwarder
 * (which asks the host's resolvers, even one on the host's loopback), else
 * the host's: all of them with the host's network, else those a container
 * can reach (not on the host's loopback; public resolvers stand in when
 * nothing is left, as Docker does).  search and options: the host's unless
 * --dns-search / --dns-option replace them. */
static char *
resolv_conf (const struct run_spec *s)
{
  cleanup_free char *host = host_file ("/etc/resolv.conf");
  char *out = xstrdup ("");
  bool have_ns = false;
  char *line, *save = NULL;

  for (line = host ? strtok_r (host, "\n", &save) : NULL; line; line = strtok_r (NULL, "\n", &save))
    {
      if (str_has_prefix (line, "nameserver"))
        {
          const char *a = line + strlen ("nameserver");
          while (*a == ' ' || *a == '\t')
            a++;
          if (s->dns || s->network == NETWORK_SLIRP)
            continue;
          if (s->network != NETWORK_HOST && (str_has_prefix (a, "127.") || strcmp (a, "::1") == 0))
            continue;
          have_ns = true;
        }
      else if ((s->dns_search
                && (str_has_prefix (line, "search") || str_has_prefix (line, "domain")))
               || (s->dns_option && str_has_prefix (line, "options")))
        continue;
      append (&out, "%s\n", line, NULL);
    }
  for (size_t i = 0; s->dns && s->dns[i]; i++)
    append (&out, "nameserver %s\n", s->dns[i], NULL);
  if (s->dns == NULL && s->network == NETWORK_SLIRP)
    append (&out, "nameserver %s\n", NET_DNS, NULL);
  else if (s->dns == NULL && !have_ns)
    append (&out, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n", NULL, NULL);
  if (s->dns_search)
    {
      append (&out, "search", NULL, NULL);
      for (size_t i = 0; s->dns_search[i]; i++)
        append (&out, " %s", s->dns_search[i], NULL);
      append (&out, "\n", NULL, NULL);
    }
  if (s->dns_option)
    {
      append (&out, "options", NULL, NULL);
      for (size_t i = 0; s->dns_option[i]; i++)
        append (&out, " %s", s->dns_option[i], NULL);
      append (&out, "\n", NULL, NULL);
    }
  return out;
}

/* The container's /etc/hosts: the host's with the host's network, else
 * localhost and the container's own name (at its slirp address); then
 * host.containers.internal when the host's loopback is reachable, and
 * --add-host's lines. */
static char *
hosts_file (const struct run_spec *s, const char *hostname)
{
  char *hosts = s->network == NETWORK_HOST ? host_file ("/etc/hosts") : NULL;

  if (hosts == NULL)
    hosts = xasprintf ("127.0.0.1\tlocalhost localhost.localdomain\n"
                       "::1\tlocalhost localhost.localdomain ip6-localhost ip6-loopback\n"
                       "%s\t%s\n",
                       s->network == NETWORK_SLIRP ? NET_CTR_ADDR : "127.0.1.1", hostname);
  if (s->network == NETWORK_SLIRP && s->net_host_loopback)
    append (&hosts, "%s\thost.containers.internal host.docker.internal\n", NET_GATEWAY, NULL);
  for (size_t i = 0; s->add_hosts && s->add_hosts[i]; i++)
    {
      cleanup_free char *name = xstrndup (s->add_hosts[i], strcspn (s->add_hosts[i], " "));
      append (&hosts, "%s\t%s\n", strchr (s->add_hosts[i], ' ') + 1, name);
    }
  return hosts;
}

/* Into dir, the scratch of the container's own mount namespace. */
static int
write_etc_files (struct run_ctx *x, const char *dir, rl_error_t *err)
{
  cleanup_close int dfd = -1;
  cleanup_free char *hostname = xasprintf ("%s\n", x->hostname);
  cleanup_free char *hosts = hosts_file (x->spec, x->hostname);
  cleanup_free char *resolv = resolv_conf (x->spec);

  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return rl_error (err, errno, "open `%s`", dir);
  if (write_text (dfd, "hostname", hostname, err) < 0 || write_text (dfd, "hosts", hosts, err) < 0
      || write_text (dfd, "resolv.conf", resolv, err) < 0)
    return -1;
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
  rl_error_t err = NULL, lo_err = NULL;
  struct go_msg go;
  struct rl_user user = { 0 };
  cleanup_free char *target = xasprintf ("%s/root", x->st->runroot);
  struct rootfs_spec rs = { x->driver, x->layers, -1, x->ctrdir, target, s->rm, x->top_layer };
  struct mounts_spec ms;
  struct mount_op *ops;
  cleanup_strv char **store = NULL;
  char **env;
  enum rl_driver used;
  size_t n_ops, first;
  int rootfd, master = -1, slave = -1;
  char dmsg[32];

  /* Should rl die before the command runs, the container dies too. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  close (x->sock[0]);
  /* Signals ignored would stay ignored across exec: the command starts
   * clean. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sigismember (&x->ignored, sig) == 1)
      signal (sig, SIG_DFL);
  {
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
  }
  /* Sharing rl's memory, rl waits: it learns of our mount namespace now,
   * for the remover to hold (see launch). */
  if (x->shared_vm)
    {
      int mnt = open ("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
      fd_send (sock, "M", 1, mnt);
      if (mnt >= 0)
        close (mnt);
    }
  /* Loopback needs no id map, only the namespace's capabilities: up while
   * the helpers still write the maps.  A failure is told after go.  A
   * namespace rl made has it up already. */
  if (x->netns_made && setns (x->netns_fd, CLONE_NEWNET) < 0)
    rl_error (&lo_err, errno, "join the network namespace");
  else if ((s->network == NETWORK_SLIRP || s->network == NETWORK_NONE) && !x->netns_from_rl
           && !x->netns_in_rl && !x->netns_made)
    net_loopback_up (&lo_err);
  if (recv (sock, &go, sizeof go, 0) != sizeof go)
    _exit (RL_EXIT_FAILURE);
  if (lo_err)
    child_fail (sock, RL_EXIT_FAILURE, &lo_err);

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
  if (s->network == NETWORK_SLIRP)
    {
      int tap = net_child_setup (s->net_mtu, &err);
      if (tap < 0)
        child_fail (sock, RL_EXIT_FAILURE, &err);
      if (fd_send (sock, "N", 1, tap) < 0)
        {
          rl_error (&err, errno, "send the tap device to rl");
          child_fail (sock, RL_EXIT_FAILURE, &err);
        }
      close (tap);
    }
  ms = (struct mounts_spec){ .netns = s->network != NETWORK_HOST,
                             .gid5_mapped = go.mode != IDMAP_SINGLE && idmap_size (&x->m) > 5,
                             .etcdir = x->st->runroot,
                             .no_hosts = s->no_hosts,
                             .user = s->mounts,
                             .n_user = s->n_mounts,
                             .devices = x->devices,
                             .n_devices = x->n_devices,
                             .unmasked = s->privileged,
                             .scratch_dirs = s->read_only && s->read_only_tmpfs };
  ops = mounts_plan (&ms, &n_ops, &store);
  /* The network namespace rl makes after go (--network none) is needed
   * first by /sys: the mounts before it give rl the time to make it. */
  first = x->netns_from_rl ? mounts_before_netns (ops, n_ops) : 0;
  if (mounts_apply (rootfd, ops, first, &err) < 0)
    child_fail (sock, RL_EXIT_FAILURE, &err);
  if (x->netns_from_rl)
    {
      char c = 0;
      int nfd = -1;
      if (fd_recv (sock, &c, 1, &nfd) != 1 || c != 'n')
        {
          rl_error (&err, errno, "receive the network namespace");
          child_fail (sock, RL_EXIT_FAILURE, &err);
        }
      /* rl could not make it: the child does. */
      if (nfd < 0 && (unshare (CLONE_NEWNET) < 0 || net_loopback_up (&err) < 0))
        {
          if (err == NULL)
            rl_error (&err, errno, "create the network namespace");
          child_fail (sock, RL_EXIT_FAILURE, &err);
        }
      if (nfd >= 0 && setns (nfd, CLONE_NEWNET) < 0)
        {
          rl_error (&err, errno, "join the network namespace");
          child_fail (sock, RL_EXIT_FAILURE, &err);
        }
      if (nfd >= 0)
        close (nfd);
    }
  if (mounts_apply (rootfd, ops + first, n_ops - first, &err) < 0)
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
    /* With CLONE_PARENT the kernel takes the caller's and wants 0 here. */
    .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD,
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

/* The child of a shared_vm launch: on a stack of its own (kept for the
 * next start), in our memory, while we wait for its exec or exit. */
#define SHARED_STACK (1024 * 1024)

static int
shared_child_main (void *arg)
{
  child_main (arg);
}

/* The top of that stack, made at first use, or NULL. */
static char *
shared_stack (void)
{
  static char *stack;

  if (stack == NULL)
    {
      void *p = mmap (NULL, SHARED_STACK, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED)
        return NULL;
      stack = p;
    }
  return stack + SHARED_STACK;
}

static pid_t
clone_shared (unsigned long flags, struct run_ctx *x, int *pidfd)
{
  char *top = shared_stack ();

  *pidfd = -1;
  if (top == NULL)
    return -1;
  return clone (shared_child_main, top,
                (int)(flags | CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD), x, pidfd);
}

static int
netns_child_main (void *arg)
{
  int *fd = arg;
  rl_error_t e = NULL;

  if (unshare (CLONE_NEWNET) == 0 && net_loopback_up (&e) == 0)
    *fd = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  rl_error_free (&e);
  _exit (0);
}

/* A new network namespace, loopback up, owned by rl's user namespace,
 * while rl itself stays in its own (libslirp's sockets are the host's):
 * made by a child sharing rl's memory and fds while rl waits, as for
 * vfork, on the stack the container's child uses next.  Its fd, or -1
 * (the clone then makes one). */
static int
netns_made_for_child (void)
{
  char *top = shared_stack ();
  sigset_t all, mask;
  int fd = -1;
  pid_t pid;

  if (top == NULL)
    return -1;
  /* No handler of ours may run on that stack. */
  sigfillset (&all);
  sigprocmask (SIG_SETMASK, &all, &mask);
  pid = clone (netns_child_main, top, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &fd);
  sigprocmask (SIG_SETMASK, &mask, NULL);
  if (pid < 0)
    return -1;
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  return fd;
}

static void
forward_signal (pid_t pid, int pidfd, int sig)
{
  if (pidfd >= 0)
    syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
  else
    kill (pid, sig);
}

/* The attach socket of a detached container (runroot containers/ID/attach),
 * SOCK_SEQPACKET, one message per send:
 *   client -> monitor  'i' data        input for the container (-i or -t)
 *                      'e'             end of input (closes the container's stdin)
 *                      'w' winsize     the client's terminal size (-t)
 *   monitor -> client  '1' data        stdout (or the terminal, -t)
 *                      '2' data        stderr
 * The monitor closes the connection when the container has exited. */
#define ATTACH_MAX   16
#define ATTACH_CHUNK 16384

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
  int restarts;
  bool stop_asked; /* a signal to the monitor itself: no restart */
  /* Detached (-d, rl start): the monitor holds the container's stdio. */
  bool detached;
  int ready_fd; /* to the `rl run -d` that waits until the command runs */
  int out_fd, err_fd, in_fd;
  int master; /* -t */
  struct ctrlog log;
  int listen_fd;
  int clients[ATTACH_MAX];
  size_t n_clients;
  struct rl_net *net; /* --network slirp: lives across restarts */
  struct pollfd *pv;  /* the loops' poll array */
  size_t pv_cap;
};

static void
report_ready (struct monitor *mo, const char *msg)
{
  if (mo->ready_fd < 0)
    return;
  if (write_all (mo->ready_fd, msg, strlen (msg)) < 0)
    {
      /* Whoever waited is gone: nothing to tell. */
    }
  close (mo->ready_fd);
  mo->ready_fd = -1;
}

/* Asked to stop for good: `rl stop`, `rl kill` and `rl rm -f` leave the
 * mark first; a removed record counts too. */
static bool
stop_marked (struct run_ctx *x)
{
  cleanup_free char *stopping = xasprintf ("%s/stopping", x->rundir_rel);

  return faccessat (x->st->runfd, stopping, F_OK, 0) == 0
         || faccessat (x->ctrfd, "config.json", F_OK, 0) < 0;
}

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
      /* The socket closes on exec: the command runs. */
      if (mo->fail_msg == NULL)
        report_ready (mo, "OK");
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
        if (x->c.starter == live.monitor)
          live.monitor_start = x->c.starter_start;
        else
          proc_start_time (live.monitor, &live.monitor_start);
        live.started = now_ns ();
        live.driver = mo->driver;
        live.restarts = mo->restarts;
        /* Without it ps only misses the container: not worth failing. */
        if ((mkdirat (x->st->runfd, x->rundir_rel, 0700) < 0 && errno != EEXIST)
            || container_write_live (x->st, x->c.id, &live, &e) < 0)
          rl_error_free (&e);
        container_started (x->ctrfd);
        /* `rl rm -f` while it started (it found no live state, so no PID 1
         * to kill, and left its mark first), or the record removed
         * meanwhile: the container ends here.  `rl stop` and `rl kill` of a
         * container not yet running do nothing, as in Docker. */
        if (stop_marked (x))
          forward_signal (mo->pid, mo->pidfd, SIGKILL);
      }
      break;
    case 'T':
      if (fd < 0)
        break;
      if (mo->relaying || mo->master >= 0)
        {
          close (fd);
          break;
        }
      if (mo->detached)
        {
          fcntl (fd, F_SETFL, O_NONBLOCK);
          mo->master = fd;
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
    case 'N':
      if (fd >= 0 && mo->net)
        {
          net_attach_tap (mo->net, fd);
          fd = -1;
        }
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
      else if (mo->detached && sig == SIGHUP)
        ; /* a detached container outlives the terminal it came from */
      else
        {
          mo->stop_asked = true;
          if (mo->exited)
            continue;
          if (mo->sock >= 0)
            /* Still setting up: our own code is PID 1 and would ignore it. */
            forward_signal (mo->pid, mo->pidfd, SIGKILL);
          else
            forward_signal (mo->pid, mo->pidfd, sig);
        }
    }
}

/* Room for k more entries in the loops' poll array. */
static struct pollfd *
pv_room (struct monitor *mo, size_t n, size_t k)
{
  if (n + k > mo->pv_cap)
    {
      mo->pv_cap = n + k + 16;
      mo->pv = xrealloc (mo->pv, mo->pv_cap * sizeof *mo->pv);
    }
  return mo->pv;
}

static void
monitor_loop (struct monitor *mo, struct run_ctx *x)
{
  while (!mo->exited)
    {
      struct pollfd *p = pv_room (mo, 0, 4);
      size_t n = 0, relay_at = 0, relay_n = 0;
      bool sock_polled = false;
      int timeout = -1, r;

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
      if (mo->net)
        {
          net_poll_add (mo->net, &mo->pv, &n, &mo->pv_cap, &timeout);
          p = mo->pv;
        }
      r = poll (p, n, timeout);
      if (mo->net)
        net_poll_handle (mo->net, p, r < 0);
      if (r < 0)
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

/* ---- the detached monitor's stdio: the log and attached clients ------ */

static void
broadcast (struct monitor *mo, char kind, const char *buf, size_t n)
{
  char msg[1 + ATTACH_CHUNK];

  for (size_t off = 0; off < n && mo->n_clients; off += ATTACH_CHUNK)
    {
      size_t len = n - off < ATTACH_CHUNK ? n - off : ATTACH_CHUNK;
      msg[0] = kind;
      memcpy (msg + 1, buf + off, len);
      /* A client too slow to keep up loses output, never the container. */
      for (size_t i = 0; i < mo->n_clients; i++)
        send (mo->clients[i], msg, len + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
}

/* What the container wrote on one stream: to the log and the attached. */
static void
pump_output (struct monitor *mo, int *fd, enum ctrlog_stream s)
{
  char buf[65536];
  ssize_t n = read (*fd, buf, sizeof buf);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      /* End of file; a pty master says EIO once no slave is open. */
      close (*fd);
      *fd = -1;
      return;
    }
  ctrlog_write (&mo->log, s, buf, (size_t)n);
  broadcast (mo, s == CTRLOG_STDERR ? '2' : '1', buf, (size_t)n);
}

/* Input from an attached client; a container that does not read its
 * input gets a second to take it, then the rest is dropped. */
static void
feed_input (int fd, const char *buf, size_t n)
{
  while (n > 0)
    {
      ssize_t w = write (fd, buf, n);
      if (w > 0)
        {
          buf += w;
          n -= (size_t)w;
          continue;
        }
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0 && errno == EAGAIN)
        {
          struct pollfd p = { .fd = fd, .events = POLLOUT };
          if (poll (&p, 1, 1000) > 0)
            continue;
        }
      return;
    }
}

static void
drop_client (struct monitor *mo, size_t i)
{
  close (mo->clients[i]);
  mo->clients[i] = mo->clients[--mo->n_clients];
}

static void
client_message (struct monitor *mo, size_t i)
{
  char buf[1 + ATTACH_CHUNK];
  ssize_t n = recv (mo->clients[i], buf, sizeof buf, MSG_DONTWAIT);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      drop_client (mo, i);
      return;
    }
  switch (buf[0])
    {
    case 'i':
      if (mo->master >= 0)
        feed_input (mo->master, buf + 1, (size_t)n - 1);
      else if (mo->in_fd >= 0)
        feed_input (mo->in_fd, buf + 1, (size_t)n - 1);
      break;
    case 'e':
      if (mo->in_fd >= 0)
        {
          close (mo->in_fd);
          mo->in_fd = -1;
        }
      break;
    case 'w':
      if (mo->master >= 0 && (size_t)n == 1 + sizeof (struct winsize))
        {
          struct winsize ws;
          memcpy (&ws, buf + 1, sizeof ws);
          ioctl (mo->master, TIOCSWINSZ, &ws);
        }
      break;
    }
}

static void
accept_client (struct monitor *mo)
{
  int fd = accept4 (mo->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

  if (fd < 0)
    return;
  if (mo->n_clients == ATTACH_MAX)
    {
      close (fd);
      return;
    }
  mo->clients[mo->n_clients++] = fd;
}

/* A detached monitor lives as long as its container and needs little of
 * what rl mapped: once the command runs, the pages of the program and its
 * libraries that were never written (code, read-only data; checked per
 * mapping: no anonymous pages in it) are dropped from this process, and
 * only those the monitor's loop touches come back, from the page cache.
 * Freed heap goes back too.  This keeps its resident size well under a
 * megabyte instead of everything rl touched before the fork. */
static void
trim_resident (void)
{
  /* Parsed with plain code, and the pages dropped only once the whole file
   * is read: reading it with stdio after the first madvise would fault
   * stdio and scanf back in. */
  static char buf[128 * 1024];
  struct
  {
    unsigned long start, end;
  } drop[256];
  size_t len = 0, ndrop = 0;
  unsigned long start = 0, end = 0;
  bool candidate = false;
  ssize_t n;
  int fd;

  malloc_trim (0);
  fd = open ("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  while (len < sizeof buf - 1 && (n = read (fd, buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t)n;
  close (fd);
  buf[len] = '\0';
  for (char *line = buf; line && *line;)
    {
      char *nl = strchr (line, '\n');
      char *sp, *dash;
      if (nl)
        *nl = '\0';
      sp = strchr (line, ' ');
      dash = strchr (line, '-');
      if (isxdigit ((unsigned char)line[0]) && sp && dash && dash < sp)
        {
          /* "start-end perms offset dev inode path" */
          char *p = sp + 1, *field = line;
          int col = 0;
          start = strtoul (line, &field, 16);
          end = strtoul (field + 1, NULL, 16);
          candidate = p[0] == 'r' && p[1] == '-';
          while (*p && col < 4)
            {
              while (*p && *p != ' ')
                p++;
              while (*p == ' ')
                p++;
              col++;
            }
          /* Only plain file mappings nobody wrote to. */
          candidate = candidate && *p == '/';
        }
      else if (candidate && str_has_prefix (line, "Anonymous:"))
        {
          if (strtoul (line + strlen ("Anonymous:"), NULL, 10) == 0 && ndrop < ARRAY_SIZE (drop))
            {
              drop[ndrop].start = start;
              drop[ndrop++].end = end;
            }
          candidate = false;
        }
      line = nl ? nl + 1 : NULL;
    }
  for (size_t i = 0; i < ndrop; i++)
    madvise ((void *)drop[i].start, drop[i].end - drop[i].start, MADV_DONTNEED);
}

/* Until PID 1 has exited and its output is read to the end (every process
 * of the container dies with PID 1, so the pipes close soon after; a
 * second of silence after the exit ends the wait all the same). */
static void
detached_loop (struct monitor *mo, struct run_ctx *x)
{
  static bool trimmed;
  bool trim_due = false;

  for (;;)
    {
      struct pollfd *p = pv_room (mo, 0, 6 + ATTACH_MAX);
      int at_sig, at_sock = -1, at_out = -1, at_err = -1, at_master = -1, at_listen = -1;
      size_t n = 0, at_clients, nc;
      bool net_polled = false;
      int r, timeout = mo->exited ? 1000 : -1;

      /* The trim waits a little: `rl run -d`, told OK, is still printing
       * the id and exiting, on the same two cores perhaps. */
      if (trim_due && (timeout < 0 || timeout > 2))
        timeout = 2;
      if (mo->exited && mo->sock < 0 && mo->out_fd < 0 && mo->err_fd < 0 && mo->master < 0)
        break;
      at_sig = (int)n;
      p[n++] = (struct pollfd){ .fd = mo->sigfd, .events = POLLIN };
      if (mo->sock >= 0)
        {
          at_sock = (int)n;
          p[n++] = (struct pollfd){ .fd = mo->sock, .events = POLLIN };
        }
      if (mo->out_fd >= 0)
        {
          at_out = (int)n;
          p[n++] = (struct pollfd){ .fd = mo->out_fd, .events = POLLIN };
        }
      if (mo->err_fd >= 0)
        {
          at_err = (int)n;
          p[n++] = (struct pollfd){ .fd = mo->err_fd, .events = POLLIN };
        }
      if (mo->master >= 0)
        {
          at_master = (int)n;
          p[n++] = (struct pollfd){ .fd = mo->master, .events = POLLIN };
        }
      if (mo->listen_fd >= 0)
        {
          at_listen = (int)n;
          p[n++] = (struct pollfd){ .fd = mo->listen_fd, .events = POLLIN };
        }
      at_clients = n;
      nc = mo->n_clients;
      for (size_t i = 0; i < nc; i++)
        p[n++] = (struct pollfd){ .fd = mo->clients[i], .events = POLLIN };
      /* Published ports are served while the container runs. */
      if (mo->net && !mo->exited)
        {
          net_poll_add (mo->net, &mo->pv, &n, &mo->pv_cap, &timeout);
          p = mo->pv;
          net_polled = true;
        }

      r = poll (p, n, timeout);
      if (net_polled)
        net_poll_handle (mo->net, p, r < 0);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (r == 0 && trim_due)
        {
          trim_resident ();
          trimmed = true;
          trim_due = false;
          continue;
        }
      if (r == 0 && !net_polled)
        break;
      if (at_sock >= 0 && p[at_sock].revents)
        {
          handle_message (mo, x);
          if (mo->sock < 0 && !trimmed)
            trim_due = true;
        }
      if (at_out >= 0 && p[at_out].revents)
        pump_output (mo, &mo->out_fd, CTRLOG_STDOUT);
      if (at_err >= 0 && p[at_err].revents)
        pump_output (mo, &mo->err_fd, CTRLOG_STDERR);
      if (at_master >= 0 && p[at_master].revents)
        pump_output (mo, &mo->master, CTRLOG_STDOUT);
      /* Backwards: dropping a client moves the last one into its place. */
      for (size_t i = nc; i-- > 0;)
        if (p[at_clients + i].revents)
          client_message (mo, i);
      if (at_listen >= 0 && p[at_listen].revents)
        accept_client (mo);
      if (p[at_sig].revents)
        handle_signals (mo);
    }
  {
    int *fds[] = { &mo->out_fd, &mo->err_fd, &mo->master, &mo->in_fd };
    for (size_t i = 0; i < ARRAY_SIZE (fds); i++)
      if (*fds[i] >= 0)
        {
          close (*fds[i]);
          *fds[i] = -1;
        }
  }
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
finish (struct run_ctx *x, int exit_code, const char *driver, int64_t started, int userns_fd,
        int restarts, bool restarting)
{
  rl_error_t e = NULL;

  /* Failed before its record was made (the name taken, say): nothing to
   * record or remove but what the start wrote in the runroot (the ports
   * bound). */
  if (x->create_pending)
    {
      if (x->rundir_rel && rm_rf_at (x->st->runfd, x->rundir_rel, &e) < 0)
        rl_error_free (&e);
      return;
    }
  if (x->spec->rm)
    {
      /* In the foreground rl returns the status without waiting out the
       * removal, when it may remove every file itself. */
      bool later = !x->spec->detach && (x->in_userns || x->m.mode == IDMAP_HOST);
      if ((later ? container_delete_background (x->st, x->c.id, x->c.name, &x->remover, &e)
                 : container_delete_files (x->st, x->c.id, x->c.name, userns_fd, &e))
          < 0)
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
                                 .driver = (char *)driver,
                                 .restarts = restarts,
                                 .restarting = restarting };
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

/* The mount points rl binds its /etc files onto (hosts, hostname,
 * resolv.conf) would otherwise be made in each container's upper dir: a
 * copy-up of /etc and three new files on every start, and as many to
 * delete.  A small layer of the store's, put above the image's, has them
 * once for all: `mountpoints/etc/{hosts,hostname,resolv.conf}`, empty.  It
 * is used only when the image's /etc is what that layer's will show in its
 * place: a plain directory, mode 0755, owned by the container's root (the
 * layer's own owner), or absent; an image whose /etc is a link, or a
 * directory of another mode or owner, makes its mount points as before.
 * Returns the layer's path, or NULL. */
static char *
mountpoint_layer (struct rl_store *st, char *const *layers)
{
  static const char *const files[] = { "etc/hosts", "etc/hostname", "etc/resolv.conf" };
  struct stat sb;

  for (size_t i = strv_len (layers); i-- > 0;)
    {
      cleanup_free char *etc = xasprintf ("%s/etc", layers[i]);
      if (lstat (etc, &sb) < 0)
        {
          if (errno == ENOENT)
            continue;
          return NULL;
        }
      if (!S_ISDIR (sb.st_mode) || (sb.st_mode & 07777) != 0755 || sb.st_uid != getuid ()
          || sb.st_gid != getgid ())
        return NULL;
      break;
    }
  if (faccessat (st->rootfd, "mountpoints/etc/resolv.conf", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    {
      /* Made once, in a temporary directory renamed into place: a
       * concurrent rl that made it first wins. */
      char tmp[64];
      rl_error_t e = NULL;
      int fd;

      snprintf (tmp, sizeof tmp, "mountpoints.%d", (int)getpid ());
      rm_rf_at (st->rootfd, tmp, &e);
      rl_error_free (&e);
      if (mkdirat (st->rootfd, tmp, 0755) < 0)
        return NULL;
      {
        cleanup_free char *etc = xasprintf ("%s/etc", tmp);
        bool ok = mkdirat (st->rootfd, etc, 0755) == 0;
        for (size_t i = 0; ok && i < ARRAY_SIZE (files); i++)
          {
            cleanup_free char *f = xasprintf ("%s/%s", tmp, files[i]);
            fd = openat (st->rootfd, f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            ok = fd >= 0;
            if (fd >= 0)
              close (fd);
          }
        /* The umask must not leave the directories other than 0755. */
        ok = ok && fchmodat (st->rootfd, etc, 0755, 0) == 0
             && fchmodat (st->rootfd, tmp, 0755, 0) == 0;
        if (!ok
            || (renameat (st->rootfd, tmp, st->rootfd, "mountpoints") < 0 && errno != EEXIST
                && errno != ENOTEMPTY))
          {
            rm_rf_at (st->rootfd, tmp, &e);
            rl_error_free (&e);
            return NULL;
          }
        rm_rf_at (st->rootfd, tmp, &e); /* lost the race: theirs is in place */
        rl_error_free (&e);
      }
    }
  return xasprintf ("%s/mountpoints", st->root);
}

/* What running needs beyond the record: the command, checks, the id map,
 * capabilities and the seccomp filters. */
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
  if (x->driver != DRIVER_VFS)
    x->top_layer = mountpoint_layer (x->st, x->layers);
  if (idmap_detect (&x->m, err) < 0)
    return -1;
  if (run_confinement (s, x->m.mode == IDMAP_SINGLE, &x->caps, &x->caps_user, &x->filter,
                       x->m.mode == IDMAP_SUBID ? &x->filter_single : NULL, err)
      < 0)
    return -1;
  return 0;
}

/* --cidfile: taken before the record is made (an existing file is an
 * error, as in Docker), written once the id is known. */
static int
cidfile_open (const struct run_spec *s, rl_error_t *err)
{
  int fd;

  if (s->cidfile == NULL)
    return -1;
  fd = open (s->cidfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return rl_error (err, errno, "--cidfile `%s`", s->cidfile);
  return fd;
}

/* A new record for spec. */
static int
run_ctx_create (struct run_ctx *x, rl_error_t *err)
{
  struct run_spec *s = x->spec;
  cleanup_close int cidfd = -1;

  if (s->cidfile && (cidfd = cidfile_open (s, err)) < 0)
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
    {
      if (cidfd >= 0)
        unlink (s->cidfile);
      return -1;
    }
  /* The overlay's directories now, while the helpers run, rather than in
   * the child after go: each a new inode, which on a file system without
   * a journal can cost the scan of recently freed ones.  The child makes
   * any that is missing, and gives upper its owner and mode. */
  if (x->driver != DRIVER_VFS)
    {
      mkdirat (x->ctrfd, "upper", 0700);
      mkdirat (x->ctrfd, "work", 0700);
    }
  if (cidfd >= 0 && write_all (cidfd, x->c.id, strlen (x->c.id)) < 0)
    {
      rl_error (err, errno, "write --cidfile `%s`", s->cidfile);
      unlink (s->cidfile);
      return -1;
    }
  return 0;
}

static void
run_ctx_names (struct run_ctx *x)
{
  x->ctrdir = xasprintf ("%s/containers/%s", x->st->root, x->c.id);
  x->rundir_rel = xasprintf ("containers/%s", x->c.id);
  x->hostname = default_hostname (x);
}

static void
run_ctx_clear (struct run_ctx *x)
{
  if (x->img)
    image_free (x->img);
  idmap_clear (&x->m);
  strv_free (x->cmd);
  strv_free (x->layers);
  free (x->top_layer);
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

static void
monitor_clear (struct monitor *mo)
{
  pty_restore (&mo->saved);
  if (mo->relaying)
    close (mo->relay.master);
  if (mo->sock >= 0)
    close (mo->sock);
  if (mo->sigfd >= 0)
    close (mo->sigfd);
  if (mo->pidfd >= 0)
    close (mo->pidfd);
  if (mo->listen_fd >= 0)
    close (mo->listen_fd);
  for (size_t i = 0; i < mo->n_clients; i++)
    close (mo->clients[i]);
  mo->n_clients = 0;
  ctrlog_close (&mo->log);
  free (mo->fail_msg);
  free (mo->driver);
  net_free (mo->net);
  mo->net = NULL;
  free (mo->pv);
  mo->pv = NULL;
}

/* Detached: pipes for the container's stdout and stderr (and stdin with -i)
 * put on the monitor's own 0, 1, 2 for the clone to inherit; the monitor
 * keeps the other ends. */
static int
detached_stdio (struct monitor *mo, const struct run_spec *s, rl_error_t *err)
{
  int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, in[2] = { -1, -1 };

  if (s->tty)
    return 0;
  if (pipe2 (out, O_CLOEXEC) < 0 || pipe2 (errp, O_CLOEXEC) < 0
      || (s->interactive && pipe2 (in, O_CLOEXEC) < 0))
    {
      rl_error (err, errno, "pipe");
      goto fail;
    }
  if (dup2 (out[1], 1) < 0 || dup2 (errp[1], 2) < 0 || (in[0] >= 0 && dup2 (in[0], 0) < 0))
    {
      rl_error (err, errno, "dup2");
      goto fail;
    }
  close (out[1]);
  close (errp[1]);
  if (in[0] >= 0)
    close (in[0]);
  mo->out_fd = out[0];
  mo->err_fd = errp[0];
  mo->in_fd = in[1];
  fcntl (mo->out_fd, F_SETFL, O_NONBLOCK);
  fcntl (mo->err_fd, F_SETFL, O_NONBLOCK);
  if (mo->in_fd >= 0)
    fcntl (mo->in_fd, F_SETFL, O_NONBLOCK);
  return 0;
fail:
  for (int i = 0; i < 2; i++)
    {
      if (out[i] >= 0)
        close (out[i]);
      if (errp[i] >= 0)
        close (errp[i]);
      if (in[i] >= 0)
        close (in[i]);
    }
  return -1;
}

/* The monitor's own stdio goes back to /dev/null: the container holds the
 * pipes' other ends alone, so their end of file means it is gone. */
static void
stdio_to_null (void)
{
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);

  if (null < 0)
    return;
  for (int fd = 0; fd < 3; fd++)
    dup2 (null, fd);
  close (null);
}

/* container:NAME and ns:PATH: an fd on the network namespace to join. */
static int
open_join_netns (struct run_ctx *x, rl_error_t *err)
{
  const struct run_spec *s = x->spec;
  int fd;

  if (s->network == NETWORK_NS)
    {
      fd = open (s->network_target, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return rl_error (err, errno, "--network ns:%s", s->network_target);
      return fd;
    }
  {
    cleanup_free char *id = NULL;
    cleanup_free char *path = NULL;
    struct container_state st = { 0 };

    if (container_resolve (x->st, s->network_target, &id, err) < 0
        || container_get_state (x->st, id, &st, err) < 0)
      return rl_error_wrap (err, "--network container:%s", s->network_target);
    if (st.status != CTR_RUNNING || st.pid <= 0)
      {
        container_state_clear (&st);
        return rl_error (err, 0, "--network container:%s: the container is not running",
                         s->network_target);
      }
    path = xasprintf ("/proc/%d/ns/net", st.pid);
    container_state_clear (&st);
    fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return rl_error (err, errno, "--network container:%s: open `%s`", s->network_target, path);
    return fd;
  }
}

#ifndef NS_GET_USERNS
#define NS_GET_USERNS 0xb701
#endif

struct join_reply
{
  pid_t pid;
  int errnum;
  char what[64];
};

/* Clone the child into another network namespace.  Joining one needs
 * CAP_SYS_ADMIN over it: where the caller lacks that, the helper first joins
 * the user namespace that owns it (another container's, made by this user,
 * with the same map) and the child is made there, its maps already
 * written (*mapped).  A forked helper does it, so that the monitor stays
 * where it is; the child becomes the monitor's own (CLONE_PARENT). */
static pid_t
clone_joined (unsigned long flags, int netfd, bool *mapped, rl_error_t *err)
{
  int pipefd[2];
  struct join_reply r = { 0 };
  pid_t helper;
  ssize_t got;

  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return rl_error (err, errno, "pipe");
  helper = fork ();
  if (helper < 0)
    {
      close (pipefd[0]);
      close (pipefd[1]);
      return rl_error (err, errno, "fork");
    }
  if (helper == 0)
    {
      int userfd = ioctl (netfd, NS_GET_USERNS);
      struct stat own, theirs;
      int pidfd;

      close (pipefd[0]);
      r.pid = -1;
      if (userfd < 0)
        {
          r.errnum = errno;
          snprintf (r.what, sizeof r.what, "find its user namespace");
        }
      else if (setns (netfd, CLONE_NEWNET) == 0)
        r.pid = 0;
      else if (stat ("/proc/self/ns/user", &own) == 0 && fstat (userfd, &theirs) == 0
               && own.st_ino == theirs.st_ino && own.st_dev == theirs.st_dev)
        {
          r.errnum = errno;
          snprintf (r.what, sizeof r.what, "join it");
        }
      else if (setns (userfd, CLONE_NEWUSER) < 0 || setns (netfd, CLONE_NEWNET) < 0)
        {
          r.errnum = errno;
          snprintf (r.what, sizeof r.what, "join it (and its user namespace)");
        }
      else
        {
          r.pid = 0;
          flags &= ~(unsigned long)CLONE_NEWUSER;
          r.errnum = -1; /* mapped */
        }
      if (r.pid == 0)
        {
          r.pid = clone_child (flags | CLONE_PARENT, &pidfd);
          if (r.pid == 0)
            return 0;
          if (r.pid < 0)
            {
              r.errnum = errno;
              snprintf (r.what, sizeof r.what, "create the container's namespaces");
            }
        }
      if (write (pipefd[1], &r, sizeof r) != sizeof r)
        _exit (1);
      _exit (0);
    }
  close (pipefd[1]);
  do
    got = read (pipefd[0], &r, sizeof r);
  while (got < 0 && errno == EINTR);
  close (pipefd[0]);
  while (waitpid (helper, NULL, 0) < 0 && errno == EINTR)
    ;
  if (got != sizeof r)
    return rl_error (err, 0, "join the network namespace: the helper failed");
  if (r.pid < 0)
    {
      r.what[sizeof r.what - 1] = '\0';
      return rl_error (err, r.errnum > 0 ? r.errnum : 0, "join the network namespace: %s", r.what);
    }
  *mapped = r.errnum == -1;
  return r.pid;
}

/* Does the user namespace of pid map one uid only? */
static bool
joined_single_map (pid_t pid)
{
  char path[64];
  cleanup_free char *map = NULL;
  unsigned long a, b, count, total = 0;
  rl_error_t e = NULL;
  const char *p;

  snprintf (path, sizeof path, "/proc/%d/uid_map", pid);
  if (read_file_at (AT_FDCWD, path, 65536, &map, NULL, &e) < 0)
    {
      rl_error_free (&e);
      return false;
    }
  for (p = map; p && sscanf (p, "%lu %lu %lu", &a, &b, &count) == 3; p = strchr (p + 1, '\n'))
    total += count;
  return total == 1;
}

/* A detached monitor's log and attach socket (once the record exists). */
static int
monitor_open_io (struct run_ctx *x, struct monitor *mo, rl_error_t *err)
{
  const struct run_spec *s = x->spec;
  cleanup_close int dfd = -1;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };

  if (ctrlog_open (&mo->log, x->ctrfd, s->log_max_size, s->log_max_files, err) < 0)
    return -1;
  if (mkdirat (x->st->runfd, x->rundir_rel, 0700) < 0 && errno != EEXIST)
    return rl_error (err, errno, "mkdir `%s/%s`", x->st->runroot, x->rundir_rel);
  dfd = openat (x->st->runfd, x->rundir_rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
  /* The runroot's path may be too long for sun_path: go through the fd. */
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/attach", dfd);
  unlinkat (dfd, "attach", 0);
  mo->listen_fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (dfd < 0 || mo->listen_fd < 0 || bind (mo->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0
      || listen (mo->listen_fd, 8) < 0)
    return rl_error (err, errno, "the attach socket");
  return 0;
}

struct during_maps
{
  struct run_ctx *x;
  struct monitor *mo;
  rl_error_t err;
};

/* While the setuid helpers write the child's maps (their execs are the
 * longest step of a start), what needs no child: the record of a new
 * container, and a detached monitor's log and attach socket.  The child
 * waits for "go", sent only after this. */
static void
during_maps (void *arg)
{
  struct during_maps *d = arg;

  if (d->x->create_pending)
    {
      if (run_ctx_create (d->x, &d->err) < 0)
        return;
      d->x->create_pending = false;
    }
  if (d->mo->detached && d->mo->listen_fd < 0)
    monitor_open_io (d->x, d->mo, &d->err);
}

/* --network none: a new network namespace with loopback up, for the child
 * (which joins it right before it mounts /sys), made by rl itself: it
 * needs no network of its own.  Creating one is about 0.4 ms of the
 * kernel's time, which here overlaps the child's mounts instead of the
 * helpers' execs.  Without one to give, the child makes its own. */
static void
give_netns (int sock)
{
  rl_error_t e = NULL;
  int fd = -1;

  if (unshare (CLONE_NEWNET) == 0 && net_loopback_up (&e) == 0)
    fd = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  rl_error_free (&e);
  if (fd_send (sock, "n", 1, fd) < 0)
    {
      /* The child is gone: its exit tells the rest. */
    }
  if (fd >= 0)
    close (fd);
}

/* --rm in the foreground: the remover is cloned at the container's
 * start, to hold its mount namespace (see launch). */
static bool
remover_due (const struct run_ctx *x)
{
  return x->spec->rm && !x->spec->detach && (x->in_userns || x->m.mode == IDMAP_HOST)
         && x->remover.pid <= 0 && !x->create_pending;
}

/* The runroot's containers/ID/ports, for `rl port`: one published port a
 * line, "80/tcp 0.0.0.0 8080" (with -P, only the monitor knows them). */
static void
write_ports (struct run_ctx *x, struct rl_net *net)
{
  size_t n;
  const struct net_port *p = net_ports (net, &n);
  cleanup_free char *text = xstrdup ("");
  cleanup_free char *path = xasprintf ("%s/ports", x->rundir_rel);
  cleanup_close int fd = -1;

  for (size_t i = 0; i < n; i++)
    {
      char *t = xasprintf ("%s%u/%s %s %u\n", text, p[i].ctr_port, p[i].udp ? "udp" : "tcp",
                           p[i].host_ip, p[i].host_port);
      free (text);
      text = t;
    }
  if (mkdirat (x->st->runfd, x->rundir_rel, 0700) < 0 && errno != EEXIST)
    return;
  fd = openat (x->st->runfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write_all (fd, text, strlen (text)) < 0)
    {
      /* Only `rl port` misses them. */
    }
}

static void
netns_made_close (struct run_ctx *x)
{
  if (x->netns_made)
    close (x->netns_fd);
  x->netns_made = false;
}

/* A child sharing our memory (shared_vm): before it exists, the record,
 * the maps, and go, waiting in the socket.  Consumes pending. */
static int
shared_before_clone (struct run_ctx *x, struct monitor *mo, struct idmap_self *pending,
                     int64_t *started, rl_error_t *err)
{
  struct during_maps d = { x, mo, NULL };
  struct go_msg go = { 0 };

  /* Loading libslirp (and glib) is 1.5 ms here, as long as all the rest
   * of rl's work before the helpers: in their window instead.  The ports
   * are still bound before the container exists, and before its record:
   * a port taken leaves none, as before. */
  if (x->net_deferred)
    {
      x->net_deferred = false;
      if (net_start (x->spec, x->img->config.exposed, &mo->net, &d.err) == 0)
        write_ports (x, mo->net);
    }
  if (d.err == NULL)
    during_maps (&d);
  x->netns_in_rl = false;
  if (pending && x->spec->network == NETWORK_NONE && d.err == NULL)
    {
      if (unshare (CLONE_NEWNET) < 0)
        rl_error (&d.err, errno, "create the network namespace");
      else if (net_loopback_up (&d.err) == 0)
        x->netns_in_rl = true;
    }
  if (pending && x->spec->network == NETWORK_SLIRP && d.err == NULL)
    {
      x->netns_fd = netns_made_for_child ();
      x->netns_made = x->netns_fd >= 0;
    }
  if (idmap_self_wait (&x->m, pending, err) < 0)
    {
      rl_error_free (&d.err);
      return rl_error_wrap (err, "user namespace");
    }
  if (d.err)
    {
      rl_error_free (err);
      *err = d.err;
      return -1;
    }
  idmap_note_once (x->st, &x->m);
  go.mode = x->m.mode;
  if (x->spec->tty && !mo->detached && ioctl (0, TIOCGWINSZ, &go.ws) == 0)
    go.have_winsize = true;
  *started = now_ns ();
  if (send (x->sock[0], &go, sizeof go, MSG_NOSIGNAL) != sizeof go)
    return rl_error (err, errno, "start the container");
  return 0;
}

/* Clone the child, write its maps, let it go.  On success the container
 * is starting and mo->pid is its PID 1. */
static int
launch (struct run_ctx *x, struct monitor *mo, int *userns_fd, int64_t *started, rl_error_t *err)
{
  unsigned long flags
      = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
  const struct run_spec *spec = x->spec;
  struct go_msg go = { 0 };
  bool join = spec->network == NETWORK_CONTAINER || spec->network == NETWORK_NS;
  bool mapped = false;
  struct idmap_self *pending = NULL;
  cleanup_close int netfd = -1;

  if (spec->network == NETWORK_SLIRP || spec->network == NETWORK_NONE)
    flags |= CLONE_NEWNET;
  if (join && (netfd = open_join_netns (x, err)) < 0)
    return -1;
  /* Rootless, rl becomes root of a new user namespace itself: the setuid
   * helpers then write its maps while the container's other namespaces
   * are made and its record written, rather than after.  Real root keeps
   * the child's own namespace (a process cannot map all ids for itself). */
  if (!join && x->m.mode != IDMAP_HOST)
    {
      if (!x->in_userns)
        {
          if (idmap_unshare_self (&x->m, &pending, err) < 0)
            return -1;
          x->in_userns = true;
        }
      flags &= ~CLONE_NEWUSER;
    }
  /* In rl's own user namespace the child needs nothing of rl's while it
   * sets the container up: it is cloned once the maps are written, sharing
   * rl's memory, and rl waits (as vfork does) until the command's exec.
   * No page tables copied, no page copied on write, nothing to free at
   * the exec: 2.5 ms of a 21 ms start where a page fault costs 14 us (a
   * VM with shadow page tables), far more than the overlap it gives up
   * (the clone and the network namespace made while the helpers ran).
   * Not for --init, whose child never execs. */
  x->shared_vm = x->in_userns && !join && !spec->init;
  x->netns_from_rl = x->in_userns && spec->network == NETWORK_NONE && !x->shared_vm;
  if (x->netns_from_rl)
    flags &= ~CLONE_NEWNET;
  mo->exited = false;
  mo->status = 0;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x->sock) < 0)
    {
      rl_error (err, errno, "socketpair");
      goto abandon;
    }
  if (mo->detached && detached_stdio (mo, spec, err) < 0)
    goto abandon;
  if (x->shared_vm && shared_before_clone (x, mo, pending, started, err) < 0)
    {
      pending = NULL;
      netns_made_close (x);
      if (mo->detached)
        stdio_to_null ();
      close (x->sock[0]);
      close (x->sock[1]);
      x->sock[0] = x->sock[1] = -1;
      return -1;
    }
  if (x->shared_vm)
    pending = NULL;
  if (x->netns_in_rl || x->netns_made)
    flags &= ~CLONE_NEWNET;

  fflush (NULL);
  if (join)
    {
      mo->pid = clone_joined (flags, netfd, &mapped, err);
      if (mo->pid > 0)
        mo->pidfd = syscall (SYS_pidfd_open, mo->pid, 0);
    }
  else
    {
      mo->pid
          = x->shared_vm ? clone_shared (flags, x, &mo->pidfd) : clone_child (flags, &mo->pidfd);
      if (mo->pid < 0)
        rl_error (err, errno, "create the container's namespaces");
      /* The child has its own copy, or is gone. */
      netns_made_close (x);
    }
  if (mo->pid < 0)
    {
      if (mo->detached)
        stdio_to_null ();
      close (x->sock[0]);
      close (x->sock[1]);
      x->sock[0] = x->sock[1] = -1;
      goto abandon;
    }
  if (mo->pid == 0)
    child_main (x);
  if (mo->detached)
    stdio_to_null ();
  close (x->sock[1]);
  x->sock[1] = -1;
  mo->sock = x->sock[0];
  x->sock[0] = -1;
  if (x->shared_vm)
    {
      /* The child's first word: its mount namespace (end of file if it
       * died before). */
      char c = 0;
      int mntns = -1;
      if (fd_recv (mo->sock, &c, 1, &mntns) == 1 && c == 'M' && remover_due (x))
        container_remover_start (x->st, x->c.id, mntns, &x->remover);
      if (mntns >= 0)
        close (mntns);
      return 0;
    }

  {
    struct during_maps d = { x, mo, NULL };
    int r = 0;
    if (mapped || x->in_userns)
      {
        during_maps (&d);
        r = idmap_self_wait (&x->m, pending, err);
        pending = NULL;
      }
    else
      r = idmap_write_during (&x->m, mo->pid, during_maps, &d, err);
    if (r < 0)
      {
        rl_error_free (&d.err);
        rl_error_wrap (err, "user namespace");
        goto kill;
      }
    if (d.err)
      {
        rl_error_free (err);
        *err = d.err;
        goto kill;
      }
  }
  idmap_note_once (x->st, &x->m);
  /* --rm of files owned by subordinate ids needs this namespace later
   * (rl itself being root of it does not). */
  if (spec->rm && x->m.mode == IDMAP_SUBID && !x->in_userns && *userns_fd < 0)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/ns/user", mo->pid);
      *userns_fd = open (path, O_RDONLY | O_CLOEXEC);
    }
  go.mode = x->m.mode;
  /* Joined a user namespace of another's (ns:PATH, say `unshare -rn`)
   * that maps one id only: the child lives with that. */
  if (mapped && x->m.mode == IDMAP_SUBID && joined_single_map (mo->pid))
    go.mode = IDMAP_SINGLE;
  if (spec->tty && !mo->detached && ioctl (0, TIOCGWINSZ, &go.ws) == 0)
    go.have_winsize = true;
  *started = now_ns ();
  if (send (mo->sock, &go, sizeof go, MSG_NOSIGNAL) != sizeof go)
    {
      rl_error (err, errno, "start the container");
      goto kill;
    }
  if (x->netns_from_rl)
    give_netns (mo->sock);
  /* The remover's clone (sharing our memory, so no page tables copied):
   * now, while the container mounts its root, rather than after it
   * exits.  It also frees our memory after our exit.  The remover holds the container's
   * mount namespace: the teardown of its two dozen mounts (some 0.2 ms,
   * and a wait for RCU) is then the remover's, not part of the exit rl
   * waits for. */
  if (remover_due (x))
    {
      char path[64];
      int mntns;

      snprintf (path, sizeof path, "/proc/%d/ns/mnt", (int)mo->pid);
      mntns = open (path, O_RDONLY | O_CLOEXEC);
      container_remover_start (x->st, x->c.id, mntns, &x->remover);
      if (mntns >= 0)
        close (mntns);
    }
  return 0;
kill:
  forward_signal (mo->pid, mo->pidfd, SIGKILL);
  waitpid (mo->pid, NULL, 0);
  close (mo->sock);
  mo->sock = -1;
  if (mo->pidfd >= 0)
    close (mo->pidfd);
  mo->pidfd = -1;
  return -1;
abandon:
  if (pending)
    {
      rl_error_t e2 = NULL;
      idmap_self_wait (&x->m, pending, &e2);
      rl_error_free (&e2);
    }
  return -1;
}

/* After an exit: does --restart say to run it again? */
static bool
should_restart (struct run_ctx *x, struct monitor *mo, int code)
{
  const struct run_spec *s = x->spec;

  if (s->restart == RESTART_NO || mo->stop_asked || mo->fail_msg || stop_marked (x))
    return false;
  if (s->restart == RESTART_ON_FAILURE)
    return code != 0 && (s->restart_max == 0 || mo->restarts < s->restart_max);
  return true;
}

/* Wait before a restart, 100 ms doubling up to 10 s, as long as no signal
 * asks the monitor to stop and no `rl stop` marks the container (looked at
 * every 100 ms, so that rl stop does not wait out a long delay). */
static bool
restart_delay (struct run_ctx *x, struct monitor *mo)
{
  int ms = 100;
  int64_t until;

  for (int i = 0; i < mo->restarts && ms < 10000; i++)
    ms *= 2;
  if (ms > 10000)
    ms = 10000;
  until = now_ns () / 1000000 + ms;
  for (;;)
    {
      int64_t left = until - now_ns () / 1000000;
      struct pollfd p = { .fd = mo->sigfd, .events = POLLIN };
      if (left <= 0)
        return true;
      if (poll (&p, 1, left < 100 ? (int)left : 100) > 0)
        {
          handle_signals (mo);
          if (mo->stop_asked)
            return false;
        }
      if (stop_marked (x))
        return false;
    }
}

/* Start the container and watch it to its end, restarting it as --restart
 * says.  Returns the last exit status, or -1 with err. */
static int
run_loop (struct run_ctx *x, struct monitor *mo, rl_error_t *err)
{
  cleanup_close int userns_fd = -1;
  sigset_t mask;
  int64_t started = 0;
  int ret = -1;

  sigemptyset (&mask);
  for (size_t i = 0; i < ARRAY_SIZE (forwarded_signals); i++)
    sigaddset (&mask, forwarded_signals[i]);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGWINCH);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  mo->sigfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (mo->sigfd < 0)
    {
      rl_error (err, errno, "signalfd");
      finish (x, RL_EXIT_FAILURE, NULL, 0, -1, 0, false);
      return -1;
    }
  /* Signals our caller ignored (a shell's background job ignores SIGINT
   * and SIGQUIT), a pull's SIGPIPE, and ours below: the child sets them
   * back to default, from this list rather than asking about each. */
  sigemptyset (&x->ignored);
  for (int sig = 1; sig < NSIG; sig++)
    {
      struct sigaction sa;
      if (sigaction (sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
        sigaddset (&x->ignored, sig);
    }
  sigaddset (&x->ignored, SIGPIPE);
  /* A gone terminal must not kill the monitor before it records the exit. */
  signal (SIGPIPE, SIG_IGN);
  /* The ports are bound before the container exists: one that is taken
   * fails the run at once.  With the helpers to run (rl not yet in a user
   * namespace of its own, and a child sharing its memory), in their
   * window. */
  x->net_deferred = x->spec->network == NETWORK_SLIRP && x->m.mode == IDMAP_SUBID && !x->in_userns
                    && !x->spec->init;
  if (x->spec->network == NETWORK_SLIRP && !x->net_deferred)
    {
      if (net_start (x->spec, x->img->config.exposed, &mo->net, err) < 0)
        {
          finish (x, RL_EXIT_FAILURE, NULL, 0, -1, 0, false);
          return -1;
        }
      write_ports (x, mo->net);
    }

  for (;;)
    {
      if (launch (x, mo, &userns_fd, &started, err) < 0)
        {
          finish (x, RL_EXIT_FAILURE, NULL, 0, -1, mo->restarts, false);
          return -1;
        }
      if (mo->detached)
        detached_loop (mo, x);
      else
        monitor_loop (mo, x);
      if (!mo->exited)
        {
          /* poll() failed: never leave the container behind. */
          forward_signal (mo->pid, mo->pidfd, SIGKILL);
          while (waitpid (mo->pid, &mo->status, 0) < 0 && errno == EINTR)
            ;
        }
      if (mo->pidfd >= 0)
        close (mo->pidfd);
      mo->pidfd = -1;
      pty_restore (&mo->saved);
      if (mo->relaying)
        {
          close (mo->relay.master);
          mo->relaying = false;
        }
      if (mo->fail_msg)
        {
          rl_error_status (err, mo->fail_status ? mo->fail_status : RL_EXIT_FAILURE, 0, "%s",
                           mo->fail_msg);
          /* Recorded before the waiting rl hears of it. */
          finish (x, (*err)->status, mo->driver, started, userns_fd, mo->restarts, false);
          {
            cleanup_free char *msg = xasprintf ("E%03d%s", (*err)->status, mo->fail_msg);
            report_ready (mo, msg);
          }
          return -1;
        }
      ret = WIFSIGNALED (mo->status) ? 128 + WTERMSIG (mo->status) : WEXITSTATUS (mo->status);
      if (!should_restart (x, mo, ret))
        break;
      finish (x, ret, mo->driver, started, userns_fd, mo->restarts, true);
      mo->restarts++;
      if (!restart_delay (x, mo))
        break;
    }
  finish (x, ret, mo->driver, started, userns_fd, mo->restarts, false);
  return ret;
}

/* The monitor outlives its caller and never execs: an fd the caller let
 * it inherit (a shell's pipe, bats' fd 3) would be held open for as long
 * as the container runs.  rl's own fds are all close-on-exec. */
static void
close_inherited_fds (void)
{
  DIR *d = opendir ("/proc/self/fd");
  struct dirent *de;
  int self;

  if (d == NULL)
    return;
  self = dirfd (d);
  while ((de = readdir (d)))
    {
      int fd = atoi (de->d_name);
      int flags;
      if (fd < 3 || fd == self || de->d_name[0] == '.')
        continue;
      flags = fcntl (fd, F_GETFD);
      if (flags >= 0 && !(flags & FD_CLOEXEC))
        close (fd);
    }
  closedir (d);
}

/* The detached monitor: a new session (no terminal's SIGHUP reaches it),
 * stdio on /dev/null, the log, the attach socket; tells the waiting rl
 * through ready_fd when the command runs or why it could not. */
static void __attribute__ ((noreturn)) detached_monitor (struct run_ctx *x, struct monitor *mo)
{
  rl_error_t err = NULL;
  int r;

  setsid ();
  stdio_to_null ();
  close_inherited_fds ();
  mo->detached = true;
  r = run_loop (x, mo, &err);
  if (r < 0)
    goto fail;
  monitor_clear (mo);
  _exit (0);
fail:
  if (mo->ready_fd >= 0)
    {
      cleanup_free char *msg = xasprintf (
          "E%03d%s", err && err->status ? err->status : RL_EXIT_FAILURE, err ? err->msg : "failed");
      if (write_all (mo->ready_fd, msg, strlen (msg)) < 0)
        {
          /* nobody to tell */
        }
    }
  _exit (RL_EXIT_FAILURE);
}

/* Fork the detached monitor and wait until the command runs: 0, or -1 with
 * the error it reported. */
static int
start_detached (struct run_ctx *x, struct monitor *mo, rl_error_t *err)
{
  int ready[2];
  pid_t pid;
  char buf[4096];
  size_t len = 0;

  if (pipe2 (ready, O_CLOEXEC) < 0)
    return rl_error (err, errno, "pipe");
  fflush (NULL);
  pid = fork ();
  if (pid < 0)
    {
      close (ready[0]);
      close (ready[1]);
      return rl_error (err, errno, "fork the monitor");
    }
  if (pid == 0)
    {
      close (ready[0]);
      mo->ready_fd = ready[1];
      detached_monitor (x, mo);
    }
  close (ready[1]);
  len = read_text (ready[0], buf, sizeof buf);
  close (ready[0]);
  /* The monitor is not our child for long: it is reaped by whoever
   * inherits it once we exit; reap it now if it already failed. */
  waitpid (pid, NULL, WNOHANG);
  if (len >= 2 && memcmp (buf, "OK", 2) == 0)
    return 0;
  if (len >= 4 && buf[0] == 'E')
    {
      char code[4] = { buf[1], buf[2], buf[3], '\0' };
      int status = atoi (code);
      return rl_error_status (err, status ? status : RL_EXIT_FAILURE, 0, "%s", buf + 4);
    }
  return rl_error (err, 0, "the monitor exited before the container started");
}

static void
monitor_init (struct monitor *mo, const struct run_spec *spec)
{
  *mo = (struct monitor){ .pidfd = -1,
                          .sock = -1,
                          .sigfd = -1,
                          .tty = spec->tty,
                          .interactive = spec->interactive,
                          .ready_fd = -1,
                          .out_fd = -1,
                          .err_fd = -1,
                          .in_fd = -1,
                          .master = -1,
                          .listen_fd = -1 };
  mo->log.fd = -1;
}

/* Run the prepared context x (its record made): in the foreground, or
 * detached when the spec says so (printing the id). */
static int
run_prepared (struct run_ctx *x, bool print_id, rl_error_t *err)
{
  struct monitor mo;
  int ret;

  monitor_init (&mo, x->spec);
  run_ctx_names (x);
  if (x->spec->detach)
    {
      ret = start_detached (x, &mo, err);
      if (ret == 0 && print_id)
        {
          printf ("%s\n", x->c.id);
          fflush (stdout);
        }
    }
  else
    ret = run_loop (x, &mo, err);
  monitor_clear (&mo);
  return ret;
}

int
run_container (struct rl_globals *g, struct rl_store *st, struct rl_image *img,
               struct run_spec *spec, rl_error_t *err)
{
  struct run_ctx x = {
    .spec = spec, .st = st, .img = img, .ctrfd = -1, .sock = { -1, -1 }, .remover = { -1, -1 }
  };
  int ret = -1;

  if (run_ctx_prepare (&x, g, err) < 0)
    goto out;
  /* The id now, the record while the maps are written (during_maps). */
  {
    char id[CONTAINER_ID_LEN + 1];
    if (random_hex (id, CONTAINER_ID_LEN / 2) < 0)
      {
        rl_error (err, errno, "getrandom");
        goto out;
      }
    x.c.id = xstrdup (id);
    x.c.starts_now = true;
    x.create_pending = true;
  }
  ret = run_prepared (&x, true, err);
out:
  if (ret < 0 && err && *err)
    rl_error_wrap (err, "run %s", spec->image);
  for (int i = 0; i < 2; i++)
    if (x.sock[i] >= 0)
      close (x.sock[i]);
  run_ctx_clear (&x);
  return ret;
}

int
create_container (struct rl_globals *g, struct rl_store *st, struct rl_image *img,
                  struct run_spec *spec, rl_error_t *err)
{
  struct run_ctx x = {
    .spec = spec, .st = st, .img = img, .ctrfd = -1, .sock = { -1, -1 }, .remover = { -1, -1 }
  };
  int ret = -1;

  if (run_ctx_prepare (&x, g, err) < 0 || run_ctx_create (&x, err) < 0)
    goto out;
  printf ("%s\n", x.c.id);
  ret = 0;
out:
  if (ret < 0 && err && *err)
    rl_error_wrap (err, "create %s", spec->image);
  run_ctx_clear (&x);
  return ret;
}

int
start_container (struct rl_globals *g, struct rl_store *st, const char *id, bool attach,
                 bool interactive, rl_error_t *err)
{
  struct run_ctx x = { .st = st, .ctrfd = -1, .sock = { -1, -1 }, .remover = { -1, -1 } };
  struct run_spec spec = { 0 };
  struct container_state state = { 0 };
  cleanup_free char *dir = xasprintf ("containers/%s", id);
  cleanup_free char *stopping = xasprintf ("containers/%s/stopping", id);
  int ret = -1;

  if (container_load (st, id, &x.c, err) < 0)
    goto out;
  if (container_get_state (st, id, &state, err) < 0)
    goto out;
  if (state.status == CTR_RUNNING)
    {
      rl_error (err, 0, "container %s is already running", x.c.name);
      goto out;
    }
  if (run_spec_from_record (&spec, x.c.spec, err) < 0)
    goto out;
  x.spec = &spec;
  if (image_lookup (st, x.c.image_id, &x.img, err) < 0)
    {
      rl_error_wrap (err, "the container's image");
      goto out;
    }
  x.ctrfd = openat (st->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (x.ctrfd < 0)
    {
      rl_error (err, errno, "open `%s/%s`", st->root, dir);
      goto out;
    }
  unlinkat (st->runfd, stopping, 0);
  if (run_ctx_prepare (&x, g, err) < 0)
    goto out;
  spec.detach = !attach;
  if (attach)
    {
      /* Attached, the caller is the monitor, as for `rl run`; stdin only
       * with -i, and only to a container created with -i. */
      spec.interactive = spec.interactive && interactive;
      if (spec.tty && !isatty (0))
        {
          rl_error (err, 0,
                    "the input device is not a TTY: a -t container needs a terminal "
                    "on stdin to attach");
          goto out;
        }
    }
  ret = run_prepared (&x, false, err);
out:
  if (ret < 0 && err && *err)
    rl_error_wrap (err, "start %s", x.c.name ? x.c.name : id);
  run_ctx_clear (&x);
  run_spec_clear (&spec);
  container_state_clear (&state);
  return ret;
}
