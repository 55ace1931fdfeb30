/* rl push: upload an image of the store to a registry (the OCI
 * distribution API through the registry client): blobs the registry lacks,
 * mounted from another repository of the same registry when the image came
 * from there, then the manifest, as stored or converted to OCI or Docker
 * v2 schema 2. */
#include "config.h"
#include "cmd/cmd.h"
#include "image/archive.h"
#include "image/digest.h"
#include "image/image.h"
#include "image/layer.h"
#include "image/ref.h"
#include "registry/manifest.h"
#include "registry/registry.h"
#include "util/dl.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/opts.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum push_format
{
  PUSH_AS_STORED,
  PUSH_OCI,
  PUSH_V2S2,
};

enum
{
  OPT_FORMAT = 1,
  OPT_TLS_VERIFY,
  OPT_QUIET,
  OPT_DIGESTFILE,
};

struct push_opts
{
  enum push_format format;
  int tls_verify; /* 1, 0, or -1: rl.conf decides */
  bool quiet;
  char *digestfile;
};

static int
set_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct push_opts *o = data;
  bool b;

  switch (id)
    {
    case OPT_FORMAT:
      if (strcmp (arg, "oci") == 0)
        o->format = PUSH_OCI;
      else if (strcmp (arg, "v2s2") == 0 || strcmp (arg, "docker") == 0)
        o->format = PUSH_V2S2;
      else
        return rl_error (err, 0, "--format `%s`: expected oci or v2s2", arg);
      return 0;
    case OPT_TLS_VERIFY:
      if (opts_flag_value ("tls-verify", arg, &b, err) < 0)
        return -1;
      o->tls_verify = b ? 1 : 0;
      return 0;
    case OPT_QUIET:
      return opts_flag_value ("quiet", arg, &o->quiet, err);
    case OPT_DIGESTFILE:
      free (o->digestfile);
      o->digestfile = xstrdup (arg);
      return 0;
    }
  return 0;
}

static const struct rl_opt push_opts[] = {
  { "format", 'f', "FORMAT",
    "manifest format: oci or v2s2 (Docker v2 schema 2); default: as the image has it", OPT_FORMAT },
  { "tls-verify", 0, NULL,
    "check the registry's certificate (--tls-verify=false also allows plain HTTP)",
    OPT_TLS_VERIFY },
  { "quiet", 'q', NULL, "print no progress", OPT_QUIET },
  { "digestfile", 0, "FILE", "write the pushed manifest's digest to FILE", OPT_DIGESTFILE },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec push_spec = {
  "push",
  "[OPTIONS] IMAGE [DEST]",
  "Upload an image to a registry, under DEST or the name it was given.  Blobs the registry has "
  "are skipped; those of another repository there are mounted, not uploaded.",
  push_opts,
  "rl tag bb 127.0.0.1:5000/tools/bb:1 && rl push --tls-verify=false 127.0.0.1:5000/tools/bb:1",
  true,
};

static void
progress (const struct push_opts *o, const char *what, const char *digest, const char *how)
{
  if (!o->quiet)
    fprintf (stderr, "Copying %s %.12s: %s\n", what, digest + strlen (DIGEST_PREFIX), how);
}

/* Try to mount digest from one of the repositories in from: 1 when one
 * did, 0 when none did (*upload may then hold an upload the registry
 * started instead, to use for the PUT). */
static int
try_mount (struct reg_client *c, const char *digest, char *const *from, char **mounted,
           char **upload, rl_error_t *err)
{
  static const long ok[] = { 201, 202, 0 };

  *upload = NULL;
  for (size_t i = 0; from && from[i]; i++)
    {
      cleanup_free char *path = xasprintf ("/blobs/uploads/?mount=%s&from=%s", digest, from[i]);
      struct reg_request rq = { .method = "POST", .path = path, .body_fd = -1, .expect = ok };
      struct reg_response rs = { 0 };
      const char *loc;

      if (reg_request (c, &rq, &rs, err) < 0)
        return -1;
      if (rs.status == 201)
        {
          reg_response_clear (&rs);
          *mounted = from[i];
          return 1;
        }
      /* 202: the registry could not mount and opened an upload instead. */
      loc = reg_response_header (&rs, "location");
      if (loc && *upload == NULL)
        *upload = xstrdup (loc);
      reg_response_clear (&rs);
      if (*upload)
        return 0;
    }
  return 0;
}

/* Upload blob digest (size bytes, from the store) unless the registry has
 * it: a HEAD, a cross-repository mount, else POST then one PUT. */
static int
push_blob (struct rl_store *st, struct reg_client *c, const struct push_opts *o, const char *what,
           const char *digest, uint64_t size, char *const *from, rl_error_t *err)
{
  static const long started[] = { 202, 0 };
  static const long created[] = { 201, 0 };
  static const char *const octet[] = { "Content-Type: application/octet-stream", NULL };
  cleanup_free char *blob = xasprintf ("blobs/sha256/%s", digest + strlen (DIGEST_PREFIX));
  cleanup_free char *upload = NULL;
  cleanup_free char *put = NULL;
  cleanup_close int fd = -1;
  char *mounted = NULL;
  struct reg_response rs = { 0 };
  struct stat sb;
  bool exists;
  int r;

  if (reg_blob_exists (c, digest, &exists, NULL, err) < 0)
    return -1;
  if (exists)
    {
      progress (o, what, digest, "skipped: already exists");
      return 0;
    }
  r = try_mount (c, digest, from, &mounted, &upload, err);
  if (r < 0)
    return -1;
  if (r == 1)
    {
      cleanup_free char *how = xasprintf ("mounted from %s", mounted);
      progress (o, what, digest, how);
      return 0;
    }
  fd = openat (st->rootfd, blob, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &sb) < 0)
    return rl_error (err, errno, "open `%s/%s`", st->root, blob);
  /* The descriptor's size is what the registry will check against. */
  if ((uint64_t)sb.st_size != size)
    return rl_error (err, 0, "`%s/%s` has %lld bytes, the manifest says %llu", st->root, blob,
                     (long long)sb.st_size, (unsigned long long)size);
  if (upload == NULL)
    {
      struct reg_request rq
          = { .method = "POST", .path = "/blobs/uploads/", .body_fd = -1, .expect = started };
      const char *loc;
      if (reg_request (c, &rq, &rs, err) < 0)
        return -1;
      loc = reg_response_header (&rs, "location");
      if (loc == NULL)
        {
          reg_response_clear (&rs);
          return rl_error (err, 0, "start upload: the registry gave no Location");
        }
      upload = xstrdup (loc);
      reg_response_clear (&rs);
    }
  /* The ':' of the digest percent-encoded, as in every client's query. */
  put = xasprintf ("%s%sdigest=sha256%%3A%s", upload, strchr (upload, '?') ? "&" : "?",
                   digest + strlen (DIGEST_PREFIX));
  {
    struct reg_request rq = { .method = "PUT",
                              .path = put,
                              .headers = octet,
                              .body_fd = fd,
                              .body_offset = 0,
                              .body_len = size,
                              .expect = created };
    if (reg_request (c, &rq, &rs, err) < 0)
      return -1;
    reg_response_clear (&rs);
  }
  progress (o, what, digest, "done");
  return 0;
}

