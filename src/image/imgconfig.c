/* New image configs and `--change` instructions (see imgconfig.h). */
#include "config.h"
#include "image/imgconfig.h"
#include "util/json.h"
#include "util/util.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void
config_edit_init (struct rl_config_edit *e)
{
  memset (e, 0, sizeof *e);
  /* Podman leaves an imported image's Env empty; a PATH lets `rl run bb sh`
   * find sh, and ENV PATH=... replaces it. */
  strv_add (&e->env, DEFAULT_PATH);
}

void
config_edit_clear (struct rl_config_edit *e)
{
  strv_free (e->env);
  strv_free (e->entrypoint);
  strv_free (e->cmd);
  strv_free (e->exposed);
  strv_free (e->labels);
  strv_free (e->volumes);
  free (e->user);
  free (e->workdir);
  free (e->stop_signal);
  memset (e, 0, sizeof *e);
}

/* Set "K=V" in v, replacing an entry with the same K in place (so the
 * order stays the one the user first gave, as Docker keeps it). */
static void
kv_set (char ***v, const char *key, const char *value)
{
  size_t klen = strlen (key);
  char *kv = xasprintf ("%s=%s", key, value);

  for (size_t i = 0; *v && (*v)[i]; i++)
    if (strncmp ((*v)[i], key, klen) == 0 && (*v)[i][klen] == '=')
      {
        free ((*v)[i]);
        (*v)[i] = kv;
        return;
      }
  strv_add_take (v, kv);
}

static const char *
skip_space (const char *s)
{
  while (*s && isspace ((unsigned char)*s))
    s++;
  return s;
}

/* Split s into words as a Dockerfile does for ENV and LABEL: blanks
 * separate, "..." quotes (\" and \\ escaped inside), '...' quotes
 * literally, a backslash outside quotes takes the next character as is. */
