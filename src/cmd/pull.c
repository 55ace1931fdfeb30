/* rl pull: fetch images from a registry (the work is in registry/pull.c). */
#include "config.h"
#include "cmd/cmd.h"
#include "registry/pull.h"
#include "util/opts.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum
{
  OPT_QUIET = 1,
  OPT_PLATFORM,
  OPT_ALL_TAGS,
  OPT_TLS_VERIFY,
};

struct pull_cmd
{
  struct pull_opts o;
  bool all_tags;
  char *platform;
};

static const struct rl_opt pull_opts[] = {
  { "quiet", 'q', NULL, "print only the image id (no progress)", OPT_QUIET },
  { "platform", 0, "OS/ARCH[/VARIANT]",
    "the platform to pull from a multi-platform image (default: rl.conf's, else the host's)",
    OPT_PLATFORM },
  { "all-tags", 'a', NULL, "pull every tag of the repository", OPT_ALL_TAGS },
  { "tls-verify", 0, NULL,
    "check the registry's certificate (--tls-verify=false also allows plain HTTP)",
    OPT_TLS_VERIFY },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec pull_spec = {
  "pull",
  "[OPTIONS] IMAGE",
  "Download an image from a registry into the store, verified, and print its id.  A short name "
  "(alpine) means docker.io/library/alpine:latest unless rl.conf(5) says otherwise.",
  pull_opts,
  "rl pull alpine:3.20 && rl pull --tls-verify=false 127.0.0.1:5000/bb",
  true,
};

static int
set_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct pull_cmd *c = data;
  bool b;

  switch (id)
    {
    case OPT_QUIET:
      return opts_flag_value ("quiet", arg, &c->o.quiet, err);
    case OPT_PLATFORM:
      free (c->platform);
      c->platform = xstrdup (arg);
      return 0;
    case OPT_ALL_TAGS:
      return opts_flag_value ("all-tags", arg, &c->all_tags, err);
    case OPT_TLS_VERIFY:
      if (opts_flag_value ("tls-verify", arg, &b, err) < 0)
        return -1;
      c->o.tls_verify = b ? 1 : 0;
      return 0;
    }
  return 0;
}

int
cmd_pull (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  struct pull_cmd c = { .o = { .tls_verify = -1 } };
  cleanup_strv char **args = NULL;
  cleanup_strv char **refs = NULL;
  bool help;
  int ret = -1;

  if (opts_parse (&pull_spec, argc, argv, set_opt, &c, &args, &help, err) < 0)
    goto out;
  if (help)
    {
      ret = 0;
      goto out;
    }
  if (strv_len (args) != 1)
    {
      rl_error (err, 0, "pull: expected one IMAGE (see `rl pull --help`)");
      goto out;
    }
  c.o.platform = c.platform;
  if (c.all_tags)
    {
      if (pull_list_tags (g, args[0], &c.o, &refs, err) < 0)
        {
          rl_error_wrap (err, "pull %s", args[0]);
          goto out;
        }
    }
  else
    strv_add (&refs, args[0]);
  for (size_t i = 0; refs[i]; i++)
    {
      char id[SHA256_HEX_LEN + 1];
      if (pull_image (g, refs[i], &c.o, id, err) < 0)
        {
          rl_error_wrap (err, "pull %s", refs[i]);
          goto out;
        }
      printf ("%s\n", id);
      fflush (stdout);
    }
  ret = 0;
out:
  free (c.platform);
  return ret;
}
