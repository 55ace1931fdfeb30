/* rl run: parse the options, pull the image when the policy says so, then
 * hand over to the runtime. */
#include "config.h"
#include "cmd/cmd.h"
#include "config/config.h"
#include "image/image.h"
#include "registry/pull.h"
#include "runtime/run.h"
#include "runtime/runspec.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A short name that is not in the store as localhost/ or docker.io/ may
 * be there under the name rl.conf resolves it to (a search registry or an
 * alias): 1 and *img when one of those is found. */
static int
lookup_resolved (struct rl_globals *g, struct rl_store *st, const char *name, struct rl_image **img,
                 rl_error_t *err)
{
  cleanup_config struct rl_config conf = { 0 };
  cleanup_strv char **cands = NULL;

  if (config_load (g->config, &conf, err) < 0 || config_resolve_name (&conf, name, &cands, err) < 0)
    return -1;
  for (size_t i = 0; cands[i]; i++)
    {
      int r = image_lookup_opt (st, cands[i], img, err);
      if (r != 0)
        return r;
    }
  return 0;
}

/* Find spec->image in the open store, pulling it as --pull says, and hand
 * it over in *img: the runtime gets exactly what was found or pulled (a
 * short name may have resolved through rl.conf to a registry a local lookup
 * would not try), and nothing is looked up twice.  A local image is found
 * without loading libcurl: only a pull does. */
static int
find_image (struct rl_globals *g, struct rl_store *st, struct run_spec *spec, struct rl_image **img,
            rl_error_t *err)
{
  struct pull_opts o = { .platform = spec->platform,
                         .tls_verify = spec->tls_verify_set ? spec->tls_verify : -1,
                         .quiet = false };
  char id[SHA256_HEX_LEN + 1];

  if (spec->pull != PULL_ALWAYS)
    {
      int r = image_lookup_opt (st, spec->image, img, err);
      if (r == 0)
        r = lookup_resolved (g, st, spec->image, img, err);
      if (r < 0)
        return rl_error_wrap (err, "run %s", spec->image);
      if (r > 0)
        return 0;
      if (spec->pull == PULL_NEVER)
        return rl_error (err, 0, "run %s: image not known (and --pull=never forbids pulling it)",
                         spec->image);
    }
  if (pull_image (g, spec->image, &o, id, err) < 0)
    return rl_error_wrap (err, "run %s: pull", spec->image);
  if (image_lookup (st, id, img, err) < 0)
    return rl_error_wrap (err, "run %s", spec->image);
  return 0;
}

int
cmd_run (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  struct rl_image *img = NULL;
  struct run_spec spec;
  bool help = false;
  int ret;

  if (run_spec_parse (&spec, argc, argv, &help, err) < 0)
    {
      run_spec_clear (&spec);
      return -1;
    }
  if (help)
    {
      run_spec_clear (&spec);
      return 0;
    }
  /* Fail before any work: raw mode and a pty need a terminal to relay. */
  if (spec.tty && !spec.detach && !isatty (0))
    {
      run_spec_clear (&spec);
      return rl_error (err, 0,
                       "run: the input device is not a TTY: `-t` needs a terminal on stdin");
    }
  if (store_open (&st, g, err) < 0)
    {
      rl_error_wrap (err, "run %s", spec.image);
      run_spec_clear (&spec);
      return -1;
    }
  if (find_image (g, &st, &spec, &img, err) < 0)
    {
      run_spec_clear (&spec);
      return -1;
    }
  ret = run_container (g, &st, img, &spec, err);
  run_spec_clear (&spec);
  return ret;
}