static int
split_words (const char *s, const char *what, char ***out, rl_error_t *err)
{
  cleanup_strv char **words = NULL;

  *out = NULL;
  for (s = skip_space (s); *s; s = skip_space (s))
    {
      cleanup_free char *w = xmalloc (strlen (s) + 1);
      size_t n = 0;

      while (*s && !isspace ((unsigned char)*s))
        {
          char q = *s;
          if (q == '\\' && s[1])
            {
              w[n++] = s[1];
              s += 2;
              continue;
            }
          if (q != '"' && q != '\'')
            {
              w[n++] = *s++;
              continue;
            }
          for (s++; *s && *s != q; s++)
            {
              if (q == '"' && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
                s++;
              w[n++] = *s;
            }
          if (*s != q)
            return rl_error (err, 0, "%s: unterminated %s quote", what,
                             q == '"' ? "double" : "single");
          s++;
        }
      w[n] = '\0';
      strv_add_take (&words, steal_pointer (&w));
    }
  *out = steal_pointer (&words);
  return 0;
}

/* The JSON-array form `["a", "b"]`: 1 and *out when s is one, 0 when s is
 * not JSON at all (then it is the shell form, as in Docker), -1 when it is
 * JSON but not an array of strings. */
static int
json_form (const char *s, const char *what, char ***out, rl_error_t *err)
{
  cleanup_json yajl_val v = NULL;
  cleanup_strv char **words = NULL;
  rl_error_t perr = NULL;

  *out = NULL;
  if (*s != '[')
    return 0;
  if (json_parse (s, what, &v, &perr) < 0)
    {
      rl_error_free (&perr);
      return 0;
    }
  words = xmalloc0 (sizeof (char *));
  for (size_t i = 0; i < v->u.array.len; i++)
    {
      if (!YAJL_IS_STRING (v->u.array.values[i]))
        return rl_error (err, 0, "%s: `%s` is not a JSON array of strings", what, s);
      strv_add (&words, YAJL_GET_STRING (v->u.array.values[i]));
    }
  *out = steal_pointer (&words);
  return 1;
}

/* CMD and ENTRYPOINT: JSON array as given; anything else runs through
 * /bin/sh -c, as Docker's shell form does. */
static int
command_form (const char *s, const char *what, char ***out, rl_error_t *err)
{
  int r = json_form (s, what, out, err);

  if (r != 0)
    return r < 0 ? -1 : 0;
  if (*s == '\0')
    return rl_error (err, 0, "%s: empty command", what);
  strv_add (out, "/bin/sh");
  strv_add (out, "-c");
  strv_add (out, s);
  return 0;
}

/* ENV and LABEL: `K=V K2="V 2"`, or the legacy `K V with spaces`. */
static int
pairs_form (char ***v, const char *s, const char *what, bool need_value, rl_error_t *err)
{
  cleanup_strv char **words = NULL;
  const char *sp;

  if (*s == '\0')
    return rl_error (err, 0, "%s: expected KEY=VALUE", what);
  sp = s + strcspn (s, " \t");
  if (memchr (s, '=', sp - s) == NULL)
    {
      cleanup_free char *key = xstrndup (s, sp - s);
      const char *value = skip_space (sp);
      if (need_value && *value == '\0')
        return rl_error (err, 0, "%s: `%s` has no value (KEY=VALUE or KEY VALUE)", what, key);
      kv_set (v, key, value);
      return 0;
    }
  if (split_words (s, what, &words, err) < 0)
    return -1;
  for (size_t i = 0; words[i]; i++)
    {
      char *eq = strchr (words[i], '=');
      if (eq == NULL)
        return rl_error (err, 0, "%s: `%s` is not KEY=VALUE", what, words[i]);
      if (eq == words[i])
        return rl_error (err, 0, "%s: `%s` has an empty key", what, words[i]);
      *eq = '\0';
      kv_set (v, words[i], eq + 1);
    }
  return 0;
}

static bool
port_valid (const char *s, size_t n)
{
  long long v = 0;
  if (n == 0 || n > 5)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      if (!isdigit ((unsigned char)s[i]))
        return false;
      v = v * 10 + (s[i] - '0');
    }
  return v >= 1 && v <= 65535;
}

/* EXPOSE 80 8080/tcp 53/udp 7000-7010/sctp */
static int
expose_form (struct rl_config_edit *e, const char *s, const char *what, rl_error_t *err)
{
  cleanup_strv char **words = NULL;

  if (split_words (s, what, &words, err) < 0)
    return -1;
  if (words == NULL)
    return rl_error (err, 0, "%s: expected PORT[/PROTO]...", what);
  for (size_t i = 0; words[i]; i++)
    {
      const char *w = words[i], *slash = strchr (w, '/');
      const char *proto = slash ? slash + 1 : "tcp";
      size_t plen = slash ? (size_t)(slash - w) : strlen (w);
      const char *dash = memchr (w, '-', plen);
      cleanup_free char *port = NULL;
      bool ok;

      if (dash)
        ok = port_valid (w, dash - w) && port_valid (dash + 1, plen - (dash - w) - 1);
      else
        ok = port_valid (w, plen);
      if (!ok)
        return rl_error (err, 0, "%s: invalid port `%s` (1-65535, or a range like 7000-7010)", what,
                         w);
      if (strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0 && strcmp (proto, "sctp") != 0)
        return rl_error (err, 0, "%s: invalid protocol in `%s` (tcp, udp or sctp)", what, w);
      port = xasprintf ("%.*s/%s", (int)plen, w, proto);
      if (!strv_contains (e->exposed, port))
        strv_add (&e->exposed, port);
    }
  return 0;
}

