/* Identity mapping: which user namespace map rl uses, and running work
 * inside such a namespace.
 *
 *   IDMAP_SUBID   the user's /etc/subuid,/etc/subgid ranges through the setuid
 *                 helpers newuidmap/newgidmap: container root = the user,
 *                 ids 1..N = the range.
 *   IDMAP_SINGLE  no range or no working helper: one id mapped (the user as
 *                 root), setgroups denied; seccomp root emulation makes
 *                 chown and the setuid family succeed without effect.
 *   IDMAP_HOST    rl runs as real root: the identity map of all ids. */
#ifndef RL_IDMAP_H
#define RL_IDMAP_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

enum idmap_mode
{
  IDMAP_HOST,
  IDMAP_SUBID,
  IDMAP_SINGLE,
};

struct idmap
{
  enum idmap_mode mode;
  uid_t uid; /* the caller on the host */
  gid_t gid;
  unsigned long subuid_start, subuid_count; /* IDMAP_SUBID */
  unsigned long subgid_start, subgid_count;
  char *why;                   /* one line: why this mode was chosen */
  char *newuidmap, *newgidmap; /* absolute paths of the helpers (IDMAP_SUBID) */
};

/* Decide the mode from the caller, /etc/subuid, /etc/subgid and the helpers.
 * RL_IDMAP=single in the environment forces the single-id map. */
int idmap_detect (struct idmap *m, rl_error_t *err);
void idmap_clear (struct idmap *m);
void cleanup_idmapp (struct idmap *m);
#define cleanup_idmap __attribute__ ((cleanup (cleanup_idmapp)))
const char *idmap_mode_name (enum idmap_mode mode);
/* A short stable key for the map ("host", "single", "subid:100000:65536:...")
 * that the store records next to unpacked layers. */
char *idmap_key (const struct idmap *m);
/* Number of ids (uids and gids alike, the smaller) visible in the namespace. */
unsigned long idmap_size (const struct idmap *m);
/* Map container uid/gid to host uid/gid; false when not mapped. */
bool idmap_to_host_uid (const struct idmap *m, uid_t ctr, uid_t *host);
bool idmap_to_host_gid (const struct idmap *m, gid_t ctr, gid_t *host);

/* Say once per store, in one line on stderr, which mode is used and why:
 * the first run in a store, and again whenever the mode changes. */
struct rl_store;
void idmap_note_once (struct rl_store *st, const struct idmap *m);
/* Parse /etc/subuid-style text for the first range of user (name or uid). */
bool idmap_parse_subid (const char *text, const char *user, uid_t uid, unsigned long *start,
                        unsigned long *count);

/* Write the uid/gid maps of child (a process in a fresh user namespace
 * waiting for them).  In SUBID mode, when a helper fails, the single-id map
 * is written instead: m becomes IDMAP_SINGLE, m->why says what failed (the
 * helper's own message condensed into one line) and 1 is returned. */
int idmap_write (struct idmap *m, pid_t child, rl_error_t *err);
/* The same, calling during(arg) once while the setuid helpers run (about
 * 2 ms of their execs), for work that can go on meanwhile; in the other
 * modes before the maps are written. */
int idmap_write_during (struct idmap *m, pid_t child, void (*during) (void *), void *arg,
                        rl_error_t *err);
/* Make the caller root of a new user namespace of its own (IDMAP_SUBID or
 * IDMAP_SINGLE).  For SUBID the setuid helpers are started first, outside
 * it, and write its maps while the caller goes on (they are about 2 ms of
 * execs): *pending is set, and idmap_self_wait must follow before anything
 * needs the maps.  SINGLE writes the one-id map at once.  Until the maps
 * are written the caller's ids read as the overflow id. */
struct idmap_self;
int idmap_unshare_self (struct idmap *m, struct idmap_self **pending, rl_error_t *err);
/* Wait for the helpers (frees pending).  When one failed, the single-id map
 * is written instead, as idmap_write does: 1 is returned. */
int idmap_self_wait (struct idmap *m, struct idmap_self *pending, rl_error_t *err);
/* Text of the uid_map/gid_map lines the mode produces (for tests). */
char *idmap_format_uid_map (const struct idmap *m);
char *idmap_format_gid_map (const struct idmap *m);

/* Run fn(arg) in a child process inside a new user namespace (and mount
 * namespace when new_mountns) with the map applied, as root of that
 * namespace.  The child's error, if any, comes back in err. */
typedef int (*userns_fn) (void *arg, rl_error_t *err);
int userns_run (const struct idmap *m, bool new_mountns, userns_fn fn, void *arg, rl_error_t *err);
/* The same in the existing user namespace userns_fd (a container's, kept
 * open): a forked child joins it as root and runs fn; no helper is run. */
int userns_join_run (int userns_fd, userns_fn fn, void *arg, rl_error_t *err);

#endif
