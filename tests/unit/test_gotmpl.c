#include "config.h"
#include "unit.h"
#include "util/gotmpl.h"
#include "util/json.h"
#include "util/util.h"

#include <stdlib.h>

static const char *const map_keys[] = { "Labels", NULL };

static const char data_json[]
    = "{\"ID\": \"abc123\", \"Names\": \"web\", \"State\": {\"Status\": \"running\", \"Pid\": 42,"
      " \"Running\": true, \"ExitCode\": 0}, \"Labels\": {\"b\": \"2\", \"a\": \"1\"},"
      " \"Command\": [\"sh\", \"-c\", \"echo hi\"], \"Empty\": [], \"Null\": null,"
      " \"Mounts\": [{\"Destination\": \"/data\", \"RW\": true}, {\"Destination\": \"/ro\","
      " \"RW\": false}], \"Size\": 1234}";

/* Render tmpl over data_json; NULL on error (the message in *msg). */
static char *
render_hdr (const char *tmpl, bool header, char **msg)
{
  cleanup_json yajl_val data = NULL;
  struct gotmpl *t = NULL;
  rl_error_t err = NULL;
  char *out = NULL;

  if (json_parse (data_json, "data", &data, &err) < 0)
    abort ();
  if (gotmpl_parse (tmpl, &t, &err) < 0 || gotmpl_exec (t, data, map_keys, header, &out, &err) < 0)
    {
      if (msg)
        *msg = xstrdup (err->msg);
      rl_error_free (&err);
      gotmpl_free (t);
      return NULL;
    }
  gotmpl_free (t);
  return out;
}

static char *
render (const char *tmpl)
{
  return render_hdr (tmpl, false, NULL);
}

#define CHECK_RENDER(tmpl, want)                                                                   \
  do                                                                                               \
    {                                                                                              \
      cleanup_free char *got_ = render (tmpl);                                                     \
      CHECK_STR (got_, want);                                                                      \
    }                                                                                              \
  while (0)

/* The template fails and the message contains want. */
#define CHECK_FAILS(tmpl, want)                                                                    \
  do                                                                                               \
    {                                                                                              \
      cleanup_free char *msg_ = NULL;                                                              \
      cleanup_free char *got_ = render_hdr (tmpl, false, &msg_);                                   \
      CHECK (got_ == NULL);                                                                        \
      CHECK (msg_ != NULL && strstr (msg_, want) != NULL);                                         \
      if (msg_ && !strstr (msg_, want))                                                            \
        fprintf (stderr, "  message: %s\n", msg_);                                                 \
    }                                                                                              \
  while (0)

static void
test_fields (void)
{
  CHECK_RENDER ("{{.ID}}", "abc123");
  CHECK_RENDER ("id={{ .ID }} name={{.Names}}", "id=abc123 name=web");
  CHECK_RENDER ("{{.State.Status}} {{.State.Pid}} {{.State.Running}}", "running 42 true");
  CHECK_RENDER ("{{.Command}}", "[sh -c echo hi]");
  CHECK_RENDER ("{{.Labels}}", "map[a:1 b:2]");
  CHECK_RENDER ("{{.Labels.a}}", "1");
  CHECK_RENDER ("{{.Labels.zz}}", "<no value>");
  CHECK_RENDER ("{{.Null}}", "<nil>");
  CHECK_RENDER ("{{.Size}}", "1234");
  CHECK_RENDER ("{{$.State.Status}}", "running");
  CHECK_RENDER ("plain text", "plain text");
  CHECK_RENDER ("", "");
}

static void
test_functions (void)
{
  CHECK_RENDER ("{{json .Labels}}", "{\"b\":\"2\",\"a\":\"1\"}");
  CHECK_RENDER ("{{json .Names}}", "\"web\"");
  CHECK_RENDER ("{{json .State.Pid}}", "42");
  CHECK_RENDER ("{{index .Labels \"b\"}}", "2");
  CHECK_RENDER ("[{{index .Labels \"nope\"}}]", "[]");
  CHECK_RENDER ("{{index .Command 1}}", "-c");
  CHECK_RENDER ("{{join .Command \" \"}}", "sh -c echo hi");
  CHECK_RENDER ("{{join .Empty \",\"}}", "");
  CHECK_RENDER ("{{upper .Names}} {{lower \"ABC\"}} {{title \"hello world\"}}",
                "WEB abc Hello World");
  CHECK_RENDER ("{{.Names | upper}}", "WEB");
  CHECK_RENDER ("{{len .Command}} {{len .Labels}} {{len .Names}}", "3 2 3");
  CHECK_RENDER ("{{truncate .ID 3}}", "abc");
  CHECK_RENDER ("{{printf \"%-5s|%d|%q\" .Names .State.Pid .ID}}", "web  |42|\"abc123\"");
  CHECK_RENDER ("{{json (index .Labels \"a\")}}", "\"1\"");
  CHECK_RENDER ("{{(index .Mounts 0).Destination}}", "/data");
  CHECK_RENDER ("{{eq .State.Status \"running\"}} {{ne .State.Pid 42}}", "true false");
  CHECK_RENDER ("{{not .Empty}} {{and .ID .Null}} {{or .Null .Names}}", "true <nil> web");
}

