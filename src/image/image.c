/* Image records (images.json), lookup by name or id, and image configs. */
#include "config.h"
#include "image/image.h"
#include "image/digest.h"
#include "image/ref.h"
#include "util/dl.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMAGES_FILE "images.json"

void
image_config_clear (struct rl_image_config *c)
{
  strv_free (c->env);
  strv_free (c->entrypoint);
  strv_free (c->cmd);
  free (c->workdir);
  free (c->user);
  free (c->stop_signal);
  strv_free (c->exposed);
  memset (c, 0, sizeof *c);
}

void
image_free (struct rl_image *img)
{
  if (img == NULL)
    return;
  free (img->id);
  free (img->manifest_digest);
  strv_free (img->names);
  strv_free (img->diff_ids);
  strv_free (img->chain_ids);
  image_config_clear (&img->config);
  free (img);
}

static void
cleanup_imagep (struct rl_image **p)
{
  image_free (*p);
}
#define cleanup_image __attribute__ ((cleanup (cleanup_imagep)))

/* An empty string means "not set" in Docker configs; keep NULL for that. */
static char *
dup_nonempty (const char *s)
{
  return s && *s ? xstrdup (s) : NULL;
}

int
image_config_parse (const char *json, const char *what, struct rl_image_config *c, rl_error_t *err)
{
  cleanup_json yajl_val root = NULL;
  yajl_val cfg;

  memset (c, 0, sizeof *c);
  if (json_parse (json, what, &root, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (root))
    return rl_error (err, 0, "%s: not a JSON object", what);
  cfg = json_get (root, "config");
  if (cfg == NULL || YAJL_IS_NULL (cfg))
    return 0;
  if (!YAJL_IS_OBJECT (cfg))
    return rl_error (err, 0, "%s: `config` is not an object", what);
  c->env = json_get_strv (cfg, "Env");
  c->entrypoint = json_get_strv (cfg, "Entrypoint");
  c->cmd = json_get_strv (cfg, "Cmd");
  c->workdir = dup_nonempty (json_get_str (cfg, "WorkingDir"));
  c->user = dup_nonempty (json_get_str (cfg, "User"));
  c->stop_signal = dup_nonempty (json_get_str (cfg, "StopSignal"));
  {
    /* {"80/tcp": {}, ...}: the keys */
    yajl_val ports = json_get (cfg, "ExposedPorts");
    if (ports && YAJL_IS_OBJECT (ports))
      for (size_t i = 0; i < ports->u.object.len; i++)
        strv_add (&c->exposed, ports->u.object.keys[i]);
  }
  return 0;
}

void
image_compute_chain_ids (struct rl_image *img)
{
  size_t n = strv_len (img->diff_ids);
  char hex[SHA256_HEX_LEN + 1];

  strv_free (img->chain_ids);
  img->chain_ids = xmalloc0 ((n + 1) * sizeof (char *));
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *parent = i ? xasprintf (DIGEST_PREFIX "%s", img->chain_ids[i - 1]) : NULL;
      chain_id_next (parent, img->diff_ids[i], hex);
      img->chain_ids[i] = xstrdup (hex);
    }
}

void
image_db_clear (struct rl_image_db *db)
{
  for (size_t i = 0; i < db->n; i++)
    image_free (db->images[i]);
  free (db->images);
  db->images = NULL;
  db->n = 0;
}

/* One record of images.json; what names it in errors. */
static int
record_parse (yajl_val v, const char *what, struct rl_image **out, rl_error_t *err)
{
  cleanup_image struct rl_image *img = xmalloc0 (sizeof *img);
  const char *id, *md;
  yajl_val names;

  if (!YAJL_IS_OBJECT (v))
    return rl_error (err, 0, "%s: not an object", what);
  id = json_get_str (v, "id");
  if (id == NULL || !sha256_hex_valid (id))
    return rl_error (err, 0, "%s: missing or invalid `id`", what);
  img->id = xstrdup (id);
  md = json_get_str (v, "manifest_digest");
  if (md && !digest_valid (md))
    return rl_error (err, 0, "%s: invalid `manifest_digest`", what);
  img->manifest_digest = md ? xstrdup (md) : NULL;
  names = json_get (v, "names");
  if (names && !YAJL_IS_ARRAY (names) && !YAJL_IS_NULL (names))
    return rl_error (err, 0, "%s: `names` is not an array", what);
  img->names = json_get_strv (v, "names");
  if (img->names == NULL)
    img->names = xmalloc0 (sizeof (char *));
  img->diff_ids = json_get_strv (v, "diff_ids");
  if (img->diff_ids == NULL)
    return rl_error (err, 0, "%s: missing `diff_ids`", what);
  for (size_t i = 0; img->diff_ids[i]; i++)
    if (!digest_valid (img->diff_ids[i]))
      return rl_error (err, 0, "%s: invalid diff_id `%s`", what, img->diff_ids[i]);
  img->created = json_get_int (v, "created", 0);
  img->size = json_get_int (v, "size", 0);
  /* The chain ids are stored so that listing and running never hash (and
   * never load libcrypto); they are computed only for records that lack
   * them, and a stack of one layer needs no hashing at all. */
  img->chain_ids = json_get_strv (v, "chain_ids");
  if (img->chain_ids && strv_len (img->chain_ids) == strv_len (img->diff_ids))
    {
      for (size_t i = 0; img->chain_ids[i]; i++)
        if (!sha256_hex_valid (img->chain_ids[i]))
          return rl_error (err, 0, "%s: invalid chain id `%s`", what, img->chain_ids[i]);
    }
  else
    {
      if (strv_len (img->diff_ids) > 1 && dl_need_crypto (err) < 0)
        return rl_error_wrap (err, "%s", what);
      image_compute_chain_ids (img);
    }
  *out = steal_pointer (&img);
  return 0;
}

