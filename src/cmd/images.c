/* stub: being written */
#include "config.h"
#include "cmd/cmd.h"
int cmd_import (struct rl_globals *g, int argc, char **argv, rl_error_t *err) { return rl_error (err, 0, "import: not implemented yet"); }
int cmd_images (struct rl_globals *g, int argc, char **argv, rl_error_t *err) { return rl_error (err, 0, "images: not implemented yet"); }
int cmd_rmi (struct rl_globals *g, int argc, char **argv, rl_error_t *err) { return rl_error (err, 0, "rmi: not implemented yet"); }
int cmd_image (struct rl_globals *g, int argc, char **argv, rl_error_t *err) { return rl_error (err, 0, "image: not implemented yet"); }
