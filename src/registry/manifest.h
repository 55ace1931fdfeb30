/* Image manifests as registries serve them: Docker v2 schema 2 and OCI
 * image manifests, Docker manifest lists and OCI indexes (with the choice
 * of one platform).  Pure parsing, no I/O: unit tested. */
#ifndef RL_MANIFEST_H
#define RL_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define MT_DOCKER_MANIFEST  "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST      "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_V1        "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MT_OCI_MANIFEST     "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX        "application/vnd.oci.image.index.v1+json"

/* The Accept header of a manifest GET: every kind rl reads. */
#define MANIFEST_ACCEPT                                                                            \
  "Accept: " MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST

enum layer_compression
{
  COMPRESSION_DETECT, /* unknown media type: from the first bytes */
  COMPRESSION_NONE,
  COMPRESSION_GZIP,
  COMPRESSION_ZSTD,
};

struct rl_descriptor
{
  char *media_type;
  char *digest; /* "sha256:<hex>" (checked) */
  uint64_t size;
  /* index entries only */
  char *os, *arch, *variant;
};

enum manifest_kind
{
  MANIFEST_IMAGE,
  MANIFEST_INDEX,
};

struct rl_manifest
{
  enum manifest_kind kind;
  char *media_type;
  struct rl_descriptor config;  /* MANIFEST_IMAGE */
  struct rl_descriptor *layers; /* MANIFEST_IMAGE, bottom first */
  size_t n_layers;
  struct rl_descriptor *manifests; /* MANIFEST_INDEX */
  size_t n_manifests;
};

/* Parse a manifest or index; content_type (may be NULL) is the response's
 * Content-Type, used when the document does not name its own.  what names
 * it in errors.  Every digest must be a valid sha256 one. */
int manifest_parse (const char *text, size_t len, const char *content_type, const char *what,
                    struct rl_manifest *m, rl_error_t *err);
void manifest_clear (struct rl_manifest *m);
#define cleanup_manifest __attribute__ ((cleanup (manifest_clear)))

/* The entry of an index for os/arch[/variant] (variant NULL: the one
 * without a variant or with the architecture's usual one, else the first).
 * No match is an error listing the platforms the index has. */
int manifest_select (const struct rl_manifest *idx, const char *os, const char *arch,
                     const char *variant, const struct rl_descriptor **out, rl_error_t *err);

/* How a layer of this media type is compressed. */
enum layer_compression layer_media_compression (const char *media_type);

/* The host's architecture as images name it (Go's GOARCH: amd64, arm64)
 * and its usual variant (arm: "v7"; else NULL). */
const char *platform_host_arch (void);
const char *platform_host_variant (void);

/* The diff_ids of an image config ("rootfs": {"diff_ids": [...]}), checked
 * to be valid digests; also its os and architecture (may be NULL). */
int image_config_diff_ids (const char *text, const char *what, char ***diff_ids, char **os,
                           char **arch, rl_error_t *err);

#endif
