/* Store-wide commands: rl system df (what images and containers take on
 * disk, and what removing the unused ones would give back). */
#include "config.h"
#include "cmd/cmd.h"
#include "image/layer.h"
#include "image/image.h"
#include "runtime/container.h"
#include "util/json.h"
#include "util/opts.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes of the regular files below at/name.  A container's upper
 * directory may hold directories of subordinate ids that we cannot read:
 * they are left out rather than failing the whole report. */
static uint64_t
tree_size (int at, const char *name, int depth)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  uint64_t total = 0;
  int fd;

  if (depth > 256)
    return 0;
  fd = openat (at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return 0;
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return 0;
    }
  while ((de = readdir (d)) != NULL)
    {
      struct stat sb;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fstatat (dirfd (d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISDIR (sb.st_mode))
        total += tree_size (dirfd (d), de->d_name, depth + 1);
      else if (S_ISREG (sb.st_mode))
        total += sb.st_size;
    }
  return total;
}

static char *
reclaimable (uint64_t part, uint64_t total)
{
  cleanup_free char *h = human_size (part);
  return xasprintf ("%s (%d%%)", h, total ? (int)(part * 100 / total) : 0);
}

struct df_row
{
  const char *type;
  size_t total, active;
  uint64_t size, reclaim;
};

static int
df_images (struct rl_store *st, struct df_row *r, rl_error_t *err)
{
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_strv char **all = NULL;  /* chain ids of every image */
  cleanup_strv char **kept = NULL; /* ... of images a container uses */

  if (image_db_load (st, &db, err) < 0)
    return -1;
  r->total = db.n;
  for (size_t i = 0; i < db.n; i++)
    {
      const struct rl_image *img = db.images[i];
      cleanup_strv char **users = NULL;
      bool active;

      if (containers_using_image (st, img->id, &users, err) < 0)
        return -1;
      active = users && users[0];
      r->active += active;
      for (size_t k = 0; img->chain_ids[k]; k++)
        {
          if (!strv_contains (all, img->chain_ids[k]))
            strv_add (&all, img->chain_ids[k]);
          if (active && !strv_contains (kept, img->chain_ids[k]))
            strv_add (&kept, img->chain_ids[k]);
        }
    }
  /* Layers are shared: each counts once, and only those no active image
   * uses could be reclaimed. */
  for (size_t k = 0; all && all[k]; k++)
    {
      uint64_t n = layer_tar_size (st, all[k]);
      r->size += n;
      if (!strv_contains (kept, all[k]))
        r->reclaim += n;
    }
  return 0;
}

static int
df_containers (struct rl_store *st, struct df_row *r, rl_error_t *err)
{
  cleanup_strv char **ids = NULL;

  if (container_list (st, &ids, err) < 0)
    return -1;
  for (size_t i = 0; ids && ids[i]; i++)
    {
      cleanup_free char *dir = xasprintf ("containers/%s", ids[i]);
      struct container_state s = { 0 };
      uint64_t n = tree_size (st->rootfd, dir, 0);
      bool running;

      if (container_get_state (st, ids[i], &s, err) < 0)
        return -1;
      running = s.status == CTR_RUNNING;
      container_state_clear (&s);
      r->total++;
      r->active += running;
      r->size += n;
      if (!running)
        r->reclaim += n;
    }
  return 0;
}

static const struct rl_opt df_opts[] = {
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec df_spec = {
  "system df",
  "",
  "Show the disk space images, containers and volumes take, and what removing the unused "
  "ones would give back.  Image sizes count each shared layer once.",
  df_opts,
  "rl system df",
  false,
};

static int
no_opts (void *data, int id, const char *arg, rl_error_t *err)
{
  return 0;
}

static int
system_df (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_strv char **args = NULL;
  /* rl has no named volumes: bind mounts belong to the user. */
  struct df_row rows[3] = { { "Images" }, { "Containers" }, { "Local Volumes" } };
  bool help;

  if (opts_parse (&df_spec, argc, argv, no_opts, NULL, &args, &help, err) < 0)
    return rl_error_wrap (err, "system df");
  if (help)
    return 0;
  if (strv_len (args) > 0)
    return rl_error (err, 0, "system df: unexpected argument `%s`", args[0]);
  if (store_open (&st, g, err) < 0 || df_images (&st, &rows[0], err) < 0
      || df_containers (&st, &rows[1], err) < 0)
    return rl_error_wrap (err, "system df");
  printf ("%-15s %-7s %-7s %-11s %s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
  for (size_t i = 0; i < ARRAY_SIZE (rows); i++)
    {
      cleanup_free char *size = human_size (rows[i].size);
      cleanup_free char *rec = reclaimable (rows[i].reclaim, rows[i].size);
      printf ("%-15s %-7zu %-7zu %-11s %s\n", rows[i].type, rows[i].total, rows[i].active, size,
              rec);
    }
  return 0;
}

static void
system_usage (FILE *out)
{
  fputs ("Usage: rl system COMMAND [OPTIONS]\n\nStore-wide and machine-wide commands.\n\n"
         "Commands:\n"
         "  check      Say what is missing on this machine and what to do about it\n"
         "  df         Show disk usage of images, containers and volumes\n"
         "  info       Show what rl will use on this machine and why (same as `rl info`)\n\n"
         "Example: rl system check\n",
         out);
}

int
cmd_system (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  const char *sub = argc > 1 ? argv[1] : NULL;

  if (sub == NULL)
    {
      system_usage (stderr);
      return RL_EXIT_FAILURE;
    }
  if (strcmp (sub, "--help") == 0 || strcmp (sub, "-h") == 0 || strcmp (sub, "help") == 0)
    {
      system_usage (stdout);
      return 0;
    }
  if (strcmp (sub, "df") == 0)
    return system_df (g, argc - 1, argv + 1, err);
  if (strcmp (sub, "info") == 0)
    return system_info (g, argc - 1, argv + 1, err);
  if (strcmp (sub, "check") == 0)
    return system_check (g, argc - 1, argv + 1, err);
  return rl_error (err, 0, "system: unknown command `%s` (check, df, info)", sub);
}
