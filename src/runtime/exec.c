/* rl exec: a process in a running container (to be written). */
#include "config.h"
#include "runtime/exec.h"
