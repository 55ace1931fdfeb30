/* Unit tests for the registry side that needs no network: base64, auth.json
 * (read, write, remove, Docker's key forms, namespaces), WWW-Authenticate
 * challenges, manifests and indexes, platform choice, image configs, OCI
 * error bodies. */
#include "config.h"
#include "unit.h"
#include "registry/auth.h"
#include "registry/manifest.h"
#include "registry/registry.h"
#include "util/fs.h"
#include "util/util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D(c)                                                                                       \
  "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
      c c c c c c c c c c c c c c c c c c c c c

static void
test_base64 (void)
{
  static const char *const cases[][2] = {
    { "", "" },
    { "f", "Zg==" },
    { "fo", "Zm8=" },
    { "foo", "Zm9v" },
    { "user:pa:ss", "dXNlcjpwYTpzcw==" },
  };

  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      cleanup_free char *enc = base64_encode (cases[i][0], strlen (cases[i][0]));
      cleanup_free char *dec = NULL;
      size_t len;
      CHECK_STR (enc, cases[i][1]);
      CHECK (base64_decode (cases[i][1], &dec, &len) == 0 && len == strlen (cases[i][0]));
      CHECK_STR (dec, cases[i][0]);
    }
  {
    static const char *const bad[] = { "Zg=", "Z===", "Zg==Zg==", "Zm9*", "=Zm9" };
    for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
      {
        cleanup_free char *dec = NULL;
        size_t len;
        CHECK (base64_decode (bad[i], &dec, &len) < 0);
      }
  }
}

static void
test_challenge (void)
{
  struct auth_challenge c;
  rl_error_t err = NULL;

  CHECK (auth_challenge_parse ("Bearer realm=\"https://auth.docker.io/token\","
                               "service=\"registry.docker.io\",scope=\"repository:library/"
                               "alpine:pull\"",
                               &c, &err)
         == 0);
  CHECK_STR (c.scheme, "bearer");
  CHECK_STR (c.realm, "https://auth.docker.io/token");
  CHECK_STR (c.service, "registry.docker.io");
  CHECK_STR (c.scope, "repository:library/alpine:pull");
  CHECK (c.error == NULL);
  auth_challenge_clear (&c);

  CHECK (auth_challenge_parse ("  bearer realm=http://h:1/t , service=svc,  foo=\"a\\\"b\", "
                               "error=\"insufficient_scope\"",
                               &c, &err)
         == 0);
  CHECK_STR (c.realm, "http://h:1/t");
  CHECK_STR (c.service, "svc");
  CHECK_STR (c.error, "insufficient_scope");
  auth_challenge_clear (&c);

  CHECK (auth_challenge_parse ("Basic realm=\"Registry Realm\"", &c, &err) == 0);
  CHECK_STR (c.scheme, "basic");
  CHECK_STR (c.realm, "Registry Realm");
  auth_challenge_clear (&c);

  CHECK (auth_challenge_parse ("Bearer service=\"x\"", &c, &err) < 0);
  CHECK (err && strstr (err->msg, "bearer without realm"));
  rl_error_free (&err);
  CHECK (auth_challenge_parse ("Bearer realm=\"unterminated", &c, &err) < 0);
  CHECK (err && strstr (err->msg, "unterminated quote"));
  rl_error_free (&err);
  CHECK (auth_challenge_parse ("", &c, &err) < 0);
  rl_error_free (&err);
}

static void
write_text (const char *path, const char *text)
{
  rl_error_t err = NULL;
  CHECK (write_file_atomic (AT_FDCWD, path, text, strlen (text), 0600, &err) == 0);
  rl_error_free (&err);
}

