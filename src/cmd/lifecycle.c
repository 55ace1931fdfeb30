/* The container lifecycle without a daemon: start, stop, kill, restart,
 * wait, pause/unpause, attach, port, and the `rl container` group that
 * names every container command.  (create is in run.c, beside run.) */
#include "config.h"
#include "cmd/cmd.h"
#include "image/image.h"
#include "runtime/container.h"
#include "runtime/net.h"
#include "runtime/pty.h"
#include "runtime/run.h"
#include "runtime/runspec.h"
#include "util/fs.h"
#include "util/opts.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* How long stop and rm wait for a monitor to record the exit. */
#define MONITOR_WAIT_MS 10000

/* ---- shared ---------------------------------------------------------- */

/* Parse argv with spec; a command with no container named is an error. */
static int
parse_ctr_args (const struct rl_cmd_spec *spec, int argc, char **argv, rl_opt_cb cb, void *data,
                char ***args, bool *help, const bool *all, rl_error_t *err)
{
  if (opts_parse (spec, argc, argv, cb, data, args, help, err) < 0)
    return -1;
  if (*help)
    return 0;
  if ((*args)[0] == NULL && !(all && *all))
    return rl_error (err, 0, "%s: at least one container name or id is needed (see `rl %s --help`)",
                     spec->name, spec->name);
  if (all && *all && (*args)[0])
    return rl_error (err, 0, "%s: `--all` takes no container names", spec->name);
  return 0;
}

/* The targets: the names given, or every container (running only). */
static char **
targets_of (struct rl_store *st, char **args, bool all, bool running_only, rl_error_t *err)
{
  cleanup_strv char **ids = NULL;
  char **out = NULL;

  if (!all)
    return strv_dup (args);
  if (container_list (st, &ids, err) < 0)
    return NULL;
  for (size_t i = 0; ids[i]; i++)
    {
      struct container_state s = { 0 };
      rl_error_t e = NULL;
      bool take = !running_only
                  || (container_get_state (st, ids[i], &s, &e) == 0 && s.status == CTR_RUNNING);
      rl_error_free (&e);
      container_state_clear (&s);
      if (take)
        strv_add (&out, ids[i]);
    }
  if (out == NULL)
    out = xmalloc0 (sizeof *out);
  return out;
}

/* ---- start ------------------------------------------------------------ */

struct start_opts
{
  bool attach, interactive;
};

enum
{
  START_ATTACH = 1,
  START_INTERACTIVE,
};

static const struct rl_opt start_opts_table[] = {
  { "attach", 'a', NULL, "stay attached: the container's output here, its exit status returned",
    START_ATTACH },
  { "interactive", 'i', NULL, "with -a, the container reads this stdin (if created with -i)",
    START_INTERACTIVE },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec start_cmd = {
  .name = "start",
  .usage = "[OPTIONS] CONTAINER [CONTAINER...]",
  .summary = "Start created or stopped containers, in the background unless -a",
  .opts = start_opts_table,
  .example = "rl start web",
  .interspersed = true,
};

static int
start_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct start_opts *o = data;

  switch (id)
    {
    case START_ATTACH:
      return opts_flag_value ("attach", arg, &o->attach, err);
    case START_INTERACTIVE:
      return opts_flag_value ("interactive", arg, &o->interactive, err);
    }
  return 0;
}

