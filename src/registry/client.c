/* The registry client over libcurl: one easy handle per client (so its
 * connection is reused), authentication from the registry's challenge,
 * redirects followed by hand so that credentials stay with their host,
 * bounded retries.  See registry.h. */
#include "config.h"
#include "config/config.h"
#include "registry/auth.h"
#include "registry/registry.h"
#include "util/dl.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/util.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_REDIRECTS 5
#define MAX_ATTEMPTS  4                   /* one try and three retries */
#define BACKOFF_MS    250                 /* doubled after each retry */
#define RETRY_MAX_MS  10000               /* a Retry-After longer than this is cut */
#define TOKEN_MARGIN  (10LL * 1000000000) /* refresh a token this long before it expires */

enum auth_kind
{
  AUTH_UNKNOWN, /* not pinged yet */
  AUTH_NONE,
  AUTH_BASIC,
  AUTH_BEARER,
};

struct token
{
  char *scope; /* the scope string asked for */
  char *value;
  int64_t expires; /* monotonic ns */
};

struct reg_client
{
  char *registry;   /* as given: "docker.io", "host:5000" */
  char *repository; /* "library/alpine" */
  char *host;       /* what is connected to: "registry-1.docker.io" */
  char *base;       /* "https://HOST" or "http://HOST" */
  bool tls_verify;  /* false: certificates unchecked and plain http allowed */
  bool push;
  char *user, *pass;
  char **extra_repos; /* more repositories to ask pull rights for */
  enum auth_kind auth;
  struct auth_challenge challenge;
  struct token *tokens;
  size_t n_tokens;
  CURL *curl; /* NULL until the first request (and in a forked copy) */
  /* From a certs.d directory for the registry (as Podman and Docker read
   * them): the system CAs plus the registry's own, and a client cert. */
  char *ca_blob;
  size_t ca_len;
  char *client_cert, *client_key;
};

void
reg_client_free (struct reg_client *c)
{
  if (c == NULL)
    return;
  if (c->curl)
    curl_easy_cleanup (c->curl);
  free (c->registry);
  free (c->repository);
  free (c->host);
  free (c->base);
  free (c->user);
  if (c->pass)
    explicit_bzero (c->pass, strlen (c->pass));
  free (c->pass);
  strv_free (c->extra_repos);
  auth_challenge_clear (&c->challenge);
  for (size_t i = 0; i < c->n_tokens; i++)
    {
      free (c->tokens[i].scope);
      free (c->tokens[i].value);
    }
  free (c->tokens);
  free (c->ca_blob);
  free (c->client_cert);
  free (c->client_key);
  free (c);
}

void
reg_client_freep (struct reg_client **c)
{
  reg_client_free (*c);
}

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define CERTS_MAX_SIZE   (8 * 1024 * 1024)

/* Read the certs.d directory of the registry, the first of
 * ${XDG_CONFIG_HOME:-~/.config}/containers/certs.d/HOST, then
 * /etc/containers/certs.d/HOST and /etc/docker/certs.d/HOST that exists:
 * *.crt are CAs (added to the system's), NAME.cert with NAME.key a client
 * certificate. */
static int
load_certs_d (struct reg_client *c, rl_error_t *err)
{
  const char *xdg = getenv ("XDG_CONFIG_HOME");
  const char *home = getenv ("HOME");
  cleanup_free char *user = NULL;
  const char *bases[3];
  cleanup_dir DIR *d = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *blob = NULL;
  size_t len = 0;
  struct dirent *de;

  if (xdg && *xdg == '/')
    user = xasprintf ("%s/containers/certs.d", xdg);
  else if (home && *home)
    user = xasprintf ("%s/.config/containers/certs.d", home);
  bases[0] = user;
  bases[1] = "/etc/containers/certs.d";
  bases[2] = "/etc/docker/certs.d";
  for (size_t i = 0; i < ARRAY_SIZE (bases) && d == NULL; i++)
    {
      if (bases[i] == NULL)
        continue;
      free (dir);
      dir = xasprintf ("%s/%s", bases[i], c->registry);
      d = opendir (dir);
    }
  if (d == NULL)
    return 0;
  while ((de = readdir (d)) != NULL)
    {
      cleanup_free char *path = xasprintf ("%s/%s", dir, de->d_name);
      cleanup_free char *text = NULL;
      size_t n;

      if (str_has_suffix (de->d_name, ".crt"))
        {
          if (read_file_at (AT_FDCWD, path, CERTS_MAX_SIZE, &text, &n, err) < 0)
            return rl_error_wrap (err, "registry %s", c->registry);
          if (blob == NULL)
            {
              /* The registry's CAs come in addition to the system's. */
              rl_error_t e = NULL;
              if (read_file_at (AT_FDCWD, SYSTEM_CA_BUNDLE, CERTS_MAX_SIZE, &blob, &len, &e) < 0)
                {
                  rl_error_free (&e);
                  blob = xstrdup ("");
                  len = 0;
                }
            }
          blob = xrealloc (blob, len + n + 2);
          memcpy (blob + len, text, n);
          len += n;
          blob[len++] = '\n';
          blob[len] = '\0';
        }
      else if (str_has_suffix (de->d_name, ".cert"))
        {
          size_t stem = strlen (path) - strlen (".cert");
          free (c->client_cert);
          free (c->client_key);
          c->client_cert = xstrdup (path);
          c->client_key = xasprintf ("%.*s.key", (int)stem, path);
          if (access (c->client_key, R_OK) < 0)
            return rl_error (err, errno,
                             "registry %s: client certificate `%s` without its key `%s`",
                             c->registry, c->client_cert, c->client_key);
        }
    }
  c->ca_blob = steal_pointer (&blob);
  c->ca_len = len;
  return 0;
}

