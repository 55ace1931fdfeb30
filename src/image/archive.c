/* Image archives: the formats, manifest conversion, and writing them (rl
 * save); reading is in archive_load.c (see archive.h for both). */
#include "config.h"
#include "image/archive.h"
#include "image/archive_private.h"
#include "image/digest.h"
#include "image/layer.h"
#include "image/ref.h"
#include "registry/manifest.h"
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
#include <sys/stat.h>
#include <unistd.h>

#define OCI_LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"

static const struct
{
  const char *name;
  enum rl_archive_format f;
} formats[] = {
  { "docker-archive", ARCHIVE_DOCKER }, { "docker", ARCHIVE_DOCKER },
  { "oci-archive", ARCHIVE_OCI },       { "oci", ARCHIVE_OCI },
  { "oci-dir", ARCHIVE_OCI_DIR },
};

int
archive_format_parse (const char *s, enum rl_archive_format *f, rl_error_t *err)
{
  for (size_t i = 0; i < ARRAY_SIZE (formats); i++)
    if (strcmp (s, formats[i].name) == 0)
      {
        *f = formats[i].f;
        return 0;
      }
  return rl_error (err, 0, "unknown format `%s` (docker-archive, oci-archive, oci-dir)", s);
}

/* ---- manifest media types ---- */

static const struct
{
  const char *oci, *docker;
} media_types[] = {
  { MT_OCI_MANIFEST, MT_DOCKER_MANIFEST },
  { MT_OCI_INDEX, MT_DOCKER_LIST },
  { MT_OCI_CONFIG, "application/vnd.docker.container.image.v1+json" },
  { MT_OCI_LAYER_GZIP, "application/vnd.docker.image.rootfs.diff.tar.gzip" },
  { "application/vnd.oci.image.layer.v1.tar", "application/vnd.docker.image.rootfs.diff.tar" },
  { "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" },
};

static int
convert_media_type (const char *mt, bool to_oci, const char **out, rl_error_t *err)
{
  for (size_t i = 0; i < ARRAY_SIZE (media_types); i++)
    {
      if (strcmp (mt, media_types[i].oci) == 0 || strcmp (mt, media_types[i].docker) == 0)
        {
          *out = to_oci ? media_types[i].oci : media_types[i].docker;
          return 0;
        }
    }
  if (!to_oci && str_has_prefix (mt, "application/vnd.oci."))
    return rl_error (err, 0, "media type `%s` has no Docker v2s2 equivalent (use the OCI format)",
                     mt);
  *out = mt;
  return 0;
}

/* Copy v into g, converting the value of every "mediaType" key. */
static int
gen_converted (yajl_gen g, yajl_val v, bool is_media_type, bool to_oci, rl_error_t *err)
{
  if (v == NULL || YAJL_IS_NULL (v))
    yajl_gen_null (g);
  else if (YAJL_IS_STRING (v))
    {
      const char *s = YAJL_GET_STRING (v);
      if (is_media_type && convert_media_type (s, to_oci, &s, err) < 0)
        return -1;
      jg_str (g, s);
    }
  else if (YAJL_IS_NUMBER (v))
    yajl_gen_number (g, YAJL_GET_NUMBER (v), strlen (YAJL_GET_NUMBER (v)));
  else if (YAJL_IS_TRUE (v) || YAJL_IS_FALSE (v))
    yajl_gen_bool (g, YAJL_IS_TRUE (v));
  else if (YAJL_IS_ARRAY (v))
    {
      yajl_gen_array_open (g);
      for (size_t i = 0; i < v->u.array.len; i++)
        if (gen_converted (g, v->u.array.values[i], false, to_oci, err) < 0)
          return -1;
      yajl_gen_array_close (g);
    }
  else if (YAJL_IS_OBJECT (v))
    {
      yajl_gen_map_open (g);
      for (size_t i = 0; i < v->u.object.len; i++)
        {
          const char *k = v->u.object.keys[i];
          jg_key (g, k);
          if (gen_converted (g, v->u.object.values[i], strcmp (k, "mediaType") == 0, to_oci, err)
              < 0)
            return -1;
        }
      yajl_gen_map_close (g);
    }
  return 0;
}

