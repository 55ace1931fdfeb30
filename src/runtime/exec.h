/* rl exec: another process in a running container, confined as its PID 1
 * is (the same namespaces, seccomp filter, capabilities and user rules),
 * and rl top: the container's processes. */
#ifndef RL_EXEC_H
#define RL_EXEC_H

#include <stdbool.h>

#include "store/store.h"
#include "util/error.h"

struct exec_spec
{
  bool interactive, tty, detach, privileged;
  char **env;    /* -e and --env-file, "K=V", applied over the container's */
  char *user;    /* NULL: the container's */
  char *workdir; /* NULL: the container's */
  char **cmd;
};

/* Run e->cmd in the running container ref (name, id or id prefix).
 * Returns the command's exit status (128+N for a signal, 126/127 when it
 * could not be executed; 0 at once with e->detach), or -1 with err set. */
int exec_container (struct rl_store *st, const char *ref, const struct exec_spec *e,
                    rl_error_t *err);

/* rl top: print the processes of the running container ref, read from the
 * host's /proc (USER PID PPID %CPU ELAPSED TTY TIME COMMAND, PID and PPID
 * as the container sees them). */
int top_container (struct rl_store *st, const char *ref, rl_error_t *err);

#endif
