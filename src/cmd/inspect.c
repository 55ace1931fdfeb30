/* rl inspect (containers, then images) and rl rename. */
#include "config.h"
#include "cmd/cmd.h"

int
cmd_inspect (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  (void)g, (void)argc, (void)argv;
  return rl_error (err, 0, "inspect: not implemented yet");
}

int
cmd_rename (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  (void)g, (void)argc, (void)argv;
  return rl_error (err, 0, "rename: not implemented yet");
}
