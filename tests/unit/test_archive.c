/* Unit tests for image archives (image/archive.c): docker-archive and OCI
 * layout round trips, manifest.json parsing (names, links, several images),
 * manifest conversion, and hostile archives, which must fail with one line
 * and leave nothing in the store.  The archives are built here in memory
 * with libarchive's writer. */
#include "config.h"
#include "unit.h"
#include "memtar.h"
#include "image/archive.h"
#include "image/digest.h"
#include "image/image.h"
#include "image/layer.h"
#include "runtime/idmap.h"
#include "store/store.h"
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

static void
tar_file (struct tar *t, const char *path, const void *data, size_t len)
{
  tar_entry (t, 'f', path, 0644, data, len, NULL, 0, NULL);
}

static void
tar_symlink (struct tar *t, const char *path, const char *target)
{
  tar_entry (t, 'l', path, 0777, NULL, 0, target, 0, NULL);
}

static void
write_file (const char *path, const void *data, size_t len)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write_all (fd, data, len) < 0 || close (fd) < 0)
    abort ();
}

static char *
read_whole (const char *path, size_t *len)
{
  char *text = NULL;
  rl_error_t err = NULL;
  if (read_file_at (AT_FDCWD, path, 64 << 20, &text, len, &err) < 0)
    {
      fprintf (stderr, "read %s: %s\n", path, err->msg);
      abort ();
    }
  return text;
}

/* ---- a small image: one layer with one file ---- */

struct fixture
{
  struct tar layer; /* the layer tar */
  char diff_id[DIGEST_LEN + 1];
  char *config;
  char config_hex[SHA256_HEX_LEN + 1];
};

static void
fixture_make (struct fixture *f, const char *content)
{
  char hex[SHA256_HEX_LEN + 1];

  tar_begin (&f->layer);
  tar_file (&f->layer, "hello", content, strlen (content));
  tar_end (&f->layer);
  sha256_hex (f->layer.buf, f->layer.used, hex);
  snprintf (f->diff_id, sizeof f->diff_id, DIGEST_PREFIX "%s", hex);
  f->config = xasprintf ("{\"architecture\":\"amd64\",\"os\":\"linux\","
                         "\"created\":\"2026-01-02T03:04:05.5Z\","
                         "\"config\":{\"Cmd\":[\"cat\",\"/hello\"]},"
                         "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                         f->diff_id);
  sha256_hex (f->config, strlen (f->config), f->config_hex);
}

static void
fixture_clear (struct fixture *f)
{
  free (f->layer.buf);
  free (f->config);
}

/* A docker-archive as Podman writes one: HEX.json, DIFFHEX.tar, and a
 * legacy ID/layer.tar symlink to it; manifest.json naming the symlink. */
static void
docker_archive (struct fixture *f, const char *tags_json, const char *path)
{
  cleanup_free char *cname = xasprintf ("%s.json", f->config_hex);
  cleanup_free char *lname = xasprintf ("%s.tar", f->diff_id + strlen (DIGEST_PREFIX));
  cleanup_free char *target = xasprintf ("../%s", lname);
  cleanup_free char *manifest = xasprintf ("[{\"Config\":\"%s\",\"RepoTags\":%s,"
                                           "\"Layers\":[\"legacy/layer.tar\"]}]",
                                           cname, tags_json);
  struct tar t;

  tar_begin (&t);
  tar_file (&t, lname, f->layer.buf, f->layer.used);
  tar_file (&t, cname, f->config, strlen (f->config));
  tar_symlink (&t, "legacy/layer.tar", target);
  tar_file (&t, "manifest.json", manifest, strlen (manifest));
  tar_end (&t);
  write_file (path, t.buf, t.used);
  free (t.buf);
}

static void
open_store (struct rl_store *st, const char *root)
{
  struct rl_globals g = { 0 };
  rl_error_t err = NULL;
  cleanup_free char *run = xasprintf ("%s/run", root);
  g.root = (char *)root;
  g.runroot = run;
  if (store_open (st, &g, &err) < 0)
    {
      fprintf (stderr, "store_open: %s\n", err->msg);
      abort ();
    }
}

static struct idmap
test_idmap (void)
{
  /* The single-id map needs no helper, so the test runs for anyone. */
  struct idmap m
      = { .mode = getuid () == 0 ? IDMAP_HOST : IDMAP_SINGLE, .uid = getuid (), .gid = getgid () };
  return m;
}

static size_t
count_dir (int rootfd, const char *rel)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  size_t n = 0;
  int fd = openat (rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return 0;
  d = fdopendir (fd);
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] != '.')
      n++;
  return n;
}

