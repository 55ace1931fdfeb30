/* Reading image archives (rl load): docker-archive, oci-archive and oci-dir,
 * checked like a layer before anything reaches the store (see archive.h). */
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
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Bounds on what an archive may make us do, beyond its bytes. */
#define ARCHIVE_MAX_MEMBERS 16384 /* names are looked up linearly */
#define ARCHIVE_MAX_NAME    4096
#define ARCHIVE_MAX_LINKS   16
#define ARCHIVE_MAX_IMAGES  1024

static int
openat2_beneath (int dirfd, const char *path, int flags)
{
  struct open_how how = {
    .flags = (uint64_t)flags | O_CLOEXEC,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  return syscall (SYS_openat2, dirfd, path, &how, sizeof how);
}

/* Normalize an archive name: "./a//b" -> "a/b".  base (may be NULL) is
 * the directory a relative link target starts from; only then may `..`
 * appear, and never above the top.  Sets *why and returns NULL when the
 * name is absolute or leaves the archive. */
static char *
clean_name (const char *base, const char *name, const char **why)
{
  cleanup_free char *joined = NULL;
  cleanup_free char *out = NULL;
  size_t len = 0;
  char *save = NULL, *c;

  if (name[0] == '/')
    {
      *why = "absolute name";
      return NULL;
    }
  joined = base && *base ? xasprintf ("%s/%s", base, name) : xstrdup (name);
  out = xmalloc (strlen (joined) + 1);
  out[0] = '\0';
  for (c = strtok_r (joined, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      if (strcmp (c, ".") == 0)
        continue;
      if (strcmp (c, "..") == 0)
        {
          char *slash;
          if (base == NULL)
            {
              *why = "`..` in the name";
              return NULL;
            }
          if (len == 0)
            {
              *why = "points outside the archive";
              return NULL;
            }
          slash = strrchr (out, '/');
          len = slash ? (size_t)(slash - out) : 0;
          out[len] = '\0';
          continue;
        }
      if (len)
        out[len++] = '/';
      strcpy (out + len, c);
      len += strlen (c);
    }
  return steal_pointer (&out);
}

/* "2026-11-27T18:06:12.123456789Z" (or with an offset) -> unix ns; 0 if
 * it does not parse (the image then counts as created now). */
static int64_t
parse_rfc3339 (const char *s)
{
  struct tm tm = { 0 };
  const char *p;
  int64_t ns = 0, scale = 100000000;
  time_t t;

  if (s == NULL || (p = strptime (s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
    return 0;
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
      ns += (*p - '0') * scale;
  t = timegm (&tm);
  if (*p == '+' || *p == '-')
    {
      int h = 0, m = 0, sign = *p == '-' ? -1 : 1;
      if (sscanf (p + 1, "%d:%d", &h, &m) == 2)
        t -= sign * (h * 3600 + m * 60);
    }
  return (int64_t)t * 1000000000 + ns;
}

/* ---- load: the input ---- */

struct member
{
  char *name;
  char *link; /* a link's target (cleaned), or NULL */
  long file;  /* the staged file's number */
  uint64_t size;
};

struct source
{
  struct rl_store *st;
  const char *what;      /* the user's name for the input */
  int dirfd;             /* the staging directory, or the oci-dir */
  struct store_tmp work; /* tmp/load-RANDOM: staged members, copies of oci-dir blobs */
  const char *stage;     /* work.name for a tar, NULL for an oci-dir */
  struct member *m;
  size_t n;
  long nfiles;
  char buf[128 * 1024];
};

static struct member *
member_get (struct source *s, const char *name)
{
  for (size_t i = 0; i < s->n; i++)
    if (strcmp (s->m[i].name, name) == 0)
      return &s->m[i];
  return NULL;
}

/* Copy the tar on fd into the staging directory, one numbered file per
 * member, remembering names and links. */
static int
stage_tar (struct source *s, int fd, rl_error_t *err)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *e;
  int r, ret = -1;

  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  if (archive_read_open_fd (a, fd, 128 * 1024) != ARCHIVE_OK)
    {
      const char *msg = archive_error_string (a);
      rl_error (err, 0, "%s",
                msg && strstr (msg, "Unrecognized archive format") ? "not a tar archive"
                : msg                                              ? msg
                                                                   : "read error");
      goto out;
    }
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      const char *raw = archive_entry_pathname (e);
      const char *hl = archive_entry_hardlink (e);
      mode_t type = archive_entry_filetype (e);
      cleanup_free char *name = NULL;
      cleanup_free char *link = NULL;
      struct member *m;
      const char *why = NULL;

      if (raw == NULL || strlen (raw) > ARCHIVE_MAX_NAME)
        {
          rl_error (err, 0, "a member has no name or one too long");
          goto out;
        }
      name = clean_name (NULL, raw, &why);
      if (name == NULL)
        {
          rl_error (err, 0, "member `%s`: %s", raw, why);
          goto out;
        }
      if (*name == '\0' || (hl == NULL && type == AE_IFDIR))
        continue;
      if (hl)
        link = clean_name (NULL, hl, &why);
      else if (type == AE_IFLNK)
        {
          cleanup_free char *dir = xstrdup (name);
          char *slash = strrchr (dir, '/');
          *(slash ? slash : dir) = '\0';
          link = clean_name (dir, archive_entry_symlink (e) ? archive_entry_symlink (e) : "", &why);
        }
      else if (type != AE_IFREG)
        {
          rl_error (err, 0, "member `%s` is not a file, directory or link", raw);
          goto out;
        }
      if ((hl || type == AE_IFLNK) && link == NULL)
        {
          rl_error (err, 0, "link `%s`: %s", raw, why);
          goto out;
        }
      m = member_get (s, name);
      if (m == NULL)
        {
          if (s->n >= ARCHIVE_MAX_MEMBERS)
            {
              rl_error (err, 0, "more than %d members", ARCHIVE_MAX_MEMBERS);
              goto out;
            }
          s->m = xrealloc (s->m, (s->n + 1) * sizeof *s->m);
          m = &s->m[s->n++];
          m->name = steal_pointer (&name);
        }
      else
        free (m->link);
      /* A later member of the same name replaces the earlier, as tar does. */
      m->link = steal_pointer (&link);
      m->file = -1;
      m->size = 0;
      if (m->link)
        continue;
      {
        cleanup_free char *fname = xasprintf ("%ld", s->nfiles);
        cleanup_close int out
            = openat (s->dirfd, fname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        la_ssize_t n;

        if (out < 0)
          {
            rl_error (err, errno, "create `%s/%s/%s`", s->st->root, s->stage, fname);
            goto out;
          }
        m->file = s->nfiles++;
        while ((n = archive_read_data (a, s->buf, sizeof s->buf)) > 0)
          {
            if (write_all (out, s->buf, n) < 0)
              {
                rl_error (err, errno, "write `%s/%s/%s`", s->st->root, s->stage, fname);
                goto out;
              }
            m->size += n;
          }
        if (n < 0)
          {
            rl_error (err, 0, "member `%s`: %s", m->name, archive_error_string (a));
            goto out;
          }
      }
    }
  if (r != ARCHIVE_EOF)
    {
      const char *msg = archive_error_string (a);
      rl_error (err, 0, "%s",
                s->n == 0 && msg && strstr (msg, "Unrecognized archive format")
                    ? "not a tar archive"
                : msg ? msg
                      : "error");
      goto out;
    }
  ret = 0;
out:
  archive_read_free (a);
  return ret;
}

/* Open a member (following links inside the archive) or, for an oci-dir,
 * a file below it; *size is its length. */
static int
source_open (struct source *s, const char *raw, int *fd, uint64_t *size, rl_error_t *err)
{
  cleanup_free char *name = NULL;
  const char *why = NULL;
  struct member *m = NULL;
  struct stat sb;

  name = clean_name (NULL, raw, &why);
  if (name == NULL)
    return rl_error (err, 0, "`%s`: %s", raw, why);
  if (s->stage == NULL)
    {
      *fd = openat2_beneath (s->dirfd, name, O_RDONLY);
      if (*fd < 0)
        return rl_error (err, errno, "open `%s`", name);
      if (fstat (*fd, &sb) < 0 || !S_ISREG (sb.st_mode))
        {
          close (*fd);
          return rl_error (err, 0, "`%s` is not a regular file", name);
        }
      *size = sb.st_size;
      return 0;
    }
  for (int hops = 0; hops <= ARCHIVE_MAX_LINKS; hops++)
    {
      m = member_get (s, m ? m->link : name);
      if (m == NULL || m->link == NULL)
        break;
    }
  if (m == NULL || m->link)
    return rl_error (err, 0, "no member `%s`%s", name, m ? " (too many links)" : "");
  {
    cleanup_free char *fname = xasprintf ("%ld", m->file);
    *fd = openat (s->dirfd, fname, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
      return rl_error (err, errno, "open `%s/%s/%s`", s->st->root, s->stage, fname);
  }
  *size = m->size;
  return 0;
}

/* The staged file of a member, relative to the store root (NULL for an
 * oci-dir, where files are outside the store). */
static char *
source_stage_path (struct source *s, const char *raw)
{
  cleanup_free char *name = NULL;
  const char *why;
  struct member *m = NULL;

  if (s->stage == NULL || (name = clean_name (NULL, raw, &why)) == NULL)
    return NULL;
  for (int hops = 0; hops <= ARCHIVE_MAX_LINKS; hops++)
    {
      m = member_get (s, m ? m->link : name);
      if (m == NULL || m->link == NULL)
        break;
    }
  return m && m->link == NULL ? xasprintf ("%s/%ld", s->stage, m->file) : NULL;
}

static bool
source_has (struct source *s, const char *name)
{
  cleanup_close int fd = -1;
  uint64_t size;
  rl_error_t e = NULL;

  if (source_open (s, name, &fd, &size, &e) < 0)
    {
      rl_error_free (&e);
      return false;
    }
  return true;
}

/* A JSON member, at most JSON_MAX_SIZE bytes. */
static int
source_read_json (struct source *s, const char *name, char **text, size_t *len, rl_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  uint64_t size;
  ssize_t n;

  if (source_open (s, name, &fd, &size, err) < 0)
    return -1;
  if (size > JSON_MAX_SIZE)
    return rl_error (err, 0, "`%s` is larger than %d bytes", name, JSON_MAX_SIZE);
  buf = xmalloc (size + 1);
  n = read_all (fd, buf, size);
  if (n < 0 || (uint64_t)n != size)
    return rl_error (err, n < 0 ? errno : 0, "read `%s`", name);
  buf[size] = '\0';
  *text = steal_pointer (&buf);
  if (len)
    *len = size;
  return 0;
}

/* The blob a descriptor names: its size must be the declared one and its
 * sha256 the digest; at most size bytes are read.  *rel gets a file under
 * the store's tmp/ holding it: the staged member itself, or (oci-dir) a
 * copy made while hashing; *owned says whether it is a copy of ours. */
static int
source_blob (struct source *s, const char *digest, uint64_t size, char **rel, bool *owned,
             rl_error_t *err)
{
  cleanup_free char *name = xasprintf ("blobs/sha256/%s", digest + strlen (DIGEST_PREFIX));
  cleanup_close int fd = -1;
  cleanup_close int out = -1;
  cleanup_free char *copy = NULL;
  cleanup_sha256 struct rl_sha256 h = { 0 };
  char hex[SHA256_HEX_LEN + 1], rnd[17];
  uint64_t have, left = size;

  *rel = NULL;
  *owned = false;
  if (source_open (s, name, &fd, &have, err) < 0)
    return -1;
  if (have != size)
    return rl_error (err, 0, "blob `%s` has %llu bytes, its descriptor says %llu", digest,
                     (unsigned long long)have, (unsigned long long)size);
  if (s->stage == NULL)
    {
      if (random_hex (rnd, 8) < 0)
        return rl_error (err, errno, "getrandom");
      copy = xasprintf ("%s/blob-%s", s->work.name, rnd);
      out = openat (s->st->rootfd, copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (out < 0)
        return rl_error (err, errno, "create `%s/%s`", s->st->root, copy);
    }
  sha256_init (&h);
  while (left > 0)
    {
      ssize_t n = read_all (fd, s->buf, left < sizeof s->buf ? left : sizeof s->buf);
      if (n <= 0 || (out >= 0 && write_all (out, s->buf, n) < 0))
        {
          int e = errno;
          if (copy)
            unlinkat (s->st->rootfd, copy, 0);
          return rl_error (err, n <= 0 ? (n < 0 ? e : 0) : e, "copy blob `%s`", digest);
        }
      sha256_update (&h, s->buf, n);
      left -= n;
    }
  sha256_final_hex (&h, hex);
  if (strcmp (hex, digest + strlen (DIGEST_PREFIX)) != 0)
    {
      if (copy)
        unlinkat (s->st->rootfd, copy, 0);
      return rl_error (err, 0, "blob `%s` has the wrong digest (sha256:%s)", digest, hex);
    }
  if (copy)
    {
      *rel = steal_pointer (&copy);
      *owned = true;
    }
  else
    *rel = source_stage_path (s, name);
  return 0;
}

/* ---- load: images ---- */

struct pending_layer
{
  char chain[SHA256_HEX_LEN + 1];
  char blob_hex[SHA256_HEX_LEN + 1];
  char *blob_rel;      /* under tmp/, to commit into blobs/ */
  bool blob_owned;     /* a file of ours (not a staged member): remove on failure */
  struct layer_blob b; /* docker-archive: the gzip blob made for it */
  struct layer_tmp t;
  bool unpacked;
};

struct pending_image
{
  char id[SHA256_HEX_LEN + 1];
  char *config;
  char *manifest;
  char **names;
  char **diff_ids;
  char **chain_ids;
  int64_t created;
  uint64_t size;
};

struct loader
{
  struct rl_store *st;
  const struct idmap *m;
  struct source s;
  struct pending_image *imgs;
  size_t nimgs;
  struct pending_layer **layers;
  size_t nlayers;
};

static void
loader_clear (struct loader *l)
{
  for (size_t i = 0; i < l->nlayers; i++)
    {
      struct pending_layer *p = l->layers[i];
      if (p->unpacked)
        layer_tmp_discard (l->st, l->m, &p->t);
      if (p->blob_owned && p->blob_rel)
        unlinkat (l->st->rootfd, p->blob_rel, 0);
      layer_blob_clear (l->st, &p->b);
      free (p->blob_rel);
      free (p);
    }
  free (l->layers);
  for (size_t i = 0; i < l->nimgs; i++)
    {
      free (l->imgs[i].config);
      free (l->imgs[i].manifest);
      strv_free (l->imgs[i].names);
      strv_free (l->imgs[i].diff_ids);
      strv_free (l->imgs[i].chain_ids);
    }
  free (l->imgs);
  /* Staged members and copies are the user's own files: no id map. */
  store_tmp_release (l->st, NULL, &l->s.work);
  if (l->s.dirfd >= 0)
    close (l->s.dirfd);
  for (size_t i = 0; i < l->s.n; i++)
    {
      free (l->s.m[i].name);
      free (l->s.m[i].link);
    }
  free (l->s.m);
}

static struct pending_layer *
find_layer (struct loader *l, const char *chain)
{
  for (size_t i = 0; i < l->nlayers; i++)
    if (strcmp (l->layers[i]->chain, chain) == 0)
      return l->layers[i];
  return NULL;
}

static struct pending_layer *
new_layer (struct loader *l, const char *chain)
{
  struct pending_layer *p = xmalloc0 (sizeof *p);
  snprintf (p->chain, sizeof p->chain, "%s", chain);
  l->layers = xrealloc (l->layers, (l->nlayers + 1) * sizeof *l->layers);
  l->layers[l->nlayers++] = p;
  return p;
}

static struct pending_image *
new_image (struct loader *l, rl_error_t *err)
{
  struct pending_image *img;
  if (l->nimgs >= ARCHIVE_MAX_IMAGES)
    return rl_error (err, 0, "more than %d images", ARCHIVE_MAX_IMAGES), NULL;
  l->imgs = xrealloc (l->imgs, (l->nimgs + 1) * sizeof *l->imgs);
  img = &l->imgs[l->nimgs++];
  memset (img, 0, sizeof *img);
  return img;
}

/* A name recorded in an archive, normalized as the store keeps names
 * (Docker's meaning: a short name is on docker.io); NULL when it is not a
 * usable name (a bare tag, a digest reference). */
static char *
archive_name (const char *s)
{
  cleanup_ref struct rl_ref r = { 0 };
  rl_error_t e = NULL;

  if (s == NULL || ref_parse (s, &r, &e) < 0)
    {
      rl_error_free (&e);
      return NULL;
    }
  if (r.digest)
    return NULL;
  ref_normalize (&r, REF_DEFAULT_DOMAIN);
  return ref_format (&r);
}

/* The config: diff_ids, chain ids and creation time into img. */
static int
take_config (struct loader *l, struct pending_image *img, const char *what, rl_error_t *err)
{
  cleanup_json yajl_val root = NULL;
  size_t n;

  if (image_config_diff_ids (img->config, what, &img->diff_ids, NULL, NULL, err) < 0)
    return -1;
  if (json_parse (img->config, what, &root, err) < 0)
    return -1;
  img->created = parse_rfc3339 (json_get_str (root, "created"));
  if (img->created == 0)
    img->created = now_ns ();
  n = strv_len (img->diff_ids);
  img->chain_ids = xmalloc0 ((n + 1) * sizeof (char *));
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *parent = i ? xasprintf (DIGEST_PREFIX "%s", img->chain_ids[i - 1]) : NULL;
      char hex[SHA256_HEX_LEN + 1];
      chain_id_next (parent, img->diff_ids[i], hex);
      img->chain_ids[i] = xstrdup (hex);
    }
  return 0;
}

/* Unpack layer blob rel (store relative: gzip, zstd or plain) into tmp/
 * and check its diff_id, unless the store or this load has it already. */
static int
unpack_layer (struct loader *l, struct pending_layer *p, const char *rel, const char *diff_id,
              uint64_t *tar_size, rl_error_t *err)
{
  if (layer_exists (l->st, p->chain, NULL))
    {
      *tar_size = layer_tar_size (l->st, p->chain);
      return 0;
    }
  if (layer_unpack_file_tmp (l->st, l->m, rel, diff_id, &p->t, err) < 0)
    return -1;
  p->unpacked = true;
  *tar_size = p->t.size;
  return 0;
}

static int
load_docker_image (struct loader *l, yajl_val entry, size_t idx, rl_error_t *err)
{
  cleanup_gen yajl_gen g = json_gen_new (false);
  cleanup_free char *what = NULL;
  cleanup_free char *cdigest = NULL;
  const char *config = json_get_str (entry, "Config");
  yajl_val layers = json_get (entry, "Layers");
  yajl_val tags = json_get (entry, "RepoTags");
  struct pending_image *img;
  const char *base;
  size_t clen;

  if (config == NULL || !YAJL_IS_ARRAY (layers))
    return rl_error (err, 0, "`manifest.json`: entry %zu has no `Config` or `Layers`", idx + 1);
  img = new_image (l, err);
  if (img == NULL || source_read_json (&l->s, config, &img->config, &clen, err) < 0)
    return -1;
  sha256_hex (img->config, clen, img->id);
  /* A config named by its digest (HEX.json, blobs/sha256/HEX) must have it. */
  base = strrchr (config, '/') ? strrchr (config, '/') + 1 : config;
  if (strlen (base) >= SHA256_HEX_LEN && strspn (base, "0123456789abcdef") == SHA256_HEX_LEN
      && (base[SHA256_HEX_LEN] == '\0' || strcmp (base + SHA256_HEX_LEN, ".json") == 0)
      && strncmp (base, img->id, SHA256_HEX_LEN) != 0)
    return rl_error (err, 0, "config `%s` has the wrong digest (sha256:%s)", config, img->id);
  what = xasprintf ("config `%s`", config);
  if (take_config (l, img, what, err) < 0)
    return -1;
  if (layers->u.array.len != strv_len (img->diff_ids))
    return rl_error (err, 0, "`manifest.json`: entry %zu lists %zu layers, its config %zu diff_ids",
                     idx + 1, layers->u.array.len, strv_len (img->diff_ids));
  for (size_t k = 0; YAJL_IS_ARRAY (tags) && k < tags->u.array.len; k++)
    {
      char *n = YAJL_IS_STRING (tags->u.array.values[k])
                    ? archive_name (YAJL_GET_STRING (tags->u.array.values[k]))
                    : NULL;
      if (n && !strv_contains (img->names, n))
        strv_add (&img->names, n);
      free (n);
    }

  cdigest = xasprintf (DIGEST_PREFIX "%s", img->id);
  yajl_gen_map_open (g);
  jg_kint (g, "schemaVersion", 2);
  jg_kstr (g, "mediaType", MT_OCI_MANIFEST);
  jg_key (g, "config");
  yajl_gen_map_open (g);
  jg_kstr (g, "mediaType", MT_OCI_CONFIG);
  jg_kstr (g, "digest", cdigest);
  jg_kint (g, "size", (long long)clen);
  yajl_gen_map_close (g);
  jg_key (g, "layers");
  yajl_gen_array_open (g);
  for (size_t k = 0; k < layers->u.array.len; k++)
    {
      const char *lname = YAJL_IS_STRING (layers->u.array.values[k])
                              ? YAJL_GET_STRING (layers->u.array.values[k])
                              : NULL;
      cleanup_free char *rel = lname ? source_stage_path (&l->s, lname) : NULL;
      cleanup_free char *abs = NULL;
      struct pending_layer *p = find_layer (l, img->chain_ids[k]);
      uint64_t tar_size = 0;

      if (lname == NULL)
        return rl_error (err, 0, "`manifest.json`: entry %zu: layer %zu is not a name", idx + 1,
                         k + 1);
      if (rel == NULL)
        return rl_error (err, 0, "no member `%s`", lname);
      if (p == NULL)
        {
          p = new_layer (l, img->chain_ids[k]);
          /* Layers travel uncompressed in this format: make the gzip blob
           * the store keeps (and push sends), hashing the tar on the way. */
          abs = xasprintf ("%s/%s", l->st->root, rel);
          if (layer_blob_create (l->st, abs, &p->b, err) < 0)
            return rl_error_wrap (err, "layer `%s`", lname);
          if (strcmp (p->b.diff_id, img->diff_ids[k]) != 0)
            return rl_error (err, 0, "layer `%s` does not match the config: diff_id `%s`, not `%s`",
                             lname, p->b.diff_id, img->diff_ids[k]);
          p->blob_rel = xstrdup (p->b.tmp.name);
          p->blob_owned = true;
          snprintf (p->blob_hex, sizeof p->blob_hex, "%s", p->b.digest + strlen (DIGEST_PREFIX));
          /* From the member itself: no gunzip of what was just gzipped. */
          if (unpack_layer (l, p, rel, img->diff_ids[k], &tar_size, err) < 0)
            return rl_error_wrap (err, "layer `%s`", lname);
          if (tar_size == 0)
            tar_size = p->b.tar_size;
        }
      else
        tar_size = p->b.tar_size ? p->b.tar_size : layer_tar_size (l->st, p->chain);
      img->size += tar_size;
      yajl_gen_map_open (g);
      jg_kstr (g, "mediaType", MT_OCI_LAYER_GZIP);
      jg_kstr (g, "digest", p->b.digest);
      jg_kint (g, "size", (long long)p->b.size);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  img->manifest = jg_finish (g, NULL);
  return 0;
}

static int
load_docker (struct loader *l, rl_error_t *err)
{
  cleanup_free char *text = NULL;
  cleanup_json yajl_val root = NULL;

  if (source_read_json (&l->s, "manifest.json", &text, NULL, err) < 0
      || json_parse (text, "`manifest.json`", &root, err) < 0)
    return -1;
  if (!YAJL_IS_ARRAY (root) || root->u.array.len == 0)
    return rl_error (err, 0, "`manifest.json`: not a non-empty array");
  for (size_t i = 0; i < root->u.array.len; i++)
    if (load_docker_image (l, root->u.array.values[i], i, err) < 0)
      return -1;
  return 0;
}

/* One image of an OCI layout, from its manifest's descriptor. */
static int
load_oci_image (struct loader *l, const char *digest, uint64_t size, char **names, rl_error_t *err)
{
  cleanup_manifest struct rl_manifest m = { 0 };
  cleanup_free char *text = NULL;
  cleanup_free char *rel = NULL;
  cleanup_free char *what = NULL;
  struct pending_image *img;
  bool owned;
  size_t len;

  if (size > JSON_MAX_SIZE)
    return rl_error (err, 0, "manifest `%s` is larger than %d bytes", digest, JSON_MAX_SIZE);
  if (source_blob (&l->s, digest, size, &rel, &owned, err) < 0)
    return -1;
  if (owned)
    unlinkat (l->st->rootfd, rel, 0);
  {
    cleanup_free char *name = xasprintf ("blobs/sha256/%s", digest + strlen (DIGEST_PREFIX));
    if (source_read_json (&l->s, name, &text, &len, err) < 0)
      return -1;
  }
  what = xasprintf ("manifest `%s`", digest);
  if (manifest_parse (text, len, NULL, what, &m, err) < 0)
    return -1;
  if (m.kind == MANIFEST_INDEX)
    {
      const struct rl_descriptor *d;
      if (manifest_select (&m, "linux", platform_host_arch (), platform_host_variant (), &d, err)
          < 0)
        return rl_error_wrap (err, "%s", what);
      return load_oci_image (l, d->digest, d->size, names, err);
    }
  img = new_image (l, err);
  if (img == NULL)
    return -1;
  img->manifest = steal_pointer (&text);
  img->names = strv_dup (names);
  {
    cleanup_free char *crel = NULL;
    cleanup_free char *cname
        = xasprintf ("blobs/sha256/%s", m.config.digest + strlen (DIGEST_PREFIX));
    cleanup_free char *cwhat = xasprintf ("config `%s`", m.config.digest);
    if (m.config.size > JSON_MAX_SIZE)
      return rl_error (err, 0, "%s is larger than %d bytes", cwhat, JSON_MAX_SIZE);
    if (source_blob (&l->s, m.config.digest, m.config.size, &crel, &owned, err) < 0)
      return -1;
    if (owned)
      unlinkat (l->st->rootfd, crel, 0);
    if (source_read_json (&l->s, cname, &img->config, NULL, err) < 0)
      return -1;
    snprintf (img->id, sizeof img->id, "%s", m.config.digest + strlen (DIGEST_PREFIX));
    if (take_config (l, img, cwhat, err) < 0)
      return -1;
  }
  if (m.n_layers != strv_len (img->diff_ids))
    return rl_error (err, 0, "%s lists %zu layers, its config %zu diff_ids", what, m.n_layers,
                     strv_len (img->diff_ids));
  for (size_t k = 0; k < m.n_layers; k++)
    {
      struct pending_layer *p = find_layer (l, img->chain_ids[k]);
      uint64_t tar_size = 0;

      if (p == NULL)
        {
          p = new_layer (l, img->chain_ids[k]);
          snprintf (p->blob_hex, sizeof p->blob_hex, "%s",
                    m.layers[k].digest + strlen (DIGEST_PREFIX));
          if (source_blob (&l->s, m.layers[k].digest, m.layers[k].size, &p->blob_rel,
                           &p->blob_owned, err)
                  < 0
              || unpack_layer (l, p, p->blob_rel, img->diff_ids[k], &tar_size, err) < 0)
            return rl_error_wrap (err, "layer %zu", k + 1);
        }
      else
        tar_size = p->unpacked ? p->t.size : layer_tar_size (l->st, p->chain);
      img->size += tar_size;
    }
  return 0;
}

static int
load_oci (struct loader *l, rl_error_t *err)
{
  cleanup_free char *text = NULL;
  cleanup_json yajl_val root = NULL;
  cleanup_strv char **done = NULL;
  yajl_val mans;

  if (source_read_json (&l->s, "index.json", &text, NULL, err) < 0
      || json_parse (text, "`index.json`", &root, err) < 0)
    return -1;
  mans = json_get (root, "manifests");
  if (!YAJL_IS_ARRAY (mans) || mans->u.array.len == 0)
    return rl_error (err, 0, "`index.json`: no `manifests`");
  /* Entries with the same digest are one image with several names. */
  for (size_t i = 0; i < mans->u.array.len; i++)
    {
      const char *digest = json_get_str (mans->u.array.values[i], "digest");
      int64_t size = json_get_int (mans->u.array.values[i], "size", -1);
      cleanup_strv char **names = NULL;

      if (!digest_valid (digest) || size < 0)
        return rl_error (err, 0, "`index.json`: manifests[%zu]: missing or invalid digest or size",
                         i);
      if (strv_contains (done, digest))
        continue;
      strv_add (&done, digest);
      for (size_t j = i; j < mans->u.array.len; j++)
        {
          yajl_val e = mans->u.array.values[j];
          yajl_val ann = json_get (e, "annotations");
          const char *n;
          char *full;
          if (strcmp (json_get_str (e, "digest") ? json_get_str (e, "digest") : "", digest) != 0)
            continue;
          /* Docker writes the full name under containerd's key and only
           * the tag under the OCI one; Podman and skopeo the full name. */
          n = json_get_str (ann, ANNOTATION_IMAGE_NAME);
          if (n == NULL)
            n = json_get_str (ann, ANNOTATION_REF_NAME);
          full = n && (strchr (n, '/') || strchr (n, ':')) ? archive_name (n) : NULL;
          if (full && !strv_contains (names, full))
            strv_add (&names, full);
          free (full);
        }
      if (load_oci_image (l, digest, size, names, err) < 0)
        return -1;
    }
  return 0;
}

/* Everything verified: make it visible, under the lock. */
static int
load_commit (struct loader *l, char ***loaded, rl_error_t *err)
{
  cleanup_image_db struct rl_image_db db = { 0 };
  int r = -1;

  if (store_lock (l->st, err) < 0)
    return -1;
  for (size_t i = 0; i < l->nlayers; i++)
    {
      struct pending_layer *p = l->layers[i];
      if (p->blob_rel)
        {
          cleanup_free char *have = xasprintf ("blobs/sha256/%s", p->blob_hex);
          /* Two layers of this archive may share a blob: the first one
           * moved it already (and it may be in the store from before). */
          if (faccessat (l->st->rootfd, have, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
            {
              if (p->blob_owned)
                unlinkat (l->st->rootfd, p->blob_rel, 0);
            }
          else if (blob_commit (l->st, p->blob_rel, p->blob_hex, err) < 0)
            goto out;
          free (p->blob_rel);
          p->blob_rel = NULL;
          /* Committed: not ours to remove any more. */
          free (p->b.tmp.name);
          p->b.tmp.name = NULL;
        }
      if (p->unpacked)
        {
          if (layer_commit (l->st, l->m, &p->t, p->chain, err) < 0)
            goto out;
          layer_tmp_discard (l->st, l->m, &p->t);
          p->unpacked = false;
        }
    }
  if (image_db_load (l->st, &db, err) < 0)
    goto out;
  for (size_t i = 0; i < l->nimgs; i++)
    {
      struct pending_image *pi = &l->imgs[i];
      struct rl_image *img = xmalloc0 (sizeof *img);
      char hex[SHA256_HEX_LEN + 1];

      if (blob_put_bytes (l->st, pi->config, strlen (pi->config), hex, err) < 0
          || blob_put_bytes (l->st, pi->manifest, strlen (pi->manifest), hex, err) < 0)
        {
          image_free (img);
          goto out;
        }
      img->id = xstrdup (pi->id);
      img->manifest_digest = xasprintf (DIGEST_PREFIX "%s", hex);
      img->names = pi->names ? strv_dup (pi->names) : xmalloc0 (sizeof (char *));
      img->diff_ids = strv_dup (pi->diff_ids);
      img->chain_ids = strv_dup (pi->chain_ids);
      img->created = pi->created;
      img->size = pi->size;
      for (size_t k = 0; pi->names && pi->names[k]; k++)
        strv_add_take (loaded, xasprintf ("%s", pi->names[k]));
      if (pi->names == NULL || pi->names[0] == NULL)
        strv_add_take (loaded, xasprintf (DIGEST_PREFIX "%s", pi->id));
      image_db_put (&db, img);
    }
  r = image_db_save (l->st, &db, err);
out:
  store_unlock (l->st);
  return r;
}

int
archive_load (struct rl_store *st, const struct idmap *m, const char *path, char ***loaded,
              rl_error_t *err)
{
  struct loader l = { 0 };
  cleanup_close int fd = -1;
  bool is_stdin = path == NULL || strcmp (path, "-") == 0;
  struct stat sb;
  int r = -1;

  if (dl_need_archive (err) < 0 || dl_need_crypto (err) < 0)
    return -1;
  l.st = st;
  l.m = m;
  l.s.st = st;
  l.s.dirfd = -1;
  l.s.work.lockfd = -1;
  /* What killed commands left in tmp/ goes first. */
  store_tmp_gc (st, m);
  if (store_tmp_new (st, "load", &l.s.work, err) < 0)
    return -1;
  if (mkdirat (st->rootfd, l.s.work.name, 0700) < 0)
    {
      rl_error (err, errno, "mkdir `%s/%s`", st->root, l.s.work.name);
      goto out;
    }
  l.s.what = is_stdin ? "stdin" : path;
  fd = is_stdin ? dup (STDIN_FILENO) : open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &sb) < 0)
    {
      rl_error (err, errno, "open");
      goto out;
    }
  if (S_ISDIR (sb.st_mode))
    {
      l.s.dirfd = steal_fd (&fd);
      if (!source_has (&l.s, "index.json"))
        {
          rl_error (err, 0, "not an OCI layout (no index.json)");
          goto out;
        }
      r = load_oci (&l, err);
    }
  else
    {
      l.s.stage = l.s.work.name;
      l.s.dirfd = openat (st->rootfd, l.s.stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (l.s.dirfd < 0)
        {
          rl_error (err, errno, "open `%s/%s`", st->root, l.s.stage);
          goto out;
        }
      if (stage_tar (&l.s, fd, err) < 0)
        goto out;
      if (source_has (&l.s, "manifest.json"))
        r = load_docker (&l, err);
      else if (source_has (&l.s, "index.json"))
        r = load_oci (&l, err);
      else
        r = rl_error (err, 0,
                      "neither a docker-archive (no manifest.json) nor an oci-archive "
                      "(no index.json)");
    }
  if (r == 0)
    r = load_commit (&l, loaded, err);
out:
  loader_clear (&l);
  return r;
}
