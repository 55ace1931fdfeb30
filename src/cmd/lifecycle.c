/* The container lifecycle without a daemon: create, start, stop, kill,
 * restart, wait, pause/unpause, attach, port, and the `rl container` group
 * that names every container command. */
#include "config.h"
#include "cmd/cmd.h"
#include "util/util.h"

#include <stdio.h>
#include <string.h>

#define STUB(fn, what)                                                                             \
  int fn (struct rl_globals *g, int argc, char **argv, rl_error_t *err)                            \
  {                                                                                                \
    (void)g, (void)argc, (void)argv;                                                               \
    return rl_error (err, 0, what ": not implemented yet");                                        \
  }
STUB (cmd_create, "create")
STUB (cmd_start, "start")
STUB (cmd_stop, "stop")
STUB (cmd_kill, "kill")
STUB (cmd_restart, "restart")
STUB (cmd_wait, "wait")
STUB (cmd_pause, "pause")
STUB (cmd_unpause, "unpause")
STUB (cmd_attach, "attach")
STUB (cmd_port, "port")

static const struct
{
  const char *name;
  rl_cmd_fn fn;
  const char *summary;
} container_commands[] = {
  { "attach", cmd_attach, "Attach to a running container (same as `rl attach`)" },
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