int
cmd_start (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  struct start_opts o = { 0 };
  cleanup_strv char **args = NULL;
  bool help = false;
  int failed = 0;

  if (parse_ctr_args (&start_cmd, argc, argv, start_opt, &o, &args, &help, NULL, err) < 0)
    return -1;
  if (help)
    return 0;
  if (o.interactive)
    o.attach = true;
  if (o.attach && args[1])
    return rl_error (err, 0, "start: -a and -i take one container");
  if (store_open (&st, g, err) < 0)
    return -1;
  if (o.attach)
    {
      cleanup_free char *id = NULL;
      if (container_resolve (&st, args[0], &id, err) < 0)
        return rl_error_wrap (err, "start %s", args[0]);
      return start_container (g, &st, id, true, o.interactive, err);
    }
  for (size_t i = 0; args[i]; i++)
    {
      cleanup_free char *id = NULL;
      rl_error_t e = NULL;

      if (container_resolve (&st, args[i], &id, &e) < 0
          || start_container (g, &st, id, false, false, &e) < 0)
        {
          if (args[1] == NULL)
            {
              /* start_container's message names the container already. */
              *err = e;
              return -1;
            }
          fprintf (stderr, "rl: %s\n", e->msg);
          rl_error_free (&e);
          failed++;
          continue;
        }
      printf ("%s\n", args[i]);
      fflush (stdout);
    }
  return failed ? RL_EXIT_FAILURE : 0;
}

/* ---- stop, kill ------------------------------------------------------- */

/* The signal `rl stop` sends: --stop-signal, else the image's STOPSIGNAL,
 * else SIGTERM; and its timeout (--stop-timeout, else 10 s). */
static void
stop_params (struct rl_store *st, const struct rl_container *c, int *sig, int *timeout)
{
  struct run_spec spec;
  struct rl_image *img = NULL;
  rl_error_t e = NULL;

  *sig = SIGTERM;
  *timeout = 10;
  if (run_spec_from_record (&spec, c->spec, &e) == 0)
    {
      if (spec.stop_timeout >= 0)
        *timeout = spec.stop_timeout;
      if (spec.stop_signal > 0)
        *sig = spec.stop_signal;
    }
  rl_error_free (&e);
  if (spec.stop_signal <= 0 && image_lookup (st, c->image_id, &img, &e) == 0)
    {
      if (img->config.stop_signal && *img->config.stop_signal)
        {
          int s = signal_from_name (img->config.stop_signal);
          if (s > 0)
            *sig = s;
        }
      image_free (img);
    }
  rl_error_free (&e);
  run_spec_clear (&spec);
}

/* Stop one container: its stop signal, then SIGKILL after timeout seconds
 * (timeout < 0: the container's own), then wait for the monitor's record. */
static int
stop_one (struct rl_store *st, const char *id, int timeout, rl_error_t *err)
{
  struct rl_container c;
  struct container_state s;
  int sig, own_timeout, r = 0;

  if (container_load (st, id, &c, err) < 0)
    return -1;
  if (container_get_state (st, id, &s, err) < 0)
    {
      container_clear (&c);
      return -1;
    }
  if (s.status != CTR_RUNNING)
    goto out; /* stopped already: nothing to do, as in Docker */
  stop_params (st, &c, &sig, &own_timeout);
  if (timeout < 0)
    timeout = own_timeout;
  container_mark_stopping (st, id);
  if (container_signal (&s, sig, err) < 0)
    {
      r = -1;
      goto out;
    }
  if (!proc_wait_gone (s.pid, s.pid_start, timeout * 1000))
    {
      if (container_signal (&s, SIGKILL, err) < 0)
        {
          r = -1;
          goto out;
        }
      proc_wait_gone (s.pid, s.pid_start, MONITOR_WAIT_MS);
    }
  /* The monitor records the exit, then ends (a foreground `rl run` stays
   * only to return): wait for the record, not for the monitor. */
  for (int waited = 0; waited < MONITOR_WAIT_MS; waited += 20)
    {
      struct container_state now;
      rl_error_t e = NULL;
      bool done = container_get_state (st, id, &now, &e) < 0 || now.status != CTR_RUNNING;
      rl_error_free (&e);
      container_state_clear (&now);
      if (done)
        break;
      usleep (20000);
    }
out:
  container_clear (&c);
  container_state_clear (&s);
  return r;
}

struct stop_opts
{
  long long timeout;
  bool all;
};

enum
{
  STOP_TIME = 1,
  STOP_ALL,
};

