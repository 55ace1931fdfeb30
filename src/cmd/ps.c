/* stub: being written */
#include "config.h"
#include "cmd/cmd.h"
int cmd_ps (struct rl_globals *g, int argc, char **argv, rl_error_t *err) { return rl_error (err, 0, "ps: not implemented yet"); }
int cmd_rm (struct rl_globals *g, int argc, char **argv, rl_error_t *err) { return rl_error (err, 0, "rm: not implemented yet"); }
