/* rl.conf: a small INI-like file (see config.h and rl.conf(5)). */
#include "config.h"
#include "config/config.h"
#include "image/ref.h"
#include "util/fs.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

/* rl.conf is a few lines; anything this large is not one. */
#define CONFIG_MAX_SIZE (1024 * 1024)

enum section
{
  SEC_NONE,
  SEC_REGISTRIES,
  SEC_ALIASES,
  SEC_REGISTRY,
  SEC_PLATFORM,
};

void
config_clear (struct rl_config *c)
{
  strv_free (c->search);
  strv_free (c->alias_names);
  strv_free (c->alias_refs);
  for (size_t i = 0; i < c->n_registries; i++)
    {
      free (c->registries[i].host);
      strv_free (c->registries[i].mirrors);
    }
  free (c->registries);
  free (c->platform);
  strv_free (c->files);
  memset (c, 0, sizeof *c);
}

static char *
trim (char *s)
{
  char *e;

  while (*s == ' ' || *s == '\t')
    s++;
  e = s + strlen (s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
    *--e = '\0';
  return s;
}

/* "a, b ,c" -> strv; an empty item is an error (a stray comma is a typo);
 * an empty value is an empty list. */
static int
split_list (const char *v, char ***out, const char *where, rl_error_t *err)
{
  cleanup_strv char **items = xmalloc0 (sizeof (char *));
  cleanup_free char *copy = xstrdup (v);
  char *p = copy;

  while (*v)
    {
      char *comma = strchr (p, ',');
      char *tok;

      if (comma)
        *comma = '\0';
      tok = trim (p);
      if (*tok == '\0')
        return rl_error (err, 0, "%s: empty item in list `%s`", where, v);
      strv_add (&items, tok);
      if (comma == NULL)
        break;
      p = comma + 1;
    }
  *out = steal_pointer (&items);
  return 0;
}

/* A registry as references spell their domain: reuse the reference parser
 * on "HOST/x" so that rl.conf accepts exactly the hosts a reference can. */
static int
check_host (const char *h, const char *where, rl_error_t *err)
{
  cleanup_ref struct rl_ref r = { 0 };
  cleanup_free char *s = xasprintf ("%s/x", h);
  rl_error_t e = NULL;

  if (ref_parse (s, &r, &e) < 0 || r.domain == NULL || strcmp (r.domain, h) != 0)
    {
      rl_error_free (&e);
      return rl_error (err, 0, "%s: invalid registry `%s` (expected HOST[:PORT])", where, h);
    }
  return 0;
}

static bool
is_simple_word (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!isascii ((unsigned char)*s) || !(isalnum ((unsigned char)*s) || *s == '_' || *s == '-'))
      return false;
  return true;
}

int
platform_parse (const char *s, char **os, char **arch, char **variant, rl_error_t *err)
{
  cleanup_free char *copy = xstrdup (s);
  char *parts[4] = { 0 };
  size_t n = 0;
  char *p = copy;

  for (;;)
    {
      char *slash = strchr (p, '/');
      if (n == 3)
        return rl_error (err, 0, "invalid platform `%s` (expected OS/ARCH[/VARIANT])", s);
      parts[n++] = p;
      if (slash == NULL)
        break;
      *slash = '\0';
      p = slash + 1;
    }
  if (n < 2)
    return rl_error (err, 0, "invalid platform `%s` (expected OS/ARCH[/VARIANT])", s);
  for (size_t i = 0; i < n; i++)
    if (!is_simple_word (parts[i]))
      return rl_error (err, 0, "invalid platform `%s` (expected OS/ARCH[/VARIANT])", s);
  *os = xstrdup (parts[0]);
  *arch = xstrdup (parts[1]);
  *variant = n == 3 ? xstrdup (parts[2]) : NULL;
  return 0;
}

static bool
parse_bool (const char *v, bool *out)
{
  if (strcmp (v, "true") == 0 || strcmp (v, "yes") == 0 || strcmp (v, "1") == 0)
    *out = true;
  else if (strcmp (v, "false") == 0 || strcmp (v, "no") == 0 || strcmp (v, "0") == 0)
    *out = false;
  else
    return false;
  return true;
}

static struct rl_registry_conf *
registry_get (struct rl_config *c, const char *host)
{
  struct rl_registry_conf *r;

  for (size_t i = 0; i < c->n_registries; i++)
    if (strcmp (c->registries[i].host, host) == 0)
      return &c->registries[i];
  c->registries = xrealloc (c->registries, (c->n_registries + 1) * sizeof *c->registries);
  r = &c->registries[c->n_registries++];
  memset (r, 0, sizeof *r);
  r->host = xstrdup (host);
  return r;
}

const struct rl_registry_conf *
config_registry (const struct rl_config *c, const char *host)
{
  for (size_t i = 0; i < c->n_registries; i++)
    if (strcmp (c->registries[i].host, host) == 0)
      return &c->registries[i];
  return NULL;
}

