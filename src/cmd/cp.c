/* rl cp, rl export and rl commit: a container's files. */
#include "config.h"
#include "cmd/cmd.h"

int
cmd_cp (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  (void)g, (void)argc, (void)argv;
  return rl_error (err, 0, "cp: not implemented yet");
}

int
cmd_export (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  (void)g, (void)argc, (void)argv;
  return rl_error (err, 0, "export: not implemented yet");
}

int
cmd_commit (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  (void)g, (void)argc, (void)argv;
  return rl_error (err, 0, "commit: not implemented yet");
}
