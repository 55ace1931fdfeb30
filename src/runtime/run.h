/* Running a container: the parent that creates it and then monitors it,
 * and the child that becomes its PID 1 (see docs/design.md, process model). */
#ifndef RL_RUN_H
#define RL_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "image/image.h"
#include "runtime/idmap.h"
#include "runtime/runspec.h"
#include "runtime/seccomp.h"
#include "runtime/userdb.h"
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
 * with the options it was created with; returns 0 once the command runs.
 * attach: the caller is the monitor instead, as for `rl run` in the
 * foreground (stdin with interactive), and the exit status is returned. */
int start_container (struct rl_globals *g, struct rl_store *st, const char *id, bool attach,
                     bool interactive, rl_error_t *err);

/* The confinement of a container's processes, shared by its PID 1 (rl run)
 * and rl exec so that both get the same.  run_confinement computes, from the
 * run options s, the capability set (*caps_user: what a non-root user
 * keeps) and the seccomp filter for the single-id map (root emulation) or
 * not, and with filter_single (not NULL) the root-emulation variant too.
 * --privileged with the default profile sets s->seccomp to unconfined. */
int run_confinement (struct run_spec *s, bool single, uint64_t *caps, uint64_t *caps_user,
                     struct seccomp_prog *filter, struct seccomp_prog *filter_single,
                     rl_error_t *err);
/* In the container's user namespace as its root, just before the execve:
 * load filter, cut the capabilities to caps (a non-root user keeps
 * caps_user), become u (not in the single-id map; nids is the number of ids
 * mapped, for the messages) and set no_new_privs when asked. */
int run_confine (const struct seccomp_prog *filter, uint64_t caps, uint64_t caps_user,
                 enum idmap_mode mode, unsigned long nids, const struct rl_user *u,
                 const char *user_spec, bool no_new_privs, rl_error_t *err);
/* Execute cmd with env, searching env's PATH (not the caller's).  On
 * failure it sends "ENNN message" on sock (NNN: 126 or 127) and exits with
 * that status; sock should be close-on-exec (end of file: it runs). */
void run_exec_command (char **cmd, char **env, int sock) __attribute__ ((noreturn));

#endif