/* Nothing of a failed load may remain: no blob, no layer, no record, no
 * staging directory. */
static bool
store_is_empty (struct rl_store *st)
{
  return count_dir (st->rootfd, "tmp") == 0 && count_dir (st->rootfd, "blobs/sha256") == 0
         && count_dir (st->rootfd, "layers") == 0
         && faccessat (st->rootfd, "images.json", F_OK, 0) < 0;
}

static struct rl_image *
lookup (struct rl_store *st, const char *ref)
{
  struct rl_image *img = NULL;
  rl_error_t err = NULL;
  if (image_lookup (st, ref, &img, &err) < 0)
    {
      fprintf (stderr, "  lookup %s: %s\n", ref, err->msg);
      rl_error_free (&err);
      return NULL;
    }
  return img;
}

/* The file the image's layer holds. */
static char *
layer_hello (struct rl_store *st, const struct rl_image *img)
{
  cleanup_free char *p = xasprintf ("layers/%s/hello", img->chain_ids[0]);
  char *text = NULL;
  rl_error_t err = NULL;
  if (read_file_at (st->rootfd, p, 4096, &text, NULL, &err) < 0)
    {
      rl_error_free (&err);
      return NULL;
    }
  return text;
}

/* ---- tests ---- */

static void
test_docker_archive_parse (void)
{
  cleanup_free char *root = tmp_dir ("store");
  cleanup_free char *file = xasprintf ("%s/podman.tar", root);
  struct idmap m = test_idmap ();
  cleanup_strv char **loaded = NULL;
  struct rl_store st;
  struct fixture f = { 0 };
  rl_error_t err = NULL;
  struct rl_image *img;

  fixture_make (&f, "hello docker\n");
  /* A short tag means docker.io, as in Docker; a full one stays. */
  docker_archive (&f, "[\"bb:1\",\"localhost/bb:latest\"]", file);
  open_store (&st, root);
  CHECK (archive_load (&st, &m, file, &loaded, &err) == 0);
  if (err)
    fprintf (stderr, "  %s\n", err->msg);
  CHECK (strv_len (loaded) == 2);
  CHECK (loaded && strv_contains (loaded, "docker.io/library/bb:1"));
  CHECK (loaded && strv_contains (loaded, "localhost/bb:latest"));
  img = lookup (&st, "bb:1");
  CHECK (img != NULL);
  if (img)
    {
      cleanup_free char *hello = layer_hello (&st, img);
      CHECK_STR (img->id, f.config_hex);
      CHECK_STR (img->diff_ids[0], f.diff_id);
      CHECK_STR (hello, "hello docker\n");
      CHECK (img->manifest_digest != NULL);
      /* created comes from the config. */
      CHECK (img->created == 1767323045500000000LL);
      CHECK (img->config.cmd && strcmp (img->config.cmd[0], "cat") == 0);
      image_free (img);
    }
  CHECK (count_dir (st.rootfd, "tmp") == 0);
  /* Again, into a store that has it all: nothing is left in tmp/ either. */
  strv_free (loaded);
  loaded = NULL;
  CHECK (archive_load (&st, &m, file, &loaded, &err) == 0);
  CHECK (strv_len (loaded) == 2);
  CHECK (count_dir (st.rootfd, "tmp") == 0);
  CHECK (count_dir (st.rootfd, "blobs/sha256") == 3);
  fixture_clear (&f);
  store_close (&st);
}