int
manifest_convert (const char *text, bool to_oci, char **out, rl_error_t *err)
{
  cleanup_json yajl_val root = NULL;
  cleanup_gen yajl_gen g = json_gen_new (false);

  if (json_parse (text, "manifest", &root, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (root))
    return rl_error (err, 0, "manifest: not a JSON object");
  yajl_gen_map_open (g);
  /* Docker v2s2 must name its media type; OCI may leave it out. */
  if (json_get_str (root, "mediaType") == NULL)
    jg_kstr (g, "mediaType", to_oci ? MT_OCI_MANIFEST : MT_DOCKER_MANIFEST);
  for (size_t i = 0; i < root->u.object.len; i++)
    {
      const char *k = root->u.object.keys[i];
      jg_key (g, k);
      if (gen_converted (g, root->u.object.values[i], strcmp (k, "mediaType") == 0, to_oci, err)
          < 0)
        return -1;
    }
  yajl_gen_map_close (g);
  *out = jg_finish (g, NULL);
  return 0;
}

/* ---- small helpers ---- */

static int
read_store_json (struct rl_store *st, const char *hex, char **text, size_t *len, rl_error_t *err)
{
  cleanup_free char *name = xasprintf ("blobs/sha256/%s", hex);
  if (read_file_at (st->rootfd, name, JSON_MAX_SIZE, text, len, err) < 0)
    return rl_error_wrap (err, "store `%s`", st->root);
  return 0;
}

/* ---- save ---- */

struct saver
{
  struct rl_store *st;
  enum rl_archive_format f;
  struct archive *a; /* the tar formats */
  int fd;            /* ... written to this fd */
  int dirfd;         /* oci-dir */
  char **written;    /* member names already in the output */
  char buf[128 * 1024];
};

static la_ssize_t
tar_out_write (struct archive *a, void *data, const void *buf, size_t len)
{
  struct saver *sv = data;
  if (write_all (sv->fd, buf, len) < 0)
    {
      archive_set_error (a, errno, "write");
      return -1;
    }
  return len;
}

/* Members belong to the caller: an unprivileged reader that untars the
 * archive (skopeo's oci-archive transport does) can only give files to
 * itself, and fails on any other owner. */
static void
out_owner (struct archive_entry *e)
{
  archive_entry_set_uid (e, getuid ());
  archive_entry_set_gid (e, getgid ());
}

/* A directory member (tar formats), so that readers need not invent one. */
static int
out_dir (struct saver *sv, const char *name, rl_error_t *err)
{
  struct archive_entry *e;
  int r;

  if (sv->a == NULL)
    {
      if (mkdirat (sv->dirfd, name, 0755) < 0 && errno != EEXIST)
        return rl_error (err, errno, "mkdir `%s`", name);
      return 0;
    }
  e = archive_entry_new ();
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, AE_IFDIR);
  archive_entry_set_perm (e, 0755);
  archive_entry_set_mtime (e, 0, 0);
  out_owner (e);
  r = archive_write_header (sv->a, e);
  archive_entry_free (e);
  if (r < ARCHIVE_WARN)
    return rl_error (err, archive_errno (sv->a), "write `%s`", name);
  return 0;
}

/* Start member name of size bytes; returns the fd to write to (oci-dir) or
 * -2 (tar: write with out_data). */
