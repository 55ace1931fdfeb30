/* Local images: records in the store, lookup by name or id, and the parts of
 * the OCI image config that running a container needs. */
#ifndef RL_IMAGE_H
#define RL_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/error.h"

struct rl_image_config
{
  char **env;        /* "K=V" */
  char **entrypoint;
  char **cmd;
  char *workdir;
  char *user;
  char *stop_signal;
};

struct rl_image
{
  char *id;             /* hex sha256 of the config blob (no "sha256:") */
  char *manifest_digest;/* "sha256:..." or NULL */
  char **names;         /* normalized: "localhost/bb:latest" */
  char **diff_ids;      /* "sha256:..." bottom first */
  char **chain_ids;     /* hex, bottom first; layer i lives in layers/<chain_ids[i]> */
  int64_t created;      /* unix ns */
  uint64_t size;        /* bytes of the unpacked layers */
  struct rl_image_config config;
};

/* Find an image by name (short or full, normalized like Podman), by full id
 * or by an unambiguous id prefix.  No network access, ever. */
int image_lookup (struct rl_store *st, const char *ref, struct rl_image **out, rl_error_t *err);
void image_free (struct rl_image *img);
/* Absolute paths of the unpacked layer trees, bottom first (NULL-terminated). */
char **image_layer_dirs (struct rl_store *st, const struct rl_image *img);

#endif
