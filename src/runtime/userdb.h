/* The container's user: `--user` (or the image's User) resolved against the
 * image's own /etc/passwd and /etc/group, never the host's. */
#ifndef RL_USERDB_H
#define RL_USERDB_H

#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

struct rl_user
{
  uid_t uid;
  gid_t gid;
  gid_t *groups; /* supplementary groups (from /etc/group), may be NULL */
  size_t n_groups;
  char *home; /* from passwd; NULL when the user has no entry */
};

void rl_user_clear (struct rl_user *u);

/* Resolve spec ("", "uid", "uid:gid", "name", "name:group", ...) from the
 * texts of passwd and group (either may be NULL: a missing file).  As in
 * Docker, a numeric uid needs no passwd entry (its gid is then 0) and a
 * name that is not found is an error. */
int userdb_resolve (const char *spec, const char *passwd, const char *group, struct rl_user *out,
                    rl_error_t *err);
/* The same, reading etc/passwd and etc/group of the root at rootfd (with
 * RESOLVE_IN_ROOT, so a symlink in the image cannot point at the host's). */
int userdb_resolve_in_root (int rootfd, const char *spec, struct rl_user *out, rl_error_t *err);

#endif
