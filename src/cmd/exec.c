/* rl exec and rl top. */
#include "config.h"
#include "cmd/cmd.h"
#include "runtime/exec.h"
#include "runtime/runspec.h"
#include "util/fs.h"
#include "util/opts.h"
#include "util/util.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum
{
  EX_INTERACTIVE = 1,
  EX_TTY,
  EX_DETACH,
  EX_ENV,
  EX_ENV_FILE,
  EX_USER,
  EX_WORKDIR,
  EX_PRIVILEGED,
};

static const struct rl_opt exec_opts_table[] = {
  { "interactive", 'i', NULL, "keep stdin open (without it, stdin is /dev/null)", EX_INTERACTIVE },
  { "tty", 't', NULL, "run the command on a new terminal of the container's", EX_TTY },
  { "detach", 'd', NULL, "start the command and return at once", EX_DETACH },
  { "env", 'e', "KEY=VALUE", "set a variable (KEY alone: the caller's value)", EX_ENV },
  { "env-file", 0, "FILE", "read variables from FILE, one KEY=VALUE a line", EX_ENV_FILE },
  { "user", 'u', "USER[:GROUP]", "run as this user (default: the container's)", EX_USER },
  { "workdir", 'w', "DIR", "working directory (default: the container's)", EX_WORKDIR },
  { "privileged", 0, NULL, "give the process every capability", EX_PRIVILEGED },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec exec_cmd = {
  .name = "exec",
  .usage = "[OPTIONS] CONTAINER COMMAND [ARG...]",
  .summary = "Run a command in a running container",
  .opts = exec_opts_table,
  .example = "rl exec -it web sh",
  .interspersed = false,
};

struct exec_parse
{
  struct exec_spec e;
  char **env_files; /* applied first, then -e, as run does */
  char **env_args;
};

/* -e KEY=VALUE, or -e KEY for the caller's value (skipped when unset). */
static int
env_arg (char ***env, const char *arg, rl_error_t *err)
{
  const char *eq = strchr (arg, '=');
  size_t n = eq ? (size_t)(eq - arg) : strlen (arg);
  const char *v;

  if (n == 0)
    return rl_error (err, 0, "--env: invalid environment variable `%s`", arg);
  for (size_t i = 0; i < n; i++)
    if (isspace ((unsigned char)arg[i]))
      return rl_error (err, 0, "--env: variable `%.*s` contains whitespace", (int)n, arg);
  if (eq)
    strv_add (env, arg);
  else if ((v = getenv (arg)))
    strv_add_take (env, xasprintf ("%s=%s", arg, v));
  return 0;
}

static int
exec_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct exec_parse *p = data;

  switch (id)
    {
    case EX_INTERACTIVE:
      return opts_flag_value ("interactive", arg, &p->e.interactive, err);
    case EX_TTY:
      return opts_flag_value ("tty", arg, &p->e.tty, err);
    case EX_DETACH:
      return opts_flag_value ("detach", arg, &p->e.detach, err);
    case EX_PRIVILEGED:
      return opts_flag_value ("privileged", arg, &p->e.privileged, err);
    case EX_ENV:
      return env_arg (&p->env_args, arg, err);
    case EX_ENV_FILE:
      {
        cleanup_free char *text = NULL;
        if (read_file_at (AT_FDCWD, arg, 1024 * 1024, &text, NULL, err) < 0)
          return rl_error_wrap (err, "env file");
        return env_file_parse (text, arg, &p->env_files, err);
      }
    case EX_USER:
      if (*arg == '\0')
        return rl_error (err, 0, "--user: empty user");
      free (p->e.user);
      p->e.user = xstrdup (arg);
      return 0;
    case EX_WORKDIR:
      if (arg[0] != '/')
        return rl_error (err, 0, "working directory `%s` is not an absolute path", arg);
      free (p->e.workdir);
      p->e.workdir = xstrdup (arg);
      return 0;
    }
  return 0;
}

static void
exec_parse_clear (struct exec_parse *p)
{
  strv_free (p->e.env);
  strv_free (p->e.cmd);
  free (p->e.user);
  free (p->e.workdir);
  strv_free (p->env_files);
  strv_free (p->env_args);
}

int
cmd_exec (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  struct exec_parse p = { 0 };
  cleanup_strv char **args = NULL;
  bool help = false;
  int ret = -1;

  if (opts_parse (&exec_cmd, argc, argv, exec_opt, &p, &args, &help, err) < 0)
    goto out;
  if (help)
    {
      ret = 0;
      goto out;
    }
  if (args == NULL || args[0] == NULL || args[1] == NULL)
    {
      rl_error (err, 0, "exec: a container and a command are required (see `rl exec --help`)");
      goto out;
    }
  if (p.e.tty && p.e.detach)
    {
      rl_error (err, 0, "exec: --tty cannot be used with --detach (nothing would relay it)");
      goto out;
    }
  /* Fail before any work: raw mode and a pty need a terminal to relay. */
  if (p.e.tty && !isatty (0))
    {
      rl_error (err, 0, "exec: the input device is not a TTY: `-t` needs a terminal on stdin");
      goto out;
    }
  for (size_t i = 0; p.env_args && p.env_args[i]; i++)
    strv_add (&p.env_files, p.env_args[i]);
  p.e.env = steal_pointer (&p.env_files);
  p.e.cmd = strv_dup (args + 1);
  if (store_open (&st, g, err) < 0)
    {
      rl_error_wrap (err, "exec %s", args[0]);
      goto out;
    }
  ret = exec_container (&st, args[0], &p.e, err);
out:
  exec_parse_clear (&p);
  return ret;
}

static const struct rl_opt top_opts_table[] = {
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec top_cmd = {
  .name = "top",
  .usage = "CONTAINER [PS-OPTIONS...]",
  .summary = "Show the processes of a running container",
  .opts = top_opts_table,
  .example = "rl top web",
  .interspersed = false,
};

int
cmd_top (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_strv char **args = NULL;
  bool help = false;

  if (opts_parse (&top_cmd, argc, argv, NULL, NULL, &args, &help, err) < 0)
    return -1;
  if (help)
    return 0;
  if (args == NULL || args[0] == NULL)
    return rl_error (err, 0, "top: a container is required (see `rl top --help`)");
  if (store_open (&st, g, err) < 0)
    return rl_error_wrap (err, "top %s", args[0]);
  if (args[1])
    {
      /* ps options: the container's own ps, through exec. */
      cleanup_strv char **cmd = NULL;
      struct exec_spec e = { 0 };

      strv_add (&cmd, "ps");
      for (size_t i = 1; args[i]; i++)
        strv_add (&cmd, args[i]);
      e.cmd = cmd;
      return exec_container (&st, args[0], &e, err);
    }
  return top_container (&st, args[0], err);
}
