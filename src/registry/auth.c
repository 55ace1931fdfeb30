/* Credentials files (Podman's auth.json, Docker's config.json), base64 and
 * WWW-Authenticate challenges. */
#include "config.h"
#include "registry/auth.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
base64_encode (const void *data, size_t len)
{
  const unsigned char *p = data;
  char *out = xmalloc ((len + 2) / 3 * 4 + 1);
  char *o = out;

  for (size_t i = 0; i < len; i += 3)
    {
      unsigned v = p[i] << 16;
      if (i + 1 < len)
        v |= p[i + 1] << 8;
      if (i + 2 < len)
        v |= p[i + 2];
      *o++ = b64_chars[(v >> 18) & 63];
      *o++ = b64_chars[(v >> 12) & 63];
      *o++ = i + 1 < len ? b64_chars[(v >> 6) & 63] : '=';
      *o++ = i + 2 < len ? b64_chars[v & 63] : '=';
    }
  *o = '\0';
  return out;
}

int
base64_decode (const char *s, char **out, size_t *len)
{
  size_t n = strlen (s), k = 0;
  cleanup_free char *buf = NULL;

  if (n % 4 != 0)
    return -1;
  buf = xmalloc (n / 4 * 3 + 1);
  for (size_t i = 0; i < n; i += 4)
    {
      unsigned v = 0;
      int pad = 0;
      for (int j = 0; j < 4; j++)
        {
          const char *c = s[i + j] ? strchr (b64_chars, s[i + j]) : NULL;
          /* Padding only at the very end, at most two. */
          if (s[i + j] == '=' && i + 4 == n && j >= 2 && (j == 3 || s[i + 3] == '='))
            {
              pad++;
              v <<= 6;
              continue;
            }
          if (c == NULL || pad)
            return -1;
          v = (v << 6) | (unsigned)(c - b64_chars);
        }
      buf[k++] = v >> 16;
      if (pad < 2)
        buf[k++] = (v >> 8) & 0xff;
      if (pad < 1)
        buf[k++] = v & 0xff;
    }
  buf[k] = '\0';
  *len = k;
  *out = steal_pointer (&buf);
  return 0;
}

char *
auth_file_path (void)
{
  const char *env = getenv ("REGISTRY_AUTH_FILE");
  const char *xdg = getenv ("XDG_RUNTIME_DIR");

  if (env && *env)
    return xstrdup (env);
  if (xdg && *xdg)
    return xasprintf ("%s/containers/auth.json", xdg);
  /* Podman's own fallback, so that both tools share one file. */
  return xasprintf ("/run/containers/%u/auth.json", (unsigned)getuid ());
}

