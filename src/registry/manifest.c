/* Parsing manifests and indexes, choosing a platform (see manifest.h). */
#include "config.h"
#include "registry/manifest.h"
#include "image/digest.h"
#include "util/json.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

static void
descriptor_clear (struct rl_descriptor *d)
{
  free (d->media_type);
  free (d->digest);
  free (d->os);
  free (d->arch);
  free (d->variant);
  memset (d, 0, sizeof *d);
}

void
manifest_clear (struct rl_manifest *m)
{
  free (m->media_type);
  descriptor_clear (&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    descriptor_clear (&m->layers[i]);
  free (m->layers);
  for (size_t i = 0; i < m->n_manifests; i++)
    descriptor_clear (&m->manifests[i]);
  free (m->manifests);
  memset (m, 0, sizeof *m);
}

static int
descriptor_parse (yajl_val v, const char *what, const char *field, size_t idx,
                  struct rl_descriptor *d, rl_error_t *err)
{
  const char *mt = json_get_str (v, "mediaType");
  const char *digest = json_get_str (v, "digest");
  yajl_val size = json_get (v, "size");
  yajl_val platform;

  memset (d, 0, sizeof *d);
  if (!YAJL_IS_OBJECT (v))
    return rl_error (err, 0, "%s: %s[%zu] is not an object", what, field, idx);
  if (digest == NULL || !digest_valid (digest))
    return rl_error (err, 0, "%s: %s[%zu]: missing or unsupported digest `%s` (sha256 only)", what,
                     field, idx, digest ? digest : "");
  if (!YAJL_IS_INTEGER (size) || YAJL_GET_INTEGER (size) < 0)
    return rl_error (err, 0, "%s: %s[%zu]: missing or invalid size", what, field, idx);
  d->media_type = xstrdup (mt ? mt : "");
  d->digest = xstrdup (digest);
  d->size = YAJL_GET_INTEGER (size);
  platform = json_get (v, "platform");
  if (YAJL_IS_OBJECT (platform))
    {
      const char *os = json_get_str (platform, "os");
      const char *arch = json_get_str (platform, "architecture");
      const char *variant = json_get_str (platform, "variant");
      d->os = os ? xstrdup (os) : NULL;
      d->arch = arch ? xstrdup (arch) : NULL;
      d->variant = variant && *variant ? xstrdup (variant) : NULL;
    }
  return 0;
}

static int
descriptor_array (yajl_val root, const char *field, const char *what, struct rl_descriptor **out,
                  size_t *n, rl_error_t *err)
{
  yajl_val a = json_get (root, field);

  if (!YAJL_IS_ARRAY (a))
    return rl_error (err, 0, "%s: missing `%s` array", what, field);
  *out = xmalloc0 ((a->u.array.len + 1) * sizeof **out);
  for (size_t i = 0; i < a->u.array.len; i++)
    {
      if (descriptor_parse (a->u.array.values[i], what, field, i, &(*out)[i], err) < 0)
        return -1;
      (*n)++;
    }
  return 0;
}

int
manifest_parse (const char *text, size_t len, const char *content_type, const char *what,
                struct rl_manifest *m, rl_error_t *err)
{
  cleanup_json yajl_val root = NULL;
  cleanup_free char *ct = NULL;
  const char *mt;

  memset (m, 0, sizeof *m);
  if (len > JSON_MAX_SIZE)
    return rl_error (err, 0, "%s: larger than %d bytes", what, JSON_MAX_SIZE);
  if (strlen (text) != len)
    return rl_error (err, 0, "%s: not a JSON document (NUL byte)", what);
  if (json_parse (text, what, &root, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (root))
    return rl_error (err, 0, "%s: not a JSON object", what);
  if (content_type)
    {
      /* "type/subtype; charset=..." -> "type/subtype" */
      ct = xstrdup (content_type);
      ct[strcspn (ct, "; \t")] = '\0';
    }
  mt = json_get_str (root, "mediaType");
  if (mt == NULL || *mt == '\0')
    mt = ct;
  if (json_get_int (root, "schemaVersion", 0) == 1
      || (mt && (strcmp (mt, MT_DOCKER_V1) == 0 || strcmp (mt, MT_DOCKER_V1_SIGNED) == 0)))
    return rl_error (
        err, 0, "%s: Docker schema 1 manifests are not supported (deprecated since 2017)", what);
  if (json_get_int (root, "schemaVersion", 0) != 2)
    return rl_error (err, 0, "%s: unsupported schemaVersion (expected 2)", what);
  /* An OCI document may leave mediaType out: its shape tells. */
  if (mt == NULL || *mt == '\0' || strcmp (mt, "application/json") == 0
      || strcmp (mt, "text/plain") == 0 || strcmp (mt, "application/octet-stream") == 0)
    mt = json_get (root, "manifests") ? MT_OCI_INDEX : MT_OCI_MANIFEST;
  m->media_type = xstrdup (mt);
  if (strcmp (mt, MT_OCI_INDEX) == 0 || strcmp (mt, MT_DOCKER_LIST) == 0)
    {
      m->kind = MANIFEST_INDEX;
      if (descriptor_array (root, "manifests", what, &m->manifests, &m->n_manifests, err) < 0)
        {
          manifest_clear (m);
          return -1;
        }
      return 0;
    }
  if (strcmp (mt, MT_OCI_MANIFEST) != 0 && strcmp (mt, MT_DOCKER_MANIFEST) != 0)
    {
      rl_error (err, 0, "%s: unsupported manifest type `%s`", what, mt);
      manifest_clear (m);
      return -1;
    }
  m->kind = MANIFEST_IMAGE;
  if (descriptor_parse (json_get (root, "config"), what, "config", 0, &m->config, err) < 0
      || descriptor_array (root, "layers", what, &m->layers, &m->n_layers, err) < 0)
    {
      manifest_clear (m);
      return -1;
    }
  if (m->config.size > JSON_MAX_SIZE)
    {
      rl_error (err, 0, "%s: config larger than %d bytes", what, JSON_MAX_SIZE);
      manifest_clear (m);
      return -1;
    }
  for (size_t i = 0; i < m->n_layers; i++)
    if (layer_media_compression (m->layers[i].media_type) == COMPRESSION_DETECT
        && strstr (m->layers[i].media_type, "tar") == NULL && *m->layers[i].media_type)
      {
        rl_error (err, 0, "%s: layer %zu has unsupported media type `%s`", what, i,
                  m->layers[i].media_type);
        manifest_clear (m);
        return -1;
      }
  return 0;
}

enum layer_compression
layer_media_compression (const char *mt)
{
  if (mt == NULL)
    return COMPRESSION_DETECT;
  if (str_has_suffix (mt, "+gzip") || str_has_suffix (mt, ".tar.gzip"))
    return COMPRESSION_GZIP;
  if (str_has_suffix (mt, "+zstd"))
    return COMPRESSION_ZSTD;
  if (str_has_suffix (mt, ".tar")
      || strcmp (mt, "application/vnd.docker.image.rootfs.diff.tar") == 0)
    return COMPRESSION_NONE;
  return COMPRESSION_DETECT;
}

const char *
platform_host_arch (void)
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

const char *
platform_host_variant (void)
{
  static struct utsname u;

  if (uname (&u) < 0)
    return NULL;
  if (strcmp (u.machine, "armv7l") == 0)
    return "v7";
  if (strcmp (u.machine, "armv6l") == 0)
    return "v6";
  return NULL;
}

/* The variant an architecture means when none is written. */
static const char *
default_variant (const char *arch)
{
  if (strcmp (arch, "arm64") == 0)
    return "v8";
  if (strcmp (arch, "arm") == 0)
    return "v7";
  return NULL;
}

static bool
variant_eq (const char *arch, const char *a, const char *b)
{
  const char *d = default_variant (arch);
  if (a == NULL)
    a = d;
  if (b == NULL)
    b = d;
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp (a, b) == 0;
}

int
manifest_select (const struct rl_manifest *idx, const char *os, const char *arch,
                 const char *variant, const struct rl_descriptor **out, rl_error_t *err)
{
  cleanup_free char *avail = NULL;
  const struct rl_descriptor *first = NULL;

  *out = NULL;
  for (size_t i = 0; i < idx->n_manifests; i++)
    {
      const struct rl_descriptor *d = &idx->manifests[i];
      if (d->os == NULL || d->arch == NULL || strcmp (d->os, os) != 0
          || strcmp (d->arch, arch) != 0)
        continue;
      if (variant_eq (arch, d->variant, variant))
        {
          *out = d;
          return 0;
        }
      /* No variant asked for: any of this os/arch beats nothing. */
      if (variant == NULL && first == NULL)
        first = d;
    }
  if (first)
    {
      *out = first;
      return 0;
    }
  for (size_t i = 0; i < idx->n_manifests; i++)
    {
      const struct rl_descriptor *d = &idx->manifests[i];
      char *n;
      /* Attestations and the like carry "unknown/unknown": not images. */
      if (d->os == NULL || d->arch == NULL || strcmp (d->os, "unknown") == 0)
        continue;
      n = xasprintf ("%s%s%s/%s%s%s", avail ? avail : "", avail ? ", " : "", d->os, d->arch,
                     d->variant ? "/" : "", d->variant ? d->variant : "");
      free (avail);
      avail = n;
    }
  return rl_error (err, 0, "no image for platform %s/%s%s%s (available: %s)", os, arch,
                   variant ? "/" : "", variant ? variant : "", avail ? avail : "none");
}

int
image_config_diff_ids (const char *text, const char *what, char ***diff_ids, char **os, char **arch,
                       rl_error_t *err)
{
  cleanup_json yajl_val root = NULL;
  cleanup_strv char **ids = xmalloc0 (sizeof (char *));
  yajl_val a;
  const char *s;

  *diff_ids = NULL;
  if (json_parse (text, what, &root, err) < 0)
    return -1;
  a = json_get (json_get (root, "rootfs"), "diff_ids");
  if (!YAJL_IS_ARRAY (a))
    return rl_error (err, 0, "%s: missing `rootfs.diff_ids`", what);
  for (size_t i = 0; i < a->u.array.len; i++)
    {
      yajl_val v = a->u.array.values[i];
      if (!YAJL_IS_STRING (v) || !digest_valid (YAJL_GET_STRING (v)))
        return rl_error (err, 0, "%s: rootfs.diff_ids[%zu] is not a sha256 digest", what, i);
      strv_add (&ids, YAJL_GET_STRING (v));
    }
  if (os)
    *os = (s = json_get_str (root, "os")) ? xstrdup (s) : NULL;
  if (arch)
    *arch = (s = json_get_str (root, "architecture")) ? xstrdup (s) : NULL;
  *diff_ids = steal_pointer (&ids);
  return 0;
}