static const struct rl_opt stop_opts_table[] = {
  { "time", 't', "SECONDS",
    "seconds to wait after the stop signal before SIGKILL (default: the container's, 10)",
    STOP_TIME },
  { "all", 'a', NULL, "stop every running container", STOP_ALL },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec stop_cmd = {
  .name = "stop",
  .usage = "[OPTIONS] CONTAINER [CONTAINER...]",
  .summary = "Stop running containers: the stop signal, then SIGKILL after a timeout",
  .opts = stop_opts_table,
  .example = "rl stop -t 2 web",
  .interspersed = true,
};

static const struct rl_cmd_spec restart_cmd = {
  .name = "restart",
  .usage = "[OPTIONS] CONTAINER [CONTAINER...]",
  .summary = "Stop containers (as rl stop does) and start them again",
  .opts = stop_opts_table,
  .example = "rl restart web",
  .interspersed = true,
};

static int
stop_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct stop_opts *o = data;

  switch (id)
    {
    case STOP_TIME:
      if (!parse_long (arg, 0, 86400LL * 365, &o->timeout))
        return rl_error (err, 0, "--time `%s`: expected a number of seconds", arg);
      return 0;
    case STOP_ALL:
      return opts_flag_value ("all", arg, &o->all, err);
    }
  return 0;
}

static int
stop_or_restart (struct rl_globals *g, const struct rl_cmd_spec *spec, bool restart, int argc,
                 char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  struct stop_opts o = { .timeout = -1 };
  cleanup_strv char **args = NULL;
  cleanup_strv char **targets = NULL;
  bool help = false;
  int failed = 0;

  if (parse_ctr_args (spec, argc, argv, stop_opt, &o, &args, &help, &o.all, err) < 0)
    return -1;
  if (help)
    return 0;
  if (store_open (&st, g, err) < 0)
    return -1;
  targets = targets_of (&st, args, o.all, !restart, err);
  if (targets == NULL)
    return -1;
  for (size_t i = 0; targets[i]; i++)
    {
      cleanup_free char *id = NULL;
      rl_error_t e = NULL;

      if (container_resolve (&st, targets[i], &id, &e) < 0
          || stop_one (&st, id, (int)o.timeout, &e) < 0
          || (restart && start_container (g, &st, id, false, false, &e) < 0))
        {
          fprintf (stderr, "rl: %s %s: %s\n", spec->name, targets[i], e->msg);
          rl_error_free (&e);
          failed++;
          continue;
        }
      printf ("%s\n", targets[i]);
      fflush (stdout);
    }
  return failed ? RL_EXIT_FAILURE : 0;
}

int
cmd_stop (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  return stop_or_restart (g, &stop_cmd, false, argc, argv, err);
}

int
cmd_restart (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  return stop_or_restart (g, &restart_cmd, true, argc, argv, err);
}

struct kill_opts
{
  int sig;
  bool all;
};

enum
{
  KILL_SIGNAL = 1,
  KILL_ALL,
};

static const struct rl_opt kill_opts_table[] = {
  { "signal", 's', "SIGNAL", "the signal, by name (TERM, SIGHUP) or number (default KILL)",
    KILL_SIGNAL },
  { "all", 'a', NULL, "signal every running container", KILL_ALL },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec kill_cmd = {
  .name = "kill",
  .usage = "[OPTIONS] CONTAINER [CONTAINER...]",
  .summary = "Send a signal to the main process of running containers",
  .opts = kill_opts_table,
  .example = "rl kill -s HUP web",
  .interspersed = true,
};

static int
kill_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct kill_opts *o = data;

  switch (id)
    {
    case KILL_SIGNAL:
      o->sig = signal_from_name (arg);
      if (o->sig <= 0)
        return rl_error (err, 0, "kill: unknown signal `%s`", arg);
      return 0;
    case KILL_ALL:
      return opts_flag_value ("all", arg, &o->all, err);
    }
  return 0;
}