int
image_db_load (struct rl_store *st, struct rl_image_db *db, rl_error_t *err)
{
  cleanup_free char *text = NULL;
  cleanup_free char *path = store_path (st, IMAGES_FILE);
  cleanup_free char *what = NULL;
  cleanup_json yajl_val root = NULL;
  yajl_val arr;
  size_t len = 0;

  memset (db, 0, sizeof *db);
  if (read_file_at (st->rootfd, IMAGES_FILE, JSON_MAX_SIZE, &text, &len, err) < 0)
    {
      if ((*err)->errnum == ENOENT)
        {
          rl_error_free (err);
          return 0;
        }
      return -1;
    }
  what = xasprintf ("`%s`", path);
  if (len == 0)
    return rl_error (err, 0, "%s is empty (truncated?); move it away to start afresh", what);
  if (json_parse (text, what, &root, err) < 0)
    return -1;
  arr = json_get (root, "images");
  if (!YAJL_IS_ARRAY (arr))
    return rl_error (err, 0, "%s: no `images` array", what);
  db->images = xmalloc0 ((arr->u.array.len + 1) * sizeof (struct rl_image *));
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      cleanup_free char *rwhat = xasprintf ("%s: image record %zu", what, i + 1);
      if (record_parse (arr->u.array.values[i], rwhat, &db->images[db->n], err) < 0)
        {
          image_db_clear (db);
          return -1;
        }
      db->n++;
    }
  return 0;
}

int
image_db_save (struct rl_store *st, const struct rl_image_db *db, rl_error_t *err)
{
  cleanup_gen yajl_gen g = json_gen_new (true);
  cleanup_free char *text = NULL;
  size_t len;

  yajl_gen_map_open (g);
  jg_key (g, "images");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < db->n; i++)
    {
      const struct rl_image *img = db->images[i];
      yajl_gen_map_open (g);
      jg_kstr (g, "id", img->id);
      jg_kstrv (g, "names", img->names);
      if (img->manifest_digest)
        jg_kstr (g, "manifest_digest", img->manifest_digest);
      jg_kstrv (g, "diff_ids", img->diff_ids);
      jg_kstrv (g, "chain_ids", img->chain_ids);
      jg_kint (g, "created", img->created);
      jg_kint (g, "size", (long long)img->size);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  text = jg_finish (g, &len);
  if (write_file_atomic (st->rootfd, IMAGES_FILE, text, len, 0600, err) < 0)
    return rl_error_wrap (err, "store `%s`", st->root);
  return 0;
}

