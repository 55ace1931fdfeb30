/* rl logs: a detached container's output from its CRI log (ctrlog.h). */
#include "config.h"
#include "cmd/cmd.h"

int
cmd_logs (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  (void)g, (void)argc, (void)argv;
  return rl_error (err, 0, "logs: not implemented yet");
}
