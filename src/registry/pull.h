/* Pulling an image from a registry into the store (rl pull, rl run
 * --pull).  See docs/design.md, "Registries and pull". */
#ifndef RL_PULL_H
#define RL_PULL_H

#include <stdbool.h>

#include "image/digest.h"
#include "store/store.h"
#include "util/error.h"

/* Layers downloaded and unpacked at the same time. */
#define PULL_PARALLEL 4

struct pull_opts
{
  const char *platform; /* "os/arch[/variant]"; NULL: rl.conf's, else the host's */
  int tls_verify;       /* 1, 0 (--tls-verify=false) or -1 (rl.conf decides) */
  bool quiet;           /* no progress at all */
};

/* Pull ref (a reference, short or full) and return the image id (hex) in
 * id.  Short names resolve through rl.conf (aliases, search registries),
 * registries through their mirrors, in order.  Nothing is in the store
 * unless the whole image was verified. */
int pull_image (struct rl_globals *g, const char *ref, const struct pull_opts *o,
                char id[SHA256_HEX_LEN + 1], rl_error_t *err);

/* The tags of a repository (GET /v2/NAME/tags/list), for --all-tags:
 * normalized references "DOMAIN/PATH:TAG". */
int pull_list_tags (struct rl_globals *g, const char *ref, const struct pull_opts *o, char ***refs,
                    rl_error_t *err);

#endif