/* VOLUME ["/a", "/b"] or VOLUME /a /b */
static int
volume_form (struct rl_config_edit *e, const char *s, const char *what, rl_error_t *err)
{
  cleanup_strv char **words = NULL;
  int r = json_form (s, what, &words, err);

  if (r < 0 || (r == 0 && split_words (s, what, &words, err) < 0))
    return -1;
  if (words == NULL || words[0] == NULL)
    return rl_error (err, 0, "%s: expected one or more paths", what);
  for (size_t i = 0; words[i]; i++)
    {
      if (words[i][0] != '/')
        return rl_error (err, 0, "%s: `%s` is not an absolute path", what, words[i]);
      if (!strv_contains (e->volumes, words[i]))
        strv_add (&e->volumes, words[i]);
    }
  return 0;
}

/* STOPSIGNAL: a name (TERM, SIGTERM, sigterm, RTMIN+3) or a number. */
static int
stop_signal_form (struct rl_config_edit *e, const char *s, const char *what, rl_error_t *err)
{
  cleanup_free char *up = xstrdup (s);
  const char *name;
  long long n;

  for (char *p = up; *p; p++)
    *p = toupper ((unsigned char)*p);
  name = str_has_prefix (up, "SIG") ? up + 3 : up;
  if (signal_from_name (s) <= 0)
    return rl_error (err, 0, "%s: unknown signal `%s`", what, s);
  free (e->stop_signal);
  e->stop_signal = parse_long (s, 1, SIGRTMAX, &n) ? xstrdup (s) : xasprintf ("SIG%s", name);
  return 0;
}

/* WORKDIR: a relative path continues the previous one, as in a Dockerfile. */
static void
workdir_form (struct rl_config_edit *e, const char *s)
{
  char *w;

  if (s[0] == '/')
    w = xstrdup (s);
  else
    {
      const char *base = e->workdir ? e->workdir : "/";
      w = xasprintf ("%s%s%s", base, str_has_suffix (base, "/") ? "" : "/", s);
    }
  free (e->workdir);
  e->workdir = w;
}

enum
{
  CH_CMD,
  CH_ENTRYPOINT,
  CH_ENV,
  CH_EXPOSE,
  CH_LABEL,
  CH_USER,
  CH_VOLUME,
  CH_WORKDIR,
  CH_STOPSIGNAL,
};

static const struct
{
  const char *name;
  int id;
} instructions[] = {
  { "CMD", CH_CMD },       { "ENTRYPOINT", CH_ENTRYPOINT }, { "ENV", CH_ENV },
  { "EXPOSE", CH_EXPOSE }, { "LABEL", CH_LABEL },           { "USER", CH_USER },
  { "VOLUME", CH_VOLUME }, { "WORKDIR", CH_WORKDIR },       { "STOPSIGNAL", CH_STOPSIGNAL },
};

int
config_edit_apply (struct rl_config_edit *e, const char *change, rl_error_t *err)
{
  cleanup_free char *what = NULL;
  cleanup_free char *rest = NULL;
  const char *s = skip_space (change);
  size_t klen = strcspn (s, " \t=");
  int id = -1;

  for (size_t i = 0; i < ARRAY_SIZE (instructions); i++)
    if (strlen (instructions[i].name) == klen && strncasecmp (s, instructions[i].name, klen) == 0)
      id = instructions[i].id;
  if (id < 0)
    {
      if (klen == 7 && strncasecmp (s, "ONBUILD", 7) == 0)
        return rl_error (err, 0, "change `%s`: ONBUILD is not supported", change);
      return rl_error (err, 0,
                       "change `%s`: unknown instruction `%.*s` (CMD, ENTRYPOINT, ENV, EXPOSE, "
                       "LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)",
                       change, (int)klen, s);
    }
  what = xasprintf ("change `%s`", change);
  /* "CMD sh" and "CMD=sh" both name the instruction first. */
  s += klen;
  if (*s == '=')
    s++;
  rest = xstrdup (skip_space (s));
  for (size_t n = strlen (rest); n > 0 && isspace ((unsigned char)rest[n - 1]); n--)
    rest[n - 1] = '\0';

  switch (id)
    {
    case CH_CMD:
      strv_free (e->cmd);
      e->cmd = NULL;
      e->cmd_set = true;
      return command_form (rest, what, &e->cmd, err);
    case CH_ENTRYPOINT:
      strv_free (e->entrypoint);
      e->entrypoint = NULL;
      e->entrypoint_set = true;
      return command_form (rest, what, &e->entrypoint, err);
    case CH_ENV:
      return pairs_form (&e->env, rest, what, true, err);
    case CH_LABEL:
      return pairs_form (&e->labels, rest, what, false, err);
    case CH_EXPOSE:
      return expose_form (e, rest, what, err);
    case CH_VOLUME:
      return volume_form (e, rest, what, err);
    case CH_USER:
      if (*rest == '\0' || strchr (rest, ' '))
        return rl_error (err, 0, "%s: expected USER[:GROUP]", what);
      free (e->user);
      e->user = steal_pointer (&rest);
      return 0;
    case CH_WORKDIR:
      if (*rest == '\0')
        return rl_error (err, 0, "%s: expected a directory", what);
      workdir_form (e, rest);
      return 0;
    case CH_STOPSIGNAL:
      return stop_signal_form (e, rest, what, err);
    }
  return 0;
}

