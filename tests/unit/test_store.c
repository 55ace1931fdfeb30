/* Unit tests for the image store: images.json round trip and corruption,
 * lookup by name / short name / id prefix, the safe unpacker against
 * hostile layers built here with libarchive's writer, and tmp/ entries
 * with their locks, and the container name index's links.  They run as root
 * (CI) and as an unprivileged user. */
#include "config.h"
#include "unit.h"
#include "memtar.h"
#include "image/digest.h"
#include "image/image.h"
#include "image/layer.h"
#include "runtime/container.h"
#include "runtime/idmap.h"
#include "store/store.h"
#include "store/tmp.h"
#include "util/dl.h"
#include "util/fs.h"
#include "util/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

struct mem_reader
{
  const char *buf;
  size_t len, pos;
};

/* Small, uneven chunks: the unpacker must not assume whole blocks. */
static ssize_t
mem_read (void *arg, void *buf, size_t len, rl_error_t *err)
{
  struct mem_reader *m = arg;
  size_t n = m->len - m->pos;
  if (n > 777)
    n = 777;
  if (n > len)
    n = len;
  memcpy (buf, m->buf + m->pos, n);
  m->pos += n;
  return n;
}

static const struct layer_unpack_opts rootless_opts = { false, false, 0 };

static int
unpack_tar (struct tar *t, int dirfd, struct layer_unpack_stats *stats, rl_error_t *err)
{
  struct mem_reader m = { t->buf, t->used, 0 };
  return layer_unpack (dirfd, mem_read, &m, &rootless_opts, stats, err);
}