int
reg_client_open (const char *registry, const char *repository, const struct reg_client_opts *o,
                 struct reg_client **out, rl_error_t *err)
{
  struct reg_client *c;
  int tls_verify = o->tls_verify;

  *out = NULL;
  if (dl_need_curl (err) < 0)
    return -1;
  if (tls_verify < 0)
    {
      cleanup_config struct rl_config conf = { 0 };
      const struct rl_registry_conf *rc;
      if (config_load (o->config_path, &conf, err) < 0)
        return -1;
      rc = config_registry (&conf, registry);
      tls_verify = rc && rc->insecure ? 0 : 1;
    }
  c = xmalloc0 (sizeof *c);
  c->registry = xstrdup (registry);
  c->repository = xstrdup (repository);
  /* Docker Hub's API is not served at the name images use. */
  c->host = xstrdup (strcmp (registry, "docker.io") == 0 ? "registry-1.docker.io" : registry);
  c->base = xasprintf ("https://%s", c->host);
  c->tls_verify = tls_verify != 0;
  c->push = o->push;
  if (o->username)
    {
      c->user = xstrdup (o->username);
      c->pass = xstrdup (o->password ? o->password : "");
    }
  else if (auth_lookup (registry, repository, &c->user, &c->pass, err) < 0)
    {
      reg_client_free (c);
      return -1;
    }
  if (load_certs_d (c, err) < 0)
    {
      reg_client_free (c);
      return -1;
    }
  *out = c;
  return 0;
}

struct reg_client *
reg_client_fork (const struct reg_client *c)
{
  struct reg_client *n = xmalloc0 (sizeof *n);

  n->registry = xstrdup (c->registry);
  n->repository = xstrdup (c->repository);
  n->host = xstrdup (c->host);
  n->base = xstrdup (c->base);
  n->tls_verify = c->tls_verify;
  n->push = c->push;
  n->user = c->user ? xstrdup (c->user) : NULL;
  n->pass = c->pass ? xstrdup (c->pass) : NULL;
  n->extra_repos = strv_dup (c->extra_repos);
  n->auth = c->auth;
  n->challenge.scheme = c->challenge.scheme ? xstrdup (c->challenge.scheme) : NULL;
  n->challenge.realm = c->challenge.realm ? xstrdup (c->challenge.realm) : NULL;
  n->challenge.service = c->challenge.service ? xstrdup (c->challenge.service) : NULL;
  n->tokens = xmalloc0 ((c->n_tokens + 1) * sizeof *n->tokens);
  for (size_t i = 0; i < c->n_tokens; i++)
    {
      n->tokens[i].scope = xstrdup (c->tokens[i].scope);
      n->tokens[i].value = xstrdup (c->tokens[i].value);
      n->tokens[i].expires = c->tokens[i].expires;
    }
  n->n_tokens = c->n_tokens;
  if (c->ca_blob)
    {
      n->ca_blob = xmalloc (c->ca_len + 1);
      memcpy (n->ca_blob, c->ca_blob, c->ca_len + 1);
      n->ca_len = c->ca_len;
    }
  n->client_cert = c->client_cert ? xstrdup (c->client_cert) : NULL;
  n->client_key = c->client_key ? xstrdup (c->client_key) : NULL;
  return n;
}

void
reg_client_add_scope (struct reg_client *c, const char *repository)
{
  if (!strv_contains (c->extra_repos, repository))
    strv_add (&c->extra_repos, repository);
}

const char *
reg_client_base_url (const struct reg_client *c)
{
  return c->base;
}

const char *
reg_client_registry (const struct reg_client *c)
{
  return c->registry;
}