int
cmd_kill (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  struct kill_opts o = { .sig = SIGKILL };
  cleanup_strv char **args = NULL;
  cleanup_strv char **targets = NULL;
  bool help = false;
  int failed = 0;

  if (parse_ctr_args (&kill_cmd, argc, argv, kill_opt, &o, &args, &help, &o.all, err) < 0)
    return -1;
  if (help)
    return 0;
  if (store_open (&st, g, err) < 0)
    return -1;
  targets = targets_of (&st, args, o.all, true, err);
  if (targets == NULL)
    return -1;
  for (size_t i = 0; targets[i]; i++)
    {
      cleanup_free char *id = NULL;
      struct container_state s = { 0 };
      rl_error_t e = NULL;

      if (container_resolve (&st, targets[i], &id, &e) < 0
          || container_get_state (&st, id, &s, &e) < 0)
        goto fail;
      if (s.status != CTR_RUNNING || s.pid <= 0)
        {
          rl_error (&e, 0, "container %s is not running", targets[i]);
          goto fail;
        }
      /* Asked to end by hand: a restart policy does not apply. */
      if (o.sig == SIGKILL || o.sig == SIGTERM || o.sig == SIGINT || o.sig == SIGQUIT)
        container_mark_stopping (&st, id);
      if (container_signal (&s, o.sig, &e) < 0)
        goto fail;
      container_state_clear (&s);
      printf ("%s\n", targets[i]);
      fflush (stdout);
      continue;
    fail:
      container_state_clear (&s);
      fprintf (stderr, "rl: kill %s: %s\n", targets[i], e->msg);
      rl_error_free (&e);
      failed++;
    }
  return failed ? RL_EXIT_FAILURE : 0;
}

/* ---- wait --------------------------------------------------------------- */

