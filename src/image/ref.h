/* Image references: the Docker grammar
 *   [DOMAIN/]PATH[:TAG][@sha256:HEX]
 * and the names rl keeps images under.  A domain is recognised like Docker
 * does: the first component contains '.' or ':', is "localhost", or has an
 * upper-case letter.  Nothing here touches the network or the store. */
#ifndef RL_REF_H
#define RL_REF_H

#include <stdbool.h>

#include "util/error.h"

#define REF_DEFAULT_DOMAIN "docker.io"
#define REF_LOCAL_DOMAIN   "localhost"
#define REF_DEFAULT_TAG    "latest"
#define REF_NAME_MAX       255 /* domain + "/" + path */
#define REF_TAG_MAX        128

struct rl_ref
{
  char *domain; /* "docker.io", "localhost", "host:5000"; NULL if not given */
  char *path;   /* "library/alpine" */
  char *tag;    /* NULL if not given */
  char *digest; /* "sha256:<hex>" or NULL */
};

/* Check s against the grammar and split it; no defaults are filled in.  The
 * error says why s is malformed: "invalid reference `Foo`: repository name
 * must be lower-case". */
int ref_parse (const char *s, struct rl_ref *r, rl_error_t *err);
void ref_clear (struct rl_ref *r);
#define cleanup_ref __attribute__ ((cleanup (ref_clear)))

/* Fill in what was left out: the domain (default_domain when none was
 * given; "index.docker.io" becomes "docker.io"), "library/" for one-component
 * paths on docker.io, and the tag "latest" when neither tag nor digest. */
void ref_normalize (struct rl_ref *r, const char *default_domain);
/* DOMAIN/PATH (no tag or digest); domain omitted when NULL. */
char *ref_repository (const struct rl_ref *r);
/* The full string: DOMAIN/PATH[:TAG][@DIGEST]. */
char *ref_format (const struct rl_ref *r);

/* The name `rl import` gives an image: NAME[:TAG] with localhost as the
 * default domain, as Podman does ("bb" -> "localhost/bb:latest").  Digests
 * are refused: a new image has no manifest digest to match. */
int ref_local_name (const char *s, char **out, rl_error_t *err);
/* The normalized names s may mean for a local lookup, most specific first:
 * a reference with a domain means just itself; a short one means
 * localhost/... (imported images), then docker.io/... (pulled ones). */
int ref_lookup_names (const char *s, char ***out, rl_error_t *err);

/* Is s a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})? */
bool ref_tag_valid (const char *s);

#endif
