/* Unit tests for rl.conf: the format (good files and bad ones with their
 * line numbers), merging of the system and user files, and short-name
 * resolution (aliases, search registries, docker.io). */
#include "config.h"
#include "unit.h"
#include "config/config.h"
#include "util/util.h"

#include <stdlib.h>
#include <unistd.h>

/* Parse text; "OK" or the error message. */
static char *
parse (const char *text, struct rl_config *c)
{
  rl_error_t err = NULL;
  char *out;

  if (config_parse (text, "rl.conf", c, &err) == 0)
    return xstrdup ("OK");
  out = xstrdup (err->msg);
  rl_error_free (&err);
  return out;
}

static void
test_good (void)
{
  struct rl_config c = { 0 };
  const struct rl_registry_conf *r;
  cleanup_free char *res = parse ("# comment\n"
                                  "; another\n"
                                  "\n"
                                  "[registries]\n"
                                  "search = quay.io, docker.io ,127.0.0.1:5000\n"
                                  "[aliases]\n"
                                  "bb = quay.io/site/busybox\n"
                                  "pinned = registry.example.org/x/y:1.0\n"
                                  "[registry \"docker.io\"]\n"
                                  "  mirrors = mirror.example.org:5000, m2.example.org\n"
                                  "[registry \"127.0.0.1:5000\"]\n"
                                  "insecure = true\r\n"
                                  "[platform]\n"
                                  "default = linux/arm64/v8\n",
                                  &c);
  CHECK_STR (res, "OK");
  CHECK (strv_len (c.search) == 3);
  CHECK_STR (c.search[2], "127.0.0.1:5000");
  CHECK_STR (c.alias_refs[0], "quay.io/site/busybox");
  r = config_registry (&c, "docker.io");
  CHECK (r != NULL && strv_len (r->mirrors) == 2 && !r->insecure);
  r = config_registry (&c, "127.0.0.1:5000");
  CHECK (r != NULL && r->insecure && r->mirrors == NULL);
  CHECK (config_registry (&c, "quay.io") == NULL);
  CHECK_STR (c.platform, "linux/arm64/v8");
  config_clear (&c);
}

static void
test_bad (void)
{
  static const char *const cases[][2] = {
    { "search = a\n", "rl.conf:1: `search` outside of any section" },
    { "[registries]\nsearch = a,,b\n", "rl.conf:2: empty item in list `a,,b`" },
    { "[registries]\nsearch = a,\n", "rl.conf:2: empty item" },
    { "[registries]\nsearch = Bad_Host\n", "rl.conf:2: invalid registry `Bad_Host`" },
    { "[registries]\nmirrors = a\n", "rl.conf:2: unknown key `mirrors`" },
    { "\n\n[nope]\n", "rl.conf:3: unknown section `[nope]`" },
    { "[registries\n", "rl.conf:1: section header without `]`" },
    { "[registries]\njunk\n", "rl.conf:2: expected KEY = VALUE" },
    { "[registries]\n= x\n", "rl.conf:2: empty key" },
    { "[registries]\nsearch = a.org\nsearch = b.org\n", "rl.conf:3: `search` set twice" },
    { "[registry \"h:1\"]\ninsecure = maybe\n", "rl.conf:2: insecure: expected true or false" },
    { "[registry \"h:x\"]\n", "rl.conf:1: invalid registry `h:x`" },
    { "[registry h]\n", "rl.conf:1: unknown section" },
    { "[platform]\ndefault = linux\n", "rl.conf:2: invalid platform `linux`" },
    { "[platform]\ndefault = a/b/c/d\n", "rl.conf:2: invalid platform" },
    { "[aliases]\nx = alpine\n", "rl.conf:2: alias x: `alpine` must name its registry" },
    { "[aliases]\nx:1 = quay.io/a\n", "rl.conf:2: alias `x:1`" },
    { "[aliases]\nx = quay.io/A\n", "rl.conf:2: alias x: invalid reference" },
  };

  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      struct rl_config c = { 0 };
      cleanup_free char *res = parse (cases[i][0], &c);
      if (strncmp (res, cases[i][1], strlen (cases[i][1])) != 0)
        {
          fprintf (stderr, "  case %zu: got \"%s\", expected \"%s...\"\n", i, res, cases[i][1]);
          unit_failed_now++;
        }
      config_clear (&c);
    }
}