const char *
reg_client_repository (const struct reg_client *c)
{
  return c->repository;
}

void
reg_response_clear (struct reg_response *rs)
{
  free (rs->body);
  strv_free (rs->headers);
  free (rs->url);
  memset (rs, 0, sizeof *rs);
}

const char *
reg_response_header (const struct reg_response *rs, const char *name)
{
  size_t n = strlen (name);

  for (size_t i = 0; rs->headers && rs->headers[i]; i++)
    if (strncasecmp (rs->headers[i], name, n) == 0 && rs->headers[i][n] == ':')
      {
        const char *v = rs->headers[i] + n + 1;
        while (*v == ' ' || *v == '\t')
          v++;
        return v;
      }
  return NULL;
}

char *
reg_error_message (const char *body, size_t len)
{
  cleanup_json yajl_val root = NULL;
  rl_error_t e = NULL;
  yajl_val errors, first;
  const char *code, *msg;

  if (body == NULL || len == 0 || len > JSON_MAX_SIZE)
    return NULL;
  if (json_parse (body, "error", &root, &e) < 0)
    {
      rl_error_free (&e);
      return NULL;
    }
  errors = json_get (root, "errors");
  if (!YAJL_IS_ARRAY (errors) || errors->u.array.len == 0)
    return NULL;
  first = errors->u.array.values[0];
  code = json_get_str (first, "code");
  msg = json_get_str (first, "message");
  if (msg && *msg)
    {
      /* One line: registries put detail on several. */
      char *m = xstrdup (msg);
      for (char *p = m; *p; p++)
        if (*p == '\n' || *p == '\r')
          *p = ' ';
      return m;
    }
  return code ? xstrdup (code) : NULL;
}

/* ---- one HTTP exchange ---- */

struct xfer
{
  /* request body */
  const char *mem;
  int fd;
  off_t offset;
  uint64_t len, sent;
  /* response */
  reg_sink_fn sink;
  void *sink_arg;
  rl_error_t sink_err;
  uint64_t delivered;  /* bytes handed to the sink */
  uint64_t skip;       /* a resumed GET answered 200: bytes the sink already has */
  uint64_t resumed_at; /* the Range start asked for (0: not resumed) */
  bool range_checked;
  char *buf;
  size_t buf_len, buf_cap, max;
  bool too_big;
  long status; /* of the response being received (from its status line) */
  char **headers;
};

static size_t
xfer_read (char *out, size_t size, size_t nitems, void *arg)
{
  struct xfer *x = arg;
  size_t want = size * nitems;
  uint64_t left = x->len - x->sent;

  if (want > left)
    want = left;
  if (want == 0)
    return 0;
  if (x->mem)
    memcpy (out, x->mem + x->sent, want);
  else
    {
      ssize_t n;
      do
        n = pread (x->fd, out, want, x->offset + x->sent);
      while (n < 0 && errno == EINTR);
      if (n <= 0)
        return CURL_READFUNC_ABORT;
      want = n;
    }
  x->sent += want;
  return want;
}

static size_t
xfer_write (char *data, size_t size, size_t nmemb, void *arg)
{
  struct xfer *x = arg;
  size_t n = size * nmemb;

  /* Only a success body is content: an error page or a redirect's body
   * must never reach the sink (it would be hashed and unpacked). */
  if (x->sink && x->status >= 200 && x->status < 300)
    {
      /* A 206 must start where the sink stopped. */
      if (x->status == 206 && !x->range_checked)
        {
          struct reg_response tmp = { .headers = x->headers };
          const char *cr = reg_response_header (&tmp, "content-range");
          unsigned long long from;
          x->range_checked = true;
          if (cr == NULL || sscanf (cr, "bytes %llu-", &from) != 1 || from != x->resumed_at)
            {
              rl_error (&x->sink_err, 0, "resumed download: unexpected Content-Range `%s`",
                        cr ? cr : "");
              return 0;
            }
        }
      /* A server that ignored the Range of a resumed GET sends it all
       * again: drop what the sink has had. */
      if (x->status == 200 && x->skip > 0)
        {
          size_t k = x->skip < n ? x->skip : n;
          x->skip -= k;
          data += k;
          n -= k;
          if (n == 0)
            return size * nmemb;
        }
      if (x->sink (x->sink_arg, data, n, &x->sink_err) < 0)
        return 0;
      x->delivered += n;
      return size * nmemb;
    }
  if (x->buf_len + n > x->max)
    {
      x->too_big = true;
      return 0;
    }
  if (x->buf_len + n + 1 > x->buf_cap)
    {
      x->buf_cap = (x->buf_len + n + 1) * 2;
      if (x->buf_cap > x->max + 1)
        x->buf_cap = x->max + 1;
      x->buf = xrealloc (x->buf, x->buf_cap);
    }
  memcpy (x->buf + x->buf_len, data, n);
  x->buf_len += n;
  x->buf[x->buf_len] = '\0';
  return n;
}

