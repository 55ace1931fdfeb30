/* Container records: what `rl run` created, where its files are, and its
 * state derived from the truth (is PID 1 alive, what did the monitor record). */
#ifndef RL_CONTAINER_H
#define RL_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"
#include "util/error.h"

/* Ids of the containers (any state) created from image_id (hex). */
int containers_using_image (struct rl_store *st, const char *image_id, char ***ids,
                            rl_error_t *err);
/* Remove a container by full id: refuses a running one unless force (which
 * kills it first); unmounts and deletes its files. */
int container_remove (struct rl_store *st, const char *id, bool force, rl_error_t *err);

#endif