/* A later file replaces settings key by key (the user's file wins). */
static void
test_merge (void)
{
  struct rl_config c = { 0 };
  cleanup_free char *a = parse ("[registries]\nsearch = a.org\n[aliases]\nx = a.org/x\n"
                                "[registry \"h:1\"]\ninsecure = true\nmirrors = m.org\n",
                                &c);
  cleanup_free char *b = parse ("[registries]\nsearch = b.org\n[aliases]\nx = b.org/x\n"
                                "y = b.org/y\n[registry \"h:1\"]\ninsecure = false\n",
                                &c);
  const struct rl_registry_conf *r = config_registry (&c, "h:1");

  CHECK_STR (a, "OK");
  CHECK_STR (b, "OK");
  CHECK (strv_len (c.search) == 1);
  CHECK_STR (c.search[0], "b.org");
  CHECK (strv_len (c.alias_names) == 2);
  CHECK_STR (c.alias_refs[0], "b.org/x");
  CHECK (r && !r->insecure && strv_len (r->mirrors) == 1);
  config_clear (&c);
}

static char *
resolve (struct rl_config *c, const char *s)
{
  cleanup_strv char **names = NULL;
  rl_error_t err = NULL;
  char *out = NULL;

  if (config_resolve_name (c, s, &names, &err) < 0)
    {
      out = xasprintf ("ERROR %s", err->msg);
      rl_error_free (&err);
      return out;
    }
  for (size_t i = 0; names[i]; i++)
    {
      char *n = xasprintf ("%s%s%s", out ? out : "", out ? " " : "", names[i]);
      free (out);
      out = n;
    }
  return out;
}

static void
test_short_names (void)
{
  struct rl_config none = { 0 };
  struct rl_config c = { 0 };
  cleanup_free char *ok = parse ("[registries]\nsearch = quay.io, 127.0.0.1:5000\n"
                                 "[aliases]\nbb = registry.example.org/site/busybox:1.36\n",
                                 &c);
  const char *const cases[][3] = {
    /* name, without rl.conf, with it */
    { "alpine", "docker.io/library/alpine:latest",
      "quay.io/alpine:latest 127.0.0.1:5000/alpine:latest" },
    { "ns/app:2", "docker.io/ns/app:2", "quay.io/ns/app:2 127.0.0.1:5000/ns/app:2" },
    { "docker.io/alpine", "docker.io/library/alpine:latest", "docker.io/library/alpine:latest" },
    { "h:5/x", "h:5/x:latest", "h:5/x:latest" },
    { "bb", "docker.io/library/bb:latest", "registry.example.org/site/busybox:1.36" },
    { "bb:edge", "docker.io/library/bb:edge", "registry.example.org/site/busybox:edge" },
    { "Bad", "ERROR invalid reference `Bad`: repository name must be lower-case",
      "ERROR invalid reference `Bad`: repository name must be lower-case" },
  };

  CHECK_STR (ok, "OK");
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      cleanup_free char *a = resolve (&none, cases[i][0]);
      cleanup_free char *b = resolve (&c, cases[i][0]);
      CHECK_STR (a, cases[i][1]);
      CHECK_STR (b, cases[i][2]);
    }
  config_clear (&c);
}

/* RL_CONFIG and --config name one file that must exist. */
static void
test_load (void)
{
  char dir[] = "/tmp/rl-test-config-XXXXXX";
  cleanup_free char *path = NULL;
  struct rl_config c = { 0 };
  rl_error_t err = NULL;
  FILE *f;

  CHECK (mkdtemp (dir) != NULL);
  path = xasprintf ("%s/rl.conf", dir);
  CHECK (config_load (path, &c, &err) < 0 && err && strstr (err->msg, "No such file"));
  rl_error_free (&err);
  config_clear (&c);
  f = fopen (path, "w");
  CHECK (f != NULL);
  fputs ("[platform]\ndefault = linux/riscv64\n", f);
  fclose (f);
  setenv ("RL_CONFIG", path, 1);
  CHECK (config_load (NULL, &c, &err) == 0);
  CHECK_STR (c.platform, "linux/riscv64");
  unsetenv ("RL_CONFIG");
  config_clear (&c);
  unlink (path);
  rmdir (dir);
}

int
main (void)
{
  RUN_TEST (test_good);
  RUN_TEST (test_bad);
  RUN_TEST (test_merge);
  RUN_TEST (test_short_names);
  RUN_TEST (test_load);
  return unit_exit ();
}
