/* The per-user store and runtime directories (XDG), and the store lock.
 *
 *   root     ${XDG_DATA_HOME:-~/.local/share}/rl     (--root)
 *              lock  idmap  images.json  blobs/sha256/  layers/  containers/  tmp/
 *   runroot  ${XDG_RUNTIME_DIR}/rl, or $TMPDIR/rl-UID when that is unset or
 *            unusable (a private 0700 directory with a short path)   (--runroot)
 *              containers/ID/   live state of running containers
 */
#ifndef RL_STORE_H
#define RL_STORE_H

#include <stdbool.h>

#include "util/error.h"

struct rl_globals
{
  char *root;           /* --root or NULL */
  char *runroot;        /* --runroot or NULL */
  char *storage_driver; /* --storage-driver (global) or NULL */
  char *config;         /* --config (rl.conf to read instead of the usual ones) or NULL */
  int log_level;        /* 0 error, 1 warn, 2 info, 3 debug */
};

struct rl_store
{
  char *root;    /* absolute */
  char *runroot; /* absolute */
  int rootfd;    /* O_DIRECTORY fds, CLOEXEC */
  int runfd;
  int lockfd; /* -1 unless locked */
  int lock_depth;
};

/* Find and create (if needed) the store and runtime directories. */
int store_open (struct rl_store *st, const struct rl_globals *g, rl_error_t *err);
void store_close (struct rl_store *st);
void cleanup_storep (struct rl_store *st);
#define cleanup_store __attribute__ ((cleanup (cleanup_storep)))
/* Exclusive lock for short metadata changes (flock on root/lock); nests. */
int store_lock (struct rl_store *st, rl_error_t *err);
void store_unlock (struct rl_store *st);
/* Path helpers returning new strings. */
char *store_path (const struct rl_store *st, const char *rel);
char *store_run_path (const struct rl_store *st, const char *rel);

/* Compute the default locations without creating anything (for info/tests). */
char *store_default_root (void);
char *store_default_runroot (void);

#endif