static void
test_auth_file (void)
{
  char dir[] = "/tmp/rl-test-auth-XXXXXX";
  cleanup_free char *path = NULL;
  cleanup_free char *docker = NULL;
  cleanup_free char *text = NULL;
  char *user = NULL, *pass = NULL;
  rl_error_t err = NULL;
  struct stat sb;
  bool removed;

  CHECK (mkdtemp (dir) != NULL);
  path = xasprintf ("%s/containers/auth.json", dir);

  /* A missing file has no credentials. */
  CHECK (auth_lookup_file (path, "h:5000", "x", &user, &pass, &err) == 0);

  /* Written with its directory, mode 0600, readable back. */
  CHECK (auth_store (path, "h:5000", "me", "s3:cret", &err) == 0);
  CHECK (stat (path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
  CHECK (auth_lookup_file (path, "h:5000", "ns/x", &user, &pass, &err) == 1);
  CHECK_STR (user, "me");
  CHECK_STR (pass, "s3:cret");
  free (user), free (pass);

  /* A namespace entry wins over the host one for its repositories only. */
  CHECK (auth_store (path, "h:5000/team", "teamuser", "tp", &err) == 0);
  CHECK (auth_lookup_file (path, "h:5000", "team/app", &user, &pass, &err) == 1);
  CHECK_STR (user, "teamuser");
  free (user), free (pass);
  CHECK (auth_lookup_file (path, "h:5000", "teamx/app", &user, &pass, &err) == 1);
  CHECK_STR (user, "me");
  free (user), free (pass);

  /* Other keys of the file survive a rewrite. */
  write_text (path, "{\"credHelpers\":{\"x.io\":\"pass\"},\"auths\":{\"a.io\":{\"auth\":\"YTpi\"},"
                    "\"h:5000\":{\"auth\":\"bWU6cA==\",\"identitytoken\":\"t\"}}}");
  CHECK (auth_remove (path, "h:5000", &removed, &err) == 0 && removed);
  CHECK (auth_remove (path, "h:5000", &removed, &err) == 0 && !removed);
  CHECK (read_file_at (AT_FDCWD, path, 65536, &text, NULL, &err) == 0);
  CHECK (strstr (text, "credHelpers") && strstr (text, "a.io") && !strstr (text, "h:5000"));
  CHECK (auth_remove (path, NULL, &removed, &err) == 0 && removed);
  CHECK (auth_lookup_file (path, "a.io", NULL, &user, &pass, &err) == 0);

  /* Docker's config.json: URL keys, Docker Hub's legacy name. */
  docker = xasprintf ("%s/config.json", dir);
  write_text (docker, "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"ZDpodWI=\"},"
                      "\"https://r.example.org/\":{\"auth\":\"cjpleA==\"}}}");
  CHECK (auth_lookup_file (docker, "docker.io", "library/alpine", &user, &pass, &err) == 1);
  CHECK_STR (user, "d");
  CHECK_STR (pass, "hub");
  free (user), free (pass);
  CHECK (auth_lookup_file (docker, "r.example.org", "a/b", &user, &pass, &err) == 1);
  CHECK_STR (user, "r");
  free (user), free (pass);

  /* Corrupt files and entries are errors that name the file. */
  write_text (docker, "{\"auths\":{\"h\":{\"auth\":\"!!\"}}}");
  CHECK (auth_lookup_file (docker, "h", NULL, &user, &pass, &err) < 0);
  CHECK (err && strstr (err->msg, docker) && strstr (err->msg, "invalid `auth`"));
  rl_error_free (&err);
  write_text (docker, "{\"auths\":");
  CHECK (auth_lookup_file (docker, "h", NULL, &user, &pass, &err) < 0);
  CHECK (err && strstr (err->msg, docker));
  rl_error_free (&err);

  unlink (docker);
  unlink (path);
  free (text);
  text = xasprintf ("%s/containers", dir);
  rmdir (text);
  rmdir (dir);
}

static void
test_auth_path (void)
{
  const char *old = getenv ("XDG_RUNTIME_DIR");
  cleanup_free char *saved = old ? xstrdup (old) : NULL;
  cleanup_free char *want = xasprintf ("/run/containers/%u/auth.json", (unsigned)getuid ());
  char *p;

  unsetenv ("REGISTRY_AUTH_FILE");
  setenv ("XDG_RUNTIME_DIR", "/run/user/1234", 1);
  p = auth_file_path ();
  CHECK_STR (p, "/run/user/1234/containers/auth.json");
  free (p);
  unsetenv ("XDG_RUNTIME_DIR");
  p = auth_file_path ();
  CHECK_STR (p, want);
  free (p);
  setenv ("REGISTRY_AUTH_FILE", "/x/a.json", 1);
  p = auth_file_path ();
  CHECK_STR (p, "/x/a.json");
  free (p);
  unsetenv ("REGISTRY_AUTH_FILE");
  if (saved)
    setenv ("XDG_RUNTIME_DIR", saved, 1);
}

static int
parse_manifest (const char *text, const char *ct, struct rl_manifest *m, char **msg)
{
  rl_error_t err = NULL;
  int r = manifest_parse (text, strlen (text), ct, "manifest", m, &err);
  *msg = r < 0 ? xstrdup (err->msg) : NULL;
  rl_error_free (&err);
  return r;
}

static void
test_manifest (void)
{
  struct rl_manifest m;
  char *msg = NULL;

  CHECK (
      parse_manifest (
          "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\","
          "\"config\":{\"mediaType\":\"x\",\"digest\":\"" D (
              "a") "\",\"size\":7},"
                   "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff."
                   "tar.gzip\",\"digest\":\"" D ("b") "\",\"size\":100},"
                                                      "{\"mediaType\":\""
                                                      "application/vnd.oci.image.layer.v1.tar+zstd"
                                                      "\",\"digest\":\"" D ("c") "\",\"size\":5}]}",
          NULL, &m, &msg)
      == 0);
  CHECK (m.kind == MANIFEST_IMAGE && m.n_layers == 2 && m.config.size == 7);
  CHECK_STR (m.layers[0].digest, D ("b"));
  CHECK (layer_media_compression (m.layers[0].media_type) == COMPRESSION_GZIP);
  CHECK (layer_media_compression (m.layers[1].media_type) == COMPRESSION_ZSTD);
  CHECK (layer_media_compression ("application/vnd.oci.image.layer.v1.tar") == COMPRESSION_NONE);
  manifest_clear (&m);

  /* OCI without mediaType: the shape tells; Content-Type is a fallback. */
  CHECK (parse_manifest (
             "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D (
                 "d") "\",\"size\":3,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\","
                      "\"variant\":\"v6\"}}]}",
             NULL, &m, &msg)
         == 0);
  CHECK (m.kind == MANIFEST_INDEX && m.n_manifests == 1);
  CHECK_STR (m.manifests[0].variant, "v6");
  manifest_clear (&m);

  {
    static const char *const bad[][2] = {
      { "{\"schemaVersion\":1,\"fsLayers\":[]}", "schema 1" },
      { "{\"schemaVersion\":3}", "unsupported schemaVersion" },
      { "[1]", "not a JSON object" },
      { "{\"schemaVersion\":2,\"mediaType\":\"text/html\",\"config\":{}}",
        "unsupported manifest type" },
      { "{\"schemaVersion\":2,\"mediaType\":\"application/x-foo\"}", "unsupported manifest type" },
      { "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha512:ab\",\"size\":1},\"layers\":[]}",
        "unsupported digest" },
      { "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D ("a") "\",\"size\":-1},\"layers\":[]}",
        "invalid size" },
      { "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D ("a") "\",\"size\":99999999},"
                                                                 "\"layers\":[]}",
        "config larger than" },
      { "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D ("a") "\",\"size\":1}}",
        "missing `layers`" },
      { "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D (
            "a") "\",\"size\":1},\"layers\":[{"
                 "\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D (
                     "b") "\",\"size\":1}]}",
        "unsupported media type" },
    };
    for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
      {
        CHECK (parse_manifest (bad[i][0], NULL, &m, &msg) < 0);
        if (msg == NULL || strstr (msg, bad[i][1]) == NULL)
          {
            fprintf (stderr, "  bad case %zu: got \"%s\"\n", i, msg ? msg : "(success)");
            unit_failed_now++;
          }
        free (msg);
        msg = NULL;
      }
  }
}

