/* JSON helpers over yajl. */
#include "config.h"
#include "util/json.h"
#include "util/fs.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

void
cleanup_yajl_valp (yajl_val *v)
{
  if (*v)
    yajl_tree_free (*v);
}

void
cleanup_yajl_genp (yajl_gen *g)
{
  if (*g)
    yajl_gen_free (*g);
}

int
json_parse (const char *text, const char *what, yajl_val *out, rl_error_t *err)
{
  char ebuf[256];

  ebuf[0] = '\0';
  *out = yajl_tree_parse (text, ebuf, sizeof ebuf);
  if (*out == NULL)
    {
      char *nl = strchr (ebuf, '\n');
      if (nl)
        *nl = '\0';
      return rl_error (err, 0, "parse %s: %s", what, *ebuf ? ebuf : "invalid JSON");
    }
  return 0;
}

int
json_parse_file_at (int dirfd, const char *name, yajl_val *out, rl_error_t *err)
{
  cleanup_free char *text = NULL;
  cleanup_free char *what = NULL;

  if (read_file_at (dirfd, name, JSON_MAX_SIZE, &text, NULL, err) < 0)
    return -1;
  what = xasprintf ("`%s`", name);
  return json_parse (text, what, out, err);
}

yajl_val
json_get (yajl_val obj, const char *key)
{
  if (obj == NULL || !YAJL_IS_OBJECT (obj))
    return NULL;
  for (size_t i = 0; i < obj->u.object.len; i++)
    if (strcmp (obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

const char *
json_get_str (yajl_val obj, const char *key)
{
  yajl_val v = json_get (obj, key);
  return YAJL_IS_STRING (v) ? YAJL_GET_STRING (v) : NULL;
}

int64_t
json_get_int (yajl_val obj, const char *key, int64_t fallback)
{
  yajl_val v = json_get (obj, key);
  return YAJL_IS_INTEGER (v) ? YAJL_GET_INTEGER (v) : fallback;
}

bool
json_get_bool (yajl_val obj, const char *key, bool fallback)
{
  yajl_val v = json_get (obj, key);
  if (YAJL_IS_TRUE (v))
    return true;
  if (YAJL_IS_FALSE (v))
    return false;
  return fallback;
}

char **
json_get_strv (yajl_val obj, const char *key)
{
  yajl_val v = json_get (obj, key);
  char **r;

  if (!YAJL_IS_ARRAY (v))
    return NULL;
  r = xmalloc0 ((v->u.array.len + 1) * sizeof *r);
  for (size_t i = 0, j = 0; i < v->u.array.len; i++)
    if (YAJL_IS_STRING (v->u.array.values[i]))
      r[j++] = xstrdup (YAJL_GET_STRING (v->u.array.values[i]));
  return r;
}

yajl_gen
json_gen_new (bool pretty)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    abort ();
  yajl_gen_config (g, yajl_gen_beautify, pretty ? 1 : 0);
  if (pretty)
    yajl_gen_config (g, yajl_gen_indent_string, "    ");
  yajl_gen_config (g, yajl_gen_validate_utf8, 0);
  return g;
}

void
jg_str (yajl_gen g, const char *s)
{
  if (s == NULL)
    yajl_gen_null (g);
  else
    yajl_gen_string (g, (const unsigned char *)s, strlen (s));
}

void
jg_key (yajl_gen g, const char *key)
{
  jg_str (g, key);
}

void
jg_kstr (yajl_gen g, const char *key, const char *s)
{
  jg_key (g, key);
  jg_str (g, s);
}

void
jg_kint (yajl_gen g, const char *key, long long v)
{
  jg_key (g, key);
  yajl_gen_integer (g, v);
}

void
jg_kbool (yajl_gen g, const char *key, bool v)
{
  jg_key (g, key);
  yajl_gen_bool (g, v);
}

void
jg_kstrv (yajl_gen g, const char *key, char *const *v)
{
  jg_key (g, key);
  if (v == NULL)
    {
      yajl_gen_null (g);
      return;
    }
  yajl_gen_array_open (g);
  for (size_t i = 0; v[i]; i++)
    jg_str (g, v[i]);
  yajl_gen_array_close (g);
}

void
jg_value (yajl_gen g, yajl_val v)
{
  if (YAJL_IS_OBJECT (v))
    {
      yajl_gen_map_open (g);
      for (size_t i = 0; i < v->u.object.len; i++)
        {
          jg_key (g, v->u.object.keys[i]);
          jg_value (g, v->u.object.values[i]);
        }
      yajl_gen_map_close (g);
    }
  else if (YAJL_IS_ARRAY (v))
    {
      yajl_gen_array_open (g);
      for (size_t i = 0; i < v->u.array.len; i++)
        jg_value (g, v->u.array.values[i]);
      yajl_gen_array_close (g);
    }
  else if (YAJL_IS_STRING (v))
    jg_str (g, YAJL_GET_STRING (v));
  else if (YAJL_IS_NUMBER (v))
    yajl_gen_number (g, YAJL_GET_NUMBER (v), strlen (YAJL_GET_NUMBER (v)));
  else if (YAJL_IS_TRUE (v) || YAJL_IS_FALSE (v))
    yajl_gen_bool (g, YAJL_IS_TRUE (v));
  else
    yajl_gen_null (g);
}

char *
jg_finish (yajl_gen g, size_t *len)
{
  const unsigned char *buf;
  size_t l;

  yajl_gen_get_buf (g, &buf, &l);
  if (len)
    *len = l;
  return xstrndup ((const char *)buf, l);
}

void
jg_klabels (yajl_gen g, const char *key, char *const *labels)
{
  jg_key (g, key);
  yajl_gen_map_open (g);
  for (size_t i = 0; labels && labels[i]; i++)
    {
      const char *eq = strchr (labels[i], '=');
      cleanup_free char *k = eq ? xstrndup (labels[i], eq - labels[i]) : xstrdup (labels[i]);
      jg_kstr (g, k, eq ? eq + 1 : "");
    }
  yajl_gen_map_close (g);
}