/* Read and parse a credentials file; *root NULL (and 0) when missing. */
static int
auth_read (const char *path, yajl_val *root, rl_error_t *err)
{
  cleanup_free char *text = NULL;
  cleanup_free char *what = NULL;

  *root = NULL;
  if (read_file_at (AT_FDCWD, path, JSON_MAX_SIZE, &text, NULL, err) < 0)
    {
      /* EACCES: /run/containers/UID of another user, or not ours to read
       * (Podman's fallback without XDG_RUNTIME_DIR): no credentials. */
      if ((*err)->errnum == ENOENT || (*err)->errnum == ENOTDIR || (*err)->errnum == EACCES)
        {
          rl_error_free (err);
          return 0;
        }
      return -1;
    }
  what = xasprintf ("credentials file `%s`", path);
  if (json_parse (text, what, root, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (*root))
    {
      yajl_tree_free (*root);
      *root = NULL;
      return rl_error (err, 0, "parse %s: not a JSON object", what);
    }
  return 0;
}

/* Docker writes keys as URLs ("https://index.docker.io/v1/"): the host and
 * path they name, as a reference would spell them. */
static char *
normalize_key (const char *key)
{
  const char *k = key;
  char *out;
  size_t n;

  if (str_has_prefix (k, "https://"))
    k += strlen ("https://");
  else if (str_has_prefix (k, "http://"))
    k += strlen ("http://");
  out = xstrdup (k);
  n = strlen (out);
  while (n > 0 && out[n - 1] == '/')
    out[--n] = '\0';
  if (str_has_prefix (out, "index.docker.io") || str_has_prefix (out, "registry-1.docker.io"))
    {
      char *r = xstrdup ("docker.io");
      free (out);
      return r;
    }
  /* "host/v1" and "host/v2" are API paths, not namespaces. */
  if (str_has_suffix (out, "/v1") || str_has_suffix (out, "/v2"))
    out[n - 3] = '\0';
  return out;
}

static int
decode_entry (yajl_val entry, const char *path, const char *key, char **user, char **pass,
              rl_error_t *err)
{
  const char *auth = json_get_str (entry, "auth");
  cleanup_free char *plain = NULL;
  size_t len;
  char *colon;

  if (auth == NULL || *auth == '\0')
    return 0;
  if (base64_decode (auth, &plain, &len) < 0 || memchr (plain, '\0', len)
      || (colon = strchr (plain, ':')) == NULL)
    return rl_error (err, 0, "credentials file `%s`: entry `%s`: invalid `auth` value", path, key);
  *user = xstrndup (plain, colon - plain);
  *pass = xstrdup (colon + 1);
  return 1;
}

int
auth_lookup_file (const char *path, const char *registry, const char *repository, char **user,
                  char **pass, rl_error_t *err)
{
  cleanup_json yajl_val root = NULL;
  cleanup_free char *want = NULL;
  yajl_val auths;
  yajl_val best = NULL;
  const char *best_key = NULL;
  size_t best_len = 0;

  *user = *pass = NULL;
  if (auth_read (path, &root, err) < 0)
    return -1;
  auths = json_get (root, "auths");
  if (!YAJL_IS_OBJECT (auths))
    return 0;
  want = repository ? xasprintf ("%s/%s", registry, repository) : xstrdup (registry);
  /* The longest key that is want itself or one of its namespaces. */
  for (size_t i = 0; i < auths->u.object.len; i++)
    {
      cleanup_free char *k = normalize_key (auths->u.object.keys[i]);
      size_t n = strlen (k);
      if (strncmp (want, k, n) != 0 || (want[n] != '\0' && want[n] != '/'))
        continue;
      if (best == NULL || n > best_len)
        {
          best = auths->u.object.values[i];
          best_key = auths->u.object.keys[i];
          best_len = n;
        }
    }
  if (best == NULL)
    return 0;
  return decode_entry (best, path, best_key, user, pass, err);
}

static char *
home_path (const char *rel)
{
  const char *home = getenv ("HOME");
  return home && *home ? xasprintf ("%s/%s", home, rel) : NULL;
}

int
auth_lookup (const char *registry, const char *repository, char **user, char **pass,
             rl_error_t *err)
{
  cleanup_free char *primary = auth_file_path ();
  cleanup_free char *config_home = NULL;
  cleanup_free char *docker = home_path (".docker/config.json");
  const char *xdg = getenv ("XDG_CONFIG_HOME");
  const char *files[3];
  int r;

  if (xdg && *xdg == '/')
    config_home = xasprintf ("%s/containers/auth.json", xdg);
  else
    config_home = home_path (".config/containers/auth.json");
  files[0] = primary;
  files[1] = config_home;
  files[2] = docker;
  for (size_t i = 0; i < ARRAY_SIZE (files); i++)
    {
      if (files[i] == NULL)
        continue;
      r = auth_lookup_file (files[i], registry, repository, user, pass, err);
      if (r != 0)
        return r;
    }
  return 0;
}

/* Rewrite path with the entry key replaced by new_auth (NULL: removed, or
 * every entry when key is NULL too). */
static int
auth_rewrite (const char *path, const char *key, const char *new_auth, bool *changed,
              rl_error_t *err)
{
  cleanup_json yajl_val root = NULL;
  cleanup_gen yajl_gen g = json_gen_new (true);
  cleanup_free char *text = NULL;
  cleanup_free char *dir = xstrdup (path);
  char *slash = strrchr (dir, '/');
  yajl_val auths;
  size_t len;

  *changed = false;
  if (auth_read (path, &root, err) < 0)
    return -1;
  auths = json_get (root, "auths");
  yajl_gen_map_open (g);
  for (size_t i = 0; root && i < root->u.object.len; i++)
    if (strcmp (root->u.object.keys[i], "auths") != 0)
      {
        jg_key (g, root->u.object.keys[i]);
        jg_value (g, root->u.object.values[i]);
      }
  jg_key (g, "auths");
  yajl_gen_map_open (g);
  for (size_t i = 0; YAJL_IS_OBJECT (auths) && i < auths->u.object.len; i++)
    {
      const char *k = auths->u.object.keys[i];
      if (key == NULL || strcmp (k, key) == 0)
        {
          *changed = true;
          continue;
        }
      jg_key (g, k);
      jg_value (g, auths->u.object.values[i]);
    }
  if (new_auth)
    {
      jg_key (g, key);
      yajl_gen_map_open (g);
      jg_kstr (g, "auth", new_auth);
      yajl_gen_map_close (g);
      *changed = true;
    }
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
  if (!*changed)
    return 0;
  text = jg_finish (g, &len);
  if (slash && slash != dir)
    {
      *slash = '\0';
      if (mkdir_p_at (AT_FDCWD, dir, 0700, err) < 0)
        return -1;
    }
  return write_file_atomic (AT_FDCWD, path, text, len, 0600, err);
}

int
auth_store (const char *path, const char *key, const char *user, const char *pass, rl_error_t *err)
{
  cleanup_free char *plain = xasprintf ("%s:%s", user, pass);
  cleanup_free char *enc = base64_encode (plain, strlen (plain));
  bool changed;

  explicit_bzero (plain, strlen (plain));
  return auth_rewrite (path, key, enc, &changed, err);
}

int
auth_remove (const char *path, const char *key, bool *removed, rl_error_t *err)
{
  return auth_rewrite (path, key, NULL, removed, err);
}

void
auth_challenge_clear (struct auth_challenge *c)
{
  free (c->scheme);
  free (c->realm);
  free (c->service);
  free (c->scope);
  free (c->error);
  memset (c, 0, sizeof *c);
}

/* RFC 7235 auth-params: name=token or name="quoted\"string", comma-separated. */
int
auth_challenge_parse (const char *header, struct auth_challenge *c, rl_error_t *err)
{
  const char *p = header;
  const char *s;

  memset (c, 0, sizeof *c);
  while (*p == ' ' || *p == '\t')
    p++;
  s = p;
  while (*p && *p != ' ' && *p != '\t')
    p++;
  if (p == s)
    return rl_error (err, 0, "invalid WWW-Authenticate header `%s`: no scheme", header);
  c->scheme = xstrndup (s, p - s);
  for (char *q = c->scheme; *q; q++)
    *q = tolower ((unsigned char)*q);
  for (;;)
    {
      cleanup_free char *name = NULL;
      cleanup_free char *value = NULL;
      char **slot = NULL;

      while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
      if (*p == '\0')
        break;
      s = p;
      while (*p && *p != '=' && *p != ' ' && *p != ',')
        p++;
      if (*p != '=' || p == s)
        {
          auth_challenge_clear (c);
          return rl_error (err, 0, "invalid WWW-Authenticate header `%s`: expected NAME=VALUE",
                           header);
        }
      name = xstrndup (s, p - s);
      p++;
      if (*p == '"')
        {
          size_t n = 0;
          value = xmalloc (strlen (p));
          for (p++; *p && *p != '"'; p++)
            {
              if (*p == '\\' && p[1])
                p++;
              value[n++] = *p;
            }
          if (*p != '"')
            {
              auth_challenge_clear (c);
              return rl_error (err, 0, "invalid WWW-Authenticate header `%s`: unterminated quote",
                               header);
            }
          value[n] = '\0';
          p++;
        }
      else
        {
          s = p;
          while (*p && *p != ',' && *p != ' ')
            p++;
          value = xstrndup (s, p - s);
        }
      if (strcasecmp (name, "realm") == 0)
        slot = &c->realm;
      else if (strcasecmp (name, "service") == 0)
        slot = &c->service;
      else if (strcasecmp (name, "scope") == 0)
        slot = &c->scope;
      else if (strcasecmp (name, "error") == 0)
        slot = &c->error;
      if (slot)
        {
          free (*slot);
          *slot = steal_pointer (&value);
        }
    }
  if (strcmp (c->scheme, "bearer") == 0 && (c->realm == NULL || *c->realm == '\0'))
    {
      auth_challenge_clear (c);
      return rl_error (err, 0, "invalid WWW-Authenticate header `%s`: bearer without realm",
                       header);
    }
  return 0;
}