static void
test_control (void)
{
  CHECK_RENDER ("{{if .State.Running}}up{{else}}down{{end}}", "up");
  CHECK_RENDER ("{{if .Empty}}some{{else}}none{{end}}", "none");
  CHECK_RENDER ("{{if .Null}}a{{else if eq .Names \"web\"}}b{{else}}c{{end}}", "b");
  CHECK_RENDER ("{{range .Command}}<{{.}}>{{end}}", "<sh><-c><echo hi>");
  CHECK_RENDER ("{{range .Empty}}x{{else}}empty{{end}}", "empty");
  CHECK_RENDER ("{{range .Null}}x{{end}}", "");
  CHECK_RENDER ("{{range .Labels}}{{.}},{{end}}", "1,2,");
  CHECK_RENDER ("{{range .Mounts}}{{.Destination}}:{{.RW}} {{end}}", "/data:true /ro:false ");
  CHECK_RENDER ("{{with .State}}{{.Status}}{{end}}", "running");
  CHECK_RENDER ("{{with .Null}}x{{else}}no{{end}}", "no");
  CHECK_RENDER ("a  {{- .Names -}}  b", "awebb");
  CHECK_RENDER ("{{/* a comment */}}x", "x");
  CHECK_RENDER ("{{range .Command}}{{$.Names}}{{end}}", "webwebweb");
}

static void
test_errors (void)
{
  CHECK_FAILS ("{{.Nope}}", "can't evaluate field Nope");
  CHECK_FAILS ("{{.State.Nope}}", "can't evaluate field Nope");
  CHECK_FAILS ("{{.Names.x}}", "can't evaluate field x in type string");
  CHECK_FAILS ("{{.ID", "unclosed action");
  CHECK_FAILS ("{{if .ID}}x", "has no `{{end}}`");
  CHECK_FAILS ("x{{end}}", "unexpected `{{end}}`");
  CHECK_FAILS ("{{nosuch .ID}}", "function `nosuch` not defined");
  CHECK_FAILS ("{{.ID .Names}}", "can't give argument to non-function");
  CHECK_FAILS ("{{\"abc}}", "unterminated quoted string");
  CHECK_FAILS ("{{range .Names}}x{{end}}", "range can't iterate over a string");
  CHECK_FAILS ("{{index .Command 7}}", "index out of range");
  CHECK_FAILS ("{{$x := 1}}", "variables other than `$` are not supported");
  CHECK_FAILS ("{{}}", "missing value");
  CHECK_FAILS ("{{(.ID}}", "unclosed left parenthesis");
  CHECK_FAILS ("{{.ID | }}", "missing value");
}

static void
test_header (void)
{
  cleanup_free char *h
      = render_hdr ("{{.ID}}\t{{json .Labels}}\t{{index .Labels \"a\"}}", true, NULL);
  CHECK_STR (h, "abc123\tmap[a:1 b:2]\tmap[a:1 b:2]");
}

static void
test_prepare (void)
{
  bool table;
  cleanup_free char *a = gotmpl_prepare ("table {{.ID}}\\t{{.Names}}\\n ", &table);
  cleanup_free char *b = gotmpl_prepare ("{{.ID}}", &table);

  CHECK_STR (a, "{{.ID}}\t{{.Names}}\n");
  CHECK (!table);
  {
    bool t2;
    cleanup_free char *c = gotmpl_prepare ("table {{.ID}}", &t2);
    CHECK (t2);
    CHECK_STR (c, "{{.ID}}");
  }
  CHECK_STR (b, "{{.ID}}");
}

static void
test_tabwrite (void)
{
  cleanup_free char *a = gotmpl_tabwrite ("ID\tNAME\nabc\tweb\nabcdefghijkl\tx\n");
  cleanup_free char *b = gotmpl_tabwrite ("no tabs\nat all");
  cleanup_free char *c = gotmpl_tabwrite ("a\tb\tc\nlonger\n\nxx\tyyyyyyyyyyyy\tz\n");
  cleanup_free char *d = gotmpl_tabwrite ("h\u00e9\tx\n");

  CHECK_STR (a, "ID             NAME\n"
                "abc            web\n"
                "abcdefghijkl   x\n");
  CHECK_STR (b, "no tabs\nat all");
  /* A line without the column ends the block. */
  CHECK_STR (c, "a         b         c\n"
                "longer\n"
                "\n"
                "xx        yyyyyyyyyyyy   z\n");
  CHECK_STR (d, "h\u00e9        x\n");
}

static void
test_json_tidy (void)
{
  char a[] = "[\n    {\n        \"a\": [\n\n        ],\n        \"b\": {\n\n        },\n        "
             "\"c\": \"[\\n\\n]\"\n    }\n]\n";
  char b[] = "[\n\n]\n";

  gotmpl_json_tidy (a);
  gotmpl_json_tidy (b);
  CHECK_STR (a, "[\n    {\n        \"a\": [],\n        \"b\": {},\n        \"c\": "
                "\"[\\n\\n]\"\n    }\n]");
  CHECK_STR (b, "[]");
}

int
main (void)
{
  RUN_TEST (test_fields);
  RUN_TEST (test_functions);
  RUN_TEST (test_control);
  RUN_TEST (test_errors);
  RUN_TEST (test_header);
  RUN_TEST (test_prepare);
  RUN_TEST (test_tabwrite);
  RUN_TEST (test_json_tidy);
  return unit_exit ();
}