/* rl save in each format, then rl load into a fresh store: same image. */
static void
round_trip (enum rl_archive_format fmt)
{
  cleanup_free char *root = tmp_dir ("store");
  cleanup_free char *src = xasprintf ("%s/a", root);
  cleanup_free char *dst = xasprintf ("%s/b", root);
  cleanup_free char *in = xasprintf ("%s/in.tar", root);
  cleanup_free char *out = xasprintf ("%s/out", root);
  struct idmap m = test_idmap ();
  cleanup_strv char **loaded = NULL;
  cleanup_strv char **loaded2 = NULL;
  struct rl_store a, b;
  struct fixture f = { 0 };
  rl_error_t err = NULL;
  struct rl_image *img, *img2;
  int fd = -1;

  fixture_make (&f, "round trip\n");
  docker_archive (&f, "[\"localhost/rt:1\"]", in);
  mkdir (src, 0700);
  mkdir (dst, 0700);
  open_store (&a, src);
  open_store (&b, dst);
  CHECK (archive_load (&a, &m, in, &loaded, &err) == 0);
  img = lookup (&a, "localhost/rt:1");
  CHECK (img != NULL);
  if (img == NULL)
    goto out;
  if (fmt == ARCHIVE_OCI_DIR)
    CHECK (mkdir (out, 0755) == 0);
  else
    CHECK ((fd = open (out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0);
  CHECK (archive_save (&a, &img, 1, fmt, fd, out, &err) == 0);
  if (err)
    fprintf (stderr, "  save: %s\n", err->msg);
  if (fd >= 0)
    close (fd);
  CHECK (archive_load (&b, &m, out, &loaded2, &err) == 0);
  if (err)
    fprintf (stderr, "  load: %s\n", err->msg);
  CHECK (loaded2 && strv_contains (loaded2, "localhost/rt:1"));
  img2 = lookup (&b, "localhost/rt:1");
  CHECK (img2 != NULL);
  if (img2)
    {
      cleanup_free char *hello = layer_hello (&b, img2);
      CHECK_STR (img2->id, img->id);
      CHECK_STR (img2->diff_ids[0], img->diff_ids[0]);
      CHECK_STR (hello, "round trip\n");
      /* The OCI layouts carry the manifest itself: the digest survives. */
      if (fmt != ARCHIVE_DOCKER)
        CHECK_STR (img2->manifest_digest, img->manifest_digest);
      image_free (img2);
    }
  image_free (img);
  if (fmt == ARCHIVE_DOCKER)
    {
      /* The docker-archive is what docker and podman expect. */
      cleanup_free char *dir = xasprintf ("%s/x", root);
      cleanup_free char *cmd = xasprintf ("mkdir -p %s && tar -xf %s -C %s", dir, out, dir);
      cleanup_free char *mpath = xasprintf ("%s/manifest.json", dir);
      cleanup_free char *mtext = NULL;
      cleanup_json yajl_val v = NULL;
      CHECK (system (cmd) == 0);
      mtext = read_whole (mpath, NULL);
      CHECK (json_parse (mtext, "manifest.json", &v, &err) == 0);
      CHECK (YAJL_IS_ARRAY (v) && v->u.array.len == 1);
      if (YAJL_IS_ARRAY (v) && v->u.array.len == 1)
        {
          yajl_val e = v->u.array.values[0];
          cleanup_free char *cname = xasprintf ("%s.json", f.config_hex);
          CHECK_STR (json_get_str (e, "Config"), cname);
          CHECK (YAJL_IS_ARRAY (json_get (e, "Layers")));
        }
    }
out:
  fixture_clear (&f);
  store_close (&a);
  store_close (&b);
}

static void
test_round_trip_docker (void)
{
  round_trip (ARCHIVE_DOCKER);
}

static void
test_round_trip_oci_archive (void)
{
  round_trip (ARCHIVE_OCI);
}

static void
test_round_trip_oci_dir (void)
{
  round_trip (ARCHIVE_OCI_DIR);
}

/* Load a hostile archive: it must fail with one line and leave nothing. */
static void
expect_refused (const void *buf, size_t len, const char *want_in_msg)
{
  cleanup_free char *root = tmp_dir ("store");
  cleanup_free char *file = xasprintf ("%s/bad.tar", root);
  struct idmap m = test_idmap ();
  cleanup_strv char **loaded = NULL;
  struct rl_store st;
  rl_error_t err = NULL;

  write_file (file, buf, len);
  open_store (&st, root);
  CHECK (archive_load (&st, &m, file, &loaded, &err) < 0);
  CHECK (err != NULL);
  if (err)
    {
      CHECK (strchr (err->msg, '\n') == NULL);
      if (strstr (err->msg, want_in_msg) == NULL)
        {
          fprintf (stderr, "  message `%s` lacks `%s`\n", err->msg, want_in_msg);
          unit_failed_now++;
        }
      rl_error_free (&err);
    }
  CHECK (loaded == NULL);
  CHECK (store_is_empty (&st));
  store_close (&st);
}

static void
test_hostile_dotdot (void)
{
  struct fixture f = { 0 };
  struct tar t;
  fixture_make (&f, "x");
  tar_begin (&t);
  tar_file (&t, "manifest.json", "[]", 2);
  tar_file (&t, "../escape", "x", 1);
  tar_end (&t);
  expect_refused (t.buf, t.used, "`..`");
  free (t.buf);
  fixture_clear (&f);
}

static void
test_hostile_link_out (void)
{
  struct tar t;
  tar_begin (&t);
  tar_symlink (&t, "manifest.json", "../../../etc/passwd");
  tar_end (&t);
  expect_refused (t.buf, t.used, "outside the archive");
  free (t.buf);
}

/* An OCI layout whose layer blob is the one given (with descriptor size
 * declared and digest digest). */
static void
oci_archive (struct fixture *f, const void *blob, size_t blob_len, uint64_t declared,
             const char *digest, struct tar *t)
{
  cleanup_free char *manifest = NULL;
  cleanup_free char *index = NULL;
  cleanup_free char *lname = xasprintf ("blobs/sha256/%s", digest + strlen (DIGEST_PREFIX));
  cleanup_free char *cname = xasprintf ("blobs/sha256/%s", f->config_hex);
  cleanup_free char *mname = NULL;
  char mhex[SHA256_HEX_LEN + 1];

  manifest = xasprintf ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest."
                        "v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config."
                        "v1+json\",\"digest\":\"sha256:%s\",\"size\":%zu},\"layers\":[{"
                        "\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":"
                        "\"%s\",\"size\":%llu}]}",
                        f->config_hex, strlen (f->config), digest, (unsigned long long)declared);
  sha256_hex (manifest, strlen (manifest), mhex);
  mname = xasprintf ("blobs/sha256/%s", mhex);
  index = xasprintf ("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci."
                     "image.manifest.v1+json\",\"digest\":\"sha256:%s\",\"size\":%zu,"
                     "\"annotations\":{\"org.opencontainers.image.ref.name\":\"localhost/o:1\"}}]}",
                     mhex, strlen (manifest));
  tar_begin (t);
  tar_file (t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
  tar_file (t, lname, blob, blob_len);
  tar_file (t, cname, f->config, strlen (f->config));
  tar_file (t, mname, manifest, strlen (manifest));
  tar_file (t, "index.json", index, strlen (index));
  tar_end (t);
}

static void
test_oci_good (void)
{
  cleanup_free char *root = tmp_dir ("store");
  cleanup_free char *file = xasprintf ("%s/good.tar", root);
  struct idmap m = test_idmap ();
  cleanup_strv char **loaded = NULL;
  struct fixture f = { 0 };
  struct rl_store st;
  rl_error_t err = NULL;
  struct tar t;

  /* The uncompressed layer as its own blob: the digest is the diff_id. */
  fixture_make (&f, "oci\n");
  oci_archive (&f, f.layer.buf, f.layer.used, f.layer.used, f.diff_id, &t);
  write_file (file, t.buf, t.used);
  open_store (&st, root);
  CHECK (archive_load (&st, &m, file, &loaded, &err) == 0);
  if (err)
    fprintf (stderr, "  %s\n", err->msg);
  CHECK (loaded && strv_contains (loaded, "localhost/o:1"));
  free (t.buf);
  fixture_clear (&f);
  store_close (&st);
}

static void
test_hostile_blob_too_big (void)
{
  struct fixture f = { 0 };
  struct tar t;
  fixture_make (&f, "big");
  /* The blob has more bytes than its descriptor declares. */
  oci_archive (&f, f.layer.buf, f.layer.used, f.layer.used - 512, f.diff_id, &t);
  expect_refused (t.buf, t.used, "its descriptor says");
  free (t.buf);
  fixture_clear (&f);
}

static void
test_hostile_wrong_digest (void)
{
  struct fixture f = { 0 };
  cleanup_free char *bad = NULL;
  struct tar t;

  fixture_make (&f, "digest");
  /* Same size, one byte changed: the digest no longer matches. */
  bad = xmalloc (f.layer.used);
  memcpy (bad, f.layer.buf, f.layer.used);
  bad[700] ^= 1;
  oci_archive (&f, bad, f.layer.used, f.layer.used, f.diff_id, &t);
  expect_refused (t.buf, t.used, "wrong digest");
  free (t.buf);
  fixture_clear (&f);
}

static void
test_hostile_diff_id (void)
{
  struct fixture f = { 0 }, g = { 0 };
  cleanup_free char *cname = NULL;
  cleanup_free char *manifest = NULL;
  struct tar t;

  /* A docker-archive whose layer is not the one its config names. */
  fixture_make (&f, "one");
  fixture_make (&g, "two");
  cname = xasprintf ("%s.json", f.config_hex);
  manifest = xasprintf ("[{\"Config\":\"%s\",\"RepoTags\":null,\"Layers\":[\"l.tar\"]}]", cname);
  tar_begin (&t);
  tar_file (&t, cname, f.config, strlen (f.config));
  tar_file (&t, "l.tar", g.layer.buf, g.layer.used);
  tar_file (&t, "manifest.json", manifest, strlen (manifest));
  tar_end (&t);
  expect_refused (t.buf, t.used, "does not match the config");
  free (t.buf);
  fixture_clear (&f);
  fixture_clear (&g);
}

static void
test_hostile_config_digest (void)
{
  struct fixture f = { 0 };
  cleanup_free char *manifest = NULL;
  struct tar t;

  /* The config is named by a digest that is not its own. */
  fixture_make (&f, "cfg");
  manifest = xasprintf ("[{\"Config\":\"%064d.json\",\"Layers\":[\"l.tar\"]}]", 0);
  tar_begin (&t);
  {
    cleanup_free char *cname = xasprintf ("%064d.json", 0);
    tar_file (&t, cname, f.config, strlen (f.config));
  }
  tar_file (&t, "l.tar", f.layer.buf, f.layer.used);
  tar_file (&t, "manifest.json", manifest, strlen (manifest));
  tar_end (&t);
  expect_refused (t.buf, t.used, "wrong digest");
  free (t.buf);
  fixture_clear (&f);
}

static void
test_hostile_not_tar (void)
{
  expect_refused ("this is not a tar archive at all, just text\n", 44, "not a tar archive");
}

static void
test_hostile_missing_layer (void)
{
  struct fixture f = { 0 };
  cleanup_free char *cname = NULL;
  cleanup_free char *manifest = NULL;
  struct tar t;

  fixture_make (&f, "missing");
  cname = xasprintf ("%s.json", f.config_hex);
  manifest = xasprintf ("[{\"Config\":\"%s\",\"Layers\":[\"nowhere.tar\"]}]", cname);
  tar_begin (&t);
  tar_file (&t, cname, f.config, strlen (f.config));
  tar_file (&t, "manifest.json", manifest, strlen (manifest));
  tar_end (&t);
  expect_refused (t.buf, t.used, "no member `nowhere.tar`");
  free (t.buf);
  fixture_clear (&f);
}

static void
test_manifest_convert (void)
{
  static const char oci[]
      = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
        "vnd.oci.image.config.v1+json\","
        "\"digest\":\"sha256:aa\",\"size\":1},\"layers\":[{\"mediaType\":\"application/vnd.oci."
        "image.layer.v1.tar+gzip\",\"digest\":\"sha256:bb\",\"size\":2}],"
        "\"annotations\":{\"k\":\"v\"}}";
  static const char zstd[]
      = "{\"schemaVersion\":2,\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1."
        "tar+zstd\",\"digest\":\"sha256:bb\",\"size\":2}]}";
  cleanup_free char *v2 = NULL;
  cleanup_free char *back = NULL;
  cleanup_free char *z = NULL;
  rl_error_t err = NULL;

  CHECK (manifest_convert (oci, false, &v2, &err) == 0);
  CHECK (v2
         && strstr (v2, "\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\""));
  CHECK (v2 && strstr (v2, "application/vnd.docker.container.image.v1+json"));
  CHECK (v2 && strstr (v2, "application/vnd.docker.image.rootfs.diff.tar.gzip"));
  CHECK (v2 && strstr (v2, "\"annotations\":{\"k\":\"v\"}"));
  CHECK (manifest_convert (v2 ? v2 : "{}", true, &back, &err) == 0);
  CHECK (back && strstr (back, "application/vnd.oci.image.manifest.v1+json"));
  CHECK (back && strstr (back, "application/vnd.oci.image.layer.v1.tar+gzip"));
  /* zstd layers cannot be said in v2s2. */
  CHECK (manifest_convert (zstd, false, &z, &err) < 0);
  CHECK (err && strstr (err->msg, "tar+zstd"));
  rl_error_free (&err);
}

static void
test_format_names (void)
{
  enum rl_archive_format f;
  rl_error_t err = NULL;
  CHECK (archive_format_parse ("docker-archive", &f, &err) == 0 && f == ARCHIVE_DOCKER);
  CHECK (archive_format_parse ("oci-archive", &f, &err) == 0 && f == ARCHIVE_OCI);
  CHECK (archive_format_parse ("oci-dir", &f, &err) == 0 && f == ARCHIVE_OCI_DIR);
  CHECK (archive_format_parse ("zip", &f, &err) < 0);
  CHECK (err && strstr (err->msg, "`zip`"));
  rl_error_free (&err);
}

int
main (void)
{
  const char *t = getenv ("TMPDIR");
  tmp_root = xasprintf ("%s/rl-test-archive-XXXXXX", t && *t ? t : "/tmp");
  if (mkdtemp (tmp_root) == NULL)
    {
      perror ("mkdtemp");
      return 99;
    }
  {
    rl_error_t err = NULL;
    if (dl_need_archive (&err) < 0 || dl_need_crypto (&err) < 0)
      {
        rl_error_report (&err);
        return 99;
      }
  }
  RUN_TEST (test_format_names);
  RUN_TEST (test_manifest_convert);
  RUN_TEST (test_docker_archive_parse);
  RUN_TEST (test_round_trip_docker);
  RUN_TEST (test_round_trip_oci_archive);
  RUN_TEST (test_round_trip_oci_dir);
  RUN_TEST (test_oci_good);
  RUN_TEST (test_hostile_dotdot);
  RUN_TEST (test_hostile_link_out);
  RUN_TEST (test_hostile_blob_too_big);
  RUN_TEST (test_hostile_wrong_digest);
  RUN_TEST (test_hostile_diff_id);
  RUN_TEST (test_hostile_config_digest);
  RUN_TEST (test_hostile_not_tar);
  RUN_TEST (test_hostile_missing_layer);
  {
    rl_error_t err = NULL;
    if (rm_rf_at (AT_FDCWD, tmp_root, &err) < 0)
      rl_error_free (&err);
  }
  free (tmp_root);
  return unit_exit ();
}
