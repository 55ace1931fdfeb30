/* Image commands: import, images (image ls), rmi (image rm), image inspect. */
#include "config.h"
#include "cmd/cmd.h"
#include "image/digest.h"
#include "image/image.h"
#include "image/layer.h"
#include "image/ref.h"
#include "runtime/container.h"
#include "runtime/idmap.h"
#include "util/json.h"
#include "util/opts.h"
#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define DEFAULT_PATH  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MT_MANIFEST   "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG     "application/vnd.oci.image.config.v1+json"
#define MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"

static void
cleanup_storep (struct rl_store *st)
{
  store_close (st);
}
#define cleanup_store __attribute__ ((cleanup (cleanup_storep)))

static void
cleanup_idmapp (struct idmap *m)
{
  idmap_clear (m);
}
#define cleanup_idmap __attribute__ ((cleanup (cleanup_idmapp)))

/* The host's architecture in the names OCI images use (Go's GOARCH). */
static const char *
host_arch (void)
{
  static const struct
  {
    const char *machine, *goarch;
  } table[] = {
    { "x86_64", "amd64" },
    { "aarch64", "arm64" },
    { "armv7l", "arm" },
    { "armv6l", "arm" },
    { "i686", "386" },
    { "i386", "386" },
    { "ppc64le", "ppc64le" },
    { "s390x", "s390x" },
    { "riscv64", "riscv64" },
    { "mips64", "mips64" },
    { "loongarch64", "loong64" },
  };
  static struct utsname u;

  if (uname (&u) < 0)
    return "unknown";
  for (size_t i = 0; i < ARRAY_SIZE (table); i++)
    if (strcmp (u.machine, table[i].machine) == 0)
      return table[i].goarch;
  return u.machine;
}

/* ---- import ---- */

static const struct rl_opt import_opts[] = {
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec import_spec = {
  "import",
  "[OPTIONS] FILE|DIR|- [NAME[:TAG]]",
  "Make a one-layer image from a root filesystem: a tarball (plain, gzip, zstd, xz, bzip2), a "
  "directory, or a tarball on stdin (-).  A short NAME is kept as localhost/NAME:latest.",
  import_opts,
  "rl import rootfs.tar.gz bb && rl run -it bb sh",
  false,
};

static int
no_opts (void *data, int id, const char *arg, rl_error_t *err)
{
  return 0;
}

static char *
make_config (const struct layer_blob *b, const char *created, const char *created_by)
{
  cleanup_gen yajl_gen g = json_gen_new (false);
  char *env[] = { (char *)DEFAULT_PATH, NULL };
  char *diff_ids[] = { (char *)b->diff_id, NULL };

  yajl_gen_map_open (g);
  jg_kstr (g, "created", created);
  jg_kstr (g, "architecture", host_arch ());
  jg_kstr (g, "os", "linux");
  jg_key (g, "config");
  yajl_gen_map_open (g);
  /* Podman leaves an imported image's config empty; a PATH lets
   * `rl run bb sh` find sh. */
  jg_kstrv (g, "Env", env);
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
  yajl_gen_map_close (g);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  return jg_finish (g, NULL);
}

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
  if (blob_commit (st, b->tmp_name, b->digest + strlen (DIGEST_PREFIX), err) < 0)
    goto out;
  free (b->tmp_name);
  b->tmp_name = NULL;
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

int
cmd_import (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_idmap struct idmap m = { 0 };
  cleanup_strv char **args = NULL;
  cleanup_free char *name = NULL;
  cleanup_free char *config = NULL;
  cleanup_free char *created = NULL;
  cleanup_free char *created_by = NULL;
  struct layer_blob b = { 0 };
  struct layer_tmp t = { 0 };
  char id[SHA256_HEX_LEN + 1];
  int64_t now = now_ns ();
  bool help;
  size_t nargs;

  if (opts_parse (&import_spec, argc, argv, no_opts, NULL, &args, &help, err) < 0)
    return rl_error_wrap (err, "import");
  if (help)
    return 0;
  nargs = strv_len (args);
  if (nargs < 1 || nargs > 2)
    return rl_error (err, 0, "import: expected FILE|DIR|- [NAME[:TAG]] (see `rl import --help`)");
  if (nargs == 2 && ref_local_name (args[1], &name, err) < 0)
    return rl_error_wrap (err, "import");
  if (idmap_detect (&m, err) < 0 || store_open (&st, g, err) < 0)
    return rl_error_wrap (err, "import %s", args[0]);

  if (layer_blob_create (&st, args[0], &b, err) < 0)
    return rl_error_wrap (err, "import %s", args[0]);
  if (layer_unpack_file_tmp (&st, &m, b.tmp_name, b.diff_id, &t, err) < 0)
    {
      layer_blob_clear (&st, &b);
      return rl_error_wrap (err, "import %s", args[0]);
    }
  if (t.stats.skipped_devices)
    fprintf (stderr, "rl: note: skipped %llu device node%s (a rootless store cannot hold them)\n",
             (unsigned long long)t.stats.skipped_devices, t.stats.skipped_devices == 1 ? "" : "s");

  created = rfc3339_time (now);
  created_by = xasprintf ("rl import %s%s%s", args[0], name ? " " : "", name ? name : "");
  config = make_config (&b, created, created_by);
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

/* ---- images ---- */

enum
{
  OPT_QUIET = 1,
  OPT_ALL,
  OPT_NO_TRUNC,
  OPT_FORCE,
};

struct images_opts
{
  bool quiet, all, no_trunc, force;
};

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
    }
  return 0;
}

