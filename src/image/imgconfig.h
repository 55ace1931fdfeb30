/* The OCI image config of a new image (rl import), and the Dockerfile-style
 * instructions that `--change` applies to it: CMD, ENTRYPOINT, ENV, EXPOSE,
 * LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, parsed as Docker parses them
 * (JSON-array or shell form; KEY=VALUE pairs with quotes, or the legacy
 * `KEY VALUE`), without variable substitution. */
#ifndef RL_IMGCONFIG_H
#define RL_IMGCONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

struct rl_config_edit
{
  char **env; /* "K=V"; a later K replaces an earlier one */
  char **entrypoint;
  char **cmd;
  bool entrypoint_set, cmd_set; /* set, possibly to [] */
  char **exposed;               /* "80/tcp" */
  char **labels;                /* "K=V" */
  char **volumes;               /* absolute paths */
  char *user;
  char *workdir;
  char *stop_signal;
};

/* Start with what every new image gets: PATH in Env. */
void config_edit_init (struct rl_config_edit *e);
void config_edit_clear (struct rl_config_edit *e);
/* Apply one instruction ("CMD [\"sh\"]", "ENV A=1", also "CMD=sh"). */
int config_edit_apply (struct rl_config_edit *e, const char *change, rl_error_t *err);

/* The config JSON of a new one-layer image: the edited "config" section,
 * rootfs.diff_ids, and one history entry (comment omitted when NULL). */
char *config_edit_image_json (const struct rl_config_edit *e, const char *arch, const char *diff_id,
                              const char *created, const char *created_by, const char *comment);

#endif