/* The destination: DEST, else the name IMAGE was found by. */
static int
push_destination (const char *dest, const char *by_name, struct rl_ref *r, rl_error_t *err)
{
  const char *s = dest ? dest : by_name;

  if (s == NULL)
    return rl_error (err, 0, "no destination: give one (rl push IMAGE HOST/NAME:TAG)");
  if (str_has_prefix (s, "docker://"))
    s += strlen ("docker://");
  if (ref_parse (s, r, err) < 0)
    return -1;
  if (r->digest)
    return rl_error (err, 0, "destination `%s`: a digest cannot be pushed to; give a tag", s);
  ref_normalize (r, REF_DEFAULT_DOMAIN);
  if (strcmp (r->domain, REF_LOCAL_DOMAIN) == 0)
    return rl_error (err, 0,
                     "`%s` names no registry (localhost/ is where local images live); give a "
                     "destination like 127.0.0.1:5000/%s",
                     s, r->path);
  return 0;
}

/* Repositories of the same registry the image is also named in: its
 * blobs are likely there, and a mount costs no upload. */
static char **
mount_sources (const struct rl_image *img, const struct rl_ref *dest)
{
  char **out = NULL;

  for (size_t k = 0; img->names && img->names[k]; k++)
    {
      cleanup_ref struct rl_ref r = { 0 };
      rl_error_t e = NULL;
      if (ref_parse (img->names[k], &r, &e) < 0)
        {
          rl_error_free (&e);
          continue;
        }
      if (r.domain && strcmp (r.domain, dest->domain) == 0 && strcmp (r.path, dest->path) != 0
          && !strv_contains (out, r.path))
        strv_add (&out, r.path);
    }
  return out;
}