static const char *
select_digest (const struct rl_manifest *m, const char *os, const char *arch, const char *variant,
               char **msg)
{
  const struct rl_descriptor *d;
  rl_error_t err = NULL;

  *msg = NULL;
  if (manifest_select (m, os, arch, variant, &d, &err) < 0)
    {
      *msg = xstrdup (err->msg);
      rl_error_free (&err);
      return NULL;
    }
  return d->digest;
}

static void
test_select (void)
{
  struct rl_manifest m;
  char *msg = NULL;

  CHECK (parse_manifest (
             "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_LIST "\",\"manifests\":["
             "{\"digest\":\"" D (
                 "1") "\",\"size\":1,\"platform\":{\"os\":\"linux\","
                      "\"architecture\":\"amd64\"}},"
                      "{\"digest\":\"" D (
                          "2") "\",\"size\":1,\"platform\":{\"os\":\"linux\","
                               "\"architecture\":\"arm\",\"variant\":\"v6\"}},"
                               "{\"digest\":\"" D (
                                   "3") "\",\"size\":1,\"platform\":{\"os\":\"linux\","
                                        "\"architecture\":\"arm\",\"variant\":\"v7\"}},"
                                        "{\"digest\":\"" D (
                                            "4") "\",\"size\":1,\"platform\":{\"os\":\"linux\","
                                                 "\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
                                                 "{\"digest\":\"" D (
                                                     "5") "\",\"size\":1,\"platform\":{\"os\":"
                                                          "\"unknown\","
                                                          "\"architecture\":\"unknown\"}}]}",
             NULL, &m, &msg)
         == 0);
  CHECK_STR (select_digest (&m, "linux", "amd64", NULL, &msg), D ("1"));
  /* arm means v7 and arm64 v8 when no variant is written on either side. */
  CHECK_STR (select_digest (&m, "linux", "arm", NULL, &msg), D ("3"));
  CHECK_STR (select_digest (&m, "linux", "arm", "v6", &msg), D ("2"));
  CHECK_STR (select_digest (&m, "linux", "arm64", NULL, &msg), D ("4"));
  CHECK_STR (select_digest (&m, "linux", "arm64", "v8", &msg), D ("4"));
  CHECK (select_digest (&m, "linux", "s390x", NULL, &msg) == NULL);
  CHECK_STR (msg, "no image for platform linux/s390x (available: linux/amd64, linux/arm/v6, "
                  "linux/arm/v7, linux/arm64/v8)");
  free (msg);
  CHECK (select_digest (&m, "linux", "amd64", "v3", &msg) == NULL);
  free (msg);
  CHECK (select_digest (&m, "windows", "amd64", NULL, &msg) == NULL);
  free (msg);
  manifest_clear (&m);
}