/* {"K": {}} for each K, the shape of ExposedPorts and Volumes. */
static void
gen_set (yajl_gen g, const char *key, char *const *v)
{
  jg_key (g, key);
  yajl_gen_map_open (g);
  for (size_t i = 0; v[i]; i++)
    {
      jg_key (g, v[i]);
      yajl_gen_map_open (g);
      yajl_gen_map_close (g);
    }
  yajl_gen_map_close (g);
}

char *
config_edit_image_json (const struct rl_config_edit *e, const char *arch, const char *diff_id,
                        const char *created, const char *created_by, const char *comment)
{
  cleanup_gen yajl_gen g = json_gen_new (false);
  char *diff_ids[] = { (char *)diff_id, NULL };
  char *empty[] = { NULL };

  yajl_gen_map_open (g);
  jg_kstr (g, "created", created);
  jg_kstr (g, "architecture", arch);
  jg_kstr (g, "os", "linux");
  jg_key (g, "config");
  yajl_gen_map_open (g);
  if (e->user)
    jg_kstr (g, "User", e->user);
  if (e->exposed)
    gen_set (g, "ExposedPorts", e->exposed);
  if (e->env)
    jg_kstrv (g, "Env", e->env);
  if (e->entrypoint_set)
    jg_kstrv (g, "Entrypoint", e->entrypoint ? e->entrypoint : empty);
  if (e->cmd_set)
    jg_kstrv (g, "Cmd", e->cmd ? e->cmd : empty);
  if (e->volumes)
    gen_set (g, "Volumes", e->volumes);
  if (e->workdir)
    jg_kstr (g, "WorkingDir", e->workdir);
  if (e->labels)
    {
      jg_key (g, "Labels");
      yajl_gen_map_open (g);
      for (size_t i = 0; e->labels[i]; i++)
        {
          char *eq = strchr (e->labels[i], '=');
          cleanup_free char *k = xstrndup (e->labels[i], eq - e->labels[i]);
          jg_kstr (g, k, eq + 1);
        }
      yajl_gen_map_close (g);
    }
  if (e->stop_signal)
    jg_kstr (g, "StopSignal", e->stop_signal);
  yajl_gen_map_close (g);
  jg_key (g, "rootfs");
  yajl_gen_map_open (g);
  jg_kstr (g, "type", "layers");
  jg_kstrv (g, "diff_ids", diff_ids);
  yajl_gen_map_close (g);
  jg_key (g, "history");
  yajl_gen_array_open (g);
  yajl_gen_map_open (g);
  jg_kstr (g, "created", created);
  jg_kstr (g, "created_by", created_by);
  if (comment)
    jg_kstr (g, "comment", comment);
  yajl_gen_map_close (g);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  return jg_finish (g, NULL);
}
