/* rl: the command table and global options. */
#include "config.h"
#include "cmd/cmd.h"
#include "util/opts.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command
{
  const char *name;
  rl_cmd_fn fn;
  const char *summary;
};

/* A NULL summary keeps a command out of --help: __complete is for the
 * shell completion scripts, not for people. */
static const struct command commands[] = {
  { "__complete", cmd_complete, NULL },
  { "attach", cmd_attach, "Attach to a running container's input and output" },
  { "commit", cmd_commit, "Make an image of a container's changes" },
  { "container", cmd_container, "Manage containers (ls, inspect, prune, rm, ...)" },
  { "cp", cmd_cp, "Copy files between a container and the host" },
  { "create", cmd_create, "Create a container without starting it" },
  { "exec", cmd_exec, "Run a command in a running container" },
  { "export", cmd_export, "Write a container's root file system as a tar archive" },
  { "image", cmd_image, "Manage images (exists, inspect, ls, prune, rm, tag, untag, ...)" },
  { "images", cmd_images, "List images" },
  { "import", cmd_import, "Make an image from a root filesystem tarball or directory" },
  { "info", cmd_info, "Show what rl will use on this machine, and why" },
  { "inspect", cmd_inspect, "Show details of containers or images as JSON" },
  { "kill", cmd_kill, "Send a signal to containers" },
  { "load", cmd_load, "Load images from a docker-archive, oci-archive or oci-dir" },
  { "login", cmd_login, "Log in to a registry" },
  { "logout", cmd_logout, "Remove the stored credentials of a registry" },
  { "logs", cmd_logs, "Show a container's output" },
  { "pause", cmd_pause, "Pause containers (needs a cgroup freezer)" },
  { "port", cmd_port, "List a container's published ports" },
  { "ps", cmd_ps, "List containers" },
  { "pull", cmd_pull, "Download an image from a registry" },
  { "push", cmd_push, "Upload an image to a registry" },
  { "rename", cmd_rename, "Rename a container" },
  { "restart", cmd_restart, "Stop and start containers again" },
  { "rm", cmd_rm, "Remove containers" },
  { "rmi", cmd_rmi, "Remove images" },
  { "run", cmd_run, "Run a command in a new container" },
  { "save", cmd_save, "Write images to a docker-archive, oci-archive or oci-dir" },
  { "start", cmd_start, "Start created or stopped containers" },
  { "stop", cmd_stop, "Stop running containers" },
  { "system", cmd_system, "Store-wide commands (check, df, info)" },
  { "tag", cmd_tag, "Give an image more names" },
  { "top", cmd_top, "List the processes of a container" },
  { "unpause", cmd_unpause, "Unpause containers" },
  { "untag", cmd_untag, "Remove names from an image" },
  { "wait", cmd_wait, "Wait for containers to exit and print their exit codes" },
};

enum
{
  G_ROOT = 1,
  G_RUNROOT,
  G_STORAGE_DRIVER,
  G_LOG_LEVEL,
  G_CONFIG,
  G_VERSION,
};

static const struct rl_opt global_opts[] = {
  { "root", 0, "DIR", "store directory (default ${XDG_DATA_HOME:-~/.local/share}/rl)", G_ROOT },
  { "runroot", 0, "DIR", "runtime state directory (default ${XDG_RUNTIME_DIR}/rl)", G_RUNROOT },
  { "storage-driver", 0, "DRIVER", "overlay, fuse-overlayfs or vfs", G_STORAGE_DRIVER },
  { "log-level", 0, "LEVEL", "error, warn, info or debug", G_LOG_LEVEL },
  { "config", 0, "FILE", "rl.conf to read instead of the usual ones (see rl.conf(5))", G_CONFIG },
  { "version", 'v', NULL, "print the version and exit", G_VERSION },
  { NULL, 0, NULL, NULL, 0 },
};

rl_cmd_fn
rl_find_command (const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE (commands); i++)
    if (strcmp (name, commands[i].name) == 0)
      return commands[i].fn;
  return NULL;
}

