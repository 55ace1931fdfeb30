/* Unit tests for util/: strings, option parsing, atomic files, rooted paths. */
#include "config.h"
#include "unit.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/opts.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void
test_strv (void)
{
  cleanup_strv char **v = NULL;
  strv_add (&v, "a");
  strv_add (&v, "b");
  CHECK (strv_len (v) == 2);
  CHECK (strv_contains (v, "b"));
  CHECK (!strv_contains (v, "c"));
  CHECK_STR (v[0], "a");
}

static void
test_parse_long (void)
{
  long long v;
  CHECK (parse_long ("42", 0, 100, &v) && v == 42);
  CHECK (!parse_long ("42x", 0, 100, &v));
  CHECK (!parse_long ("", 0, 100, &v));
  CHECK (!parse_long ("101", 0, 100, &v));
  CHECK (!parse_long ("-1", 0, 100, &v));
}

static void
test_human_size (void)
{
  cleanup_free char *a = human_size (999);
  cleanup_free char *b = human_size (1500000);
  cleanup_free char *c = human_size (4096);
  CHECK_STR (a, "999B");
  CHECK_STR (b, "1.5MB");
  CHECK_STR (c, "4.1kB");
}

struct seen
{
  char log[256];
};

static int
record (void *data, int id, const char *arg, rl_error_t *err)
{
  struct seen *s = data;
  char buf[64];
  snprintf (buf, sizeof buf, "%c=%s;", id, arg ? arg : "-");
  strcat (s->log, buf);
  return 0;
}

static const struct rl_opt test_opts[] = {
  { "interactive", 'i', NULL, "keep stdin open", 'i' },
  { "tty", 't', NULL, "allocate a terminal", 't' },
  { "env", 'e', "VAR[=VALUE]", "set a variable", 'e' },
  { "rm", 0, NULL, "remove when done", 'r' },
  { NULL, 0, NULL, NULL, 0 },
};

static void
test_opts_parse (void)
{
  struct rl_cmd_spec spec = { "run", "[OPTIONS] IMAGE", "Run", test_opts, NULL, false };
  char *argv[]
      = { "run", "-it", "-eA=1", "--env", "B=2", "--rm=false", "-e", "C", "img", "-e", "x", NULL };
  cleanup_strv char **args = NULL;
  struct seen s = { "" };
  rl_error_t err = NULL;
  bool help;

  CHECK (opts_parse (&spec, 11, argv, record, &s, &args, &help, &err) == 0);
  CHECK_STR (s.log, "i=-;t=-;e=A=1;e=B=2;r=false;e=C;");
  CHECK (strv_len (args) == 3);
  CHECK_STR (args[0], "img");
  CHECK_STR (args[1], "-e");
}

static void
test_opts_errors (void)
{
  struct rl_cmd_spec spec = { "run", "[OPTIONS] IMAGE", "Run", test_opts, NULL, false };
  char *argv1[] = { "run", "--bogus", NULL };
  char *argv2[] = { "run", "-e", NULL };
  char *argv3[] = { "run", "-x", NULL };
  cleanup_strv char **args = NULL;
  struct seen s = { "" };
  rl_error_t err = NULL;
  bool help;

  CHECK (opts_parse (&spec, 2, argv1, record, &s, &args, &help, &err) < 0);
  CHECK (err && strstr (err->msg, "--bogus"));
  rl_error_free (&err);
  CHECK (opts_parse (&spec, 2, argv2, record, &s, &args, &help, &err) < 0);
  CHECK (err && strstr (err->msg, "needs a value"));
  rl_error_free (&err);
  CHECK (opts_parse (&spec, 2, argv3, record, &s, &args, &help, &err) < 0);
  rl_error_free (&err);
}

static void
test_error_wrap (void)
{
  rl_error_t err = NULL;
  CHECK (rl_error (&err, ENOENT, "open `%s`", "/x") == -1);
  rl_error_wrap (&err, "run %s", "bb");
  CHECK_STR (err->msg, "run bb: open `/x`: No such file or directory");
  CHECK (err->status == 125);
  rl_error_free (&err);
  CHECK (err == NULL);
}

