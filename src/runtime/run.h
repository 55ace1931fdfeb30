/* Running a container: the parent that creates it and then monitors it,
 * and the child that becomes its PID 1 (see docs/design.md, process model). */
#ifndef RL_RUN_H
#define RL_RUN_H

#include "runtime/runspec.h"
#include "store/store.h"
#include "util/error.h"

/* Run spec to completion.  Returns the exit status for rl (the command's,
 * 128+N for a signal, 126/127 when it could not be run), or -1 with err
 * set (its status 125, or 126/127) when the container could not start. */
int run_container (struct rl_globals *g, struct run_spec *spec, rl_error_t *err);

#endif
