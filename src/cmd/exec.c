/* rl exec and rl top. */
#include "config.h"
#include "cmd/cmd.h"

int
cmd_exec (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  (void)g, (void)argc, (void)argv;
  return rl_error (err, 0, "exec: not implemented yet");
}

int
cmd_top (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  (void)g, (void)argc, (void)argv;
  return rl_error (err, 0, "top: not implemented yet");
}