/* The manifest to push, in the format asked for, and its media type. */
static int
push_manifest_text (struct rl_store *st, const struct rl_image *img, enum push_format f,
                    char **text, struct rl_manifest *m, rl_error_t *err)
{
  cleanup_free char *raw = NULL;
  cleanup_free char *name = NULL;
  size_t len;

  if (img->manifest_digest == NULL)
    return rl_error (err, 0, "the image has no manifest in the store");
  name = xasprintf ("blobs/sha256/%s", img->manifest_digest + strlen (DIGEST_PREFIX));
  if (read_file_at (st->rootfd, name, JSON_MAX_SIZE, &raw, &len, err) < 0)
    return rl_error_wrap (err, "store `%s`", st->root);
  if (f != PUSH_AS_STORED)
    {
      cleanup_free char *conv = NULL;
      if (manifest_convert (raw, f == PUSH_OCI, &conv, err) < 0)
        return -1;
      free (raw);
      raw = steal_pointer (&conv);
      len = strlen (raw);
    }
  if (manifest_parse (raw, len, NULL, "manifest", m, err) < 0)
    return -1;
  if (m->kind != MANIFEST_IMAGE)
    return rl_error (err, 0, "the stored manifest is not an image manifest");
  *text = steal_pointer (&raw);
  return 0;
}

static int
push_run (struct rl_globals *g, const struct push_opts *o, char **args, rl_error_t *err)
{
  static const long created[] = { 201, 0 };
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_ref struct rl_ref dest = { 0 };
  cleanup_manifest struct rl_manifest m = { 0 };
  cleanup_reg_client struct reg_client *c = NULL;
  cleanup_strv char **from = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *target = NULL;
  cleanup_free char *mpath = NULL;
  cleanup_free char *ctype = NULL;
  struct reg_client_opts co
      = { .tls_verify = o->tls_verify, .push = true, .config_path = g->config };
  struct reg_response rs = { 0 };
  const char *by_name = NULL;
  char mhex[SHA256_HEX_LEN + 1];
  size_t idx, nargs = strv_len (args);
  int r;

  if (nargs < 1 || nargs > 2)
    return rl_error (err, 0, "push: expected IMAGE [DEST] (see `rl push --help`)");
  if (store_open (&st, g, err) < 0 || image_db_load (&st, &db, err) < 0)
    return rl_error_wrap (err, "push %s", args[0]);
  r = image_db_find (&db, args[0], &idx, &by_name, err);
  if (r == 0)
    return rl_error (err, 0, "push %s: image not known", args[0]);
  if (r < 0 || push_destination (nargs == 2 ? args[1] : NULL, by_name, &dest, err) < 0)
    return rl_error_wrap (err, "push %s", args[0]);
  target = ref_format (&dest);
  if (dl_need_crypto (err) < 0
      || push_manifest_text (&st, db.images[idx], o->format, &text, &m, err) < 0)
    return rl_error_wrap (err, "push %s", args[0]);

  /* Before any traffic: a blob missing from the store is one error,
   * not a half-pushed image. */
  if (image_blobs_check (&st, db.images[idx], err) < 0)
    return rl_error_wrap (err, "push %s", args[0]);
  from = mount_sources (db.images[idx], &dest);
  if (reg_client_open (dest.domain, dest.path, &co, &c, err) < 0)
    return rl_error_wrap (err, "push %s", target);
  for (size_t i = 0; from && from[i]; i++)
    reg_client_add_scope (c, from[i]);
  for (size_t k = 0; k < m.n_layers; k++)
    if (push_blob (&st, c, o, "blob", m.layers[k].digest, m.layers[k].size, from, err) < 0)
      return rl_error_wrap (err, "push %s: blob %s", target, m.layers[k].digest);
  if (push_blob (&st, c, o, "config", m.config.digest, m.config.size, from, err) < 0)
    return rl_error_wrap (err, "push %s: config %s", target, m.config.digest);

  mpath = xasprintf ("/manifests/%s", dest.tag);
  ctype = xasprintf ("Content-Type: %s", m.media_type ? m.media_type : MT_OCI_MANIFEST);
  {
    const char *hdrs[] = { ctype, NULL };
    struct reg_request rq = { .method = "PUT",
                              .path = mpath,
                              .headers = hdrs,
                              .body = text,
                              .body_fd = -1,
                              .body_len = strlen (text),
                              .expect = created };
    if (reg_request (c, &rq, &rs, err) < 0)
      return rl_error_wrap (err, "push %s: manifest", target);
    reg_response_clear (&rs);
  }
  sha256_hex (text, strlen (text), mhex);
  if (!o->quiet)
    fprintf (stderr, "Wrote manifest sha256:%s to %s\n", mhex, target);
  if (o->digestfile)
    {
      cleanup_free char *line = xasprintf (DIGEST_PREFIX "%s", mhex);
      cleanup_close int fd = open (o->digestfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0 || write_all (fd, line, strlen (line)) < 0)
        return rl_error (err, errno, "push %s: write `%s`", target, o->digestfile);
    }
  return 0;
}

int
cmd_push (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_strv char **args = NULL;
  struct push_opts o = { .tls_verify = -1 };
  bool help;
  int r;

  r = opts_parse (&push_spec, argc, argv, set_opt, &o, &args, &help, err);
  if (r < 0)
    rl_error_wrap (err, "push");
  else if (!help)
    r = push_run (g, &o, args, err);
  free (o.digestfile);
  return r;
}
