/* rl save and rl load: images to and from docker-archive, oci-archive and
 * oci-dir (the formats themselves are in image/archive.c). */
#include "config.h"
#include "cmd/cmd.h"
#include "image/archive.h"
#include "image/image.h"
#include "runtime/idmap.h"
#include "util/fs.h"
#include "util/opts.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum
{
  OPT_OUTPUT = 1,
  OPT_FORMAT,
  OPT_INPUT,
  OPT_QUIET,
};

struct save_opts
{
  char *output;
  char *input;
  enum rl_archive_format format;
  bool quiet;
};

static int
set_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct save_opts *o = data;
  switch (id)
    {
    case OPT_OUTPUT:
      free (o->output);
      o->output = xstrdup (arg);
      return 0;
    case OPT_INPUT:
      free (o->input);
      o->input = xstrdup (arg);
      return 0;
    case OPT_FORMAT:
      return archive_format_parse (arg, &o->format, err);
    case OPT_QUIET:
      return opts_flag_value ("quiet", arg, &o->quiet, err);
    }
  return 0;
}

/* ---- save ---- */

static const struct rl_opt save_opts[] = {
  { "output", 'o', "FILE", "write to FILE (a directory for oci-dir) instead of stdout",
    OPT_OUTPUT },
  { "format", 0, "FORMAT", "docker-archive (default), oci-archive or oci-dir", OPT_FORMAT },
  { "quiet", 'q', NULL, "print nothing (rl save prints nothing anyway)", OPT_QUIET },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec save_spec = {
  "save",
  "[OPTIONS] IMAGE...",
  "Write images to an archive that rl load, podman load, docker load and skopeo read.  An image "
  "named by name is recorded under that name, one named by id under all its names.",
  save_opts,
  "rl save -o bb.tar bb && podman load -i bb.tar",
  true,
};

/* The images to save, each with the names the archive should record. */
static int
pick_images (struct rl_image_db *db, char **refs, struct rl_image ***out, size_t *n,
             rl_error_t *err)
{
  struct rl_image **v = NULL;

  *n = 0;
  for (size_t a = 0; refs[a]; a++)
    {
      const char *by_name = NULL;
      struct rl_image *img;
      size_t idx, k;
      int r = image_db_find (db, refs[a], &idx, &by_name, err);

      if (r <= 0)
        {
          for (k = 0; k < *n; k++)
            image_free (v[k]);
          free (v);
          if (r == 0)
            return rl_error (err, 0, "%s: image not known", refs[a]);
          return rl_error_wrap (err, "%s", refs[a]);
        }
      for (k = 0; k < *n; k++)
        if (strcmp (v[k]->id, db->images[idx]->id) == 0)
          break;
      if (k == *n)
        {
          const struct rl_image *src = db->images[idx];
          img = xmalloc0 (sizeof *img);
          img->id = xstrdup (src->id);
          img->manifest_digest = src->manifest_digest ? xstrdup (src->manifest_digest) : NULL;
          img->diff_ids = strv_dup (src->diff_ids);
          img->chain_ids = strv_dup (src->chain_ids);
          img->created = src->created;
          img->size = src->size;
          img->names = xmalloc0 (sizeof (char *));
          /* Archives record tags; a name pulled by digest is not one. */
          for (size_t j = 0; !by_name && src->names[j]; j++)
            if (strchr (src->names[j], '@') == NULL)
              strv_add (&img->names, src->names[j]);
          v = xrealloc (v, (*n + 2) * sizeof *v);
          v[(*n)++] = img;
          v[*n] = NULL;
        }
      img = v[k];
      if (by_name && strchr (by_name, '@') == NULL && !strv_contains (img->names, by_name))
        strv_add (&img->names, by_name);
    }
  *out = v;
  return 0;
}

/* oci-dir: dir is created, or must be empty. */
static int
prepare_dir (const char *dir, bool *made, rl_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;

  *made = false;
  if (mkdir (dir, 0755) == 0)
    {
      *made = true;
      return 0;
    }
  if (errno != EEXIST)
    return rl_error (err, errno, "mkdir `%s`", dir);
  d = opendir (dir);
  if (d == NULL)
    return rl_error (err, errno, "open `%s`", dir);
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      return rl_error (err, 0, "`%s` is not empty (oci-dir writes a new layout)", dir);
  return 0;
}

static int
save_run (struct rl_globals *g, struct save_opts *o, char **args, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;
  struct rl_image **imgs = NULL;
  size_t n = 0;
  bool made = false;
  int r = -1;

  if (strv_len (args) == 0)
    return rl_error (err, 0, "save: expected IMAGE... (see `rl save --help`)");
  if (o->format == ARCHIVE_OCI_DIR && o->output == NULL)
    return rl_error (err, 0, "save: oci-dir needs -o DIR");
  if (o->output == NULL && isatty (STDOUT_FILENO))
    return rl_error (err, 0,
                     "save: refusing to write an archive to a terminal; use -o FILE or redirect "
                     "stdout");
  if (store_open (&st, g, err) < 0 || image_db_load (&st, &db, err) < 0)
    return rl_error_wrap (err, "save");
  if (pick_images (&db, args, &imgs, &n, err) < 0)
    return rl_error_wrap (err, "save");

  if (o->format == ARCHIVE_OCI_DIR)
    {
      if (prepare_dir (o->output, &made, err) < 0)
        goto out;
      r = archive_save (&st, imgs, n, o->format, -1, o->output, err);
      if (r < 0)
        {
          /* Nothing half-written stays: what we made goes. */
          rl_error_t e = NULL;
          int dfd = open (o->output, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          static const char *const parts[] = { "oci-layout", "index.json", "blobs" };
          for (size_t i = 0; dfd >= 0 && i < ARRAY_SIZE (parts); i++)
            if (rm_rf_at (dfd, parts[i], &e) < 0)
              rl_error_free (&e);
          if (dfd >= 0)
            close (dfd);
          if (made)
            rmdir (o->output);
        }
      goto out;
    }
  if (o->output)
    {
      char rnd[17];
      if (random_hex (rnd, 8) < 0)
        {
          rl_error (err, errno, "getrandom");
          goto out;
        }
      /* A temporary name next to FILE, renamed when complete: a failed
       * save never leaves a truncated archive under the name asked for. */
      tmp = xasprintf ("%s.tmp-%s", o->output, rnd);
      fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0)
        {
          rl_error (err, errno, "create `%s`", tmp);
          goto out;
        }
    }
  r = archive_save (&st, imgs, n, o->format, o->output ? fd : STDOUT_FILENO, NULL, err);
  if (r == 0 && o->output && (close (steal_fd (&fd)) < 0 || rename (tmp, o->output) < 0))
    r = rl_error (err, errno, "write `%s`", o->output);
  if (r < 0 && tmp)
    unlink (tmp);
out:
  for (size_t i = 0; i < n; i++)
    image_free (imgs[i]);
  free (imgs);
  if (r < 0)
    return rl_error_wrap (err, "save");
  return 0;
}

int
cmd_save (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_strv char **args = NULL;
  struct save_opts o = { .format = ARCHIVE_DOCKER };
  bool help;
  int r;

  r = opts_parse (&save_spec, argc, argv, set_opt, &o, &args, &help, err);
  if (r < 0)
    rl_error_wrap (err, "save");
  else if (!help)
    r = save_run (g, &o, args, err);
  free (o.output);
  free (o.input);
  return r;
}

/* ---- load ---- */

static const struct rl_opt load_opts[] = {
  { "input", 'i', "FILE",
    "read FILE (a docker-archive or oci-archive, plain or compressed, or an oci-dir directory) "
    "instead of stdin",
    OPT_INPUT },
  { "quiet", 'q', NULL, "print nothing", OPT_QUIET },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec load_spec = {
  "load",
  "[OPTIONS]",
  "Load the images of an archive written by rl save, podman save, docker save or skopeo.  "
  "Every blob and layer is verified before anything is added to the store.",
  load_opts,
  "podman save bb | rl load",
  false,
};

static int
load_run (struct rl_globals *g, struct save_opts *o, char **args, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_idmap struct idmap m = { 0 };
  cleanup_strv char **loaded = NULL;
  const char *what = o->input ? o->input : "stdin";

  if (strv_len (args) > 0)
    return rl_error (err, 0, "load: unexpected argument `%s` (use -i FILE)", args[0]);
  if (o->input == NULL && isatty (STDIN_FILENO))
    return rl_error (err, 0, "load: no input: use -i FILE or pipe an archive into rl load");
  if (idmap_detect (&m, err) < 0 || store_open (&st, g, err) < 0)
    return rl_error_wrap (err, "load %s", what);
  if (archive_load (&st, &m, o->input, &loaded, err) < 0)
    return rl_error_wrap (err, "load %s", what);
  for (size_t i = 0; !o->quiet && loaded && loaded[i]; i++)
    printf ("Loaded image: %s\n", loaded[i]);
  return 0;
}

int
cmd_load (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_strv char **args = NULL;
  struct save_opts o = { 0 };
  bool help;
  int r;

  r = opts_parse (&load_spec, argc, argv, set_opt, &o, &args, &help, err);
  if (r < 0)
    rl_error_wrap (err, "load");
  else if (!help)
    r = load_run (g, &o, args, err);
  free (o.output);
  free (o.input);
  return r;
}
