/* Registry credentials and authentication challenges.
 *
 * Credentials live where Podman keeps them, in its format:
 *   ${XDG_RUNTIME_DIR}/containers/auth.json (or /run/containers/UID/auth.json
 *   when XDG_RUNTIME_DIR is unset, as Podman does; REGISTRY_AUTH_FILE
 *   overrides both)      {"auths": {"HOST[/PATH]": {"auth": "base64(user:pass)"}}}
 * which rl login writes (mode 0600) and rl logout edits, keeping every other
 * entry and key as it was.  Lookups also read, never write,
 * ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json and
 * ~/.docker/config.json.  A key may name a repository or a namespace; the
 * most specific one wins, as in Podman. */
#ifndef RL_AUTH_H
#define RL_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* The file rl login writes (a new string). */
char *auth_file_path (void);

/* Credentials for repository (may be NULL) on registry: 1 and *user,
 * *pass (new strings) when found in one of the files, 0 when none has
 * any.  A corrupt file is an error naming it. */
int auth_lookup (const char *registry, const char *repository, char **user, char **pass,
                 rl_error_t *err);
/* The same in one file only (for tests and for login's own file). */
int auth_lookup_file (const char *path, const char *registry, const char *repository, char **user,
                      char **pass, rl_error_t *err);
/* Add or replace the entry key ("HOST" or "HOST/PATH") in path. */
int auth_store (const char *path, const char *key, const char *user, const char *pass,
                rl_error_t *err);
/* Remove the entry key (NULL: every entry) from path; *removed says
 * whether there was one.  A missing file has no entries. */
int auth_remove (const char *path, const char *key, bool *removed, rl_error_t *err);

/* Base64 (RFC 4648, with padding).  Decoding refuses anything malformed. */
char *base64_encode (const void *data, size_t len);
int base64_decode (const char *s, char **out, size_t *len);

/* A WWW-Authenticate challenge: `Bearer realm="...",service="...",
 * scope="..."` or `Basic realm="..."`.  Unknown parameters are ignored. */
struct auth_challenge
{
  char *scheme; /* "bearer" or "basic" (lower-case) */
  char *realm;
  char *service;
  char *scope;
  char *error; /* error="insufficient_scope" and the like, or NULL */
};
int auth_challenge_parse (const char *header, struct auth_challenge *c, rl_error_t *err);
void auth_challenge_clear (struct auth_challenge *c);

#endif