void
rl_print_usage (FILE *out)
{
  fputs ("rl: rootless, daemonless containers\n\n"
         "Usage: rl [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARG...]\n\nCommands:\n",
         out);
  for (size_t i = 0; i < ARRAY_SIZE (commands); i++)
    if (commands[i].summary)
      fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fputs ("\nGlobal options:\n", out);
  for (const struct rl_opt *o = global_opts; o->name; o++)
    {
      char left[64];
      snprintf (left, sizeof left, "%s%c%s--%s%s%s", o->short_name ? "-" : "  ",
                o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
                o->metavar ? " " : "", o->metavar ? o->metavar : "");
      fprintf (out, "  %-30s %s\n", left, o->help);
    }
  fputs ("\nRun `rl COMMAND --help` for a command's options.\n", out);
}

static int
set_global (struct rl_globals *g, int id, const char *arg, rl_error_t *err)
{
  static const char *const levels[] = { "error", "warn", "info", "debug" };

  switch (id)
    {
    case G_ROOT:
      free (g->root);
      g->root = xstrdup (arg);
      return 0;
    case G_RUNROOT:
      free (g->runroot);
      g->runroot = xstrdup (arg);
      return 0;
    case G_STORAGE_DRIVER:
      free (g->storage_driver);
      g->storage_driver = xstrdup (arg);
      return 0;
    case G_CONFIG:
      free (g->config);
      g->config = xstrdup (arg);
      return 0;
    case G_LOG_LEVEL:
      for (size_t i = 0; i < ARRAY_SIZE (levels); i++)
        if (strcmp (arg, levels[i]) == 0)
          {
            g->log_level = i;
            return 0;
          }
      return rl_error (err, 0, "unknown log level `%s` (error, warn, info, debug)", arg);
    case G_VERSION:
      printf ("rl version %s\n", PACKAGE_VERSION);
      exit (0);
    }
  return 0;
}

/* Global options come before the command; they are parsed by hand here
 * because the command's own options follow and must not be consumed. */
static int
parse_globals (struct rl_globals *g, int argc, char **argv, int *next, rl_error_t *err)
{
  int i;
  for (i = 1; i < argc && argv[i][0] == '-'; i++)
    {
      const char *a = argv[i];
      const struct rl_opt *o = NULL;
      const char *val = NULL;

      if (strcmp (a, "--help") == 0 || strcmp (a, "-h") == 0)
        {
          rl_print_usage (stdout);
          exit (0);
        }
      for (const struct rl_opt *p = global_opts; p->name; p++)
        {
          size_t n = strlen (p->name);
          if (a[1] == '-' && strncmp (a + 2, p->name, n) == 0
              && (a[2 + n] == '\0' || a[2 + n] == '='))
            {
              o = p;
              val = a[2 + n] == '=' ? a + 3 + n : NULL;
            }
          else if (p->short_name && a[1] == p->short_name && a[2] == '\0')
            o = p;
          if (o)
            break;
        }
      if (o == NULL)
        return rl_error (err, 0, "unknown global option `%s` (see `rl --help`)", a);
      if (o->metavar && val == NULL)
        {
          if (i + 1 >= argc)
            return rl_error (err, 0, "option `--%s` needs a value", o->name);
          val = argv[++i];
        }
      if (set_global (g, o->id, val, err) < 0)
        return -1;
    }
  *next = i;
  return 0;
}

int
main (int argc, char **argv)
{
  struct rl_globals g = { .log_level = 1 };
  rl_error_t err = NULL;
  int first = 0, ret;

  if (parse_globals (&g, argc, argv, &first, &err) < 0)
    return rl_error_report (&err);
  if (first >= argc)
    {
      rl_print_usage (stderr);
      return RL_EXIT_FAILURE;
    }
  if (strcmp (argv[first], "help") == 0)
    {
      rl_print_usage (stdout);
      return 0;
    }
  if (strcmp (argv[first], "version") == 0)
    {
      printf ("rl version %s\n", PACKAGE_VERSION);
      return 0;
    }
  for (size_t i = 0; i < ARRAY_SIZE (commands); i++)
    if (strcmp (argv[first], commands[i].name) == 0)
      {
        ret = commands[i].fn (&g, argc - first, argv + first, &err);
        if (ret < 0)
          return rl_error_report (&err);
        fflush (stdout);
        return ret;
      }
  fprintf (stderr, "rl: unknown command `%s` (see `rl --help`)\n", argv[first]);
  return RL_EXIT_FAILURE;
}
