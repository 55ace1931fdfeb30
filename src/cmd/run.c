/* stub: being written */
#include "config.h"
#include "cmd/cmd.h"
int cmd_run (struct rl_globals *g, int argc, char **argv, rl_error_t *err) { return rl_error (err, 0, "run: not implemented yet"); }