static void
test_config_diff_ids (void)
{
  char **ids = NULL;
  char *os = NULL, *arch = NULL;
  rl_error_t err = NULL;

  CHECK (
      image_config_diff_ids ("{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{"
                             "\"type\":\"layers\",\"diff_ids\":[\"" D ("e") "\",\"" D ("f") "\"]}}",
                             "config", &ids, &os, &arch, &err)
      == 0);
  CHECK (strv_len (ids) == 2);
  CHECK_STR (ids[1], D ("f"));
  CHECK_STR (os, "linux");
  CHECK_STR (arch, "amd64");
  strv_free (ids);
  free (os);
  free (arch);
  CHECK (image_config_diff_ids ("{\"rootfs\":{\"diff_ids\":[\"sha256:xyz\"]}}", "config", &ids,
                                NULL, NULL, &err)
         < 0);
  CHECK (err && strstr (err->msg, "rootfs.diff_ids[0]"));
  rl_error_free (&err);
  CHECK (image_config_diff_ids ("{}", "config", &ids, NULL, NULL, &err) < 0);
  rl_error_free (&err);
}

static void
test_error_body (void)
{
  const char *b
      = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest\\nunknown\"}]}";
  const char *c = "{\"errors\":[{\"code\":\"DENIED\"}]}";
  cleanup_free char *m1 = reg_error_message (b, strlen (b));
  cleanup_free char *m2 = reg_error_message (c, strlen (c));
  cleanup_free char *m3 = reg_error_message ("<html>", 6);

  CHECK_STR (m1, "manifest unknown");
  CHECK_STR (m2, "DENIED");
  CHECK (m3 == NULL);
}

int
main (void)
{
  RUN_TEST (test_base64);
  RUN_TEST (test_challenge);
  RUN_TEST (test_auth_file);
  RUN_TEST (test_auth_path);
  RUN_TEST (test_manifest);
  RUN_TEST (test_select);
  RUN_TEST (test_config_diff_ids);
  RUN_TEST (test_error_body);
  return unit_exit ();
}
