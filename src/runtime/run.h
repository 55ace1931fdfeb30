/* Running a container: the parent that creates it and then monitors it,
 * and the child that becomes its PID 1 (see docs/design.md, process model). */
#ifndef RL_RUN_H
#define RL_RUN_H

#include "image/image.h"
#include "runtime/runspec.h"
#include "store/store.h"
#include "util/error.h"

/* Run spec to completion from img (found in the open store st by the
 * caller, so that nothing is looked up twice; run_container frees it).
 * Returns the exit status for rl (the command's, 128+N for a signal,
 * 126/127 when it could not be run), or -1 with err set (its status 125,
 * or 126/127) when the container could not start. */
int run_container (struct rl_globals *g, struct rl_store *st, struct rl_image *img,
                   struct run_spec *spec, rl_error_t *err);
/* rl create: the record only (its id printed); img as for run_container. */
int create_container (struct rl_globals *g, struct rl_store *st, struct rl_image *img,
                      struct run_spec *spec, rl_error_t *err);
/* rl start: a detached monitor runs the container of record id (a full id)
 * with the options it was created with; returns 0 once the command runs. */
int start_container (struct rl_globals *g, struct rl_store *st, const char *id, rl_error_t *err);

#endif
