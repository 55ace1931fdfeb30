/* rl.conf: where short names are looked for, aliases, per-registry mirrors
 * and plain-HTTP registries, the default platform (rl.conf(5)).
 *
 *   /etc/rl/rl.conf, then ${XDG_CONFIG_HOME:-~/.config}/rl/rl.conf (whose
 *   settings win), or only the file that RL_CONFIG or --config names.
 *
 *   [registries]
 *   search = quay.io, docker.io
 *   [aliases]
 *   bb = quay.io/site/busybox
 *   [registry "docker.io"]
 *   mirrors = mirror.example.org:5000, other.example.org
 *   [registry "127.0.0.1:5000"]
 *   insecure = true
 *   [platform]
 *   default = linux/arm64/v8
 *
 * Parsing is strict: an unknown section or key, a repeated key or a bad
 * value is an error naming the file and line. */
#ifndef RL_CONFIG_H
#define RL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define CONFIG_SYSTEM_PATH "/etc/rl/rl.conf"

struct rl_registry_conf
{
  char *host;     /* "docker.io", "host:5000" */
  char **mirrors; /* tried in order before the registry itself; may be NULL */
  bool insecure;  /* plain HTTP and unchecked certificates allowed */
};

struct rl_config
{
  char **search;      /* registries for short names, in order; NULL: docker.io */
  char **alias_names; /* short names ... */
  char **alias_refs;  /* ... and the references they stand for */
  struct rl_registry_conf *registries;
  size_t n_registries;
  char *platform; /* "os/arch[/variant]" or NULL: the host's */
  char **files;   /* the files read, for messages */
};

/* Read the configuration: path when not NULL (--config), else $RL_CONFIG
 * when set, else the system file then the user's (missing files are fine;
 * an explicitly named one must exist). */
int config_load (const char *path, struct rl_config *c, rl_error_t *err);
/* Parse text into c; what names the file in errors ("FILE:LINE: ...").
 * Settings already in c (from an earlier file) are replaced key by key. */
int config_parse (const char *text, const char *what, struct rl_config *c, rl_error_t *err);
void config_clear (struct rl_config *c);
#define cleanup_config __attribute__ ((cleanup (config_clear)))

/* The settings of a registry, or NULL when rl.conf has none. */
const struct rl_registry_conf *config_registry (const struct rl_config *c, const char *host);

/* The fully qualified references a pull of s should try, in order
 * (NULL-terminated, normalized: "docker.io/library/alpine:latest"): s
 * itself when it names a registry; else its alias; else s on each search
 * registry; else s on docker.io.  A malformed s is an error that says why. */
int config_resolve_name (const struct rl_config *c, const char *s, char ***out, rl_error_t *err);

/* Parse "os/arch[/variant]" (each part checked to be a simple word). */
int platform_parse (const char *s, char **os, char **arch, char **variant, rl_error_t *err);

#endif
