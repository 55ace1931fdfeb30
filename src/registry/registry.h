/* The registry client: HTTP over libcurl (loaded at first use) speaking the
 * OCI distribution API to one repository of one registry, with the
 * credentials, TLS policy and tokens resolved once when it is opened.
 *
 *   reg_client_open ("127.0.0.1:5000", "library/bb", &o, &c, &err);
 *   reg_request (c, &(struct reg_request){ .method = "HEAD",
 *                                          .path = "/blobs/sha256:..." }, &rs, &err);
 *
 * Authentication follows the registry's answer to GET /v2/: nothing, Basic
 * (the stored credentials on every request), or Bearer (a token fetched from
 * the realm for the client's scope, cached for its lifetime and fetched
 * again on a 401).  The Authorization header is only ever sent to the
 * registry's own host: redirects are followed by hand (blob GETs usually
 * redirect to a storage host) and a request to another host goes without
 * it.  Transient failures (connection errors, 5xx, 429) are retried with
 * backoff, a bounded number of times; a streamed GET cut in the middle goes
 * on from where it stopped (Range), other requests only retry when no
 * response byte was handed on yet.  The client is not thread-safe; after a fork() a child must use
 * its own client (reg_client_fork()) and never the parent's connections. */
#ifndef RL_REGISTRY_H
#define RL_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct reg_client;

struct reg_client_opts
{
  /* 1: https only, certificates checked (the default); 0: certificates
   * not checked and plain http allowed (--tls-verify=false); -1: from
   * rl.conf (`insecure = true` for the host means 0, else 1). */
  int tls_verify;
  /* Ask for push rights too (scope "repository:PATH:pull,push"). */
  bool push;
  /* Credentials to use instead of the stored ones (rl login); NULL: look
   * in auth.json and ~/.docker/config.json for the registry. */
  const char *username;
  const char *password;
  /* The rl.conf to read for `insecure` (NULL: the default files). */
  const char *config_path;
};

/* Open a client for repository (a path like "library/alpine") on registry
 * (a domain as references spell it: "docker.io", "host:5000"; docker.io is
 * reached at registry-1.docker.io).  Loads libcurl; no traffic yet: the
 * first request pings /v2/ and authenticates. */
int reg_client_open (const char *registry, const char *repository, const struct reg_client_opts *o,
                     struct reg_client **out, rl_error_t *err);
void reg_client_free (struct reg_client *c);
#define cleanup_reg_client __attribute__ ((cleanup (reg_client_freep)))
void reg_client_freep (struct reg_client **c);

/* A new client for the same registry, repository and credentials, sharing
 * no connection with c (cached tokens are copied): for a forked child. */
struct reg_client *reg_client_fork (const struct reg_client *c);

/* Also ask for pull rights on another repository of the same registry in
 * the next token (cross-repository blob mounts when pushing). */
void reg_client_add_scope (struct reg_client *c, const char *repository);

/* Ping /v2/ with authentication: for `rl login`, which checks credentials
 * before saving them.  An authentication failure is an error with status
 * 125 and a message naming the registry. */
int reg_client_check (struct reg_client *c, rl_error_t *err);

/* Where the client sends its requests: "https://host:port" (or http:// for
 * an insecure registry that does not speak TLS).  Known after the first
 * request; before it, the https URL. */
const char *reg_client_base_url (const struct reg_client *c);
const char *reg_client_registry (const struct reg_client *c);   /* as given */
const char *reg_client_repository (const struct reg_client *c); /* as given */

/* Sink for a response body: return 0, or -1 with err set to stop. */
typedef int (*reg_sink_fn) (void *arg, const void *buf, size_t len, rl_error_t *err);

struct reg_request
{
  const char *method; /* "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE" */
  /* Relative to /v2/REPOSITORY ("/blobs/uploads/", "/manifests/latest"),
   * or a whole URL (a Location header: relative or absolute). */
  const char *path;
  /* Extra "Name: value" lines (NULL-terminated, may be NULL); never put
   * Authorization here: the client adds it only where it belongs. */
  const char *const *headers;

  /* Request body: from memory (body, body_len), or from a file
   * (body_fd >= 0: body_len bytes from offset body_offset, read with
   * pread so the fd's position does not matter), or none. */
  const void *body;
  int body_fd; /* -1 when unused: set it, 0 is a valid fd */
  off_t body_offset;
  uint64_t body_len;

  /* Response body: to sink when set (streamed; only a success body
   * reaches it, each byte once, even across a resumed GET), else into
   * memory up to max_body bytes (0 means JSON_MAX_SIZE); a longer body
   * fails the request. */
  reg_sink_fn sink;
  void *sink_arg;
  size_t max_body;
  /* Fail unless the final status is one of these (0-terminated, may be
   * NULL: any status is returned to the caller). */
  const long *expect;
};

struct reg_response
{
  long status; /* HTTP status of the final response (after redirects) */
  char *body;  /* NUL-terminated, NULL with a sink or an empty body */
  size_t body_len;
  char **headers; /* "name: value" of the final response, names lower-case */
  char *url;      /* the URL that answered */
};

/* Send a request (authentication, redirects and retries included).  A
 * transport failure or an unexpected status is an error naming the method,
 * the URL and, when the registry said one, its error message. */
int reg_request (struct reg_client *c, const struct reg_request *rq, struct reg_response *rs,
                 rl_error_t *err);
void reg_response_clear (struct reg_response *rs);
/* A header of the response (name case-insensitive) or NULL. */
const char *reg_response_header (const struct reg_response *rs, const char *name);

/* HEAD /blobs/DIGEST: *exists, and *size (may be NULL) from Content-Length. */
int reg_blob_exists (struct reg_client *c, const char *digest, bool *exists, uint64_t *size,
                     rl_error_t *err);

/* The message of an OCI error body ({"errors":[{"code","message"}]}), or
 * NULL. */
char *reg_error_message (const char *body, size_t len);

#endif