static const struct rl_opt images_opts[] = {
  { "quiet", 'q', NULL, "print only the image ids", OPT_QUIET },
  { "all", 'a', NULL, "show all images (rl keeps no intermediate ones: same as without)", OPT_ALL },
  { "no-trunc", 0, NULL, "print full image ids", OPT_NO_TRUNC },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec images_spec = {
  "images",    "[OPTIONS]",    "List the images in the store, newest first.",
  images_opts, "rl images -q", false,
};

/* "domain/path:tag" -> repository and tag. */
static void
split_name (const char *name, char **repo, char **tag)
{
  const char *slash = strrchr (name, '/');
  const char *colon = strrchr (slash ? slash : name, ':');
  *repo = colon ? xstrndup (name, colon - name) : xstrdup (name);
  *tag = xstrdup (colon ? colon + 1 : "<none>");
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

struct row
{
  char *col[5];
};

static int
list_images (struct rl_globals *g, const struct rl_cmd_spec *spec, int argc, char **argv,
             rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_strv char **args = NULL;
  static const char *const heads[5] = { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE" };
  struct images_opts o = { 0 };
  struct row *rows = NULL;
  size_t nrows = 0, width[5];
  bool help;

  if (opts_parse (spec, argc, argv, set_flag, &o, &args, &help, err) < 0)
    return rl_error_wrap (err, "%s", spec->name);
  if (help)
    return 0;
  if (strv_len (args) > 0)
    return rl_error (err, 0, "%s: unexpected argument `%s`", spec->name, args[0]);
  if (store_open (&st, g, err) < 0 || image_db_load (&st, &db, err) < 0)
    return rl_error_wrap (err, "%s", spec->name);
  if (db.n > 1)
    qsort (db.images, db.n, sizeof *db.images, by_created_desc);

  if (o.quiet)
    {
      for (size_t i = 0; i < db.n; i++)
        {
          cleanup_free char *id = show_id (db.images[i], o.no_trunc);
          printf ("%s\n", id);
        }
      return 0;
    }
  for (size_t i = 0; i < db.n; i++)
    {
      const struct rl_image *img = db.images[i];
      size_t nn = strv_len (img->names);
      for (size_t k = 0; k < (nn ? nn : 1); k++)
        {
          struct row *r;
          rows = xrealloc (rows, (nrows + 1) * sizeof *rows);
          r = &rows[nrows++];
          if (nn)
            split_name (img->names[k], &r->col[0], &r->col[1]);
          else
            {
              r->col[0] = xstrdup ("<none>");
              r->col[1] = xstrdup ("<none>");
            }
          r->col[2] = show_id (img, o.no_trunc);
          r->col[3] = human_duration_ago (img->created);
          r->col[4] = human_size (img->size);
        }
    }
  for (size_t c = 0; c < 5; c++)
    {
      width[c] = strlen (heads[c]);
      for (size_t i = 0; i < nrows; i++)
        if (strlen (rows[i].col[c]) > width[c])
          width[c] = strlen (rows[i].col[c]);
    }
  printf ("%-*s  %-*s  %-*s  %-*s  %s\n", (int)width[0], heads[0], (int)width[1], heads[1],
          (int)width[2], heads[2], (int)width[3], heads[3], heads[4]);
  for (size_t i = 0; i < nrows; i++)
    {
      printf ("%-*s  %-*s  %-*s  %-*s  %s\n", (int)width[0], rows[i].col[0], (int)width[1],
              rows[i].col[1], (int)width[2], rows[i].col[2], (int)width[3], rows[i].col[3],
              rows[i].col[4]);
      for (size_t c = 0; c < 5; c++)
        free (rows[i].col[c]);
    }
  free (rows);
  return 0;
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

/* Copy a parsed JSON value into the generator. */
static void
gen_value (yajl_gen g, yajl_val v)
{
  if (v == NULL || YAJL_IS_NULL (v))
    yajl_gen_null (g);
  else if (YAJL_IS_STRING (v))
    jg_str (g, YAJL_GET_STRING (v));
  else if (YAJL_IS_NUMBER (v))
    yajl_gen_number (g, YAJL_GET_NUMBER (v), strlen (YAJL_GET_NUMBER (v)));
  else if (YAJL_IS_TRUE (v) || YAJL_IS_FALSE (v))
    yajl_gen_bool (g, YAJL_IS_TRUE (v));
  else if (YAJL_IS_ARRAY (v))
    {
      yajl_gen_array_open (g);
      for (size_t i = 0; i < v->u.array.len; i++)
        gen_value (g, v->u.array.values[i]);
      yajl_gen_array_close (g);
    }
  else if (YAJL_IS_OBJECT (v))
    {
      yajl_gen_map_open (g);
      for (size_t i = 0; i < v->u.object.len; i++)
        {
          jg_key (g, v->u.object.keys[i]);
          gen_value (g, v->u.object.values[i]);
        }
      yajl_gen_map_close (g);
    }
}

static int
inspect_one (struct rl_store *st, const struct rl_image *img, yajl_gen g, rl_error_t *err)
{
  cleanup_free char *blob = xasprintf ("blobs/sha256/%s", img->id);
  cleanup_json yajl_val cfg = NULL;
  cleanup_strv char **repo_digests = NULL;
  yajl_val v;

  if (json_parse_file_at (st->rootfd, blob, &cfg, err) < 0)
    return rl_error_wrap (err, "image config of %.12s in `%s`", img->id, st->root);
  for (size_t k = 0; img->manifest_digest && img->names[k]; k++)
    {
      cleanup_free char *repo = NULL;
      cleanup_free char *tag = NULL;
      cleanup_free char *rd = NULL;
      split_name (img->names[k], &repo, &tag);
      rd = xasprintf ("%s@%s", repo, img->manifest_digest);
      if (!strv_contains (repo_digests, rd))
        strv_add (&repo_digests, rd);
    }
  if (repo_digests == NULL)
    repo_digests = xmalloc0 (sizeof (char *));

  yajl_gen_map_open (g);
  jg_kstr (g, "Id", img->id);
  jg_kstr (g, "Digest", img->manifest_digest);
  jg_kstrv (g, "RepoTags", img->names);
  jg_kstrv (g, "RepoDigests", repo_digests);
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
    gen_value (g, v);
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
    gen_value (g, v);
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

  if (opts_parse (&inspect_spec, argc, argv, no_opts, NULL, &args, &help, err) < 0)
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
      if (r < 0 || inspect_one (&st, db.images[idx], gen, err) < 0)
        return rl_error_wrap (err, "image inspect %s", args[a]);
    }
  yajl_gen_array_close (gen);
  text = jg_finish (gen, NULL);
  printf ("%s\n", text);
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

static void
image_usage (FILE *out)
{
  fputs ("Usage: rl image COMMAND [OPTIONS] [ARG...]\n\nManage images.\n\nCommands:\n"
         "  inspect    Show details of images as a JSON array\n"
         "  ls         List images (same as `rl images`)\n"
         "  rm         Remove images (same as `rl rmi`)\n\n"
         "Example: rl image inspect bb\n",
         out);
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
  if (strcmp (sub, "inspect") == 0)
    return image_inspect (g, argc - 1, argv + 1, err);
  if (strcmp (sub, "ls") == 0 || strcmp (sub, "list") == 0)
    return list_images (g, &image_ls_spec, argc - 1, argv + 1, err);
  if (strcmp (sub, "rm") == 0)
    return remove_images (g, &image_rm_spec, argc - 1, argv + 1, err);
  return rl_error (err, 0, "image: unknown command `%s` (inspect, ls, rm)", sub);
}
