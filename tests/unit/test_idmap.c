/* Unit tests for the identity map: /etc/subuid parsing, map text, id
 * translation, and running work inside a user namespace. */
#include "config.h"
#include "runtime/idmap.h"
#include "unit.h"
#include "util/util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static void
test_parse_subid (void)
{
  const char *text = "# comment\nalice:100000:65536\n1001:200000:1000\nbob:bad:1\nbob:300000:5\n";
  unsigned long s = 0, n = 0;

  CHECK (idmap_parse_subid (text, "alice", 1000, &s, &n) && s == 100000 && n == 65536);
  CHECK (idmap_parse_subid (text, "carol", 1001, &s, &n) && s == 200000 && n == 1000);
  CHECK (idmap_parse_subid (text, "bob", 1002, &s, &n) && s == 300000 && n == 5);
  CHECK (!idmap_parse_subid (text, "dave", 1003, &s, &n));
  CHECK (!idmap_parse_subid ("", "alice", 1000, &s, &n));
  CHECK (!idmap_parse_subid ("alice:1:", "alice", 1000, &s, &n));
}

static void
test_maps (void)
{
  struct idmap m = { .mode = IDMAP_SUBID,
                     .uid = 1000,
                     .gid = 1000,
                     .subuid_start = 100000,
                     .subuid_count = 65536,
                     .subgid_start = 200000,
                     .subgid_count = 1000 };
  cleanup_free char *um = idmap_format_uid_map (&m);
  cleanup_free char *gm = idmap_format_gid_map (&m);
  cleanup_free char *key = idmap_key (&m);
  uid_t u;
  gid_t g;

  CHECK_STR (um, "0 1000 1\n1 100000 65536\n");
  CHECK_STR (gm, "0 1000 1\n1 200000 1000\n");
  CHECK_STR (key, "subid:100000:65536:200000:1000");
  CHECK (idmap_size (&m) == 1001);
  CHECK (idmap_to_host_uid (&m, 0, &u) && u == 1000);
  CHECK (idmap_to_host_uid (&m, 1, &u) && u == 100000);
  CHECK (idmap_to_host_uid (&m, 65536, &u) && u == 165535);
  CHECK (!idmap_to_host_uid (&m, 65537, &u));
  CHECK (idmap_to_host_gid (&m, 1000, &g) && g == 200999);
  CHECK (!idmap_to_host_gid (&m, 1001, &g));

  m.mode = IDMAP_SINGLE;
  free (um);
  um = idmap_format_uid_map (&m);
  CHECK_STR (um, "0 1000 1\n");
  CHECK (idmap_to_host_uid (&m, 0, &u) && u == 1000);
  CHECK (!idmap_to_host_uid (&m, 1, &u));
  CHECK (idmap_size (&m) == 1);

  m.mode = IDMAP_HOST;
  CHECK (idmap_to_host_uid (&m, 12345, &u) && u == 12345);
}

static int
inside (void *arg, rl_error_t *err)
{
  int *fd = arg;
  char c = getuid () == 0 && getgid () == 0 ? 'y' : 'n';
  if (write (*fd, &c, 1) != 1)
    return rl_error (err, 0, "write");
  return 0;
}

static int
failing (void *arg, rl_error_t *err)
{
  return rl_error (err, 0, "inner failure `%s`", (const char *)arg);
}

static void
test_userns_run (void)
{
  struct idmap m;
  rl_error_t err = NULL;
  int p[2];
  char c = 0;

  setenv ("RL_IDMAP", "single", 1);
  CHECK (idmap_detect (&m, &err) == 0);
  unsetenv ("RL_IDMAP");
  CHECK (pipe (p) == 0);
  CHECK (userns_run (&m, true, inside, &p[1], &err) == 0);
  CHECK (read (p[0], &c, 1) == 1 && c == 'y');
  CHECK (userns_run (&m, false, failing, (void *)"x", &err) < 0);
  CHECK (err && strcmp (err->msg, "inner failure `x`") == 0);
  rl_error_free (&err);
  idmap_clear (&m);
  close (p[0]);
  close (p[1]);
}

int
main (void)
{
  RUN_TEST (test_parse_subid);
  RUN_TEST (test_maps);
  RUN_TEST (test_userns_run);
  return unit_exit ();
}