static bool
all_hex (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

/* Does name ("domain/path:tag") belong to repository repo ("domain/path")? */
static bool
name_in_repo (const char *name, const char *repo)
{
  size_t n = strlen (repo);
  /* '@': images pulled by digest only are named REPO@DIGEST. */
  return strncmp (name, repo, n) == 0 && (name[n] == ':' || name[n] == '@');
}

int
image_db_find (const struct rl_image_db *db, const char *ref, size_t *idx, const char **by_name,
               rl_error_t *err)
{
  cleanup_strv char **cands = NULL;
  const char *id = ref;
  size_t found = 0, nfound = 0;

  if (by_name)
    *by_name = NULL;
  if (str_has_prefix (id, DIGEST_PREFIX))
    id += strlen (DIGEST_PREFIX);
  /* A full id first: it cannot be a name. */
  if (sha256_hex_valid (id))
    for (size_t i = 0; i < db->n; i++)
      if (strcmp (db->images[i]->id, id) == 0)
        {
          *idx = i;
          return 1;
        }
  /* Then names, when ref parses as one. */
  if (id == ref && !sha256_hex_valid (ref))
    {
      rl_error_t perr = NULL;
      if (ref_lookup_names (ref, &cands, &perr) < 0)
        {
          /* Not a name; still worth trying as an id prefix below. */
          if (!all_hex (ref))
            {
              *err = perr;
              return -1;
            }
          rl_error_free (&perr);
        }
      for (size_t c = 0; cands && cands[c]; c++)
        {
          const char *at = strchr (cands[c], '@');
          for (size_t i = 0; i < db->n; i++)
            {
              const struct rl_image *img = db->images[i];
              if (at == NULL)
                {
                  for (size_t k = 0; img->names[k]; k++)
                    if (strcmp (img->names[k], cands[c]) == 0)
                      {
                        *idx = i;
                        if (by_name)
                          *by_name = img->names[k];
                        return 1;
                      }
                  continue;
                }
              /* name@digest: the digest decides, the repository must match
               * one of the image's names (a tag given with it is ignored). */
              if (img->manifest_digest && strcmp (img->manifest_digest, at + 1) == 0)
                {
                  cleanup_ref struct rl_ref r = { 0 };
                  cleanup_free char *repo = NULL;
                  rl_error_t e2 = NULL;
                  if (ref_parse (cands[c], &r, &e2) < 0)
                    {
                      rl_error_free (&e2);
                      continue;
                    }
                  repo = ref_repository (&r);
                  for (size_t k = 0; img->names[k]; k++)
                    if (name_in_repo (img->names[k], repo))
                      {
                        *idx = i;
                        return 1;
                      }
                }
            }
        }
    }
  /* Last, an id prefix: it must be unambiguous. */
  if (all_hex (id) && strlen (id) < SHA256_HEX_LEN)
    {
      size_t n = strlen (id);
      for (size_t i = 0; i < db->n; i++)
        if (strncmp (db->images[i]->id, id, n) == 0)
          {
            found = i;
            nfound++;
          }
      if (nfound > 1)
        return rl_error (err, 0, "short id `%s` is ambiguous: it matches %zu images", id, nfound);
      if (nfound == 1)
        {
          *idx = found;
          return 1;
        }
    }
  return 0;
}

void
image_db_remove (struct rl_image_db *db, size_t idx)
{
  image_free (db->images[idx]);
  memmove (&db->images[idx], &db->images[idx + 1], (db->n - idx - 1) * sizeof (struct rl_image *));
  db->n--;
  db->images[db->n] = NULL;
}

static void
strv_remove (char **v, const char *s)
{
  size_t j = 0;
  for (size_t i = 0; v[i]; i++)
    {
      if (strcmp (v[i], s) == 0)
        free (v[i]);
      else
        v[j++] = v[i];
    }
  v[j] = NULL;
}

void
image_db_put (struct rl_image_db *db, struct rl_image *img)
{
  struct rl_image *same = NULL;

  if (img->names == NULL)
    img->names = xmalloc0 (sizeof (char *));
  for (size_t i = 0; i < db->n; i++)
    {
      if (strcmp (db->images[i]->id, img->id) == 0)
        {
          same = db->images[i];
          continue;
        }
      /* A name moves to the newest image; the old one may become dangling. */
      for (size_t k = 0; img->names[k]; k++)
        strv_remove (db->images[i]->names, img->names[k]);
    }
  if (same)
    {
      for (size_t k = 0; img->names[k]; k++)
        if (!strv_contains (same->names, img->names[k]))
          strv_add (&same->names, img->names[k]);
      if (same->manifest_digest == NULL && img->manifest_digest)
        same->manifest_digest = xstrdup (img->manifest_digest);
      image_free (img);
      return;
    }
  db->images = xrealloc (db->images, (db->n + 2) * sizeof (struct rl_image *));
  db->images[db->n++] = img;
  db->images[db->n] = NULL;
}

int
image_lookup_opt (struct rl_store *st, const char *ref, struct rl_image **out, rl_error_t *err)
{
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_image struct rl_image *img = NULL;
  cleanup_free char *blob = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *what = NULL;
  size_t idx;
  int r;

  *out = NULL;
  if (image_db_load (st, &db, err) < 0)
    return -1;
  r = image_db_find (&db, ref, &idx, NULL, err);
  if (r <= 0)
    return r;
  img = db.images[idx];
  db.images[idx] = NULL;
  image_db_remove (&db, idx);

  blob = xasprintf ("blobs/sha256/%s", img->id);
  what = xasprintf ("image config `%s/%s`", st->root, blob);
  if (read_file_at (st->rootfd, blob, JSON_MAX_SIZE, &text, NULL, err) < 0)
    return rl_error_wrap (err, "image %.12s", img->id);
  if (image_config_parse (text, what, &img->config, err) < 0)
    return -1;
  *out = steal_pointer (&img);
  return 1;
}

int
image_lookup (struct rl_store *st, const char *ref, struct rl_image **out, rl_error_t *err)
{
  int r = image_lookup_opt (st, ref, out, err);
  if (r == 0)
    return rl_error (err, 0, "image not known");
  return r < 0 ? -1 : 0;
}

char **
image_layer_dirs (struct rl_store *st, const struct rl_image *img)
{
  size_t n = strv_len (img->chain_ids);
  char **dirs = xmalloc0 ((n + 1) * sizeof (char *));

  for (size_t i = 0; i < n; i++)
    dirs[i] = xasprintf ("%s/layers/%s", st->root, img->chain_ids[i]);
  return dirs;
}
