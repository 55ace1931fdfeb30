/* The store's layers and blobs: unpacking into tmp/ with the right owners,
 * committing into layers/ and blobs/, making a layer blob from a root
 * filesystem (import), and garbage collection. */
#include "config.h"
#include "image/layer.h"
#include "util/dl.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void
layer_unpack_opts_for (const struct idmap *m, struct layer_unpack_opts *o)
{
  memset (o, 0, sizeof *o);
  switch (m->mode)
    {
    case IDMAP_HOST:
      o->chown = true;
      o->devices = true;
      break;
    case IDMAP_SUBID:
      o->chown = true;
      o->id_limit = idmap_size (m);
      break;
    case IDMAP_SINGLE:
      /* Everything belongs to the user: there is no other id to give. */
      break;
    }
}

/* Run fn with the owners of map m: in a user namespace for SUBID (files of
 * subordinate ids can only be made or removed from inside), else here. */
static int
run_as_owner (const struct idmap *m, userns_fn fn, void *arg, rl_error_t *err)
{
  if (m->mode == IDMAP_SUBID)
    return userns_run (m, false, fn, arg, err);
  return fn (arg, err);
}

/* What a (possibly forked) unpack reports back: lives in a shared mapping. */
struct unpack_result
{
  char diff_id[DIGEST_LEN + 1];
  uint64_t size;
  struct layer_unpack_stats stats;
};

struct unpack_job
{
  pid_t parent; /* this process, when the job runs in a user namespace child */
  int dirfd;
  layer_read_fn rd;
  void *arg;
  struct layer_unpack_opts o;
  const char *want_diff_id;
  struct unpack_result *res;
};

static int
unpack_job_fn (void *arg, rl_error_t *err)
{
  struct unpack_job *j = arg;
  struct layer_hash_reader hr;
  int r;

  /* Die with rl: a killed import or load must leave no writer in its
   * tmp/ entry, nor one holding the entry's lock (inherited). */
  if (j->parent > 0 && (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != j->parent))
    return rl_error (err, 0, "rl is gone");
  layer_hash_reader_init (&hr, j->rd, j->arg, 0);
  r = layer_unpack (j->dirfd, layer_hash_read, &hr, &j->o, &j->res->stats, err);
  if (r < 0)
    {
      sha256_clear (&hr.h);
      return -1;
    }
  layer_hash_reader_digest (&hr, j->res->diff_id);
  j->res->size = hr.n;
  if (j->want_diff_id && strcmp (j->want_diff_id, j->res->diff_id) != 0)
    return rl_error (err, 0, "diff_id mismatch: expected `%s`, got `%s`", j->want_diff_id,
                     j->res->diff_id);
  return 0;
}

void
layer_tmp_discard (struct rl_store *st, const struct idmap *m, struct layer_tmp *t)
{
  store_tmp_release (st, m, &t->tmp);
  free (t->idmap_key);
  memset (t, 0, sizeof *t);
  t->tmp.lockfd = -1;
}