static void
test_files (void)
{
  char dir[] = "/tmp/rl-unit-XXXXXX";
  cleanup_close int dfd = -1;
  cleanup_free char *text = NULL;
  rl_error_t err = NULL;
  size_t len;

  CHECK (mkdtemp (dir) != NULL);
  dfd = open (dir, O_RDONLY | O_DIRECTORY);
  CHECK (write_file_atomic (dfd, "f", "hello", 5, 0600, &err) == 0);
  CHECK (read_file_at (dfd, "f", 100, &text, &len, &err) == 0 && len == 5);
  CHECK_STR (text, "hello");
  free (steal_pointer (&text));
  CHECK (read_file_at (dfd, "f", 3, &text, &len, &err) < 0);
  CHECK (err && strstr (err->msg, "larger than 3"));
  rl_error_free (&err);
  CHECK (mkdir_p_at (dfd, "a/b/c", 0700, &err) == 0);
  CHECK (faccessat (dfd, "a/b/c", F_OK, 0) == 0);
  CHECK (rm_rf_at (AT_FDCWD, dir, &err) == 0);
  CHECK (access (dir, F_OK) < 0);
}

static void
test_in_root (void)
{
  char dir[] = "/tmp/rl-unit-XXXXXX";
  cleanup_close int dfd = -1;
  rl_error_t err = NULL;
  int fd;

  CHECK (mkdtemp (dir) != NULL);
  dfd = open (dir, O_RDONLY | O_DIRECTORY);
  /* A symlink pointing out of the root must stay inside. */
  CHECK (symlinkat ("/etc", dfd, "escape") == 0);
  fd = mkdir_in_root (dfd, "/escape/sub", 0755, &err);
  CHECK (fd >= 0);
  if (fd >= 0)
    close (fd);
  CHECK (faccessat (dfd, "etc/sub", F_OK, 0) == 0);
  CHECK (access ("/etc/sub", F_OK) < 0);
  fd = mkfile_in_root (dfd, "/escape/hosts", 0644, &err);
  CHECK (fd >= 0);
  if (fd >= 0)
    close (fd);
  CHECK (faccessat (dfd, "etc/hosts", F_OK, 0) == 0);
  fd = open_in_root (dfd, "../../../../etc/passwd", O_RDONLY, 0);
  CHECK (fd < 0);
  CHECK (rm_rf_at (AT_FDCWD, dir, &err) == 0);
  rl_error_free (&err);
}

static void
test_json (void)
{
  cleanup_json yajl_val v = NULL;
  cleanup_strv char **arr = NULL;
  cleanup_gen yajl_gen g = json_gen_new (false);
  cleanup_free char *out = NULL;
  rl_error_t err = NULL;

  CHECK (json_parse ("{\"a\":\"x\",\"n\":3,\"l\":[\"p\",\"q\"]}", "test", &v, &err) == 0);
  CHECK_STR (json_get_str (v, "a"), "x");
  CHECK (json_get_int (v, "n", 0) == 3);
  arr = json_get_strv (v, "l");
  CHECK (strv_len (arr) == 2);
  CHECK (json_parse ("{\"a\":", "test", &v, &err) < 0);
  rl_error_free (&err);
  yajl_gen_map_open (g);
  jg_kstr (g, "k", "v\"");
  yajl_gen_map_close (g);
  out = jg_finish (g, NULL);
  CHECK_STR (out, "{\"k\":\"v\\\"\"}");

  {
    /* jg_value copies any parsed document unchanged. */
    const char *doc = "{\"a\":[1,2.5,true,false,null,\"s\"],\"o\":{\"x\":{}}}";
    cleanup_json yajl_val t = NULL;
    cleanup_gen yajl_gen g2 = json_gen_new (false);
    cleanup_free char *copy = NULL;
    CHECK (json_parse (doc, "test", &t, &err) == 0);
    jg_value (g2, t);
    copy = jg_finish (g2, NULL);
    CHECK_STR (copy, doc);
  }
}

int
main (void)
{
  RUN_TEST (test_strv);
  RUN_TEST (test_parse_long);
  RUN_TEST (test_human_size);
  RUN_TEST (test_opts_parse);
  RUN_TEST (test_opts_errors);
  RUN_TEST (test_error_wrap);
  RUN_TEST (test_files);
  RUN_TEST (test_in_root);
  RUN_TEST (test_json);
  return unit_exit ();
}
