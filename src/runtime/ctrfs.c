/* A container's files from the host: rl cp, export, commit (to be written). */
#include "config.h"
#include "runtime/ctrfs.h"