static bool
exists_at (int dirfd, const char *path)
{
  struct stat st;
  return fstatat (dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool
dir_empty (const char *path)
{
  cleanup_dir DIR *d = opendir (path);
  struct dirent *de;
  if (d == NULL)
    return false;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      return false;
  return true;
}

/* Each hostile case runs on its own layer directory next to an "outside"
 * directory that must stay untouched. */
struct arena
{
  char *base, *layer, *outside;
  int layerfd;
};

static void
arena_new (struct arena *a)
{
  a->base = tmp_dir ("arena");
  a->layer = xasprintf ("%s/layer", a->base);
  a->outside = xasprintf ("%s/outside", a->base);
  mkdir (a->layer, 0755);
  mkdir (a->outside, 0755);
  a->layerfd = open (a->layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void
arena_free (struct arena *a)
{
  rl_error_t err = NULL;
  close (a->layerfd);
  if (rm_rf_at (AT_FDCWD, a->base, &err) < 0)
    rl_error_free (&err);
  free (a->base);
  free (a->layer);
  free (a->outside);
}

static void
test_unpack_dotdot (void)
{
  struct arena a;
  struct tar t;
  rl_error_t err = NULL;
  cleanup_free char *name = NULL;

  arena_new (&a);
  name = xasprintf ("../outside/pwned");
  tar_begin (&t);
  tar_add (&t, 'f', "ok", 0644, "fine", NULL, 0, NULL);
  tar_add (&t, 'f', name, 0644, "evil", NULL, 0, NULL);
  tar_end (&t);
  CHECK (unpack_tar (&t, a.layerfd, NULL, &err) < 0);
  CHECK (err && strstr (err->msg, "leads out of the layer"));
  rl_error_free (&err);
  CHECK (dir_empty (a.outside));
  free (t.buf);

  /* "a/../b" stays inside and is fine. */
  tar_begin (&t);
  tar_add (&t, 'f', "a/../b", 0644, "x", NULL, 0, NULL);
  tar_end (&t);
  CHECK (unpack_tar (&t, a.layerfd, NULL, &err) == 0);
  CHECK (exists_at (a.layerfd, "b"));
  free (t.buf);
  arena_free (&a);
}

static void
test_unpack_absolute (void)
{
  struct arena a;
  struct tar t;
  rl_error_t err = NULL;
  cleanup_free char *abs = NULL;

  arena_new (&a);
  abs = xasprintf ("%s/pwned", a.outside);
  tar_begin (&t);
  tar_add (&t, 'f', abs, 0644, "evil", NULL, 0, NULL);
  tar_add (&t, 'f', "/etc/abs", 0644, "inside", NULL, 0, NULL);
  tar_end (&t);
  CHECK (unpack_tar (&t, a.layerfd, NULL, &err) == 0);
  CHECK (dir_empty (a.outside));
  CHECK (exists_at (a.layerfd, "etc/abs"));
  CHECK (exists_at (a.layerfd, abs + 1));
  free (t.buf);
  arena_free (&a);
}

static void
test_unpack_symlink_escape (void)
{
  struct arena a;
  struct tar t;
  rl_error_t err = NULL;
  cleanup_free char *victim = NULL;
  cleanup_free char *content = NULL;
  int fd;

  arena_new (&a);
  victim = xasprintf ("%s/victim", a.outside);
  fd = open (victim, O_WRONLY | O_CREAT, 0644);
  CHECK (fd >= 0 && write (fd, "safe", 4) == 4);
  close (fd);

  /* A symlink to a directory outside, then a file through it. */
  tar_begin (&t);
  tar_add (&t, 'l', "escape", 0777, NULL, a.outside, 0, NULL);
  tar_add (&t, 'f', "escape/pwned", 0644, "evil", NULL, 0, NULL);
  tar_end (&t);
  if (unpack_tar (&t, a.layerfd, NULL, &err) < 0)
    rl_error_free (&err);
  free (t.buf);
  {
    cleanup_free char *p = xasprintf ("%s/pwned", a.outside);
    CHECK (access (p, F_OK) < 0);
  }

  /* A symlink to a file outside, then a regular file of the same name:
   * the file replaces the link, nothing is written through it. */
  tar_begin (&t);
  tar_add (&t, 'l', "victimlink", 0777, NULL, victim, 0, NULL);
  tar_add (&t, 'f', "victimlink", 0644, "evil", NULL, 0, NULL);
  tar_add (&t, 'l', "rel", 0777, NULL, "../outside/victim", 0, NULL);
  tar_add (&t, 'f', "rel", 0644, "evil", NULL, 0, NULL);
  tar_end (&t);
  CHECK (unpack_tar (&t, a.layerfd, NULL, &err) == 0);
  if (err)
    fprintf (stderr, "  %s\n", err->msg);
  free (t.buf);
  CHECK (read_file_at (AT_FDCWD, victim, 100, &content, NULL, &err) == 0);
  CHECK_STR (content, "safe");
  {
    struct stat st;
    CHECK (fstatat (a.layerfd, "victimlink", &st, AT_SYMLINK_NOFOLLOW) == 0
           && S_ISREG (st.st_mode));
  }
  arena_free (&a);
}

static void
test_unpack_hardlinks (void)
{
  struct arena a;
  struct tar t;
  rl_error_t err = NULL;
  struct stat s1, s2;

  arena_new (&a);
  tar_begin (&t);
  tar_add (&t, 'h', "passwd", 0644, NULL, "/etc/passwd", 0, NULL);
  tar_end (&t);
  CHECK (unpack_tar (&t, a.layerfd, NULL, &err) < 0);
  CHECK (err && strstr (err->msg, "target is not in the layer"));
  rl_error_free (&err);
  CHECK (!exists_at (a.layerfd, "passwd"));
  free (t.buf);

  tar_begin (&t);
  tar_add (&t, 'h', "up", 0644, NULL, "../../../etc/passwd", 0, NULL);
  tar_end (&t);
  CHECK (unpack_tar (&t, a.layerfd, NULL, &err) < 0);
  rl_error_free (&err);
  free (t.buf);

  /* A hardlink through a symlink to outside finds nothing either. */
  tar_begin (&t);
  tar_add (&t, 'l', "out", 0777, NULL, a.outside, 0, NULL);
  tar_add (&t, 'h', "via", 0644, NULL, "out/victim", 0, NULL);
  tar_end (&t);
  CHECK (unpack_tar (&t, a.layerfd, NULL, &err) < 0);
  rl_error_free (&err);
  free (t.buf);

  tar_begin (&t);
  tar_add (&t, 'f', "bin/one", 0755, "data", NULL, 0, NULL);
  tar_add (&t, 'h', "bin/two", 0755, NULL, "bin/one", 0, NULL);
  tar_end (&t);
  CHECK (unpack_tar (&t, a.layerfd, NULL, &err) == 0);
  CHECK (fstatat (a.layerfd, "bin/one", &s1, 0) == 0
         && fstatat (a.layerfd, "bin/two", &s2, 0) == 0);
  CHECK (s1.st_ino == s2.st_ino && s1.st_nlink == 2);
  free (t.buf);
  arena_free (&a);
}

static void
test_unpack_whiteouts (void)
{
  struct arena a;
  struct tar t;
  rl_error_t err = NULL;
  struct stat st;
  char v[8];
  ssize_t n;

  arena_new (&a);
  tar_begin (&t);
  tar_add (&t, 'd', "etc", 0755, NULL, NULL, 0, NULL);
  tar_add (&t, 'f', "etc/.wh.gone", 0644, NULL, NULL, 0, NULL);
  tar_add (&t, 'd', "opq", 0755, NULL, NULL, 0, NULL);
  tar_add (&t, 'f', "opq/.wh..wh..opq", 0644, NULL, NULL, 0, NULL);
  tar_add (&t, 'f', "opq/kept", 0644, "k", NULL, 0, NULL);
  tar_add (&t, 'f', "deep/dir/.wh..wh..opq", 0644, NULL, NULL, 0, NULL);
  tar_add (&t, 'f', ".wh..wh.plnk", 0644, NULL, NULL, 0, NULL);
  tar_end (&t);
  CHECK (unpack_tar (&t, a.layerfd, NULL, &err) == 0);
  free (t.buf);
  CHECK (fstatat (a.layerfd, "etc/gone", &st, AT_SYMLINK_NOFOLLOW) == 0);
  CHECK (S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0));
  CHECK (!exists_at (a.layerfd, "etc/.wh.gone"));
  CHECK (!exists_at (a.layerfd, "opq/.wh..wh..opq"));
  CHECK (!exists_at (a.layerfd, ".wh..wh.plnk"));
  CHECK (exists_at (a.layerfd, "opq/kept"));
  {
    cleanup_free char *p = xasprintf ("%s/opq", a.layer);
    cleanup_free char *q = xasprintf ("%s/deep/dir", a.layer);
    n = getxattr (p, "user.overlay.opaque", v, sizeof v);
    CHECK (n == 1 && v[0] == 'y');
    n = getxattr (q, "user.overlay.opaque", v, sizeof v);
    CHECK (n == 1 && v[0] == 'y');
  }
  arena_free (&a);
}

static void
test_unpack_devices_and_xattrs (void)
{
  struct arena a;
  struct tar t;
  rl_error_t err = NULL;
  struct layer_unpack_stats stats = { 0 };
  struct stat st;
  char v[8];

  arena_new (&a);
  tar_begin (&t);
  tar_add (&t, 'c', "dev/null", 0666, NULL, NULL, makedev (1, 3), NULL);
  tar_add (&t, 'p', "fifo", 0640, NULL, NULL, 0, NULL);
  tar_add (&t, 'd', "xd", 0755, NULL, NULL, 0, "trusted.overlay.opaque");
  tar_add (&t, 'd', "xu", 0755, NULL, NULL, 0, "user.overlay.opaque");
  tar_add (&t, 'f', "xf", 0644, "x", NULL, 0, "user.fuseoverlayfs.override_stat");
  tar_add (&t, 'f', "xok", 0644, "x", NULL, 0, "user.rl.test");
  tar_add (&t, 'f', "suid", 04755, "x", NULL, 0, NULL);
  tar_add (&t, 'd', "ro", 0555, NULL, NULL, 0, NULL);
  tar_add (&t, 'f', "ro/inside", 0444, "x", NULL, 0, NULL);
  tar_end (&t);
  CHECK (unpack_tar (&t, a.layerfd, &stats, &err) == 0);
  if (err)
    fprintf (stderr, "  %s\n", err->msg);
  free (t.buf);
  CHECK (stats.skipped_devices == 1);
  CHECK (!exists_at (a.layerfd, "dev/null"));
  CHECK (fstatat (a.layerfd, "fifo", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO (st.st_mode)
         && (st.st_mode & 07777) == 0640);
  CHECK (fstatat (a.layerfd, "suid", &st, 0) == 0 && (st.st_mode & 07777) == 04755);
  CHECK (st.st_mtime == 1600000000);
  CHECK (fstatat (a.layerfd, "ro", &st, 0) == 0 && (st.st_mode & 07777) == 0555);
  CHECK (st.st_mtime == 1600000000);
  CHECK (exists_at (a.layerfd, "ro/inside"));
  {
    cleanup_free char *xd = xasprintf ("%s/xd", a.layer);
    cleanup_free char *xu = xasprintf ("%s/xu", a.layer);
    cleanup_free char *xf = xasprintf ("%s/xf", a.layer);
    cleanup_free char *xok = xasprintf ("%s/xok", a.layer);
    CHECK (getxattr (xd, "trusted.overlay.opaque", v, sizeof v) < 0);
    CHECK (getxattr (xu, "user.overlay.opaque", v, sizeof v) < 0);
    CHECK (getxattr (xf, "user.fuseoverlayfs.override_stat", v, sizeof v) < 0);
    CHECK (getxattr (xok, "user.rl.test", v, sizeof v) == 1);
  }
  /* Let the arena be removed. */
  {
    cleanup_free char *ro = xasprintf ("%s/ro", a.layer);
    chmod (ro, 0755);
  }

  /* A 0/0 character device in a tar would be a whiteout nobody asked for. */
  tar_begin (&t);
  tar_add (&t, 'c', "fake", 0600, NULL, NULL, makedev (0, 0), NULL);
  tar_end (&t);
  CHECK (unpack_tar (&t, a.layerfd, NULL, &err) < 0);
  CHECK (err && strstr (err->msg, "0/0 character device"));
  rl_error_free (&err);
  free (t.buf);
  arena_free (&a);
}

static void
test_unpack_garbage (void)
{
  struct arena a;
  rl_error_t err = NULL;
  struct mem_reader m = { "this is not a tar archive, not at all, not even close .......", 60, 0 };

  arena_new (&a);
  CHECK (layer_unpack (a.layerfd, mem_read, &m, &rootless_opts, NULL, &err) < 0);
  CHECK (err && strstr (err->msg, "not a tar archive"));
  rl_error_free (&err);
  arena_free (&a);
}

/* gzip through the decompressing reader, and a truncated stream. */
static void
test_decomp (void)
{
  static const char text[] = "hello hello hello hello hello hello";
  unsigned char gz[256];
  char out[256];
  z_stream z = { 0 };
  struct mem_reader m;
  struct layer_decomp *d;
  rl_error_t err = NULL;
  ssize_t n, got = 0;

  deflateInit2 (&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  z.next_in = (unsigned char *)text;
  z.avail_in = sizeof text;
  z.next_out = gz;
  z.avail_out = sizeof gz;
  CHECK (deflate (&z, Z_FINISH) == Z_STREAM_END);
  m.buf = (const char *)gz;
  m.len = sizeof gz - z.avail_out;
  m.pos = 0;
  deflateEnd (&z);

  d = layer_decomp_new (mem_read, &m);
  while ((n = layer_decomp_read (d, out + got, sizeof out - got, &err)) > 0)
    got += n;
  CHECK (n == 0 && got == sizeof text && memcmp (out, text, got) == 0);
  layer_decomp_free (d);

  m.len -= 6;
  m.pos = 0;
  d = layer_decomp_new (mem_read, &m);
  while ((n = layer_decomp_read (d, out, sizeof out, &err)) > 0)
    ;
  CHECK (n < 0 && err && strstr (err->msg, "truncated"));
  rl_error_free (&err);
  layer_decomp_free (d);
}

/* ---- the store ---- */

#define ID_A     "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111"
#define ID_B     "aaaa2222aaaa2222aaaa2222aaaa2222aaaa2222aaaa2222aaaa2222aaaa2222"
#define DIFF_HEX "5ffa91205a6e18aff05d69acae5cc7dee2e59887f24069b9ba6c3bb1c9178130"
#define DIFF     "sha256:" DIFF_HEX

static struct rl_image *
new_image (const char *id, const char *name)
{
  struct rl_image *img = xmalloc0 (sizeof *img);
  img->id = xstrdup (id);
  img->names = xmalloc0 (sizeof (char *));
  if (name)
    strv_add (&img->names, name);
  strv_add (&img->diff_ids, DIFF);
  img->created = 1000;
  img->size = 42;
  image_compute_chain_ids (img);
  return img;
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

static void
test_images_db (void)
{
  cleanup_free char *root = tmp_dir ("store");
  struct rl_store st;
  struct rl_image_db db = { 0 };
  rl_error_t err = NULL;
  struct rl_image *img = NULL;
  const char *by_name;
  size_t idx;
  char **dirs;
  static const char config[] = "{\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"],"
                               "\"WorkingDir\":\"/w\",\"User\":\"bob\",\"Entrypoint\":null}}";

  open_store (&st, root);
  /* An empty store has no images; a lookup finds nothing. */
  CHECK (image_db_load (&st, &db, &err) == 0 && db.n == 0);
  CHECK (image_lookup (&st, "bb", &img, &err) < 0);
  CHECK (err && strcmp (err->msg, "image not known") == 0);
  rl_error_free (&err);

  image_db_put (&db, new_image (ID_A, "localhost/bb:latest"));
  image_db_put (&db, new_image (ID_B, "docker.io/library/alpine:latest"));
  /* The same name on another image moves. */
  image_db_put (&db, new_image (ID_B, "localhost/bb:v1"));
  CHECK (db.n == 2);
  CHECK (store_lock (&st, &err) == 0);
  CHECK (image_db_save (&st, &db, &err) == 0);
  store_unlock (&st);
  image_db_clear (&db);

  CHECK (write_file_atomic (st.rootfd, "blobs/sha256/" ID_A, config, strlen (config), 0600, &err)
         == 0);
  CHECK (image_db_load (&st, &db, &err) == 0 && db.n == 2);
  {
    /* Chain ids are stored, so loading never needs to hash. */
    cleanup_free char *text = NULL;
    CHECK (read_file_at (st.rootfd, "images.json", 1 << 20, &text, NULL, &err) == 0);
    CHECK (text && strstr (text, "\"chain_ids\""));
    CHECK (strv_len (db.images[0]->chain_ids) == strv_len (db.images[0]->diff_ids));
  }
  CHECK (image_db_find (&db, "bb", &idx, &by_name, &err) == 1
         && strcmp (db.images[idx]->id, ID_A) == 0);
  CHECK_STR (by_name, "localhost/bb:latest");
  CHECK (image_db_find (&db, "bb:v1", &idx, NULL, &err) == 1
         && strcmp (db.images[idx]->id, ID_B) == 0);
  CHECK (image_db_find (&db, "alpine", &idx, NULL, &err) == 1
         && strcmp (db.images[idx]->id, ID_B) == 0);
  CHECK (image_db_find (&db, "docker.io/alpine:latest", &idx, NULL, &err) == 1);
  CHECK (image_db_find (&db, "localhost/alpine", &idx, NULL, &err) == 0);
  CHECK (image_db_find (&db, "aaaa1", &idx, &by_name, &err) == 1
         && strcmp (db.images[idx]->id, ID_A) == 0);
  CHECK (by_name == NULL);
  CHECK (image_db_find (&db, ID_B, &idx, NULL, &err) == 1
         && strcmp (db.images[idx]->id, ID_B) == 0);
  CHECK (image_db_find (&db, "sha256:" ID_B, &idx, NULL, &err) == 1);
  CHECK (image_db_find (&db, "aaaa", &idx, NULL, &err) < 0);
  CHECK (err && strstr (err->msg, "ambiguous"));
  rl_error_free (&err);
  CHECK (image_db_find (&db, "Bad:Name:", &idx, NULL, &err) < 0);
  rl_error_free (&err);
  image_db_clear (&db);

  /* image_lookup reads the config too. */
  CHECK (image_lookup (&st, "bb", &img, &err) == 0);
  if (img)
    {
      CHECK_STR (img->id, ID_A);
      CHECK (img->config.env && strcmp (img->config.env[0], "PATH=/bin") == 0);
      CHECK (img->config.cmd && strcmp (img->config.cmd[0], "sh") == 0);
      CHECK (img->config.entrypoint == NULL);
      CHECK_STR (img->config.workdir, "/w");
      CHECK_STR (img->config.user, "bob");
      CHECK_STR (img->chain_ids[0], DIFF_HEX);
      dirs = image_layer_dirs (&st, img);
      {
        cleanup_free char *want = xasprintf ("%s/layers/%s", st.root, DIFF_HEX);
        CHECK (dirs && dirs[1] == NULL);
        CHECK_STR (dirs[0], want);
      }
      strv_free (dirs);
      image_free (img);
    }
  /* A missing config blob is an error that says which image. */
  CHECK (image_lookup (&st, "bb:v1", &img, &err) < 0);
  CHECK (err && strstr (err->msg, "image aaaa2222aaaa"));
  rl_error_free (&err);

  /* Truncated and corrupt images.json: errors naming the file. */
  {
    cleanup_free char *text = NULL;
    size_t len;
    CHECK (read_file_at (st.rootfd, "images.json", 1 << 20, &text, &len, &err) == 0);
    CHECK (write_file_atomic (st.rootfd, "images.json", text, len / 2, 0600, &err) == 0);
    CHECK (image_db_load (&st, &db, &err) < 0);
    CHECK (err && strstr (err->msg, "images.json`"));
    rl_error_free (&err);
    CHECK (write_file_atomic (st.rootfd, "images.json", "", 0, 0600, &err) == 0);
    CHECK (image_lookup (&st, "bb", &img, &err) < 0);
    CHECK (err && strstr (err->msg, "images.json` is empty"));
    rl_error_free (&err);
    CHECK (write_file_atomic (st.rootfd, "images.json", "{\"images\":[{\"id\":\"x\"}]}", 23, 0600,
                              &err)
           == 0);
    CHECK (image_db_load (&st, &db, &err) < 0);
    CHECK (err && strstr (err->msg, "image record 1"));
    rl_error_free (&err);
  }
  store_close (&st);
  if (rm_rf_at (AT_FDCWD, root, &err) < 0)
    rl_error_free (&err);
}

/* The store side of unpacking: tmp/ + commit, diff_id checked. */
static void
test_layer_tmp_commit (void)
{
  cleanup_free char *root = tmp_dir ("store");
  struct rl_store st;
  struct idmap m
      = { .mode = getuid () == 0 ? IDMAP_HOST : IDMAP_SINGLE, .uid = getuid (), .gid = getgid () };
  struct layer_tmp t;
  struct tar tr;
  struct mem_reader mr;
  rl_error_t err = NULL;
  char hex[SHA256_HEX_LEN + 1], want[DIGEST_LEN + 1];
  cleanup_free char *key = NULL;

  open_store (&st, root);
  tar_begin (&tr);
  tar_add (&tr, 'f', "etc/hello", 0644, "hi", NULL, 0, NULL);
  tar_end (&tr);
  sha256_hex (tr.buf, tr.used, hex);
  snprintf (want, sizeof want, "sha256:%s", hex);

  mr = (struct mem_reader){ tr.buf, tr.used, 0 };
  CHECK (layer_unpack_tmp (&st, &m, mem_read, &mr, DIFF, &t, &err) < 0);
  CHECK (err && strstr (err->msg, "diff_id mismatch"));
  rl_error_free (&err);
  CHECK (dir_empty (xasprintf ("%s/tmp", root)));

  mr = (struct mem_reader){ tr.buf, tr.used, 0 };
  CHECK (layer_unpack_tmp (&st, &m, mem_read, &mr, want, &t, &err) == 0);
  CHECK_STR (t.diff_id, want);
  CHECK (t.size == tr.used);
  CHECK (store_lock (&st, &err) == 0);
  CHECK (layer_commit (&st, &m, &t, hex, &err) == 0);
  store_unlock (&st);
  layer_tmp_discard (&st, &m, &t);
  CHECK (layer_exists (&st, hex, &key));
  CHECK (key && strcmp (key, getuid () == 0 ? "host" : "single") == 0);

  /* A second unpack of the same layer is discarded at commit. */
  mr = (struct mem_reader){ tr.buf, tr.used, 0 };
  CHECK (layer_unpack_tmp (&st, &m, mem_read, &mr, want, &t, &err) == 0);
  CHECK (layer_commit (&st, &m, &t, hex, &err) == 0);
  layer_tmp_discard (&st, &m, &t);
  CHECK (dir_empty (xasprintf ("%s/tmp", root)));
  {
    cleanup_free char *p = xasprintf ("layers/%s/etc/hello", hex);
    CHECK (exists_at (st.rootfd, p));
  }
  /* Garbage collection with no images removes it. */
  {
    struct rl_image_db db = { 0 };
    CHECK (layer_gc (&st, &m, &db, &err) == 0);
    CHECK (!layer_exists (&st, hex, NULL));
  }
  free (tr.buf);
  store_close (&st);
  if (rm_rf_at (AT_FDCWD, root, &err) < 0)
    rl_error_free (&err);
}

/* A held entry survives a gc; one whose writer is gone (its lock fd
 * closed, as by a kill -9) does not; a released one leaves nothing. */
static void
test_tmp_gc (void)
{
  cleanup_free char *root = tmp_dir ("store");
  cleanup_free char *tmp = NULL;
  cleanup_free char *inner = NULL;
  struct rl_store st;
  struct idmap m
      = { .mode = getuid () == 0 ? IDMAP_HOST : IDMAP_SINGLE, .uid = getuid (), .gid = getgid () };
  struct store_tmp live, dead;
  rl_error_t err = NULL;
  int fd;

  open_store (&st, root);
  tmp = xasprintf ("%s/tmp", root);
  CHECK (store_tmp_new (&st, "blob", &live, &err) == 0);
  fd = openat (st.rootfd, live.name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  CHECK (fd >= 0);
  close (fd);
  CHECK (store_tmp_new (&st, "load", &dead, &err) == 0);
  CHECK (mkdirat (st.rootfd, dead.name, 0700) == 0);
  inner = xasprintf ("%s/1", dead.name);
  fd = openat (st.rootfd, inner, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  CHECK (fd >= 0);
  close (fd);

  store_tmp_gc (&st, &m);
  CHECK (exists_at (st.rootfd, live.name) && exists_at (st.rootfd, live.lockname));
  CHECK (exists_at (st.rootfd, dead.name) && exists_at (st.rootfd, dead.lockname));

  close (dead.lockfd);
  store_tmp_gc (&st, &m);
  CHECK (!exists_at (st.rootfd, dead.name) && !exists_at (st.rootfd, dead.lockname));
  CHECK (exists_at (st.rootfd, live.name) && exists_at (st.rootfd, live.lockname));
  free (dead.name);
  free (dead.lockname);

  store_tmp_release (&st, &m, &live);
  CHECK (live.name == NULL && live.lockname == NULL);
  CHECK (dir_empty (tmp));
  store_close (&st);
  if (rm_rf_at (AT_FDCWD, root, &err) < 0)
    rl_error_free (&err);
}

/* names/NAME: the id in base64url (a target ext4 keeps in the inode),
 * read back as the hex id; the hex of older stores reads too. */
static void
test_name_links (void)
{
  cleanup_free char *root = tmp_dir ("names");
  cleanup_close int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const char *ids[] = { "0000000000000000000000000000000000000000000000000000000000000000",
                        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                        "8614f1d6164ae8a0203a01eab57d203465474d88d8b1b0223670146e1daaeb47" };
  char id[CONTAINER_ID_LEN + 1], text[128], name[16];
  rl_error_t err = NULL;

  CHECK (fd >= 0);
  for (size_t i = 0; i < ARRAY_SIZE (ids); i++)
    {
      ssize_t n;
      snprintf (name, sizeof name, "n%zu", i);
      CHECK (container_name_link_create (fd, name, ids[i]) == 0);
      n = readlinkat (fd, name, text, sizeof text);
      CHECK (n == 43);
      CHECK (n > 0 && memchr (text, '/', n) == NULL);
      CHECK (container_name_link_read (fd, name, id));
      CHECK_STR (id, ids[i]);
      CHECK (container_name_link_create (fd, name, ids[i]) < 0 && errno == EEXIST);
    }
  CHECK (symlinkat (ids[2], fd, "old") == 0);
  CHECK (container_name_link_read (fd, "old", id));
  CHECK_STR (id, ids[2]);
  CHECK (symlinkat ("short", fd, "bad") == 0);
  CHECK (!container_name_link_read (fd, "bad", id));
  CHECK (symlinkat ("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", fd, "bad2") == 0);
  CHECK (!container_name_link_read (fd, "bad2", id));
  CHECK (!container_name_link_read (fd, "missing", id));
  if (rm_rf_at (AT_FDCWD, root, &err) < 0)
    rl_error_free (&err);
}

int
main (void)
{
  const char *t = getenv ("TMPDIR");
  tmp_root = xasprintf ("%s/rl-test-store-XXXXXX", t && *t ? t : "/tmp");
  if (mkdtemp (tmp_root) == NULL)
    {
      perror ("mkdtemp");
      return 99;
    }
  {
    /* As in rl, libarchive and libcrypto are loaded at first use; the tar
     * builder and some checks here call them directly. */
    rl_error_t err = NULL;
    if (dl_need_archive (&err) < 0 || dl_need_crypto (&err) < 0)
      {
        rl_error_report (&err);
        return 99;
      }
  }
  RUN_TEST (test_name_links);
  RUN_TEST (test_unpack_dotdot);
  RUN_TEST (test_unpack_absolute);
  RUN_TEST (test_unpack_symlink_escape);
  RUN_TEST (test_unpack_hardlinks);
  RUN_TEST (test_unpack_whiteouts);
  RUN_TEST (test_unpack_devices_and_xattrs);
  RUN_TEST (test_unpack_garbage);
  RUN_TEST (test_decomp);
  RUN_TEST (test_images_db);
  RUN_TEST (test_layer_tmp_commit);
  RUN_TEST (test_tmp_gc);
  {
    rl_error_t err = NULL;
    if (rm_rf_at (AT_FDCWD, tmp_root, &err) < 0)
      rl_error_free (&err);
  }
  free (tmp_root);
  return unit_exit ();
}