static size_t
xfer_header (char *data, size_t size, size_t nitems, void *arg)
{
  struct xfer *x = arg;
  size_t n = size * nitems;
  char *line, *colon;

  /* A new status line starts a new response (after 100 Continue). */
  if (n >= 5 && strncmp (data, "HTTP/", 5) == 0)
    {
      const char *sp = memchr (data, ' ', n);
      strv_free (x->headers);
      x->headers = NULL;
      x->status = sp && sp + 4 <= data + n ? strtol (sp + 1, NULL, 10) : 0;
      return n;
    }
  while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
    n--;
  line = xstrndup (data, n);
  colon = strchr (line, ':');
  if (colon == NULL)
    {
      free (line);
      return size * nitems;
    }
  for (char *p = line; p < colon; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p += 'a' - 'A';
  strv_add_take (&x->headers, line);
  return size * nitems;
}

/* scheme://host[:port] of url, lower-case, or NULL. */
static char *
url_origin (const char *url)
{
  CURLU *u = curl_url ();
  char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;

  if (u == NULL)
    return NULL;
  if (curl_url_set (u, CURLUPART_URL, url, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_HOST, &host, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
    {
      out = xasprintf ("%s://%s:%s", scheme, host, port);
      for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
          *p += 'a' - 'A';
    }
  curl_free (scheme);
  curl_free (host);
  curl_free (port);
  curl_url_cleanup (u);
  return out;
}

/* Resolve a Location (relative or absolute) against the URL it came from. */
static char *
url_resolve (const char *from, const char *location)
{
  CURLU *u = curl_url ();
  char *s = NULL, *out = NULL;

  if (u == NULL)
    return NULL;
  if (curl_url_set (u, CURLUPART_URL, from, 0) == CURLUE_OK
      && curl_url_set (u, CURLUPART_URL, location, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_URL, &s, 0) == CURLUE_OK)
    out = xstrdup (s);
  curl_free (s);
  curl_url_cleanup (u);
  return out;
}

static bool
same_origin (const char *a, const char *b)
{
  cleanup_free char *x = url_origin (a);
  cleanup_free char *y = url_origin (b);
  return x && y && strcmp (x, y) == 0;
}

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static CURL *
client_curl (struct reg_client *c)
{
  if (c->curl == NULL)
    {
      c->curl = curl_easy_init ();
      if (c->curl == NULL)
        {
          fputs ("rl: out of memory\n", stderr);
          abort ();
        }
    }
  else
    curl_easy_reset (c->curl);
  return c->curl;
}

/* One request to url, no redirect followed, no retry.  Returns the curl
 * code; *status is the HTTP status (0 when none came). */
static CURLcode
exchange (struct reg_client *c, const char *method, const char *url, struct curl_slist *hdrs,
          struct xfer *x, long *status, char *errbuf)
{
  CURL *h = client_curl (c);
  CURLcode r;

  *status = 0;
  errbuf[0] = '\0';
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "rl/" PACKAGE_VERSION);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, 30L);
  /* A stalled transfer (under 1 byte/s for a minute) is a failure. */
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!c->tls_verify)
    {
      curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  if (c->ca_blob)
    {
      struct curl_blob b = { c->ca_blob, c->ca_len, CURL_BLOB_NOCOPY };
      curl_easy_setopt (h, CURLOPT_CAINFO_BLOB, &b);
    }
  if (c->client_cert)
    {
      curl_easy_setopt (h, CURLOPT_SSLCERT, c->client_cert);
      curl_easy_setopt (h, CURLOPT_SSLKEY, c->client_key);
    }
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, xfer_header);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, x);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, xfer_write);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, x);
  if (strcmp (method, "GET") == 0)
    curl_easy_setopt (h, CURLOPT_HTTPGET, 1L);
  else if (strcmp (method, "HEAD") == 0)
    curl_easy_setopt (h, CURLOPT_NOBODY, 1L);
  else
    {
      /* Every other method goes through the upload path, with the method
       * name set on top: one way for bodies from memory or a file. */
      curl_easy_setopt (h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt (h, CURLOPT_READFUNCTION, xfer_read);
      curl_easy_setopt (h, CURLOPT_READDATA, x);
      curl_easy_setopt (h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->len);
      curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);
    }
  r = curl_easy_perform (h);
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, status);
  return r;
}

static bool
transient_curl (CURLcode r)
{
  switch (r)
    {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
    }
}

