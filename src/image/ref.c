/* Parsing and normalizing image references (see ref.h for the grammar). */
#include "config.h"
#include "image/ref.h"
#include "image/digest.h"
#include "util/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_word (char c)
{
  return isascii ((unsigned char)c) && (isalnum ((unsigned char)c) || c == '_');
}

bool
ref_tag_valid (const char *s)
{
  size_t i;

  if (!is_word (s[0]))
    return false;
  for (i = 1; s[i]; i++)
    if (!is_word (s[i]) && s[i] != '.' && s[i] != '-')
      return false;
  return i <= REF_TAG_MAX;
}

/* One path component: alnum runs joined by one separator each, where a
 * separator is '.', '_', "__" or any run of '-'.  Returns a reason or NULL. */
static const char *
path_component_problem (const char *c, size_t n)
{
  size_t i = 0;

  if (n == 0)
    return "empty path component";
  for (size_t k = 0; k < n; k++)
    if (c[k] >= 'A' && c[k] <= 'Z')
      return "repository name must be lower-case";
  if (!is_lower_alnum (c[0]) || !is_lower_alnum (c[n - 1]))
    return "a path component must start and end with a lower-case letter or digit";
  while (i < n)
    {
      size_t sep = 0;
      while (i < n && is_lower_alnum (c[i]))
        i++;
      if (i == n)
        break;
      if (c[i] == '-')
        while (i + sep < n && c[i + sep] == '-')
          sep++;
      else if (c[i] == '_' && i + 1 < n && c[i + 1] == '_')
        sep = 2;
      else if (c[i] == '.' || c[i] == '_')
        sep = 1;
      else
        return "invalid character in repository name (allowed: a-z 0-9 . _ -)";
      i += sep;
      if (i >= n || !is_lower_alnum (c[i]))
        return "separators (. _ __ -) must stand between letters or digits";
    }
  return NULL;
}

/* host[.host...][:port] or [ipv6][:port]. */
static const char *
domain_problem (const char *d, size_t n)
{
  size_t i = 0, end = n;
  const char *colon = memchr (d, ':', n);

  if (n > 0 && d[0] == '[')
    {
      const char *rb = memchr (d, ']', n);
      if (rb == NULL || rb == d + 1)
        return "invalid IPv6 address in domain";
      for (const char *p = d + 1; p < rb; p++)
        if (!isxdigit ((unsigned char)*p) && *p != ':')
          return "invalid IPv6 address in domain";
      i = rb - d + 1;
      colon = i < n ? d + i : NULL;
      if (colon && *colon != ':')
        return "invalid domain";
      end = i;
      i = end;
    }
  else
    {
      if (colon)
        end = colon - d;
      /* Components of letters, digits and inner hyphens, joined by dots. */
      while (i < end)
        {
          size_t s = i;
          while (i < end && d[i] != '.')
            {
              if (!isascii ((unsigned char)d[i]) || !(isalnum ((unsigned char)d[i]) || d[i] == '-'))
                return "invalid character in domain";
              i++;
            }
          if (i == s || d[s] == '-' || d[i - 1] == '-')
            return "invalid domain component";
          if (i < end)
            {
              i++;
              if (i == end)
                return "domain ends with a dot";
            }
        }
      if (end == 0)
        return "empty domain";
    }
  if (colon)
    {
      const char *p = colon + 1;
      if (p == d + n)
        return "empty port";
      for (; p < d + n; p++)
        if (!isdigit ((unsigned char)*p))
          return "port must be a number";
      if (n - (colon + 1 - d) > 5)
        return "port out of range";
    }
  return NULL;
}

static bool
first_is_domain (const char *c, size_t n)
{
  if (n == strlen (REF_LOCAL_DOMAIN) && strncmp (c, REF_LOCAL_DOMAIN, n) == 0)
    return true;
  for (size_t i = 0; i < n; i++)
    if (c[i] == '.' || c[i] == ':' || (c[i] >= 'A' && c[i] <= 'Z') || c[i] == '[')
      return true;
  return false;
}

