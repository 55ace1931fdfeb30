/* Local images: records in the store, lookup by name or id, and the parts of
 * the OCI image config that running a container needs.
 *
 * Store files (under the store root):
 *   images.json            {"images": [ record... ]}, one record per image:
 *                          id, names, manifest_digest, diff_ids, created, size
 *   blobs/sha256/HEX       config, manifest and layer blobs by digest
 *   layers/CHAIN           the unpacked tree of the layer whose chain id is CHAIN
 *   layers/CHAIN.json      its metadata (see layer.h)
 * images.json is rewritten atomically under store_lock(); a reader needs no
 * lock because it only ever sees a whole old or a whole new file. */
#ifndef RL_IMAGE_H
#define RL_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/error.h"

struct rl_image_config
{
  char **env; /* "K=V" */
  char **entrypoint;
  char **cmd;
  char *workdir;
  char *user;
  char *stop_signal;
  char **exposed; /* ExposedPorts' keys: "80/tcp" */
};

struct rl_image
{
  char *id;                      /* hex sha256 of the config blob (no "sha256:") */
  char *manifest_digest;         /* "sha256:..." or NULL */
  char **names;                  /* normalized: "localhost/bb:latest" */
  char **diff_ids;               /* "sha256:..." bottom first */
  char **chain_ids;              /* hex, bottom first; layer i lives in layers/<chain_ids[i]> */
  int64_t created;               /* unix ns */
  uint64_t size;                 /* bytes of the unpacked layers */
  struct rl_image_config config; /* filled by image_lookup only */
};

/* Find an image by name (short or full, normalized like Podman), by full id
 * or by an unambiguous id prefix, and read its config.  No network access,
 * ever; reads images.json and the config blob, nothing else.  An unknown
 * image fails with "image not known": callers wrap it with the reference
 * ("run bb: image not known"). */
int image_lookup (struct rl_store *st, const char *ref, struct rl_image **out, rl_error_t *err);
/* The same, but an unknown image is not an error: returns 0 and *out NULL
 * (for `rl run --pull=missing`); 1 when found. */
int image_lookup_opt (struct rl_store *st, const char *ref, struct rl_image **out, rl_error_t *err);
void image_free (struct rl_image *img);
/* Absolute paths of the unpacked layer trees, bottom first (NULL-terminated). */
char **image_layer_dirs (struct rl_store *st, const struct rl_image *img);

/* Parse an OCI image config's "config" section. */
int image_config_parse (const char *json, const char *what, struct rl_image_config *c,
                        rl_error_t *err);
void image_config_clear (struct rl_image_config *c);

/* All records of images.json, for commands that list or change them. */
struct rl_image_db
{
  struct rl_image **images;
  size_t n;
};

/* A missing images.json is an empty store; a corrupt one is an error that
 * names the file. */
int image_db_load (struct rl_store *st, struct rl_image_db *db, rl_error_t *err);
/* Write images.json atomically; the caller holds store_lock() and loaded db
 * under that same lock. */
int image_db_save (struct rl_store *st, const struct rl_image_db *db, rl_error_t *err);
void image_db_clear (struct rl_image_db *db);
#define cleanup_image_db __attribute__ ((cleanup (image_db_clear)))
/* Find ref like image_lookup does: 1 and *idx when found, 0 when not known,
 * -1 when ambiguous or malformed.  *by_name (may be NULL) is set to the
 * matching name when ref named the image, NULL when it was an id. */
int image_db_find (const struct rl_image_db *db, const char *ref, size_t *idx, const char **by_name,
                   rl_error_t *err);
/* Add img (ownership taken), or merge its names into the record with the
 * same id.  Its names are taken away from any other image first. */
void image_db_put (struct rl_image_db *db, struct rl_image *img);
/* Drop record idx from db (freed). */
void image_db_remove (struct rl_image_db *db, size_t idx);
/* Fill img->chain_ids from img->diff_ids (hashing, so with more than one
 * layer dl_need_crypto() must have succeeded). */
void image_compute_chain_ids (struct rl_image *img);

#endif
