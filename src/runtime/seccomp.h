/* The container's seccomp filter.  Today: root emulation for the single-id
 * map (chown and the setuid family succeed without effect, so package
 * managers and su-style tools work where only one id exists).  The filter
 * is built from tables of rules so that the default confinement profile
 * (blocked syscalls failing with EPERM) adds its own table here. */
#ifndef RL_SECCOMP_H
#define RL_SECCOMP_H

#include <stdbool.h>

#include "util/error.h"

struct seccomp_opts
{
  bool root_emulation; /* single-id map: fake chown/setuid family */
};

/* Is there any filter to load for o? */
bool seccomp_wanted (const struct seccomp_opts *o);
/* Build and load the filter into the calling thread (before execve; it
 * holds CAP_SYS_ADMIN in its user namespace, so no_new_privs is left to the
 * caller). */
int seccomp_apply (const struct seccomp_opts *o, rl_error_t *err);

#endif