int
ref_parse (const char *s, struct rl_ref *r, rl_error_t *err)
{
  cleanup_free char *name = NULL;
  const char *at, *slash, *colon, *path, *why = NULL;
  char *tag = NULL;

  memset (r, 0, sizeof *r);
  if (s == NULL || *s == '\0')
    return rl_error (err, 0, "invalid reference ``: empty name");
  if (sha256_hex_valid (s))
    return rl_error (
        err, 0, "invalid reference `%s`: a 64-character hex string is an image id, not a name", s);
  at = strchr (s, '@');
  name = at ? xstrndup (s, at - s) : xstrdup (s);
  if (at)
    {
      rl_error_t e2 = NULL;
      if (digest_hex (at + 1, "", &e2) == NULL)
        {
          rl_error_free (&e2);
          return rl_error (err, 0,
                           "invalid reference `%s`: invalid digest `%s` (expected sha256:<64 hex>)",
                           s, at + 1);
        }
    }
  /* A tag is after the last ':' that follows the last '/' (a ':' before
   * that belongs to a domain's port). */
  slash = strrchr (name, '/');
  colon = strrchr (slash ? slash : name, ':');
  if (colon)
    {
      tag = (char *)colon + 1;
      if (*tag == '\0')
        return rl_error (err, 0, "invalid reference `%s`: empty tag", s);
      if (!ref_tag_valid (tag))
        return rl_error (err, 0,
                         "invalid reference `%s`: invalid tag `%s` (letters, digits, _ . -, "
                         "not starting with . or -, at most %d characters)",
                         s, tag, REF_TAG_MAX);
      *(char *)colon = '\0';
    }
  if (*name == '\0')
    return rl_error (err, 0, "invalid reference `%s`: empty name", s);
  if (strlen (name) > REF_NAME_MAX)
    return rl_error (err, 0, "invalid reference `%.40s...`: name longer than %d characters", s,
                     REF_NAME_MAX);
  path = name;
  slash = strchr (name, '/');
  if (slash && first_is_domain (name, slash - name))
    {
      why = domain_problem (name, slash - name);
      if (why)
        return rl_error (err, 0, "invalid reference `%s`: %s", s, why);
      r->domain = xstrndup (name, slash - name);
      path = slash + 1;
    }
  for (const char *c = path;;)
    {
      const char *e = strchr (c, '/');
      size_t n = e ? (size_t)(e - c) : strlen (c);
      why = path_component_problem (c, n);
      if (why)
        {
          ref_clear (r);
          return rl_error (err, 0, "invalid reference `%s`: %s", s, why);
        }
      if (e == NULL)
        break;
      c = e + 1;
    }
  r->path = xstrdup (path);
  r->tag = tag ? xstrdup (tag) : NULL;
  r->digest = at ? xstrdup (at + 1) : NULL;
  return 0;
}

void
ref_clear (struct rl_ref *r)
{
  free (r->domain);
  free (r->path);
  free (r->tag);
  free (r->digest);
  memset (r, 0, sizeof *r);
}

void
ref_normalize (struct rl_ref *r, const char *default_domain)
{
  if (r->domain == NULL)
    r->domain = xstrdup (default_domain);
  if (strcmp (r->domain, "index.docker.io") == 0 || strcmp (r->domain, "registry-1.docker.io") == 0)
    {
      free (r->domain);
      r->domain = xstrdup (REF_DEFAULT_DOMAIN);
    }
  /* Official images live under library/ on Docker Hub. */
  if (strcmp (r->domain, REF_DEFAULT_DOMAIN) == 0 && strchr (r->path, '/') == NULL)
    {
      char *p = xasprintf ("library/%s", r->path);
      free (r->path);
      r->path = p;
    }
  if (r->tag == NULL && r->digest == NULL)
    r->tag = xstrdup (REF_DEFAULT_TAG);
}

char *
ref_repository (const struct rl_ref *r)
{
  if (r->domain == NULL)
    return xstrdup (r->path);
  return xasprintf ("%s/%s", r->domain, r->path);
}

char *
ref_format (const struct rl_ref *r)
{
  cleanup_free char *repo = ref_repository (r);
  return xasprintf ("%s%s%s%s%s", repo, r->tag ? ":" : "", r->tag ? r->tag : "",
                    r->digest ? "@" : "", r->digest ? r->digest : "");
}

int
ref_local_name (const char *s, char **out, rl_error_t *err)
{
  cleanup_ref struct rl_ref r = { 0 };

  if (ref_parse (s, &r, err) < 0)
    return -1;
  if (r.digest)
    return rl_error (err, 0, "invalid name `%s`: a new image cannot be named by digest", s);
  ref_normalize (&r, REF_LOCAL_DOMAIN);
  *out = ref_format (&r);
  return 0;
}

int
ref_lookup_names (const char *s, char ***out, rl_error_t *err)
{
  cleanup_ref struct rl_ref r = { 0 };
  cleanup_strv char **names = NULL;

  if (ref_parse (s, &r, err) < 0)
    return -1;
  if (r.domain)
    {
      ref_normalize (&r, REF_DEFAULT_DOMAIN);
      strv_add_take (&names, ref_format (&r));
    }
  else
    {
      static const char *const domains[] = { REF_LOCAL_DOMAIN, REF_DEFAULT_DOMAIN };
      for (size_t i = 0; i < ARRAY_SIZE (domains); i++)
        {
          struct rl_ref c = { NULL, xstrdup (r.path), r.tag ? xstrdup (r.tag) : NULL,
                              r.digest ? xstrdup (r.digest) : NULL };
          ref_normalize (&c, domains[i]);
          strv_add_take (&names, ref_format (&c));
          ref_clear (&c);
        }
    }
  *out = steal_pointer (&names);
  return 0;
}