static const struct rl_opt no_opts[] = {
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec wait_cmd = {
  .name = "wait",
  .usage = "CONTAINER [CONTAINER...]",
  .summary = "Wait until containers stop and print their exit codes (with a restart policy: "
             "until they stop for good)",
  .opts = no_opts,
  .example = "rl wait web",
  .interspersed = true,
};

/* Until the container is not running; its exit code. */
static int
wait_one (struct rl_store *st, const char *id, int *code, rl_error_t *err)
{
  for (;;)
    {
      struct container_state s;
      bool running;

      if (container_get_state (st, id, &s, err) < 0)
        return -1;
      running = s.status == CTR_RUNNING;
      *code = s.exit_code;
      if (running)
        {
          /* The monitor ends after it recorded the exit; a foreground
           * `rl run` returns then too. */
          if (s.monitor > 0 && proc_alive (s.monitor, s.monitor_start))
            proc_wait_gone (s.monitor, s.monitor_start, 1000);
          else
            proc_wait_gone (s.pid, s.pid_start, 1000);
        }
      else if (s.status == CTR_CREATED)
        {
          /* Not started yet: wait for it to start and end. */
          container_state_clear (&s);
          usleep (100000);
          continue;
        }
      container_state_clear (&s);
      if (!running)
        return 0;
    }
}

int
cmd_wait (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_strv char **args = NULL;
  bool help = false;
  int failed = 0;

  if (parse_ctr_args (&wait_cmd, argc, argv, NULL, NULL, &args, &help, NULL, err) < 0)
    return -1;
  if (help)
    return 0;
  if (store_open (&st, g, err) < 0)
    return -1;
  for (size_t i = 0; args[i]; i++)
    {
      cleanup_free char *id = NULL;
      rl_error_t e = NULL;
      int code;

      if (container_resolve (&st, args[i], &id, &e) < 0 || wait_one (&st, id, &code, &e) < 0)
        {
          fprintf (stderr, "rl: wait %s: %s\n", args[i], e->msg);
          rl_error_free (&e);
          failed++;
          continue;
        }
      printf ("%d\n", code);
      fflush (stdout);
    }
  return failed ? RL_EXIT_FAILURE : 0;
}

/* ---- pause, unpause -------------------------------------------------- */

static const struct rl_cmd_spec pause_cmd = {
  .name = "pause",
  .usage = "CONTAINER [CONTAINER...]",
  .summary = "Freeze every process of containers (needs a cgroup freezer)",
  .opts = no_opts,
  .example = "rl pause web",
  .interspersed = true,
};

static const struct rl_cmd_spec unpause_cmd = {
  .name = "unpause",
  .usage = "CONTAINER [CONTAINER...]",
  .summary = "Thaw paused containers (needs a cgroup freezer)",
  .opts = no_opts,
  .example = "rl unpause web",
  .interspersed = true,
};

/* Freezing a container takes a cgroup freezer the user may use: a cgroup
 * v2 subtree delegated to the user (systemd's Delegate=yes), in which rl
 * would have to put each container.  rl does not create cgroups, and
 * stopping each process with SIGSTOP is not the same (the processes and
 * their parents see it), so both commands say so. */
static int
pause_or_unpause (struct rl_globals *g, const struct rl_cmd_spec *spec, int argc, char **argv,
                  rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_strv char **args = NULL;
  cleanup_free char *id = NULL;
  bool help = false;

  if (parse_ctr_args (spec, argc, argv, NULL, NULL, &args, &help, NULL, err) < 0)
    return -1;
  if (help)
    return 0;
  if (store_open (&st, g, err) < 0 || container_resolve (&st, args[0], &id, err) < 0)
    return rl_error_wrap (err, "%s %s", spec->name, args[0]);
  return rl_error (err, 0,
                   "%s %s: not possible rootless here: it needs a cgroup freezer the user may "
                   "use (cgroup v2 with delegation), and rl does not put containers in cgroups",
                   spec->name, args[0]);
}

int
cmd_pause (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  return pause_or_unpause (g, &pause_cmd, argc, argv, err);
}

int
cmd_unpause (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  return pause_or_unpause (g, &unpause_cmd, argc, argv, err);
}

/* ---- port --------------------------------------------------------------- */

static const struct rl_cmd_spec port_cmd = {
  .name = "port",
  .usage = "CONTAINER [PRIVATE_PORT[/PROTO]]",
  .summary = "List a container's published ports",
  .opts = no_opts,
  .example = "rl port web",
  .interspersed = true,
};

int
cmd_port (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_strv char **args = NULL;
  cleanup_free char *id = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *want = NULL;
  bool help = false, found = false;
  char *line, *save = NULL;

  if (parse_ctr_args (&port_cmd, argc, argv, NULL, NULL, &args, &help, NULL, err) < 0)
    return -1;
  if (help)
    return 0;
  if (args[1] && args[2])
    return rl_error (err, 0, "port: too many arguments (see `rl port --help`)");
  if (args[1])
    {
      unsigned port;
      bool udp;
      if (!net_parse_exposed (args[1], &port, &udp))
        return rl_error (err, 0, "port: `%s` is not a port (80 or 80/tcp or 53/udp)", args[1]);
      want = xasprintf ("%u/%s", port, udp ? "udp" : "tcp");
    }
  if (store_open (&st, g, err) < 0 || container_resolve (&st, args[0], &id, err) < 0)
    return rl_error_wrap (err, "port %s", args[0]);
  text = net_published_ports (&st, id, err);
  if (text == NULL)
    return rl_error_wrap (err, "port %s", args[0]);
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char proto[16], ip[64];
      unsigned host;
      if (sscanf (line, "%15s %63s %u", proto, ip, &host) != 3)
        continue;
      if (want && strcmp (want, proto) != 0)
        continue;
      found = true;
      if (want)
        printf ("%s:%u\n", ip, host);
      else
        printf ("%s -> %s:%u\n", proto, ip, host);
    }
  if (want && !found)
    return rl_error (err, 0, "port %s: no public port for `%s` is published", args[0], args[1]);
  return 0;
}

/* ---- attach ------------------------------------------------------------- */

struct attach_opts
{
  bool no_stdin;
  char *detach_keys;
};