static int
out_begin (struct saver *sv, const char *name, uint64_t size, rl_error_t *err)
{
  if (sv->a)
    {
      struct archive_entry *e = archive_entry_new ();
      int r;
      archive_entry_set_pathname (e, name);
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_perm (e, 0644);
      archive_entry_set_size (e, size);
      archive_entry_set_mtime (e, 0, 0);
      out_owner (e);
      r = archive_write_header (sv->a, e);
      archive_entry_free (e);
      if (r < ARCHIVE_WARN)
        return rl_error (err, archive_errno (sv->a), "write `%s`", name);
      return -2;
    }
  {
    int fd = openat (sv->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
      return rl_error (err, errno, "create `%s`", name);
    return fd;
  }
}

static int
out_data (struct saver *sv, int fd, const char *name, const void *buf, size_t len, rl_error_t *err)
{
  if (sv->a)
    {
      if (archive_write_data (sv->a, buf, len) != (la_ssize_t)len)
        return rl_error (err, archive_errno (sv->a), "write `%s`", name);
      return 0;
    }
  if (write_all (fd, buf, len) < 0)
    return rl_error (err, errno, "write `%s`", name);
  return 0;
}

static int
out_bytes (struct saver *sv, const char *name, const void *data, size_t len, rl_error_t *err)
{
  cleanup_close int fd = -1;

  if (strv_contains (sv->written, name))
    return 0;
  fd = out_begin (sv, name, len, err);
  if (fd == -1)
    return -1;
  if (out_data (sv, fd, name, data, len, err) < 0)
    return -1;
  strv_add (&sv->written, name);
  return 0;
}

/* A blob of the store, copied as it is; its size must be size (the
 * descriptor's). */
static int
out_blob (struct saver *sv, const char *name, const char *hex, uint64_t size, rl_error_t *err)
{
  cleanup_free char *src = xasprintf ("blobs/sha256/%s", hex);
  cleanup_close int in = -1;
  cleanup_close int fd = -1;
  uint64_t left = size;
  struct stat sb;

  if (strv_contains (sv->written, name))
    return 0;
  in = openat (sv->st->rootfd, src, O_RDONLY | O_CLOEXEC);
  if (in < 0 || fstat (in, &sb) < 0)
    return rl_error (err, errno, "open `%s/%s`", sv->st->root, src);
  if ((uint64_t)sb.st_size != size)
    return rl_error (err, 0, "`%s/%s`: %lld bytes, its descriptor says %llu", sv->st->root, src,
                     (long long)sb.st_size, (unsigned long long)size);
  fd = out_begin (sv, name, size, err);
  if (fd == -1)
    return -1;
  while (left > 0)
    {
      ssize_t n = read_all (in, sv->buf, left < sizeof sv->buf ? left : sizeof sv->buf);
      if (n <= 0)
        return rl_error (err, n < 0 ? errno : 0, "read `%s/%s`%s", sv->st->root, src,
                         n == 0 ? ": file shrank" : "");
      if (out_data (sv, fd, name, sv->buf, n, err) < 0)
        return -1;
      left -= n;
    }
  strv_add (&sv->written, name);
  return 0;
}

/* Bytes and sha256 of a layer blob once decompressed (when the store does
 * not record its size). */
static int
measure_layer (struct saver *sv, const char *hex, uint64_t *size, rl_error_t *err)
{
  cleanup_free char *src = xasprintf ("blobs/sha256/%s", hex);
  cleanup_free char *what = xasprintf ("`%s/%s`", sv->st->root, src);
  cleanup_close int in = openat (sv->st->rootfd, src, O_RDONLY | O_CLOEXEC);
  struct layer_fd_reader fr = { in, what };
  struct layer_decomp *d;
  ssize_t n;

  if (in < 0)
    return rl_error (err, errno, "open %s", what);
  *size = 0;
  d = layer_decomp_new (layer_fd_read, &fr);
  while ((n = layer_decomp_read (d, sv->buf, sizeof sv->buf, err)) > 0)
    *size += n;
  layer_decomp_free (d);
  return n < 0 ? -1 : 0;
}

/* A layer as an uncompressed tar (docker-archive), checked against its
 * diff_id on the way. */
static int
out_layer_tar (struct saver *sv, const char *name, const char *hex, const char *chain,
               const char *diff_id, rl_error_t *err)
{
  cleanup_free char *src = xasprintf ("blobs/sha256/%s", hex);
  cleanup_free char *what = xasprintf ("`%s/%s`", sv->st->root, src);
  cleanup_close int in = -1;
  cleanup_close int fd = -1;
  struct layer_fd_reader fr;
  struct layer_hash_reader hr;
  struct layer_decomp *d;
  char got[DIGEST_LEN + 1];
  uint64_t size = layer_tar_size (sv->st, chain);
  ssize_t n;
  int r = -1;

  if (strv_contains (sv->written, name))
    return 0;
  if (size == 0 && measure_layer (sv, hex, &size, err) < 0)
    return -1;
  in = openat (sv->st->rootfd, src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return rl_error (err, errno, "open %s", what);
  fd = out_begin (sv, name, size, err);
  if (fd == -1)
    return -1;
  fr.fd = in;
  fr.what = what;
  d = layer_decomp_new (layer_fd_read, &fr);
  layer_hash_reader_init (&hr, layer_decomp_read, d, size);
  while ((n = layer_hash_read (&hr, sv->buf, sizeof sv->buf, err)) > 0)
    if (out_data (sv, fd, name, sv->buf, n, err) < 0)
      goto out;
  if (n < 0)
    {
      rl_error_wrap (err, "layer %s", what);
      goto out;
    }
  layer_hash_reader_digest (&hr, got);
  if (hr.n != size || strcmp (got, diff_id) != 0)
    {
      rl_error (err, 0, "layer %s does not match its diff_id `%s` (the store is damaged)", what,
                diff_id);
      goto out;
    }
  strv_add (&sv->written, name);
  r = 0;
out:
  sha256_clear (&hr.h);
  layer_decomp_free (d);
  return r;
}

/* The image's manifest from the store, parsed; as OCI when oci. */
static int
saved_manifest (struct rl_store *st, const struct rl_image *img, bool oci, char **text,
                struct rl_manifest *m, rl_error_t *err)
{
  cleanup_free char *raw = NULL;
  size_t len;

  *text = NULL;
  if (img->manifest_digest == NULL)
    return rl_error (err, 0, "image %.12s has no manifest in the store", img->id);
  if (read_store_json (st, img->manifest_digest + strlen (DIGEST_PREFIX), &raw, &len, err) < 0)
    return -1;
  if (manifest_parse (raw, len, NULL, "stored manifest", m, err) < 0)
    return -1;
  if (m->kind != MANIFEST_IMAGE || m->n_layers != strv_len (img->diff_ids))
    return rl_error (err, 0, "image %.12s: its manifest does not match its record", img->id);
  if (oci && m->media_type && strcmp (m->media_type, MT_OCI_MANIFEST) != 0)
    return manifest_convert (raw, true, text, err);
  *text = steal_pointer (&raw);
  return 0;
}

static int
save_docker (struct saver *sv, struct rl_image *const *images, size_t n, rl_error_t *err)
{
  cleanup_gen yajl_gen g = json_gen_new (false);
  cleanup_free char *text = NULL;
  size_t len;

  yajl_gen_array_open (g);
  for (size_t i = 0; i < n; i++)
    {
      const struct rl_image *img = images[i];
      cleanup_manifest struct rl_manifest m = { 0 };
      cleanup_free char *mtext = NULL;
      cleanup_free char *config = NULL;
      cleanup_free char *config_name = xasprintf ("%s.json", img->id);
      cleanup_strv char **layers = xmalloc0 (sizeof (char *));
      size_t clen;

      if (saved_manifest (sv->st, img, false, &mtext, &m, err) < 0
          || read_store_json (sv->st, img->id, &config, &clen, err) < 0
          || out_bytes (sv, config_name, config, clen, err) < 0)
        return rl_error_wrap (err, "image %.12s", img->id);
      for (size_t k = 0; k < m.n_layers; k++)
        {
          const char *dhex = img->diff_ids[k] + strlen (DIGEST_PREFIX);
          cleanup_free char *name = xasprintf ("%s.tar", dhex);
          if (out_layer_tar (sv, name, m.layers[k].digest + strlen (DIGEST_PREFIX),
                             img->chain_ids[k], img->diff_ids[k], err)
              < 0)
            return rl_error_wrap (err, "image %.12s", img->id);
          strv_add (&layers, name);
        }
      yajl_gen_map_open (g);
      jg_kstr (g, "Config", config_name);
      jg_kstrv (g, "RepoTags", img->names && img->names[0] ? img->names : NULL);
      jg_kstrv (g, "Layers", layers);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  text = jg_finish (g, &len);
  return out_bytes (sv, "manifest.json", text, len, err);
}

static void
gen_index_entry (yajl_gen g, const char *digest, size_t size, const char *name)
{
  yajl_gen_map_open (g);
  jg_kstr (g, "mediaType", MT_OCI_MANIFEST);
  jg_kstr (g, "digest", digest);
  jg_kint (g, "size", (long long)size);
  if (name)
    {
      jg_key (g, "annotations");
      yajl_gen_map_open (g);
      /* containerd (and so Docker) reads the full name from its own key;
       * Podman and skopeo from the OCI one. */
      jg_kstr (g, ANNOTATION_IMAGE_NAME, name);
      jg_kstr (g, ANNOTATION_REF_NAME, name);
      yajl_gen_map_close (g);
    }
  yajl_gen_map_close (g);
}

static int
save_oci (struct saver *sv, struct rl_image *const *images, size_t n, rl_error_t *err)
{
  cleanup_gen yajl_gen g = json_gen_new (false);
  cleanup_free char *text = NULL;
  size_t len;

  if (out_bytes (sv, "oci-layout", OCI_LAYOUT, strlen (OCI_LAYOUT), err) < 0)
    return -1;
  if (out_dir (sv, "blobs", err) < 0 || out_dir (sv, "blobs/sha256", err) < 0)
    return -1;
  yajl_gen_map_open (g);
  jg_kint (g, "schemaVersion", 2);
  jg_kstr (g, "mediaType", MT_OCI_INDEX);
  jg_key (g, "manifests");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < n; i++)
    {
      const struct rl_image *img = images[i];
      cleanup_manifest struct rl_manifest m = { 0 };
      cleanup_free char *mtext = NULL;
      cleanup_free char *mname = NULL;
      cleanup_free char *cname = NULL;
      char mhex[SHA256_HEX_LEN + 1];
      cleanup_free char *mdigest = NULL;

      if (saved_manifest (sv->st, img, true, &mtext, &m, err) < 0)
        return rl_error_wrap (err, "image %.12s", img->id);
      sha256_hex (mtext, strlen (mtext), mhex);
      mdigest = xasprintf (DIGEST_PREFIX "%s", mhex);
      cname = xasprintf ("blobs/sha256/%s", m.config.digest + strlen (DIGEST_PREFIX));
      if (out_blob (sv, cname, m.config.digest + strlen (DIGEST_PREFIX), m.config.size, err) < 0)
        return rl_error_wrap (err, "image %.12s", img->id);
      for (size_t k = 0; k < m.n_layers; k++)
        {
          const char *hex = m.layers[k].digest + strlen (DIGEST_PREFIX);
          cleanup_free char *name = xasprintf ("blobs/sha256/%s", hex);
          if (out_blob (sv, name, hex, m.layers[k].size, err) < 0)
            return rl_error_wrap (err, "image %.12s", img->id);
        }
      mname = xasprintf ("blobs/sha256/%s", mhex);
      if (out_bytes (sv, mname, mtext, strlen (mtext), err) < 0)
        return rl_error_wrap (err, "image %.12s", img->id);
      if (img->names == NULL || img->names[0] == NULL)
        gen_index_entry (g, mdigest, strlen (mtext), NULL);
      for (size_t k = 0; img->names && img->names[k]; k++)
        gen_index_entry (g, mdigest, strlen (mtext), img->names[k]);
    }
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  text = jg_finish (g, &len);
  return out_bytes (sv, "index.json", text, len, err);
}

int
archive_save (struct rl_store *st, struct rl_image *const *images, size_t n,
              enum rl_archive_format f, int fd, const char *dir, rl_error_t *err)
{
  struct saver *sv;
  int r = -1;

  if (dl_need_archive (err) < 0 || dl_need_crypto (err) < 0)
    return -1;
  /* Before the first byte: a blob found missing half-way would leave a
   * truncated archive on stdout. */
  for (size_t i = 0; i < n; i++)
    if (image_blobs_check (st, images[i], err) < 0)
      return -1;
  sv = xmalloc0 (sizeof *sv);
  sv->st = st;
  sv->f = f;
  sv->fd = fd;
  sv->dirfd = -1;
  if (f == ARCHIVE_OCI_DIR)
    {
      sv->dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (sv->dirfd < 0)
        {
          rl_error (err, errno, "open `%s`", dir);
          goto out;
        }
    }
  else
    {
      sv->a = archive_write_new ();
      archive_write_set_format_pax_restricted (sv->a);
      archive_write_add_filter_none (sv->a);
      if (archive_write_open (sv->a, sv, NULL, tar_out_write, NULL) != ARCHIVE_OK)
        {
          rl_error (err, archive_errno (sv->a), "write archive: %s", archive_error_string (sv->a));
          goto out;
        }
    }
  r = f == ARCHIVE_DOCKER ? save_docker (sv, images, n, err) : save_oci (sv, images, n, err);
  if (r == 0 && sv->a && archive_write_close (sv->a) != ARCHIVE_OK)
    r = rl_error (err, archive_errno (sv->a), "write archive");
out:
  if (sv->a)
    archive_write_free (sv->a);
  if (sv->dirfd >= 0)
    close (sv->dirfd);
  strv_free (sv->written);
  free (sv);
  return r;
}