static bool
transient_status (long s)
{
  return s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

/* ---- authentication ---- */

static char *
client_scope (const struct reg_client *c)
{
  char *s;

  /* rl login has no repository: a token for no scope proves the account. */
  if (*c->repository == '\0')
    return xstrdup ("");
  s = xasprintf ("repository:%s:%s", c->repository, c->push ? "pull,push" : "pull");
  for (size_t i = 0; c->extra_repos && c->extra_repos[i]; i++)
    {
      char *n = xasprintf ("%s repository:%s:pull", s, c->extra_repos[i]);
      free (s);
      s = n;
    }
  return s;
}

static char *
basic_header (const struct reg_client *c)
{
  cleanup_free char *plain = xasprintf ("%s:%s", c->user, c->pass);
  cleanup_free char *enc = base64_encode (plain, strlen (plain));
  explicit_bzero (plain, strlen (plain));
  return xasprintf ("Authorization: Basic %s", enc);
}

static struct token *
token_find (struct reg_client *c, const char *scope)
{
  int64_t now = now_ns ();
  for (size_t i = 0; i < c->n_tokens; i++)
    if (strcmp (c->tokens[i].scope, scope) == 0)
      return c->tokens[i].expires > now ? &c->tokens[i] : NULL;
  return NULL;
}

static void
token_put (struct reg_client *c, const char *scope, const char *value, int64_t expires)
{
  struct token *t = NULL;

  for (size_t i = 0; i < c->n_tokens; i++)
    if (strcmp (c->tokens[i].scope, scope) == 0)
      t = &c->tokens[i];
  if (t == NULL)
    {
      c->tokens = xrealloc (c->tokens, (c->n_tokens + 1) * sizeof *c->tokens);
      t = &c->tokens[c->n_tokens++];
      t->scope = xstrdup (scope);
      t->value = NULL;
    }
  free (t->value);
  t->value = xstrdup (value);
  t->expires = expires;
}

static int send_request (struct reg_client *c, const char *method, const char *url,
                         const char *const *headers, const char *auth, struct xfer *x,
                         struct reg_response *rs, rl_error_t *err);

/* GET REALM?service=S&scope=... (with basic credentials when there are
 * some): the token server may be another host, which is why the
 * credentials go there explicitly, and nowhere else. */
static int
fetch_token (struct reg_client *c, const char *scope, rl_error_t *err)
{
  cleanup_free char *url = NULL;
  cleanup_free char *auth = NULL;
  cleanup_json yajl_val root = NULL;
  struct reg_response rs = { 0 };
  struct xfer x = { .fd = -1, .max = JSON_MAX_SIZE };
  const char *tok;
  int64_t expires_in;
  char *esc_service = NULL;
  char *save = NULL;
  cleanup_free char *copy = xstrdup (scope);
  CURL *h;

  h = client_curl (c);
  url = xasprintf ("%s%s", c->challenge.realm, strchr (c->challenge.realm, '?') ? "&" : "?");
  if (c->challenge.service)
    {
      esc_service = curl_easy_escape (h, c->challenge.service, 0);
      char *n = xasprintf ("%sservice=%s", url, esc_service);
      curl_free (esc_service);
      free (url);
      url = n;
    }
  for (char *p = copy;; p = NULL)
    {
      char *one = strtok_r (p, " ", &save);
      char *esc, *n;
      if (one == NULL)
        break;
      esc = curl_easy_escape (h, one, 0);
      n = xasprintf ("%s%sscope=%s", url, url[strlen (url) - 1] == '?' ? "" : "&", esc);
      curl_free (esc);
      free (url);
      url = n;
    }
  if (c->user)
    auth = basic_header (c);
  if (send_request (c, "GET", url, NULL, auth, &x, &rs, err) < 0)
    return rl_error_wrap (err, "get a token from `%s`", c->challenge.realm);
  if (rs.status == 401 || rs.status == 403)
    {
      cleanup_free char *m = reg_error_message (rs.body, rs.body_len);
      reg_response_clear (&rs);
      return rl_error (err, 0, "%s: authentication failed%s%s%s", c->registry, m ? " (" : "",
                       m ? m : "", m ? ")" : "");
    }
  if (rs.status != 200 || rs.body == NULL)
    {
      long s = rs.status;
      reg_response_clear (&rs);
      return rl_error (err, 0, "get a token from `%s`: HTTP status %ld", c->challenge.realm, s);
    }
  if (json_parse (rs.body, "token response", &root, err) < 0)
    {
      reg_response_clear (&rs);
      return -1;
    }
  reg_response_clear (&rs);
  tok = json_get_str (root, "token");
  if (tok == NULL || *tok == '\0')
    tok = json_get_str (root, "access_token");
  if (tok == NULL || *tok == '\0')
    return rl_error (err, 0, "get a token from `%s`: no token in the answer", c->challenge.realm);
  /* The spec's default lifetime is 60 s. */
  expires_in = json_get_int (root, "expires_in", 60);
  if (expires_in < 60)
    expires_in = 60;
  token_put (c, scope, tok, now_ns () + expires_in * 1000000000LL - TOKEN_MARGIN);
  return 0;
}

/* The Authorization header line for a request to the registry (NULL when
 * none is needed), fetching a token when there is none valid. */
static int
auth_header (struct reg_client *c, bool refresh, char **out, rl_error_t *err)
{
  cleanup_free char *scope = NULL;
  struct token *t;

  *out = NULL;
  switch (c->auth)
    {
    case AUTH_UNKNOWN:
    case AUTH_NONE:
      return 0;
    case AUTH_BASIC:
      if (c->user == NULL)
        return 0;
      *out = basic_header (c);
      return 0;
    case AUTH_BEARER:
      break;
    }
  scope = client_scope (c);
  t = refresh ? NULL : token_find (c, scope);
  if (t == NULL)
    {
      if (fetch_token (c, scope, err) < 0)
        return -1;
      t = token_find (c, scope);
    }
  if (t)
    *out = xasprintf ("Authorization: Bearer %s", t->value);
  return 0;
}

static int
take_challenge (struct reg_client *c, const struct reg_response *rs, rl_error_t *err)
{
  const char *h = reg_response_header (rs, "www-authenticate");
  struct auth_challenge ch;

  if (h == NULL)
    return rl_error (err, 0, "%s: 401 Unauthorized without a WWW-Authenticate header", c->registry);
  if (auth_challenge_parse (h, &ch, err) < 0)
    return rl_error_wrap (err, "%s", c->registry);
  if (strcmp (ch.scheme, "bearer") == 0)
    c->auth = AUTH_BEARER;
  else if (strcmp (ch.scheme, "basic") == 0)
    c->auth = AUTH_BASIC;
  else
    {
      rl_error (err, 0, "%s: unsupported authentication scheme `%s`", c->registry, ch.scheme);
      auth_challenge_clear (&ch);
      return -1;
    }
  auth_challenge_clear (&c->challenge);
  c->challenge = ch;
  return 0;
}

/* ---- requests ---- */

static void
xfer_reset_response (struct xfer *x)
{
  free (x->buf);
  x->buf = NULL;
  x->buf_len = x->buf_cap = 0;
  x->too_big = false;
  strv_free (x->headers);
  x->headers = NULL;
  x->sent = 0;
  x->status = 0;
}

/* Send to url, following redirects (auth only to the registry's own
 * origin) and retrying transient failures.  No 401 handling here. */
static int
send_request (struct reg_client *c, const char *method, const char *url, const char *const *headers,
              const char *auth, struct xfer *x, struct reg_response *rs, rl_error_t *err)
{
  cleanup_free char *cur = xstrdup (url);
  cleanup_free char *auth_origin = url_origin (url);
  char errbuf[CURL_ERROR_SIZE];
  long backoff = BACKOFF_MS;
  int redirects = 0, attempt = 0;

  memset (rs, 0, sizeof *rs);
  for (;;)
    {
      struct curl_slist *hdrs = NULL;
      cleanup_free char *origin = url_origin (cur);
      CURLcode r;
      long status;
      bool auth_here = auth && origin && auth_origin && strcmp (origin, auth_origin) == 0;

      /* No "Expect: 100-continue" pause on uploads. */
      hdrs = curl_slist_append (hdrs, "Expect:");
      for (size_t i = 0; headers && headers[i]; i++)
        hdrs = curl_slist_append (hdrs, headers[i]);
      if (auth_here)
        hdrs = curl_slist_append (hdrs, auth);
      if (x->delivered > 0)
        {
          /* Resuming a streamed GET after a cut: ask for the rest only. */
          char range[64];
          snprintf (range, sizeof range, "Range: bytes=%llu-", (unsigned long long)x->delivered);
          hdrs = curl_slist_append (hdrs, range);
          x->skip = x->resumed_at = x->delivered;
          x->range_checked = false;
        }
      xfer_reset_response (x);
      r = exchange (c, method, cur, hdrs, x, &status, errbuf);
      curl_slist_free_all (hdrs);

      if (x->sink_err)
        {
          *err = x->sink_err;
          x->sink_err = NULL;
          xfer_reset_response (x);
          return -1;
        }
      if (x->too_big)
        {
          xfer_reset_response (x);
          return rl_error (err, 0, "%s `%s`: response larger than %zu bytes", method, cur, x->max);
        }
      if (r != CURLE_OK || transient_status (status))
        {
          /* Once part of a body reached the sink, only a GET can go on
           * (with a Range); anything else would hand it bytes twice. */
          if (++attempt < MAX_ATTEMPTS && (x->delivered == 0 || strcmp (method, "GET") == 0)
              && (r != CURLE_OK ? transient_curl (r) : true))
            {
              long wait = backoff;
              if (status == 429)
                {
                  const char *ra = NULL;
                  struct reg_response tmp = { .headers = x->headers };
                  long long secs;
                  ra = reg_response_header (&tmp, "retry-after");
                  if (ra && parse_long (ra, 0, RETRY_MAX_MS / 1000, &secs))
                    wait = secs * 1000;
                  else if (ra)
                    wait = RETRY_MAX_MS;
                }
              sleep_ms (wait);
              backoff *= 2;
              continue;
            }
          if (r != CURLE_OK)
            {
              xfer_reset_response (x);
              return rl_error (err, 0, "%s `%s`: %s%s", method, cur,
                               errbuf[0] ? errbuf : curl_easy_strerror (r),
                               attempt > 1 ? " (after retries)" : "");
            }
        }
      if (status >= 300 && status < 400 && status != 304)
        {
          struct reg_response tmp = { .headers = x->headers };
          const char *loc = reg_response_header (&tmp, "location");
          char *next;
          if (loc == NULL)
            {
              rs->status = status;
              break;
            }
          if (++redirects > MAX_REDIRECTS)
            {
              xfer_reset_response (x);
              return rl_error (err, 0, "%s `%s`: too many redirects", method, url);
            }
          next = url_resolve (cur, loc);
          if (next == NULL)
            {
              xfer_reset_response (x);
              return rl_error (err, 0, "%s `%s`: invalid redirect to `%s`", method, cur, loc);
            }
          free (cur);
          cur = next;
          /* 303, and 301/302 for anything but GET/HEAD, become a GET. */
          if (status == 303 || ((status == 301 || status == 302) && strcmp (method, "HEAD") != 0))
            {
              method = strcmp (method, "HEAD") == 0 ? "HEAD" : "GET";
              x->len = 0;
            }
          continue;
        }
      /* The caller asked for the whole body and got it, in pieces. */
      rs->status = status == 206 && x->resumed_at > 0 ? 200 : status;
      break;
    }
  rs->body = steal_pointer (&x->buf);
  rs->body_len = x->buf_len;
  rs->headers = steal_pointer (&x->headers);
  rs->url = steal_pointer (&cur);
  xfer_reset_response (x);
  return 0;
}

/* GET /v2/: learn the scheme (https, or http when allowed and TLS is not
 * spoken) and the authentication the registry wants. */
static int
ping (struct reg_client *c, rl_error_t *err)
{
  struct xfer x = { .fd = -1, .max = JSON_MAX_SIZE };
  struct reg_response rs = { 0 };
  cleanup_free char *url = xasprintf ("%s/v2/", c->base);

  if (send_request (c, "GET", url, NULL, NULL, &x, &rs, err) < 0)
    {
      rl_error_t e2 = NULL;
      cleanup_free char *http = NULL;
      if (c->tls_verify)
        {
          /* Say what usually helps: a lab registry speaks plain HTTP, a
           * site registry has its own CA. */
          const char *hint = NULL;
          if (strstr ((*err)->msg, "wrong version number")
              || strstr ((*err)->msg, "packet length too long"))
            hint = "if it speaks plain HTTP: --tls-verify=false, or `insecure = true` for it in "
                   "rl.conf";
          else if (strstr ((*err)->msg, "certificate"))
            hint = "add its CA to the system's, or as containers/certs.d/HOST/ca.crt";
          if (hint)
            {
              cleanup_free char *m = xstrdup ((*err)->msg);
              rl_error_free (err);
              rl_error (err, 0, "%s (%s)", m, hint);
            }
          return -1;
        }
      /* --tls-verify=false and insecure registries may speak plain HTTP. */
      http = xasprintf ("http://%s/v2/", c->host);
      if (send_request (c, "GET", http, NULL, NULL, &x, &rs, &e2) < 0)
        {
          rl_error_free (&e2);
          return -1;
        }
      rl_error_free (err);
      free (c->base);
      c->base = xasprintf ("http://%s", c->host);
    }
  if (rs.status == 401)
    {
      int r = take_challenge (c, &rs, err);
      reg_response_clear (&rs);
      return r;
    }
  if (rs.status != 200)
    {
      long s = rs.status;
      reg_response_clear (&rs);
      return rl_error (err, 0, "%s: GET `%s/v2/`: HTTP status %ld (not a registry?)", c->registry,
                       c->base, s);
    }
  reg_response_clear (&rs);
  c->auth = AUTH_NONE;
  return 0;
}

static const char *
status_text (long s)
{
  switch (s)
    {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "";
    }
}

int
reg_request (struct reg_client *c, const struct reg_request *rq, struct reg_response *rs,
             rl_error_t *err)
{
  cleanup_free char *url = NULL;
  cleanup_free char *auth = NULL;
  struct xfer x = { 0 };
  bool retried_auth = false;

  memset (rs, 0, sizeof *rs);
  if (c->auth == AUTH_UNKNOWN && ping (c, err) < 0)
    return -1;
  if (str_has_prefix (rq->path, "http://") || str_has_prefix (rq->path, "https://"))
    url = xstrdup (rq->path);
  else if (rq->path[0] == '/' && str_has_prefix (rq->path, "/v2/"))
    url = xasprintf ("%s%s", c->base, rq->path);
  else
    url = xasprintf ("%s/v2/%s%s", c->base, c->repository, rq->path);

  for (;;)
    {
      x = (struct xfer){ .mem = rq->body,
                         .fd = rq->body_fd,
                         .offset = rq->body_offset,
                         .len = rq->body || rq->body_fd >= 0 ? rq->body_len : 0,
                         .sink = rq->sink,
                         .sink_arg = rq->sink_arg,
                         .max = rq->max_body ? rq->max_body : JSON_MAX_SIZE };
      /* A body from fd 0 is possible: body_fd counts only without body. */
      if (rq->body)
        x.fd = -1;
      free (auth);
      auth = NULL;
      if (auth_header (c, retried_auth, &auth, err) < 0)
        return -1;
      if (send_request (c, rq->method, url, rq->headers, auth, &x, rs, err) < 0)
        return -1;
      if (rs->status == 401 && !retried_auth && same_origin (rs->url, url))
        {
          /* An expired token, or the first request after a ping that
           * needed none: learn the challenge again and retry once. */
          if (take_challenge (c, rs, err) < 0)
            {
              reg_response_clear (rs);
              return -1;
            }
          reg_response_clear (rs);
          retried_auth = true;
          continue;
        }
      break;
    }
  if (rq->expect)
    {
      bool ok = false;
      for (const long *e = rq->expect; *e; e++)
        if (rs->status == *e)
          ok = true;
      if (!ok)
        {
          cleanup_free char *m = reg_error_message (rs->body, rs->body_len);
          long s = rs->status;
          reg_response_clear (rs);
          if ((s == 401 || s == 403) && c->user == NULL)
            return rl_error (err, 0, "%s `%s`: %ld %s%s%s (no credentials for %s: `rl login %s`)",
                             rq->method, url, s, status_text (s), m ? ": " : "", m ? m : "",
                             c->registry, c->registry);
          return rl_error (err, 0, "%s `%s`: %ld %s%s%s", rq->method, url, s, status_text (s),
                           m ? ": " : "", m ? m : "");
        }
    }
  return 0;
}

int
reg_client_check (struct reg_client *c, rl_error_t *err)
{
  static const long ok[] = { 200, 0 };
  struct reg_response rs = { 0 };
  struct reg_request rq = { .method = "GET", .path = "/v2/", .body_fd = -1, .expect = ok };

  if (c->auth == AUTH_UNKNOWN && ping (c, err) < 0)
    return -1;
  /* Basic registries answer the ping with 401: check with credentials. A
   * bearer registry proves them when it hands out a token. */
  if (c->auth == AUTH_BEARER)
    {
      cleanup_free char *auth = NULL;
      if (c->user == NULL)
        return rl_error (err, 0, "%s: no credentials to check", c->registry);
      if (auth_header (c, true, &auth, err) < 0)
        return -1;
    }
  if (reg_request (c, &rq, &rs, err) < 0)
    return -1;
  reg_response_clear (&rs);
  return 0;
}

int
reg_blob_exists (struct reg_client *c, const char *digest, bool *exists, uint64_t *size,
                 rl_error_t *err)
{
  static const long ok[] = { 200, 404, 0 };
  cleanup_free char *path = xasprintf ("/blobs/%s", digest);
  struct reg_request rq = { .method = "HEAD", .path = path, .body_fd = -1, .expect = ok };
  struct reg_response rs = { 0 };
  const char *cl;
  long long n;

  if (reg_request (c, &rq, &rs, err) < 0)
    return -1;
  *exists = rs.status == 200;
  if (size)
    {
      cl = reg_response_header (&rs, "content-length");
      *size = *exists && cl && parse_long (cl, 0, INT64_MAX, &n) ? (uint64_t)n : 0;
    }
  reg_response_clear (&rs);
  return 0;
}