enum
{
  ATTACH_NO_STDIN = 1,
  ATTACH_DETACH_KEYS,
  ATTACH_SIG_PROXY,
};

static const struct rl_opt attach_opts_table[] = {
  { "no-stdin", 0, NULL, "do not send this stdin to the container", ATTACH_NO_STDIN },
  { "detach-keys", 0, "KEYS",
    "keys that detach, leaving the container running (default ctrl-p,ctrl-q; \"\" none)",
    ATTACH_DETACH_KEYS },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec attach_cmd = {
  .name = "attach",
  .usage = "[OPTIONS] CONTAINER",
  .summary = "Attach this terminal to a detached container's input and output",
  .opts = attach_opts_table,
  .example = "rl attach web",
  .interspersed = true,
};

static int
attach_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct attach_opts *o = data;

  switch (id)
    {
    case ATTACH_NO_STDIN:
      return opts_flag_value ("no-stdin", arg, &o->no_stdin, err);
    case ATTACH_DETACH_KEYS:
      free (o->detach_keys);
      o->detach_keys = xstrdup (arg);
      return 0;
    }
  return 0;
}

/* "ctrl-p,ctrl-q" -> the bytes 0x10 0x11, as Docker reads them: ctrl-a ..
 * ctrl-z, ctrl-@, ctrl-[, ctrl-\, ctrl-], ctrl-^, ctrl-_ or one character. */
static int
parse_detach_keys (const char *spec, char *out, size_t *n, rl_error_t *err)
{
  cleanup_free char *copy = xstrdup (spec);
  char *save = NULL;

  *n = 0;
  for (char *k = strtok_r (copy, ",", &save); k; k = strtok_r (NULL, ",", &save))
    {
      if (*n == 16)
        return rl_error (err, 0, "--detach-keys `%s`: too many keys", spec);
      if (strncasecmp (k, "ctrl-", 5) == 0 && strlen (k) == 6)
        {
          int c = k[5];
          if (c >= 'a' && c <= 'z')
            out[(*n)++] = (char)(c - 'a' + 1);
          else if (c >= 'A' && c <= 'Z')
            out[(*n)++] = (char)(c - 'A' + 1);
          else if (strchr ("@[\\]^_", c))
            out[(*n)++] = (char)(c == '@' ? 0 : c - '@');
          else
            return rl_error (err, 0, "--detach-keys: unknown key `%s`", k);
        }
      else if (strlen (k) == 1)
        out[(*n)++] = k[0];
      else
        return rl_error (err, 0, "--detach-keys: unknown key `%s` (ctrl-X or one character)", k);
    }
  return 0;
}

