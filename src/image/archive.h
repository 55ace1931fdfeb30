/* Image archives: `rl save` writes and `rl load` reads the formats Podman,
 * Docker and skopeo exchange images in.
 *
 *   docker-archive  a tar: manifest.json ([{Config, RepoTags, Layers}]), the
 *                   config as HEX.json and each layer as an uncompressed tar
 *                   (written as DIFFHEX.tar; read wherever manifest.json says)
 *   oci-archive     a tar of an OCI image layout: oci-layout, index.json,
 *                   blobs/sha256/HEX (manifests, configs, layers as stored)
 *   oci-dir         the same layout as a directory
 *
 * An archive is hostile input, checked like a layer: a tar is first copied
 * member by member into a private staging directory under the store's tmp/
 * (numbered files: no member name ever becomes a path; a name with `..` or
 * an absolute one is refused; only files, directories and links inside the
 * archive are accepted), JSON documents are capped at JSON_MAX_SIZE, every
 * blob an OCI descriptor names must have the declared size (it is never read
 * past it) and digest, every layer's diff_id must match the config, and the
 * layers are unpacked through the safe unpacker into tmp/.  Only when all
 * images of the archive passed are blobs, layers and images.json committed,
 * under the store lock; on any failure nothing is left behind. */
#ifndef RL_ARCHIVE_H
#define RL_ARCHIVE_H

#include <stdbool.h>

#include "image/image.h"
#include "runtime/idmap.h"
#include "store/store.h"
#include "util/error.h"

enum rl_archive_format
{
  ARCHIVE_DOCKER,
  ARCHIVE_OCI,
  ARCHIVE_OCI_DIR,
};

/* "docker-archive", "oci-archive", "oci-dir" (also "oci" and "docker"). */
int archive_format_parse (const char *s, enum rl_archive_format *f, rl_error_t *err);

/* Write images (their names as the archive should record them: the
 * caller picks them) in format f: a tar to fd for the archive formats, the
 * directory dir (created; must be missing or empty) for oci-dir. */
int archive_save (struct rl_store *st, struct rl_image *const *images, size_t n,
                  enum rl_archive_format f, int fd, const char *dir, rl_error_t *err);

/* Load every image of the archive at path (a tar, plain or compressed, or
 * an oci-dir directory; "-" or NULL: a tar on stdin) with the owners of map
 * m.  *loaded gets one line per image: its names, or its id when it has
 * none. */
int archive_load (struct rl_store *st, const struct idmap *m, const char *path, char ***loaded,
                  rl_error_t *err);

/* A manifest with its media types converted: to OCI (to_oci) or to Docker
 * v2 schema 2.  Fails for what the target cannot express (zstd layers in
 * v2s2).  Other fields are kept. */
int manifest_convert (const char *text, bool to_oci, char **out, rl_error_t *err);

#endif