/* `[registry "HOST"]` -> HOST, or NULL when the header is not of that form. */
static char *
registry_section_host (const char *hdr)
{
  const char *q1, *q2;

  if (!str_has_prefix (hdr, "registry"))
    return NULL;
  q1 = hdr + strlen ("registry");
  while (*q1 == ' ' || *q1 == '\t')
    q1++;
  if (*q1 != '"')
    return NULL;
  q2 = strchr (q1 + 1, '"');
  if (q2 == NULL || q2[1] != '\0')
    return NULL;
  return xstrndup (q1 + 1, q2 - q1 - 1);
}

static int
set_alias (struct rl_config *c, const char *name, const char *ref, const char *where,
           rl_error_t *err)
{
  cleanup_ref struct rl_ref r = { 0 };

  if (ref_parse (name, &r, err) < 0)
    return rl_error_wrap (err, "%s: alias", where);
  if (r.domain || r.tag || r.digest)
    return rl_error (err, 0, "%s: alias `%s`: an alias is a short name without tag or digest",
                     where, name);
  ref_clear (&r);
  if (ref_parse (ref, &r, err) < 0)
    return rl_error_wrap (err, "%s: alias %s", where, name);
  if (r.domain == NULL)
    return rl_error (err, 0, "%s: alias %s: `%s` must name its registry (HOST/PATH)", where, name,
                     ref);
  for (size_t i = 0; c->alias_names && c->alias_names[i]; i++)
    if (strcmp (c->alias_names[i], name) == 0)
      {
        free (c->alias_refs[i]);
        c->alias_refs[i] = xstrdup (ref);
        return 0;
      }
  strv_add (&c->alias_names, name);
  strv_add (&c->alias_refs, ref);
  return 0;
}

static int
set_key (struct rl_config *c, enum section sec, const char *reg, const char *key, const char *val,
         const char *where, rl_error_t *err)
{
  switch (sec)
    {
    case SEC_NONE:
      return rl_error (err, 0, "%s: `%s` outside of any section", where, key);
    case SEC_REGISTRIES:
      if (strcmp (key, "search") == 0)
        {
          char **v = NULL;
          if (split_list (val, &v, where, err) < 0)
            return -1;
          for (size_t i = 0; v[i]; i++)
            if (check_host (v[i], where, err) < 0)
              {
                strv_free (v);
                return -1;
              }
          strv_free (c->search);
          c->search = v;
          return 0;
        }
      break;
    case SEC_ALIASES:
      return set_alias (c, key, val, where, err);
    case SEC_REGISTRY:
      if (strcmp (key, "mirrors") == 0)
        {
          struct rl_registry_conf *r;
          char **v = NULL;
          if (split_list (val, &v, where, err) < 0)
            return -1;
          for (size_t i = 0; v[i]; i++)
            if (check_host (v[i], where, err) < 0)
              {
                strv_free (v);
                return -1;
              }
          r = registry_get (c, reg);
          strv_free (r->mirrors);
          r->mirrors = v;
          return 0;
        }
      if (strcmp (key, "insecure") == 0)
        {
          bool b;
          if (!parse_bool (val, &b))
            return rl_error (err, 0, "%s: insecure: expected true or false, not `%s`", where, val);
          registry_get (c, reg)->insecure = b;
          return 0;
        }
      break;
    case SEC_PLATFORM:
      if (strcmp (key, "default") == 0)
        {
          char *os = NULL, *arch = NULL, *variant = NULL;
          if (platform_parse (val, &os, &arch, &variant, err) < 0)
            return rl_error_wrap (err, "%s", where);
          free (os);
          free (arch);
          free (variant);
          free (c->platform);
          c->platform = xstrdup (val);
          return 0;
        }
      break;
    }
  return rl_error (err, 0, "%s: unknown key `%s`", where, key);
}