static int
attach_connect (struct rl_store *st, const char *id, rl_error_t *err)
{
  cleanup_free char *dir = xasprintf ("containers/%s", id);
  cleanup_close int dfd = openat (st->runfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd;

  if (dfd < 0)
    return rl_error (err, errno, "the container's runtime directory");
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/attach", dfd);
  fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return rl_error (err, errno, "socket");
  if (connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    {
      int e = errno;
      close (fd);
      if (e == ENOENT || e == ECONNREFUSED)
        return rl_error (err, 0,
                         "it runs in the foreground of another rl (only containers started "
                         "with -d or rl start can be attached to)");
      return rl_error (err, e, "connect to the container's monitor");
    }
  return fd;
}

static void
send_winsize (int sock)
{
  char msg[1 + sizeof (struct winsize)];
  struct winsize ws;

  if (ioctl (0, TIOCGWINSZ, &ws) < 0)
    return;
  msg[0] = 'w';
  memcpy (msg + 1, &ws, sizeof ws);
  send (sock, msg, sizeof msg, MSG_NOSIGNAL);
}

/* Relay until the monitor closes (the container exited: 1) or the detach
 * keys were typed (0). */
static int
attach_relay (int sock, bool send_stdin, bool tty, const char *keys, size_t nkeys)
{
  struct pty_saved saved = { 0 };
  sigset_t mask;
  int sigfd;
  size_t matched = 0;
  int ret = 1;
  bool in_open = send_stdin;

  sigemptyset (&mask);
  sigaddset (&mask, SIGWINCH);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  sigfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (tty && isatty (0))
    {
      rl_error_t e = NULL;
      if (pty_make_raw (0, &saved, &e) < 0)
        rl_error_free (&e);
      send_winsize (sock);
      /* A redraw for a full-screen program: the size "changes" to itself. */
    }
  for (;;)
    {
      struct pollfd p[3] = { { .fd = sock, .events = POLLIN },
                             { .fd = in_open ? 0 : -1, .events = POLLIN },
                             { .fd = sigfd, .events = POLLIN } };
      char buf[1 + 16384];
      ssize_t n;

      if (poll (p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[0].revents)
        {
          n = recv (sock, buf, sizeof buf, 0);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            break;
          if (buf[0] == '1' || buf[0] == '2')
            if (write_all (buf[0] == '2' ? 2 : 1, buf + 1, (size_t)n - 1) < 0)
              break;
        }
      if (p[1].revents)
        {
          n = read (0, buf + 1, sizeof buf - 1);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            {
              in_open = false;
              if (!tty)
                send (sock, "e", 1, MSG_NOSIGNAL);
              continue;
            }
          if (nkeys)
            {
              /* The keys of the sequence are held back until it is
               * complete (detach) or broken (then they go on). */
              char out[1 + 16384 + 16];
              size_t o = 1;
              bool detach = false;
              out[0] = 'i';
              for (ssize_t i = 1; i <= n; i++)
                {
                  char c = buf[i];
                  if (c == keys[matched])
                    {
                      if (++matched == nkeys)
                        {
                          detach = true;
                          break;
                        }
                      continue;
                    }
                  memcpy (out + o, keys, matched);
                  o += matched;
                  matched = 0;
                  if (c == keys[0])
                    matched = 1;
                  else
                    out[o++] = c;
                }
              if (o > 1)
                send (sock, out, o, MSG_NOSIGNAL);
              if (detach)
                {
                  ret = 0;
                  break;
                }
            }
          else
            {
              buf[0] = 'i';
              send (sock, buf, (size_t)n + 1, MSG_NOSIGNAL);
            }
        }
      if (p[2].revents)
        {
          struct signalfd_siginfo si;
          while (read (sigfd, &si, sizeof si) > 0)
            ;
          if (tty)
            send_winsize (sock);
        }
    }
  pty_restore (&saved);
  if (sigfd >= 0)
    close (sigfd);
  return ret;
}

int
cmd_attach (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  struct attach_opts o = { 0 };
  cleanup_strv char **args = NULL;
  cleanup_free char *id = NULL;
  struct rl_container c = { 0 };
  struct run_spec spec = { 0 };
  struct container_state s = { 0 };
  char keys[16];
  size_t nkeys = 0;
  bool help = false;
  int sock = -1, ret = -1, r;

  if (parse_ctr_args (&attach_cmd, argc, argv, attach_opt, &o, &args, &help, NULL, err) < 0)
    goto out;
  if (help)
    {
      ret = 0;
      goto out;
    }
  if (args[1])
    {
      rl_error (err, 0, "attach: one container only");
      goto out;
    }
  if (parse_detach_keys (o.detach_keys ? o.detach_keys : "ctrl-p,ctrl-q", keys, &nkeys, err) < 0)
    goto out;
  if (store_open (&st, g, err) < 0 || container_resolve (&st, args[0], &id, err) < 0
      || container_load (&st, id, &c, err) < 0 || container_get_state (&st, id, &s, err) < 0)
    goto fail;
  if (s.status != CTR_RUNNING)
    {
      rl_error (err, 0, "you cannot attach to a stopped container, start it first");
      goto fail;
    }
  if (run_spec_from_record (&spec, c.spec, err) < 0)
    goto fail;
  if (spec.tty && !o.no_stdin && !isatty (0))
    {
      rl_error (err, 0,
                "the input device is not a TTY: the container has one (-t); use "
                "--no-stdin to only watch");
      goto fail;
    }
  sock = attach_connect (&st, id, err);
  if (sock < 0)
    goto fail;
  r = attach_relay (sock, !o.no_stdin && (spec.interactive || spec.tty), spec.tty, keys, nkeys);
  if (r == 0)
    {
      ret = 0;
      goto out;
    }
  /* The monitor closed the connection: the container exited, and its exit
   * is recorded by now. */
  {
    int code = 0;
    if (wait_one (&st, id, &code, err) < 0)
      goto fail;
    ret = code;
  }
  goto out;
fail:
  rl_error_wrap (err, "attach %s", args && args[0] ? args[0] : "");
out:
  if (sock >= 0)
    close (sock);
  free (o.detach_keys);
  container_clear (&c);
  run_spec_clear (&spec);
  container_state_clear (&s);
  return ret;
}

/* ---- rl container ------------------------------------------------------- */

static const struct
{
  const char *name;
  rl_cmd_fn fn;
  const char *summary;
} container_commands[] = {
  { "attach", cmd_attach, "Attach to a detached container's input and output" },
  { "commit", cmd_commit, "Make an image of a container's changes" },
  { "cp", cmd_cp, "Copy files between a container and the host" },
  { "create", cmd_create, "Create a container without starting it" },
  { "exec", cmd_exec, "Run a command in a running container" },
  { "export", cmd_export, "Write a container's root file system as a tar archive" },
  { "inspect", cmd_inspect, "Show details of containers as JSON" },
  { "kill", cmd_kill, "Send a signal to containers" },
  { "logs", cmd_logs, "Show a container's output" },
  { "ls", cmd_ps, "List containers (same as `rl ps`)" },
  { "list", cmd_ps, NULL },
  { "ps", cmd_ps, NULL },
  { "pause", cmd_pause, "Pause containers" },
  { "port", cmd_port, "List a container's published ports" },
  { "prune", cmd_container_prune, "Remove all stopped containers" },
  { "rename", cmd_rename, "Rename a container" },
  { "restart", cmd_restart, "Stop and start containers again" },
  { "rm", cmd_rm, "Remove containers (same as `rl rm`)" },
  { "run", cmd_run, "Run a command in a new container (same as `rl run`)" },
  { "start", cmd_start, "Start created or stopped containers" },
  { "stop", cmd_stop, "Stop running containers" },
  { "top", cmd_top, "List the processes of a container" },
  { "unpause", cmd_unpause, "Unpause containers" },
  { "wait", cmd_wait, "Wait for containers to exit and print their exit codes" },
};

static void
container_usage (FILE *out)
{
  fputs ("Usage: rl container COMMAND [OPTIONS] [ARG...]\n\nManage containers.\n\nCommands:\n",
         out);
  for (size_t i = 0; i < ARRAY_SIZE (container_commands); i++)
    if (container_commands[i].summary)
      fprintf (out, "  %-10s %s\n", container_commands[i].name, container_commands[i].summary);
  fputs ("\nExample: rl container prune\n", out);
}

int
cmd_container (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  const char *sub = argc > 1 ? argv[1] : NULL;

  if (sub == NULL)
    {
      container_usage (stderr);
      return RL_EXIT_FAILURE;
    }
  if (strcmp (sub, "--help") == 0 || strcmp (sub, "-h") == 0 || strcmp (sub, "help") == 0)
    {
      container_usage (stdout);
      return 0;
    }
  for (size_t i = 0; i < ARRAY_SIZE (container_commands); i++)
    if (strcmp (sub, container_commands[i].name) == 0)
      return container_commands[i].fn (g, argc - 1, argv + 1, err);
  return rl_error (err, 0, "container: unknown command `%s` (see `rl container --help`)", sub);
}
