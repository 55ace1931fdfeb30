/* Image commands: import, images (image ls), rmi (image rm), image inspect. */
#include "config.h"
#include "cmd/cmd.h"
#include "image/digest.h"
#include "image/image.h"
#include "image/imgconfig.h"
#include "image/layer.h"
#include "image/ref.h"
#include "registry/manifest.h"
#include "runtime/container.h"
#include "runtime/idmap.h"
#include "util/json.h"
#include "util/opts.h"
#include "util/util.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MT_MANIFEST   "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG     "application/vnd.oci.image.config.v1+json"
#define MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"

/* ---- import ---- */

enum
{
  IMPORT_CHANGE = 1,
  IMPORT_MESSAGE,
};

struct import_opts
{
  struct rl_config_edit edit;
  char *message;
};

static int
import_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct import_opts *o = data;
  switch (id)
    {
    case IMPORT_CHANGE:
      return config_edit_apply (&o->edit, arg, err);
    case IMPORT_MESSAGE:
      free (o->message);
      o->message = xstrdup (arg);
      return 0;
    }
  return 0;
}

static const struct rl_opt import_opts[] = {
  { "change", 'c', "INSTRUCTION",
    "apply a Dockerfile instruction to the image config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
    "USER, VOLUME, WORKDIR, STOPSIGNAL); repeatable",
    IMPORT_CHANGE },
  { "message", 'm', "TEXT", "comment recorded in the image's history", IMPORT_MESSAGE },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec import_spec = {
  "import",
  "[OPTIONS] FILE|DIR|- [NAME[:TAG]]",
  "Make a one-layer image from a root filesystem: a tarball (plain, gzip, zstd, xz, bzip2), a "
  "directory, or a tarball on stdin (-).  A short NAME is kept as localhost/NAME:latest.",
  import_opts,
  "rl import -c 'CMD [\"sh\"]' -c 'ENV LANG=C.UTF-8' -m 'base' rootfs.tar.gz bb && rl run -it bb",
  true,
};

static void
gen_descriptor (yajl_gen g, const char *media_type, const char *digest, uint64_t size)
{
  yajl_gen_map_open (g);
  jg_kstr (g, "mediaType", media_type);
  jg_kstr (g, "digest", digest);
  jg_kint (g, "size", (long long)size);
  yajl_gen_map_close (g);
}

static char *
make_manifest (const char *config_hex, size_t config_len, const struct layer_blob *b)
{
  cleanup_gen yajl_gen g = json_gen_new (false);
  cleanup_free char *cd = xasprintf (DIGEST_PREFIX "%s", config_hex);

  yajl_gen_map_open (g);
  jg_kint (g, "schemaVersion", 2);
  jg_kstr (g, "mediaType", MT_MANIFEST);
  jg_key (g, "config");
  gen_descriptor (g, MT_CONFIG, cd, config_len);
  jg_key (g, "layers");
  yajl_gen_array_open (g);
  gen_descriptor (g, MT_LAYER_GZIP, b->digest, b->size);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  return jg_finish (g, NULL);
}

/* Everything that makes the image visible happens under the store lock,
 * in an order where a crash leaves at most unreferenced files for the next
 * garbage collection: blobs, the layer, then images.json. */
static int
import_commit (struct rl_store *st, const struct idmap *m, struct layer_blob *b,
               struct layer_tmp *t, const char *config, const char *name, int64_t created,
               char id[SHA256_HEX_LEN + 1], rl_error_t *err)
{
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_free char *manifest = NULL;
  char mhex[SHA256_HEX_LEN + 1];
  struct rl_image *img;
  int r = -1;

  if (store_lock (st, err) < 0)
    return -1;
  if (blob_commit (st, b->tmp.name, b->digest + strlen (DIGEST_PREFIX), err) < 0)
    goto out;
  /* Moved away: only its lock is left to release. */
  free (b->tmp.name);
  b->tmp.name = NULL;
  /* One layer: its chain id is its diff_id. */
  if (layer_commit (st, m, t, b->diff_id + strlen (DIGEST_PREFIX), err) < 0)
    goto out;
  if (blob_put_bytes (st, config, strlen (config), id, err) < 0)
    goto out;
  manifest = make_manifest (id, strlen (config), b);
  if (blob_put_bytes (st, manifest, strlen (manifest), mhex, err) < 0)
    goto out;
  if (image_db_load (st, &db, err) < 0)
    goto out;
  img = xmalloc0 (sizeof *img);
  img->id = xstrdup (id);
  img->manifest_digest = xasprintf (DIGEST_PREFIX "%s", mhex);
  img->names = xmalloc0 (sizeof (char *));
  if (name)
    strv_add (&img->names, name);
  strv_add (&img->diff_ids, b->diff_id);
  img->created = created;
  img->size = b->tar_size;
  image_compute_chain_ids (img);
  image_db_put (&db, img);
  r = image_db_save (st, &db, err);
out:
  store_unlock (st);
  return r;
}

static int
import_run (struct rl_globals *g, const struct import_opts *o, char **args, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_idmap struct idmap m = { 0 };
  cleanup_free char *name = NULL;
  cleanup_free char *config = NULL;
  cleanup_free char *created = NULL;
  cleanup_free char *created_by = NULL;
  struct layer_blob b = { 0 };
  struct layer_tmp t = { 0 };
  char id[SHA256_HEX_LEN + 1];
  int64_t now = now_ns ();
  size_t nargs = strv_len (args);

  if (nargs < 1 || nargs > 2)
    return rl_error (err, 0, "import: expected FILE|DIR|- [NAME[:TAG]] (see `rl import --help`)");
  if (nargs == 2 && ref_local_name (args[1], &name, err) < 0)
    return rl_error_wrap (err, "import");
  if (idmap_detect (&m, err) < 0 || store_open (&st, g, err) < 0)
    return rl_error_wrap (err, "import %s", args[0]);
  /* What killed commands left in tmp/ goes first. */
  store_tmp_gc (&st, &m);

  if (layer_blob_create (&st, args[0], &b, err) < 0)
    return rl_error_wrap (err, "import %s", args[0]);
  if (layer_unpack_file_tmp (&st, &m, b.tmp.name, b.diff_id, &t, err) < 0)
    {
      layer_blob_clear (&st, &b);
      return rl_error_wrap (err, "import %s", args[0]);
    }
  if (t.stats.skipped_devices)
    fprintf (stderr, "rl: note: skipped %llu device node%s (a rootless store cannot hold them)\n",
             (unsigned long long)t.stats.skipped_devices, t.stats.skipped_devices == 1 ? "" : "s");

  created = rfc3339_time (now);
  created_by = xasprintf ("rl import %s%s%s", args[0], name ? " " : "", name ? name : "");
  config = config_edit_image_json (&o->edit, platform_host_arch (), b.diff_id, created, created_by,
                                   o->message);
  if (import_commit (&st, &m, &b, &t, config, name, now, id, err) < 0)
    {
      layer_tmp_discard (&st, &m, &t);
      layer_blob_clear (&st, &b);
      return rl_error_wrap (err, "import %s", args[0]);
    }
  layer_tmp_discard (&st, &m, &t);
  layer_blob_clear (&st, &b);
  printf ("%s\n", id);
  return 0;
}

int
cmd_import (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_strv char **args = NULL;
  struct import_opts o;
  bool help;
  int r;

  memset (&o, 0, sizeof o);
  config_edit_init (&o.edit);
  r = opts_parse (&import_spec, argc, argv, import_opt, &o, &args, &help, err);
  if (r < 0)
    rl_error_wrap (err, "import");
  else if (!help)
    r = import_run (g, &o, args, err);
  config_edit_clear (&o.edit);
  free (o.message);
  return r;
}

/* ---- images ---- */

enum
{
  OPT_QUIET = 1,
  OPT_ALL,
  OPT_NO_TRUNC,
  OPT_FORCE,
  OPT_DIGESTS,
  OPT_FORMAT,
  OPT_FILTER,
};

struct images_opts
{
  bool quiet, all, no_trunc, force, digests, json;
  char **references; /* --filter reference=PATTERN (any may match) */
  int dangling;      /* --filter dangling=: -1 unset, 0 false, 1 true */
};

static void
images_opts_clear (struct images_opts *o)
{
  strv_free (o->references);
  o->references = NULL;
}

static int
set_filter (struct images_opts *o, const char *arg, rl_error_t *err)
{
  const char *eq = strchr (arg, '=');
  bool b;

  if (eq == NULL)
    return rl_error (err, 0, "--filter `%s`: expected KEY=VALUE (reference=, dangling=)", arg);
  if (str_has_prefix (arg, "reference="))
    {
      if (eq[1] == '\0')
        return rl_error (err, 0, "--filter `%s`: empty pattern", arg);
      strv_add (&o->references, eq + 1);
      return 0;
    }
  if (str_has_prefix (arg, "dangling="))
    {
      if (opts_flag_value ("filter dangling", eq + 1, &b, err) < 0)
        return -1;
      o->dangling = b;
      return 0;
    }
  return rl_error (err, 0, "--filter `%s`: unknown filter `%.*s` (reference, dangling)", arg,
                   (int)(eq - arg), arg);
}

static int
set_flag (void *data, int id, const char *arg, rl_error_t *err)
{
  struct images_opts *o = data;
  switch (id)
    {
    case OPT_QUIET:
      return opts_flag_value ("quiet", arg, &o->quiet, err);
    case OPT_ALL:
      return opts_flag_value ("all", arg, &o->all, err);
    case OPT_NO_TRUNC:
      return opts_flag_value ("no-trunc", arg, &o->no_trunc, err);
    case OPT_FORCE:
      return opts_flag_value ("force", arg, &o->force, err);
    case OPT_DIGESTS:
      return opts_flag_value ("digests", arg, &o->digests, err);
    case OPT_FORMAT:
      if (strcmp (arg, "json") == 0)
        o->json = true;
      else if (strcmp (arg, "table") == 0)
        o->json = false;
      else
        return rl_error (err, 0, "--format `%s`: expected json or table", arg);
      return 0;
    case OPT_FILTER:
      return set_filter (o, arg, err);
    }
  return 0;
}

static const struct rl_opt images_opts[] = {
  { "quiet", 'q', NULL, "print only the image ids", OPT_QUIET },
  { "all", 'a', NULL, "show all images (rl keeps no intermediate ones: same as without)", OPT_ALL },
  { "no-trunc", 0, NULL, "print full image ids", OPT_NO_TRUNC },
  { "digests", 0, NULL, "show the manifest digests", OPT_DIGESTS },
  { "format", 0, "FORMAT", "table (default) or json (an array, as podman images prints it)",
    OPT_FORMAT },
  { "filter", 'f', "KEY=VALUE",
    "reference=PATTERN (glob on the name; repeatable, any may match) or dangling=true|false",
    OPT_FILTER },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec images_spec = {
  "images",
  "[OPTIONS]",
  "List the images in the store, newest first.",
  images_opts,
  "rl images --filter reference='localhost/*' --digests",
  false,
};

/* "domain/path:tag" -> repository and tag.  A name pulled by digest
 * ("domain/path@sha256:...") has no tag. */
static void
split_name (const char *name, char **repo, char **tag)
{
  const char *at = strchr (name, '@');
  cleanup_free char *base = at ? xstrndup (name, at - name) : xstrdup (name);
  const char *slash = strrchr (base, '/');
  const char *colon = strrchr (slash ? slash : base, ':');

  *repo = colon ? xstrndup (base, colon - base) : xstrdup (base);
  *tag = xstrdup (colon && !at ? colon + 1 : "<none>");
}

/* The names that are tags (RepoTags), not digests. */
static char **
tag_names (char *const *names)
{
  char **out = xmalloc0 (sizeof (char *));
  for (size_t k = 0; names && names[k]; k++)
    if (strchr (names[k], '@') == NULL)
      strv_add (&out, names[k]);
  return out;
}

/* Does the glob pattern match name ("domain/path:tag")?  As in Podman, the
 * pattern may leave out the domain and, when it has no tag, the tag:
 * `bb`, `localhost/bb`, `bb:latest` and `b*` all match localhost/bb:latest. */
static bool
reference_matches (const char *pattern, const char *name)
{
  cleanup_free char *repo = NULL;
  cleanup_free char *tag = NULL;
  const char *slash, *pslash = strrchr (pattern, '/');
  bool has_tag = strchr (pslash ? pslash : pattern, ':') != NULL;
  const char *cands[2];

  split_name (name, &repo, &tag);
  cands[0] = has_tag ? name : repo;
  cands[1] = NULL;
  /* Without the domain (the first component, when there are several). */
  slash = strchr (cands[0], '/');
  if (slash)
    cands[1] = slash + 1;
  for (size_t i = 0; i < 2; i++)
    if (cands[i] && fnmatch (pattern, cands[i], 0) == 0)
      return true;
  /* Docker also matches the last path component alone ("alpine"). */
  slash = strrchr (cands[0], '/');
  return slash && fnmatch (pattern, slash + 1, 0) == 0;
}

/* The names of img that pass the reference filters (all without filters). */
static char **
shown_names (const struct images_opts *o, const struct rl_image *img)
{
  char **out = xmalloc0 (sizeof (char *));

  for (size_t k = 0; img->names[k]; k++)
    {
      bool ok = o->references == NULL;
      for (size_t f = 0; !ok && o->references[f]; f++)
        ok = reference_matches (o->references[f], img->names[k]);
      if (ok)
        strv_add (&out, img->names[k]);
    }
  return out;
}

static bool
image_shown (const struct images_opts *o, const struct rl_image *img, char *const *names)
{
  bool dangling = img->names[0] == NULL;

  if (o->dangling >= 0 && dangling != (o->dangling == 1))
    return false;
  return o->references == NULL || names[0] != NULL;
}

static int
by_created_desc (const void *a, const void *b)
{
  const struct rl_image *x = *(struct rl_image *const *)a, *y = *(struct rl_image *const *)b;
  return x->created < y->created ? 1 : x->created > y->created ? -1 : strcmp (x->id, y->id);
}

static char *
show_id (const struct rl_image *img, bool no_trunc)
{
  return no_trunc ? xasprintf (DIGEST_PREFIX "%s", img->id) : xstrndup (img->id, 12);
}

/* REPO@DIGEST for each repository the image is named in. */
static char **
repo_digests (const struct rl_image *img)
{
  char **out = xmalloc0 (sizeof (char *));

  for (size_t k = 0; img->manifest_digest && img->names[k]; k++)
    {
      cleanup_free char *repo = NULL;
      cleanup_free char *tag = NULL;
      cleanup_free char *rd = NULL;
      split_name (img->names[k], &repo, &tag);
      rd = xasprintf ("%s@%s", repo, img->manifest_digest);
      if (!strv_contains (out, rd))
        strv_add (&out, rd);
      /* A name pulled by another digest (a manifest list's) stays too. */
      if (strchr (img->names[k], '@') && !strv_contains (out, img->names[k]))
        strv_add (&out, img->names[k]);
    }
  return out;
}

/* One image as `podman images --format json` shows it. */
static int
gen_image_json (struct rl_store *st, const struct rl_image *img, char *const *names, yajl_gen g,
                rl_error_t *err)
{
  cleanup_free char *blob = xasprintf ("blobs/sha256/%s", img->id);
  cleanup_free char *created = rfc3339_time (img->created);
  cleanup_json yajl_val cfg = NULL;
  cleanup_strv char **digests = repo_digests (img);
  cleanup_strv char **tags = tag_names (names);
  cleanup_strv char **users = NULL;
  yajl_val labels;

  if (json_parse_file_at (st->rootfd, blob, &cfg, err) < 0)
    return rl_error_wrap (err, "image config of %.12s in `%s`", img->id, st->root);
  if (containers_using_image (st, img->id, &users, err) < 0)
    return -1;
  labels = json_get (json_get (cfg, "config"), "Labels");
  yajl_gen_map_open (g);
  jg_kstr (g, "Id", img->id);
  jg_kstr (g, "ParentId", "");
  jg_kstrv (g, "RepoTags", tags);
  jg_kstrv (g, "RepoDigests", digests);
  jg_kint (g, "Created", img->created / 1000000000);
  jg_kstr (g, "CreatedAt", created);
  jg_kint (g, "Size", (long long)img->size);
  jg_kint (g, "SharedSize", 0);
  jg_kint (g, "VirtualSize", (long long)img->size);
  jg_key (g, "Labels");
  if (YAJL_IS_OBJECT (labels))
    jg_value (g, labels);
  else
    yajl_gen_null (g);
  jg_kint (g, "Containers", (long long)strv_len (users));
  jg_kbool (g, "Dangling", img->names[0] == NULL);
  if (names[0])
    jg_kstrv (g, "Names", names);
  jg_kstr (g, "Digest", img->manifest_digest);
  yajl_gen_map_close (g);
  return 0;
}

struct row
{
  char *col[6];
};

static void
print_table (const char *const *heads, size_t ncols, struct row *rows, size_t nrows)
{
  size_t width[6];

  for (size_t c = 0; c < ncols; c++)
    {
      width[c] = strlen (heads[c]);
      for (size_t i = 0; i < nrows; i++)
        if (strlen (rows[i].col[c]) > width[c])
          width[c] = strlen (rows[i].col[c]);
    }
  for (size_t c = 0; c < ncols; c++)
    {
      if (c + 1 < ncols)
        printf ("%-*s  ", (int)width[c], heads[c]);
      else
        printf ("%s\n", heads[c]);
    }
  for (size_t i = 0; i < nrows; i++)
    for (size_t c = 0; c < ncols; c++)
      {
        if (c + 1 < ncols)
          printf ("%-*s  ", (int)width[c], rows[i].col[c]);
        else
          printf ("%s\n", rows[i].col[c]);
        free (rows[i].col[c]);
      }
}

static int
list_images (struct rl_globals *g, const struct rl_cmd_spec *spec, int argc, char **argv,
             rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_strv char **args = NULL;
  cleanup_gen yajl_gen gen = NULL;
  const char *heads[6] = { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE" };
  struct images_opts o = { .dangling = -1 };
  struct row *rows = NULL;
  size_t nrows = 0, ncols = 5;
  bool help;
  int r = -1;

  if (opts_parse (spec, argc, argv, set_flag, &o, &args, &help, err) < 0)
    {
      rl_error_wrap (err, "%s", spec->name);
      goto out;
    }
  if (help)
    {
      r = 0;
      goto out;
    }
  if (strv_len (args) > 0)
    {
      rl_error (err, 0, "%s: unexpected argument `%s`", spec->name, args[0]);
      goto out;
    }
  if (store_open (&st, g, err) < 0 || image_db_load (&st, &db, err) < 0)
    {
      rl_error_wrap (err, "%s", spec->name);
      goto out;
    }
  if (db.n > 1)
    qsort (db.images, db.n, sizeof *db.images, by_created_desc);
  if (o.digests)
    {
      heads[2] = "DIGEST";
      heads[3] = "IMAGE ID";
      heads[4] = "CREATED";
      heads[5] = "SIZE";
      ncols = 6;
    }
  if (o.json)
    {
      gen = json_gen_new (true);
      yajl_gen_array_open (gen);
    }
  for (size_t i = 0; i < db.n; i++)
    {
      const struct rl_image *img = db.images[i];
      cleanup_strv char **names = shown_names (&o, img);
      size_t nn = strv_len (names);

      if (!image_shown (&o, img, names))
        continue;
      if (o.quiet)
        {
          cleanup_free char *id = show_id (img, o.no_trunc);
          printf ("%s\n", id);
          continue;
        }
      if (o.json)
        {
          if (gen_image_json (&st, img, names, gen, err) < 0)
            {
              rl_error_wrap (err, "%s", spec->name);
              goto out;
            }
          continue;
        }
      for (size_t k = 0; k < (nn ? nn : 1); k++)
        {
          struct row *row;
          size_t c = 2;
          rows = xrealloc (rows, (nrows + 1) * sizeof *rows);
          row = &rows[nrows++];
          if (nn)
            split_name (names[k], &row->col[0], &row->col[1]);
          else
            {
              row->col[0] = xstrdup ("<none>");
              row->col[1] = xstrdup ("<none>");
            }
          if (o.digests)
            row->col[c++] = xstrdup (img->manifest_digest ? img->manifest_digest : "<none>");
          row->col[c++] = show_id (img, o.no_trunc);
          row->col[c++] = human_duration_ago (img->created);
          row->col[c++] = human_size (img->size);
        }
    }
  if (o.json)
    {
      cleanup_free char *text = NULL;
      yajl_gen_array_close (gen);
      text = jg_finish (gen, NULL);
      printf ("%s\n", text);
    }
  else if (!o.quiet)
    print_table (heads, ncols, rows, nrows);
  r = 0;
out:
  free (rows);
  images_opts_clear (&o);
  return r;
}

int
cmd_images (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  return list_images (g, &images_spec, argc, argv, err);
}

/* ---- rmi ---- */

static const struct rl_opt rmi_opts[] = {
  { "force", 'f', NULL,
    "remove the containers that use the image, and images with several names by id", OPT_FORCE },
  { "all", 'a', NULL, "remove all images", OPT_ALL },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec rmi_spec = {
  "rmi",
  "[OPTIONS] IMAGE...",
  "Remove images by name or id.  A name removes that name; the image goes with its last name, "
  "or when given by id.  Layers no image uses any more are deleted.",
  rmi_opts,
  "rl rmi bb",
  true,
};

/* Containers made from image id must go first: refused without force. */
static int
remove_users (struct rl_store *st, const char *id, bool force, rl_error_t *err)
{
  cleanup_strv char **ids = NULL;

  if (containers_using_image (st, id, &ids, err) < 0)
    return -1;
  if (ids == NULL || ids[0] == NULL)
    return 0;
  if (!force)
    return rl_error (
        err, 0, "image is in use by %zu container%s (%.12s%s); remove them first or use -f",
        strv_len (ids), strv_len (ids) == 1 ? "" : "s", ids[0], strv_len (ids) > 1 ? ", ..." : "");
  for (size_t i = 0; ids[i]; i++)
    if (container_remove (st, ids[i], true, err) < 0)
      return rl_error_wrap (err, "remove container %.12s", ids[i]);
  return 0;
}

/* Errors name the command and the image themselves ("rmi bb: ..."). */
static int
rmi_locked (struct rl_store *st, const struct idmap *m, const char *cmd, struct images_opts *o,
            char **refs, char ***out, rl_error_t *err)
{
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_strv char **doomed = NULL; /* ids to delete */
  cleanup_strv char **asked = NULL;  /* ... as the user named them, for errors */

  if (image_db_load (st, &db, err) < 0)
    return rl_error_wrap (err, "%s", cmd);
  if (o->all)
    for (size_t i = 0; i < db.n; i++)
      {
        strv_add (&doomed, db.images[i]->id);
        strv_add_take (&asked, xstrndup (db.images[i]->id, 12));
      }
  /* Resolve every reference before changing anything: a typo in the third
   * name must not leave the first two half done. */
  for (size_t a = 0; refs && refs[a]; a++)
    {
      const char *by_name = NULL;
      size_t idx;
      int r = image_db_find (&db, refs[a], &idx, &by_name, err);
      struct rl_image *img;

      if (r < 0)
        return rl_error_wrap (err, "%s %s", cmd, refs[a]);
      if (r == 0)
        return rl_error (err, 0, "%s %s: image not known", cmd, refs[a]);
      img = db.images[idx];
      if (strv_contains (doomed, img->id))
        continue;
      if (by_name && strv_len (img->names) > 1)
        {
          /* Only this name goes; the image stays under its others. */
          cleanup_free char *n = xstrdup (by_name);
          size_t j = 0;
          for (size_t k = 0; img->names[k]; k++)
            {
              if (strcmp (img->names[k], n) == 0)
                free (img->names[k]);
              else
                img->names[j++] = img->names[k];
            }
          img->names[j] = NULL;
          strv_add_take (out, xasprintf ("Untagged: %s", n));
          continue;
        }
      if (!by_name && strv_len (img->names) > 1 && !o->force)
        return rl_error (err, 0,
                         "%s %s: image has %zu names; remove them one by one or use -f to remove "
                         "the image",
                         cmd, refs[a], strv_len (img->names));
      strv_add (&doomed, img->id);
      strv_add (&asked, refs[a]);
    }
  for (size_t d = 0; doomed && doomed[d]; d++)
    if (remove_users (st, doomed[d], o->force, err) < 0)
      return rl_error_wrap (err, "%s %s", cmd, asked[d]);
  for (size_t d = 0; doomed && doomed[d]; d++)
    for (size_t i = 0; i < db.n; i++)
      if (strcmp (db.images[i]->id, doomed[d]) == 0)
        {
          for (size_t k = 0; db.images[i]->names[k]; k++)
            strv_add_take (out, xasprintf ("Untagged: %s", db.images[i]->names[k]));
          strv_add_take (out, xasprintf ("Deleted: %s", doomed[d]));
          image_db_remove (&db, i);
          break;
        }
  if (image_db_save (st, &db, err) < 0 || layer_gc (st, m, &db, err) < 0)
    return rl_error_wrap (err, "%s", cmd);
  return 0;
}

static int
remove_images (struct rl_globals *g, const struct rl_cmd_spec *spec, int argc, char **argv,
               rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_idmap struct idmap m = { 0 };
  cleanup_strv char **args = NULL;
  cleanup_strv char **out = NULL;
  struct images_opts o = { 0 };
  bool help;
  int r;

  if (opts_parse (spec, argc, argv, set_flag, &o, &args, &help, err) < 0)
    return rl_error_wrap (err, "%s", spec->name);
  if (help)
    return 0;
  if (!o.all && strv_len (args) == 0)
    return rl_error (err, 0, "%s: expected IMAGE... or -a (see `rl %s --help`)", spec->name,
                     spec->name);
  if (o.all && strv_len (args) > 0)
    return rl_error (err, 0, "%s: -a takes no image names", spec->name);
  if (idmap_detect (&m, err) < 0 || store_open (&st, g, err) < 0)
    return rl_error_wrap (err, "%s", spec->name);
  /* Housekeeping that cannot fail: also when the images asked for are not
   * known. */
  store_tmp_gc (&st, &m);
  if (store_lock (&st, err) < 0)
    return rl_error_wrap (err, "%s", spec->name);
  r = rmi_locked (&st, &m, spec->name, &o, args, &out, err);
  store_unlock (&st);
  for (size_t i = 0; out && out[i]; i++)
    printf ("%s\n", out[i]);
  return r;
}

int
cmd_rmi (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  return remove_images (g, &rmi_spec, argc, argv, err);
}

/* ---- image inspect ---- */

static const struct rl_opt inspect_opts[] = {
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec inspect_spec = {
  "image inspect",       "IMAGE...", "Show details of images as a JSON array.", inspect_opts,
  "rl image inspect bb", true,
};

int
image_inspect_json (struct rl_store *st, const struct rl_image *img, yajl_gen g, rl_error_t *err)
{
  cleanup_free char *blob = xasprintf ("blobs/sha256/%s", img->id);
  cleanup_json yajl_val cfg = NULL;
  cleanup_strv char **digests = repo_digests (img);
  cleanup_strv char **tags = tag_names (img->names);
  yajl_val v;

  if (json_parse_file_at (st->rootfd, blob, &cfg, err) < 0)
    return rl_error_wrap (err, "image config of %.12s in `%s`", img->id, st->root);

  yajl_gen_map_open (g);
  jg_kstr (g, "Id", img->id);
  jg_kstr (g, "Digest", img->manifest_digest);
  jg_kstrv (g, "RepoTags", tags);
  jg_kstrv (g, "RepoDigests", digests);
  jg_kstr (g, "Created", json_get_str (cfg, "created"));
  jg_kint (g, "Size", (long long)img->size);
  jg_kstr (g, "Architecture", json_get_str (cfg, "architecture"));
  if (json_get_str (cfg, "variant"))
    jg_kstr (g, "Variant", json_get_str (cfg, "variant"));
  jg_kstr (g, "Os", json_get_str (cfg, "os"));
  if (json_get_str (cfg, "author"))
    jg_kstr (g, "Author", json_get_str (cfg, "author"));
  jg_key (g, "Config");
  v = json_get (cfg, "config");
  if (YAJL_IS_OBJECT (v))
    jg_value (g, v);
  else
    {
      yajl_gen_map_open (g);
      yajl_gen_map_close (g);
    }
  jg_key (g, "RootFS");
  yajl_gen_map_open (g);
  jg_kstr (g, "Type", "layers");
  jg_kstrv (g, "Layers", img->diff_ids);
  yajl_gen_map_close (g);
  jg_key (g, "History");
  v = json_get (cfg, "history");
  if (YAJL_IS_ARRAY (v))
    jg_value (g, v);
  else
    {
      yajl_gen_array_open (g);
      yajl_gen_array_close (g);
    }
  yajl_gen_map_close (g);
  return 0;
}

static int
image_inspect (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_gen yajl_gen gen = json_gen_new (true);
  cleanup_strv char **args = NULL;
  cleanup_free char *text = NULL;
  bool help;

  if (opts_parse (&inspect_spec, argc, argv, NULL, NULL, &args, &help, err) < 0)
    return rl_error_wrap (err, "image inspect");
  if (help)
    return 0;
  if (strv_len (args) == 0)
    return rl_error (err, 0, "image inspect: expected IMAGE... (see `rl image inspect --help`)");
  if (store_open (&st, g, err) < 0 || image_db_load (&st, &db, err) < 0)
    return rl_error_wrap (err, "image inspect");
  yajl_gen_array_open (gen);
  for (size_t a = 0; args[a]; a++)
    {
      size_t idx;
      int r = image_db_find (&db, args[a], &idx, NULL, err);
      if (r == 0)
        return rl_error (err, 0, "image inspect %s: image not known", args[a]);
      if (r < 0 || image_inspect_json (&st, db.images[idx], gen, err) < 0)
        return rl_error_wrap (err, "image inspect %s", args[a]);
    }
  yajl_gen_array_close (gen);
  text = jg_finish (gen, NULL);
  printf ("%s\n", text);
  return 0;
}

/* ---- tag, untag ---- */

static const struct rl_opt no_options[] = {
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec tag_spec = {
  "tag",
  "IMAGE NAME[:TAG]...",
  "Give an image more names.  A short NAME is kept as localhost/NAME:latest; a name another "
  "image had moves to this one.",
  no_options,
  "rl tag bb bb:v1 127.0.0.1:5000/tools/bb:1.0",
  true,
};

static const struct rl_cmd_spec untag_spec = {
  "untag",
  "IMAGE [NAME...]",
  "Remove names from an image, all of them when none is given; the image itself stays (see "
  "`rl image prune`).",
  no_options,
  "rl untag bb localhost/bb:v1",
  true,
};

/* Add name to image idx of db, taking it from any other image. */
static void
db_add_name (struct rl_image_db *db, size_t idx, const char *name)
{
  for (size_t i = 0; i < db->n; i++)
    {
      char **v = db->images[i]->names;
      size_t j = 0;
      if (i == idx)
        continue;
      for (size_t k = 0; v[k]; k++)
        {
          if (strcmp (v[k], name) == 0)
            free (v[k]);
          else
            v[j++] = v[k];
        }
      v[j] = NULL;
    }
  if (!strv_contains (db->images[idx]->names, name))
    strv_add (&db->images[idx]->names, name);
}

/* Parse the arguments, then under the store lock load, find the image
 * (by name or id), let change() edit its record and save. */
typedef int (*names_change_fn) (struct rl_image_db *db, size_t idx, const char *ref,
                                char *const *names, rl_error_t *err);

static int
change_names (struct rl_globals *g, const struct rl_cmd_spec *spec, int argc, char **argv,
              size_t min_names, names_change_fn change, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_strv char **args = NULL;
  size_t idx;
  bool help;
  int r;

  if (opts_parse (spec, argc, argv, NULL, NULL, &args, &help, err) < 0)
    return rl_error_wrap (err, "%s", spec->name);
  if (help)
    return 0;
  if (strv_len (args) < 1 + min_names)
    return rl_error (err, 0, "%s: expected %s (see `rl %s --help`)", spec->name, spec->usage,
                     spec->name);
  if (store_open (&st, g, err) < 0 || store_lock (&st, err) < 0)
    return rl_error_wrap (err, "%s", spec->name);
  r = image_db_load (&st, &db, err);
  if (r == 0)
    r = image_db_find (&db, args[0], &idx, NULL, err);
  if (r == 0)
    r = rl_error (err, 0, "image not known");
  if (r > 0)
    r = change (&db, idx, args[0], args + 1, err);
  if (r == 0)
    r = image_db_save (&st, &db, err);
  store_unlock (&st);
  if (r < 0)
    return rl_error_wrap (err, "%s %s", spec->name, args[0]);
  return 0;
}

static int
tag_change (struct rl_image_db *db, size_t idx, const char *ref, char *const *names,
            rl_error_t *err)
{
  cleanup_strv char **full = NULL;

  /* Every name is checked before any is given. */
  for (size_t i = 0; names[i]; i++)
    {
      char *n;
      if (ref_local_name (names[i], &n, err) < 0)
        return -1;
      strv_add_take (&full, n);
    }
  for (size_t i = 0; full[i]; i++)
    db_add_name (db, idx, full[i]);
  return 0;
}

static int
untag_change (struct rl_image_db *db, size_t idx, const char *ref, char *const *names,
              rl_error_t *err)
{
  struct rl_image *img = db->images[idx];
  cleanup_strv char **doomed = NULL;

  if (names[0] == NULL)
    {
      strv_free (img->names);
      img->names = xmalloc0 (sizeof (char *));
      return 0;
    }
  for (size_t i = 0; names[i]; i++)
    {
      cleanup_strv char **cands = NULL;
      const char *hit = NULL;
      if (ref_lookup_names (names[i], &cands, err) < 0)
        return -1;
      for (size_t c = 0; cands[c] && hit == NULL; c++)
        if (strv_contains (img->names, cands[c]))
          hit = cands[c];
      if (hit == NULL)
        return rl_error (err, 0, "the image has no name `%s`", names[i]);
      strv_add (&doomed, hit);
    }
  for (size_t i = 0; doomed[i]; i++)
    {
      size_t j = 0;
      for (size_t k = 0; img->names[k]; k++)
        {
          if (strcmp (img->names[k], doomed[i]) == 0)
            free (img->names[k]);
          else
            img->names[j++] = img->names[k];
        }
      img->names[j] = NULL;
    }
  return 0;
}

int
cmd_tag (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  return change_names (g, &tag_spec, argc, argv, 1, tag_change, err);
}

int
cmd_untag (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  return change_names (g, &untag_spec, argc, argv, 0, untag_change, err);
}

/* ---- image exists ---- */

static const struct rl_cmd_spec exists_spec = {
  "image exists",
  "IMAGE",
  "Exit with status 0 when the image is in the store, 1 when it is not (nothing is printed).",
  no_options,
  "rl image exists bb || rl import rootfs.tar bb",
  false,
};

static int
image_exists (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_strv char **args = NULL;
  size_t idx;
  bool help;
  int r;

  if (opts_parse (&exists_spec, argc, argv, NULL, NULL, &args, &help, err) < 0)
    return rl_error_wrap (err, "image exists");
  if (help)
    return 0;
  if (strv_len (args) != 1)
    return rl_error (err, 0, "image exists: expected one IMAGE");
  if (store_open (&st, g, err) < 0 || image_db_load (&st, &db, err) < 0)
    return rl_error_wrap (err, "image exists %s", args[0]);
  r = image_db_find (&db, args[0], &idx, NULL, err);
  if (r < 0)
    return rl_error_wrap (err, "image exists %s", args[0]);
  return r == 1 ? 0 : 1;
}

/* ---- image prune ---- */

static const struct rl_opt prune_opts[] = {
  { "all", 'a', NULL, "remove every image no container uses, not only dangling ones", OPT_ALL },
  { "force", 'f', NULL, "do not ask for confirmation (rl asks only on a terminal)", OPT_FORCE },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec prune_spec = {
  "image prune",
  "[OPTIONS]",
  "Remove dangling images (those without a name) that no container uses, and the layers only "
  "they used; prints the ids removed.",
  prune_opts,
  "rl image prune -af",
  false,
};

static int
prune_locked (struct rl_store *st, const struct idmap *m, bool all, char ***out, rl_error_t *err)
{
  cleanup_image_db struct rl_image_db db = { 0 };

  if (image_db_load (st, &db, err) < 0)
    return -1;
  for (size_t i = 0; i < db.n;)
    {
      struct rl_image *img = db.images[i];
      cleanup_strv char **users = NULL;

      if (!all && img->names[0] != NULL)
        {
          i++;
          continue;
        }
      if (containers_using_image (st, img->id, &users, err) < 0)
        return -1;
      if (users && users[0])
        {
          i++;
          continue;
        }
      strv_add (out, img->id);
      image_db_remove (&db, i);
    }
  if (image_db_save (st, &db, err) < 0 || layer_gc (st, m, &db, err) < 0)
    return -1;
  return 0;
}

static int
image_prune (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_idmap struct idmap m = { 0 };
  cleanup_strv char **args = NULL;
  cleanup_strv char **out = NULL;
  struct images_opts o = { .dangling = -1 };
  bool help;
  int r;

  if (opts_parse (&prune_spec, argc, argv, set_flag, &o, &args, &help, err) < 0)
    return rl_error_wrap (err, "image prune");
  if (help)
    return 0;
  if (strv_len (args) > 0)
    return rl_error (err, 0, "image prune: unexpected argument `%s`", args[0]);
  /* Scripts never wait on a question: only a person at a terminal is asked. */
  if (!o.force && isatty (STDIN_FILENO))
    {
      char answer[16] = "";
      fprintf (stderr, "This removes %s.  Continue? [y/N] ",
               o.all ? "all images without containers" : "all dangling images");
      fflush (stderr);
      if (fgets (answer, sizeof answer, stdin) == NULL || (answer[0] != 'y' && answer[0] != 'Y'))
        return 0;
    }
  if (idmap_detect (&m, err) < 0 || store_open (&st, g, err) < 0)
    return rl_error_wrap (err, "image prune");
  store_tmp_gc (&st, &m);
  if (store_lock (&st, err) < 0)
    return rl_error_wrap (err, "image prune");
  r = prune_locked (&st, &m, o.all, &out, err);
  store_unlock (&st);
  for (size_t i = 0; out && out[i]; i++)
    printf ("%s\n", out[i]);
  if (r < 0)
    return rl_error_wrap (err, "image prune");
  return 0;
}

/* ---- image ---- */

static const struct rl_cmd_spec image_ls_spec = {
  "image ls",  "[OPTIONS]",      "List the images in the store (same as `rl images`).",
  images_opts, "rl image ls -q", false,
};

static const struct rl_cmd_spec image_rm_spec = {
  "image rm", "[OPTIONS] IMAGE...", "Remove images (same as `rl rmi`).",
  rmi_opts,   "rl image rm bb",     true,
};

static int
image_ls (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  return list_images (g, &image_ls_spec, argc, argv, err);
}

static int
image_rm (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  return remove_images (g, &image_rm_spec, argc, argv, err);
}

static const struct
{
  const char *name;
  rl_cmd_fn fn;
  const char *summary;
} image_commands[] = {
  { "exists", image_exists, "Exit 0 if an image is in the store, 1 if not" },
  { "inspect", image_inspect, "Show details of images as a JSON array" },
  { "ls", image_ls, "List images (same as `rl images`)" },
  { "list", image_ls, NULL },
  { "load", cmd_load, "Load images from an archive (same as `rl load`)" },
  { "prune", image_prune, "Remove dangling (or, with -a, all unused) images" },
  { "push", cmd_push, "Upload an image to a registry (same as `rl push`)" },
  { "rm", image_rm, "Remove images (same as `rl rmi`)" },
  { "save", cmd_save, "Write images to an archive (same as `rl save`)" },
  { "tag", cmd_tag, "Give an image more names (same as `rl tag`)" },
  { "untag", cmd_untag, "Remove names from an image (same as `rl untag`)" },
};

static void
image_usage (FILE *out)
{
  fputs ("Usage: rl image COMMAND [OPTIONS] [ARG...]\n\nManage images.\n\nCommands:\n", out);
  for (size_t i = 0; i < ARRAY_SIZE (image_commands); i++)
    if (image_commands[i].summary)
      fprintf (out, "  %-10s %s\n", image_commands[i].name, image_commands[i].summary);
  fputs ("\nExample: rl image inspect bb\n", out);
}

int
cmd_image (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  const char *sub = argc > 1 ? argv[1] : NULL;

  if (sub == NULL)
    {
      image_usage (stderr);
      return RL_EXIT_FAILURE;
    }
  if (strcmp (sub, "--help") == 0 || strcmp (sub, "-h") == 0 || strcmp (sub, "help") == 0)
    {
      image_usage (stdout);
      return 0;
    }
  for (size_t i = 0; i < ARRAY_SIZE (image_commands); i++)
    if (strcmp (sub, image_commands[i].name) == 0)
      return image_commands[i].fn (g, argc - 1, argv + 1, err);
  return rl_error (err, 0, "image: unknown command `%s` (see `rl image --help`)", sub);
}
