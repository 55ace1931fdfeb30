/* Unit tests for `rl import --change` (image/imgconfig.c): the instruction
 * forms Docker accepts, the errors for the others, and the config JSON. */
#include "config.h"
#include "unit.h"
#include "image/imgconfig.h"
#include "util/json.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static bool
apply (struct rl_config_edit *e, const char *change)
{
  rl_error_t err = NULL;
  if (config_edit_apply (e, change, &err) < 0)
    {
      rl_error_free (&err);
      return false;
    }
  return true;
}

/* The error message of a refused change (to be freed), or NULL. */
static char *
refused (const char *change)
{
  struct rl_config_edit e;
  rl_error_t err = NULL;
  char *msg = NULL;

  config_edit_init (&e);
  if (config_edit_apply (&e, change, &err) < 0)
    {
      msg = xstrdup (err->msg);
      rl_error_free (&err);
    }
  config_edit_clear (&e);
  return msg;
}

static void
test_commands (void)
{
  struct rl_config_edit e;

  config_edit_init (&e);
  CHECK (apply (&e, "CMD [\"echo\", \"a b\"]"));
  CHECK (e.cmd_set && strv_len (e.cmd) == 2);
  CHECK_STR (e.cmd[1], "a b");
  /* The shell form, and `=` after the instruction as Podman allows. */
  CHECK (apply (&e, "cmd=echo $HOME"));
  CHECK (strv_len (e.cmd) == 3);
  CHECK_STR (e.cmd[0], "/bin/sh");
  CHECK_STR (e.cmd[1], "-c");
  CHECK_STR (e.cmd[2], "echo $HOME");
  /* Not valid JSON: the shell form, as Docker does. */
  CHECK (apply (&e, "ENTRYPOINT [not json"));
  CHECK_STR (e.entrypoint[2], "[not json");
  /* An empty array clears. */
  CHECK (apply (&e, "ENTRYPOINT []"));
  CHECK (e.entrypoint_set && strv_len (e.entrypoint) == 0);
  config_edit_clear (&e);
}

static void
test_env_label (void)
{
  struct rl_config_edit e;

  config_edit_init (&e);
  CHECK (apply (&e, "ENV A=1 B=\"two words\" C='x\"y' D=a\\ b"));
  CHECK (apply (&e, "ENV LEGACY value with spaces"));
  CHECK (apply (&e, "ENV A=replaced"));
  CHECK (apply (&e, "ENV PATH=/bin"));
  CHECK (strv_len (e.env) == 6);
  CHECK_STR (e.env[0], "PATH=/bin");
  CHECK_STR (e.env[1], "A=replaced");
  CHECK_STR (e.env[2], "B=two words");
  CHECK_STR (e.env[3], "C=x\"y");
  CHECK_STR (e.env[4], "D=a b");
  CHECK_STR (e.env[5], "LEGACY=value with spaces");
  CHECK (apply (&e, "LABEL org.x.y=1 \"with space\"=v"));
  CHECK (strv_len (e.labels) == 2);
  CHECK_STR (e.labels[1], "with space=v");
  config_edit_clear (&e);
}

static void
test_others (void)
{
  struct rl_config_edit e;
  cleanup_free char *json = NULL;
  cleanup_json yajl_val v = NULL;
  rl_error_t err = NULL;
  yajl_val c;

  config_edit_init (&e);
  CHECK (apply (&e, "EXPOSE 80 53/udp 7000-7010/tcp 80/tcp"));
  CHECK (strv_len (e.exposed) == 3);
  CHECK_STR (e.exposed[0], "80/tcp");
  CHECK (apply (&e, "VOLUME [\"/a\", \"/b\"]"));
  CHECK (apply (&e, "VOLUME /c"));
  CHECK (strv_len (e.volumes) == 3);
  CHECK (apply (&e, "WORKDIR /srv"));
  CHECK (apply (&e, "WORKDIR app"));
  CHECK_STR (e.workdir, "/srv/app");
  CHECK (apply (&e, "USER 1000:50"));
  CHECK (apply (&e, "STOPSIGNAL term"));
  CHECK_STR (e.stop_signal, "SIGTERM");
  CHECK (apply (&e, "STOPSIGNAL 9"));
  CHECK_STR (e.stop_signal, "9");
  CHECK (apply (&e, "STOPSIGNAL SIGRTMIN+3"));

  json = config_edit_image_json (&e, "amd64", "sha256:00", "2026-01-01T00:00:00Z", "by", "msg");
  CHECK (json_parse (json, "config", &v, &err) == 0);
  c = json_get (v, "config");
  CHECK_STR (json_get_str (c, "WorkingDir"), "/srv/app");
  CHECK_STR (json_get_str (c, "User"), "1000:50");
  CHECK (YAJL_IS_OBJECT (json_get (json_get (c, "ExposedPorts"), "53/udp")));
  CHECK (YAJL_IS_OBJECT (json_get (json_get (c, "Volumes"), "/b")));
  {
    yajl_val h = json_get (v, "history");
    CHECK (YAJL_IS_ARRAY (h) && h->u.array.len == 1);
    if (YAJL_IS_ARRAY (h) && h->u.array.len == 1)
      CHECK_STR (json_get_str (h->u.array.values[0], "comment"), "msg");
  }
  config_edit_clear (&e);
}

static void
test_refused (void)
{
  static const struct
  {
    const char *change, *want;
  } cases[] = {
    { "ONBUILD RUN make", "ONBUILD is not supported" },
    { "RUN make", "unknown instruction `RUN`" },
    { "FROM scratch", "unknown instruction `FROM`" },
    { "CMD [\"a\", 1]", "not a JSON array of strings" },
    { "CMD", "empty command" },
    { "ENV", "expected KEY=VALUE" },
    { "ENV A", "has no value" },
    { "ENV A=1 B", "is not KEY=VALUE" },
    { "ENV =1", "empty key" },
    { "ENV A=\"open", "unterminated double quote" },
    { "EXPOSE 0", "invalid port" },
    { "EXPOSE 80/icmp", "invalid protocol" },
    { "VOLUME relative", "not an absolute path" },
    { "USER", "expected USER[:GROUP]" },
    { "WORKDIR", "expected a directory" },
    { "STOPSIGNAL SIGNOPE", "unknown signal" },
  };

  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      cleanup_free char *msg = refused (cases[i].change);
      if (msg == NULL || strstr (msg, cases[i].want) == NULL || strchr (msg, '\n'))
        {
          fprintf (stderr, "  `%s`: got `%s`, want `%s`\n", cases[i].change, msg ? msg : "(none)",
                   cases[i].want);
          unit_failed_now++;
        }
    }
}

int
main (void)
{
  RUN_TEST (test_commands);
  RUN_TEST (test_env_label);
  RUN_TEST (test_others);
  RUN_TEST (test_refused);
  return unit_exit ();
}
