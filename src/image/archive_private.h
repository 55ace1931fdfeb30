/* What archive.c (save) and archive_load.c (load) share; not for other
 * callers. */
#ifndef RL_ARCHIVE_PRIVATE_H
#define RL_ARCHIVE_PRIVATE_H

#include <stdint.h>

#include "store/store.h"

#define MT_OCI_CONFIG         "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER_GZIP     "application/vnd.oci.image.layer.v1.tar+gzip"
#define ANNOTATION_REF_NAME   "org.opencontainers.image.ref.name"
#define ANNOTATION_IMAGE_NAME "io.containerd.image.name"

/* The uncompressed tar size recorded with layers/CHAIN, 0 when unknown. */

#endif
