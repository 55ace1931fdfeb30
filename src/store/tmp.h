/* The store's tmp/: work in progress (layers being unpacked, blobs being
 * written, staged archives, a pull's work directory).  Every entry
 * tmp/KIND-RAND comes with tmp/KIND-RAND.lock, created already locked and
 * held (flock) by its writer, and by the workers it forks, for as long as
 * they live.  A writer killed at any moment thus leaves an unlocked pair,
 * which store_tmp_gc() removes.  The gc reads tmp/ only, never layers/ or
 * blobs/, so every command that writes to the store can afford it.
 *
 * tmp/rm-ID is the exception: the files of a removed container, moved there
 * in one rename and removed by a child of the rl that removed it.  It has
 * no lock: it is garbage at once, and any gc may finish the job (two
 * removals of the same tree only meet files already gone). */
#ifndef RL_STORE_TMP_H
#define RL_STORE_TMP_H

#include "runtime/idmap.h"
#include "store/store.h"
#include "util/error.h"

struct store_tmp
{
  char *name;     /* "tmp/KIND-RAND" (store relative); NULL once moved away */
  char *lockname; /* "tmp/KIND-RAND.lock"; NULL when this entry has no lock */
  int lockfd;     /* meaningful only with lockname */
};

/* Create tmp/KIND-RAND.lock, locked, and fill t; the caller then creates
 * t->name (a file or a directory). */
int store_tmp_new (struct rl_store *st, const char *kind, struct store_tmp *t, rl_error_t *err);

/* Remove t->name (unless it was moved away) with the owners of map m,
 * then its lock, and free t.  A removal that fails is warned about and
 * the lock file kept, so that a later gc tries again. */
void store_tmp_release (struct rl_store *st, const struct idmap *m, struct store_tmp *t);

/* Remove every entry of tmp/ whose lock nobody holds (writers that were
 * killed), and the rm-* entries, with the owners of map m.  Housekeeping: failures are warned
 * about, never fatal. */
void store_tmp_gc (struct rl_store *st, const struct idmap *m);

#define STORE_TMP_REMOVED "rm-"

/* Remove the tmp/rm-* entries only (see above), directly: for a caller
 * that is root of the namespace their files belong to. */
void store_tmp_gc_removed (struct rl_store *st);

/* rm -rf dirfd/name where files may belong to subordinate ids of map m:
 * from inside a user namespace with that map, else directly. */
int store_remove_as_owner (const struct idmap *m, int dirfd, const char *name, rl_error_t *err);

#endif