int
layer_unpack_tmp (struct rl_store *st, const struct idmap *m, layer_read_fn rd, void *arg,
                  const char *want_diff_id, struct layer_tmp *t, rl_error_t *err)
{
  cleanup_close int dirfd = -1;
  struct unpack_job j = { 0 };
  struct unpack_result *res;
  int r;

  memset (t, 0, sizeof *t);
  t->tmp.lockfd = -1;
  /* Here, not in the child that run_as_owner() may fork: loaded once for
   * all unpacks, and a missing library is reported before any work. */
  if (dl_need_archive (err) < 0 || dl_need_crypto (err) < 0)
    return -1;
  if (store_tmp_new (st, "layer", &t->tmp, err) < 0)
    return -1;
  t->idmap_key = idmap_key (m);
  if (mkdirat (st->rootfd, t->tmp.name, 0700) < 0)
    {
      rl_error (err, errno, "mkdir `%s/%s`", st->root, t->tmp.name);
      layer_tmp_discard (st, m, t);
      return -1;
    }
  dirfd = openat (st->rootfd, t->tmp.name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* The root of an image is 0755 unless the layer says otherwise. */
  if (dirfd < 0 || fchmod (dirfd, 0755) < 0)
    {
      rl_error (err, errno, "open `%s/%s`", st->root, t->tmp.name);
      layer_tmp_discard (st, m, t);
      return -1;
    }
  res = mmap (NULL, sizeof *res, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (res == MAP_FAILED)
    {
      rl_error (err, errno, "mmap");
      layer_tmp_discard (st, m, t);
      return -1;
    }
  memset (res, 0, sizeof *res);
  j.dirfd = dirfd;
  j.rd = rd;
  j.arg = arg;
  j.want_diff_id = want_diff_id;
  j.res = res;
  if (m->mode == IDMAP_SUBID)
    j.parent = getpid ();
  layer_unpack_opts_for (m, &j.o);
  r = run_as_owner (m, unpack_job_fn, &j, err);
  if (r == 0)
    {
      memcpy (t->diff_id, res->diff_id, sizeof t->diff_id);
      t->size = res->size;
      t->stats = res->stats;
    }
  munmap (res, sizeof *res);
  if (r < 0)
    {
      layer_tmp_discard (st, m, t);
      return -1;
    }
  return 0;
}

int
layer_unpack_file_tmp (struct rl_store *st, const struct idmap *m, const char *rel,
                       const char *want_diff_id, struct layer_tmp *t, rl_error_t *err)
{
  cleanup_free char *what = xasprintf ("`%s/%s`", st->root, rel);
  cleanup_close int fd = openat (st->rootfd, rel, O_RDONLY | O_CLOEXEC);
  struct layer_fd_reader fr;
  struct layer_decomp *d;
  int r;

  if (fd < 0)
    return rl_error (err, errno, "open %s", what);
  fr.fd = fd;
  fr.what = what;
  d = layer_decomp_new (layer_fd_read, &fr);
  r = layer_unpack_tmp (st, m, layer_decomp_read, d, want_diff_id, t, err);
  layer_decomp_free (d);
  return r;
}

int
layer_unpack_blob_tmp (struct rl_store *st, const struct idmap *m, const char *blob_hex,
                       const char *want_diff_id, struct layer_tmp *t, rl_error_t *err)
{
  cleanup_free char *rel = xasprintf ("blobs/sha256/%s", blob_hex);
  if (layer_unpack_file_tmp (st, m, rel, want_diff_id, t, err) < 0)
    return rl_error_wrap (err, "unpack layer %.12s", blob_hex);
  return 0;
}

/* Read layers/CHAIN.json; NULL and no error when it is missing. */
static int
layer_meta_read (struct rl_store *st, const char *chain_hex, yajl_val *out, rl_error_t *err)
{
  cleanup_free char *name = xasprintf ("layers/%s.json", chain_hex);
  cleanup_free char *text = NULL;
  cleanup_free char *what = NULL;

  *out = NULL;
  if (read_file_at (st->rootfd, name, JSON_MAX_SIZE, &text, NULL, err) < 0)
    {
      if ((*err)->errnum == ENOENT)
        {
          rl_error_free (err);
          return 0;
        }
      return -1;
    }
  what = xasprintf ("layer metadata `%s/%s`", st->root, name);
  if (json_parse (text, what, out, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (*out) || !digest_valid (json_get_str (*out, "diff_id")))
    {
      yajl_tree_free (*out);
      *out = NULL;
      return rl_error (err, 0, "%s: missing or invalid `diff_id`", what);
    }
  return 0;
}

bool
layer_exists (struct rl_store *st, const char *chain_hex, char **key)
{
  cleanup_json yajl_val meta = NULL;
  cleanup_free char *dir = xasprintf ("layers/%s", chain_hex);
  rl_error_t e = NULL;
  struct stat sb;

  if (key)
    *key = NULL;
  if (fstatat (st->rootfd, dir, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (sb.st_mode))
    return false;
  if (layer_meta_read (st, chain_hex, &meta, &e) < 0)
    {
      rl_error_free (&e);
      return false;
    }
  if (meta == NULL)
    return false;
  if (key && json_get_str (meta, "idmap"))
    *key = xstrdup (json_get_str (meta, "idmap"));
  return true;
}

static int
layer_meta_write (struct rl_store *st, const struct layer_tmp *t, const char *chain_hex,
                  rl_error_t *err)
{
  cleanup_gen yajl_gen g = json_gen_new (true);
  cleanup_free char *name = xasprintf ("layers/%s.json", chain_hex);
  cleanup_free char *text = NULL;
  size_t len;

  yajl_gen_map_open (g);
  jg_kstr (g, "diff_id", t->diff_id);
  jg_kint (g, "size", (long long)t->size);
  jg_kstr (g, "idmap", t->idmap_key);
  jg_kint (g, "created", now_ns ());
  yajl_gen_map_close (g);
  text = jg_finish (g, &len);
  return write_file_atomic (st->rootfd, name, text, len, 0600, err);
}

struct rename_job
{
  int dirfd;
  const char *from, *to;
};

static int
rename_job_fn (void *arg, rl_error_t *err)
{
  struct rename_job *j = arg;
  if (renameat (j->dirfd, j->from, j->dirfd, j->to) < 0)
    return rl_error (err, errno, "rename");
  return 0;
}

/* Moving a directory rewrites its `..`, which needs write permission on it:
 * a layer whose tar gives its root to another id of the map can only be
 * moved from inside the user namespace.  Sets errno on failure. */
static int
rename_as_owner (const struct idmap *m, int dirfd, const char *from, const char *to)
{
  struct rename_job j = { dirfd, from, to };
  rl_error_t e = NULL;

  if (renameat (dirfd, from, dirfd, to) == 0)
    return 0;
  if (errno != EACCES || m->mode != IDMAP_SUBID)
    return -1;
  if (userns_run (m, false, rename_job_fn, &j, &e) < 0)
    {
      rl_error_free (&e);
      errno = EACCES;
      return -1;
    }
  return 0;
}

/* One directory per chain id, whatever map made it.  A layer that exists
 * already with another map's owners is refused rather than unpacked twice:
 * the runtime mounts layers/CHAIN by name, and owners from another map
 * would be wrong inside the container.  The store records its map in
 * layers/CHAIN.json so the message can say which. */
int
layer_commit (struct rl_store *st, const struct idmap *m, struct layer_tmp *t,
              const char *chain_hex, rl_error_t *err)
{
  cleanup_free char *dest = xasprintf ("layers/%s", chain_hex);
  cleanup_free char *key = NULL;

  if (layer_exists (st, chain_hex, &key))
    {
      if (key && t->idmap_key && strcmp (key, t->idmap_key) != 0)
        {
          rl_error (err, 0,
                    "layer %.12s is in the store with the owners of id map `%s`, not `%s`; "
                    "remove the images that use it (rl rmi) to unpack it again",
                    chain_hex, key, t->idmap_key);
          layer_tmp_discard (st, m, t);
          return -1;
        }
      /* Someone else unpacked it first: keep theirs. */
      layer_tmp_discard (st, m, t);
      return 0;
    }
  /* A directory without metadata is left from an interrupted commit. */
  if (store_remove_as_owner (m, st->rootfd, dest, err) < 0)
    return rl_error_wrap (err, "remove incomplete layer `%s/%s`", st->root, dest);
  if (rename_as_owner (m, st->rootfd, t->tmp.name, dest) < 0)
    return rl_error (err, errno, "rename `%s/%s` to `%s`", st->root, t->tmp.name, dest);
  /* Moved away: only its lock is left to release. */
  free (t->tmp.name);
  t->tmp.name = NULL;
  if (layer_meta_write (st, t, chain_hex, err) < 0)
    return rl_error_wrap (err, "store `%s`", st->root);
  return 0;
}

int
blob_put_bytes (struct rl_store *st, const void *data, size_t len, char hex[SHA256_HEX_LEN + 1],
                rl_error_t *err)
{
  cleanup_free char *name = NULL;

  if (dl_need_crypto (err) < 0)
    return -1;
  sha256_hex (data, len, hex);
  name = xasprintf ("blobs/sha256/%s", hex);
  if (write_file_atomic (st->rootfd, name, data, len, 0600, err) < 0)
    return rl_error_wrap (err, "store `%s`", st->root);
  return 0;
}

bool
blob_exists (struct rl_store *st, const char *digest)
{
  cleanup_free char *name = NULL;

  if (!digest_valid (digest))
    return false;
  name = xasprintf ("blobs/sha256/%s", digest + strlen (DIGEST_PREFIX));
  return faccessat (st->rootfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* One descriptor of a stored manifest: its blob there, of its size. */
static int
blob_check_desc (struct rl_store *st, yajl_val desc, rl_error_t *err)
{
  const char *digest = json_get_str (desc, "digest");
  int64_t size = json_get_int (desc, "size", -1);
  cleanup_free char *name = NULL;
  struct stat sb;

  if (!digest_valid (digest) || size < 0)
    return rl_error (err, 0, "its manifest has a descriptor without a valid digest or size");
  name = xasprintf ("blobs/sha256/%s", digest + strlen (DIGEST_PREFIX));
  if (fstatat (st->rootfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
    return rl_error (err, 0,
                     "blob %s is missing from the store (`%s/%s`: %s); pull, load or import the "
                     "image again",
                     digest, st->root, name, strerror (errno));
  if (!S_ISREG (sb.st_mode) || sb.st_size != size)
    return rl_error (err, 0,
                     "blob `%s/%s` has %lld bytes, the manifest says %lld (the store is damaged)",
                     st->root, name, (long long)sb.st_size, (long long)size);
  return 0;
}

int
image_blobs_check (struct rl_store *st, const struct rl_image *img, rl_error_t *err)
{
  cleanup_json yajl_val root = NULL;
  cleanup_free char *name = NULL;
  yajl_val layers;

  if (!digest_valid (img->manifest_digest))
    return rl_error (err, 0, "image %.12s has no manifest in the store", img->id);
  name = xasprintf ("blobs/sha256/%s", img->manifest_digest + strlen (DIGEST_PREFIX));
  if (json_parse_file_at (st->rootfd, name, &root, err) < 0)
    return rl_error_wrap (err, "image %.12s: store `%s`", img->id, st->root);
  layers = json_get (root, "layers");
  if (blob_check_desc (st, json_get (root, "config"), err) < 0)
    return rl_error_wrap (err, "image %.12s", img->id);
  for (size_t i = 0; YAJL_IS_ARRAY (layers) && i < layers->u.array.len; i++)
    if (blob_check_desc (st, layers->u.array.values[i], err) < 0)
      return rl_error_wrap (err, "image %.12s", img->id);
  return 0;
}

int
blob_commit (struct rl_store *st, const char *tmp_name, const char *hex, rl_error_t *err)
{
  cleanup_free char *name = xasprintf ("blobs/sha256/%s", hex);
  if (renameat (st->rootfd, tmp_name, st->rootfd, name) < 0)
    return rl_error (err, errno, "rename `%s/%s` to `%s`", st->root, tmp_name, name);
  return 0;
}

struct rm_list_job
{
  int dirfd;
  char **names;
};

static int
rm_list_fn (void *arg, rl_error_t *err)
{
  struct rm_list_job *j = arg;
  for (size_t i = 0; j->names[i]; i++)
    if (rm_rf_at (j->dirfd, j->names[i], err) < 0)
      return -1;
  return 0;
}

/* The layer blobs a manifest blob lists ("sha256:..." strings into *out). */
static int
manifest_layer_digests (struct rl_store *st, const char *digest, char ***out, rl_error_t *err)
{
  cleanup_free char *name = xasprintf ("blobs/sha256/%s", digest + strlen (DIGEST_PREFIX));
  cleanup_json yajl_val root = NULL;
  yajl_val layers;

  if (json_parse_file_at (st->rootfd, name, &root, err) < 0)
    {
      if ((*err)->errnum == ENOENT)
        {
          rl_error_free (err);
          return 0;
        }
      return rl_error_wrap (err, "store `%s`", st->root);
    }
  layers = json_get (root, "layers");
  if (!YAJL_IS_ARRAY (layers))
    return 0;
  for (size_t i = 0; i < layers->u.array.len; i++)
    {
      const char *d = json_get_str (layers->u.array.values[i], "digest");
      if (digest_valid (d))
        strv_add (out, d + strlen (DIGEST_PREFIX));
    }
  return 0;
}

static int
list_dir (int rootfd, const char *rel, char ***out, rl_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd = openat (rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return errno == ENOENT ? 0 : rl_error (err, errno, "open `%s`", rel);
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return rl_error (err, errno, "open `%s`", rel);
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    if (de->d_name[0] != '.')
      strv_add (out, de->d_name);
  if (errno)
    return rl_error (err, errno, "read `%s`", rel);
  return 0;
}

int
layer_gc (struct rl_store *st, const struct idmap *m, const struct rl_image_db *db, rl_error_t *err)
{
  cleanup_strv char **keep = NULL;   /* blob hexes */
  cleanup_strv char **chains = NULL; /* chain hexes */
  cleanup_strv char **blobs = NULL;
  cleanup_strv char **layers = NULL;
  cleanup_strv char **doomed = NULL;
  struct rm_list_job j;

  for (size_t i = 0; i < db->n; i++)
    {
      const struct rl_image *img = db->images[i];
      strv_add (&keep, img->id);
      if (img->manifest_digest)
        {
          strv_add (&keep, img->manifest_digest + strlen (DIGEST_PREFIX));
          if (manifest_layer_digests (st, img->manifest_digest, &keep, err) < 0)
            return -1;
        }
      for (size_t k = 0; img->chain_ids[k]; k++)
        strv_add (&chains, img->chain_ids[k]);
    }
  if (list_dir (st->rootfd, "blobs/sha256", &blobs, err) < 0
      || list_dir (st->rootfd, "layers", &layers, err) < 0)
    return rl_error_wrap (err, "store `%s`", st->root);

  for (size_t i = 0; blobs && blobs[i]; i++)
    {
      cleanup_free char *name = NULL;
      /* Only finished blobs: a half-written one belongs to someone else. */
      if (!sha256_hex_valid (blobs[i]) || strv_contains (keep, blobs[i]))
        continue;
      name = xasprintf ("blobs/sha256/%s", blobs[i]);
      if (unlinkat (st->rootfd, name, 0) < 0 && errno != ENOENT)
        return rl_error (err, errno, "remove `%s/%s`", st->root, name);
    }
  for (size_t i = 0; layers && layers[i]; i++)
    {
      cleanup_free char *hex = xstrndup (layers[i], SHA256_HEX_LEN);
      const char *rest = layers[i] + strlen (hex);

      if (!sha256_hex_valid (hex) || strv_contains (chains, hex))
        continue;
      if (strcmp (rest, ".json") == 0)
        {
          /* The metadata goes first: a layer without it counts as absent. */
          cleanup_free char *name = xasprintf ("layers/%s", layers[i]);
          if (unlinkat (st->rootfd, name, 0) < 0 && errno != ENOENT)
            return rl_error (err, errno, "remove `%s/%s`", st->root, name);
        }
      else if (*rest == '\0')
        strv_add_take (&doomed, xasprintf ("layers/%s", layers[i]));
    }
  if (doomed == NULL)
    return 0;
  j.dirfd = st->rootfd;
  j.names = doomed;
  if (run_as_owner (m, rm_list_fn, &j, err) < 0)
    return rl_error_wrap (err, "remove unused layers in `%s`", st->root);
  return 0;
}

uint64_t
layer_tar_size (struct rl_store *st, const char *chain_hex)
{
  cleanup_free char *name = xasprintf ("layers/%s.json", chain_hex);
  cleanup_json yajl_val meta = NULL;
  rl_error_t e = NULL;

  if (json_parse_file_at (st->rootfd, name, &meta, &e) < 0)
    {
      rl_error_free (&e);
      return 0;
    }
  return json_get_int (meta, "size", 0);
}