int
config_parse (const char *text, const char *what, struct rl_config *c, rl_error_t *err)
{
  cleanup_free char *copy = xstrdup (text);
  cleanup_free char *reg = NULL;
  cleanup_strv char **seen = NULL; /* "section\nkey" of this file, for repeats */
  enum section sec = SEC_NONE;
  char *line = copy;
  int lineno = 0;

  while (line)
    {
      cleanup_free char *where = NULL;
      cleanup_free char *seen_key = NULL;
      char *next = strchr (line, '\n');
      char *s, *eq, *key, *val;

      if (next)
        *next++ = '\0';
      lineno++;
      where = xasprintf ("%s:%d", what, lineno);
      s = trim (line);
      line = next;
      if (*s == '\0' || *s == '#' || *s == ';')
        continue;
      if (*s == '[')
        {
          char *end = s + strlen (s) - 1;
          if (*end != ']')
            return rl_error (err, 0, "%s: section header without `]`", where);
          *end = '\0';
          s = trim (s + 1);
          free (reg);
          reg = NULL;
          if (strcmp (s, "registries") == 0)
            sec = SEC_REGISTRIES;
          else if (strcmp (s, "aliases") == 0)
            sec = SEC_ALIASES;
          else if (strcmp (s, "platform") == 0)
            sec = SEC_PLATFORM;
          else if ((reg = registry_section_host (s)) != NULL)
            {
              if (check_host (reg, where, err) < 0)
                return -1;
              sec = SEC_REGISTRY;
            }
          else
            return rl_error (err, 0,
                             "%s: unknown section `[%s]` (registries, aliases, registry \"HOST\", "
                             "platform)",
                             where, s);
          continue;
        }
      eq = strchr (s, '=');
      if (eq == NULL)
        return rl_error (err, 0, "%s: expected KEY = VALUE, got `%s`", where, s);
      *eq = '\0';
      key = trim (s);
      val = trim (eq + 1);
      if (*key == '\0')
        return rl_error (err, 0, "%s: empty key", where);
      seen_key = xasprintf ("%d\n%s\n%s", (int)sec, reg ? reg : "", key);
      if (strv_contains (seen, seen_key))
        return rl_error (err, 0, "%s: `%s` set twice in this section", where, key);
      strv_add (&seen, seen_key);
      if (set_key (c, sec, reg, key, val, where, err) < 0)
        return -1;
    }
  return 0;
}

/* Read one file into c; a missing file is fine unless must_exist. */
static int
config_read_file (const char *path, bool must_exist, struct rl_config *c, rl_error_t *err)
{
  cleanup_free char *text = NULL;
  size_t len;

  if (read_file_at (AT_FDCWD, path, CONFIG_MAX_SIZE, &text, &len, err) < 0)
    {
      if (!must_exist && (*err)->errnum == ENOENT)
        {
          rl_error_free (err);
          return 0;
        }
      return -1;
    }
  if (memchr (text, '\0', len))
    return rl_error (err, 0, "%s: not a text file", path);
  strv_add (&c->files, path);
  return config_parse (text, path, c, err);
}

static char *
user_config_path (void)
{
  const char *x = getenv ("XDG_CONFIG_HOME");
  const char *home = getenv ("HOME");

  if (x && *x == '/')
    return xasprintf ("%s/rl/rl.conf", x);
  if (home && *home)
    return xasprintf ("%s/.config/rl/rl.conf", home);
  return NULL;
}

int
config_load (const char *path, struct rl_config *c, rl_error_t *err)
{
  cleanup_free char *user = NULL;
  const char *env = getenv ("RL_CONFIG");

  memset (c, 0, sizeof *c);
  if (path == NULL && env && *env)
    path = env;
  if (path)
    return config_read_file (path, true, c, err);
  if (config_read_file (CONFIG_SYSTEM_PATH, false, c, err) < 0)
    return -1;
  user = user_config_path ();
  if (user && config_read_file (user, false, c, err) < 0)
    return -1;
  return 0;
}

int
config_resolve_name (const struct rl_config *c, const char *s, char ***out, rl_error_t *err)
{
  cleanup_ref struct rl_ref r = { 0 };
  cleanup_strv char **names = xmalloc0 (sizeof (char *));

  if (ref_parse (s, &r, err) < 0)
    return -1;
  if (r.domain)
    {
      ref_normalize (&r, REF_DEFAULT_DOMAIN);
      strv_add_take (&names, ref_format (&r));
      *out = steal_pointer (&names);
      return 0;
    }
  for (size_t i = 0; c->alias_names && c->alias_names[i]; i++)
    if (strcmp (c->alias_names[i], r.path) == 0)
      {
        cleanup_ref struct rl_ref a = { 0 };
        if (ref_parse (c->alias_refs[i], &a, err) < 0)
          return rl_error_wrap (err, "alias %s", r.path);
        /* The tag or digest given wins over the alias's own. */
        if (r.tag || r.digest)
          {
            free (a.tag);
            free (a.digest);
            a.tag = r.tag ? xstrdup (r.tag) : NULL;
            a.digest = r.digest ? xstrdup (r.digest) : NULL;
          }
        ref_normalize (&a, REF_DEFAULT_DOMAIN);
        strv_add_take (&names, ref_format (&a));
        *out = steal_pointer (&names);
        return 0;
      }
  if (c->search == NULL || c->search[0] == NULL)
    {
      ref_normalize (&r, REF_DEFAULT_DOMAIN);
      strv_add_take (&names, ref_format (&r));
    }
  else
    for (size_t i = 0; c->search[i]; i++)
      {
        struct rl_ref x = { NULL, xstrdup (r.path), r.tag ? xstrdup (r.tag) : NULL,
                            r.digest ? xstrdup (r.digest) : NULL };
        ref_normalize (&x, c->search[i]);
        strv_add_take (&names, ref_format (&x));
        ref_clear (&x);
      }
  *out = steal_pointer (&names);
  return 0;
}
