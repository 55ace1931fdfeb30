/* Unit tests for image references: the Docker grammar, normalization, the
 * names `rl import` gives and the names a lookup tries. */
#include "config.h"
#include "unit.h"
#include "image/digest.h"
#include "image/ref.h"
#include "util/dl.h"
#include "util/util.h"

#include <stdlib.h>

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Parse s, normalize against docker.io and return the full string. */
static char *
norm (const char *s)
{
  struct rl_ref r;
  rl_error_t err = NULL;
  char *out;

  if (ref_parse (s, &r, &err) < 0)
    {
      rl_error_free (&err);
      return xstrdup ("ERROR");
    }
  ref_normalize (&r, REF_DEFAULT_DOMAIN);
  out = ref_format (&r);
  ref_clear (&r);
  return out;
}

/* The reason parse gives for s, or "OK". */
static char *
reason (const char *s)
{
  struct rl_ref r;
  rl_error_t err = NULL;
  char *out;

  if (ref_parse (s, &r, &err) == 0)
    {
      ref_clear (&r);
      return xstrdup ("OK");
    }
  out = xstrdup (err->msg);
  rl_error_free (&err);
  return out;
}

static void
test_normalize (void)
{
  static const char *const cases[][2] = {
    { "alpine", "docker.io/library/alpine:latest" },
    { "alpine:3.20", "docker.io/library/alpine:3.20" },
    { "library/alpine", "docker.io/library/alpine:latest" },
    { "docker.io/alpine", "docker.io/library/alpine:latest" },
    { "docker.io/library/alpine:edge", "docker.io/library/alpine:edge" },
    { "index.docker.io/alpine", "docker.io/library/alpine:latest" },
    { "user/repo", "docker.io/user/repo:latest" },
    { "quay.io/a/b/c:v1", "quay.io/a/b/c:v1" },
    { "localhost/bb", "localhost/bb:latest" },
    { "localhost:5000/bb:1", "localhost:5000/bb:1" },
    { "127.0.0.1:5000/ns/name:tag", "127.0.0.1:5000/ns/name:tag" },
    { "[::1]:5000/name", "[::1]:5000/name:latest" },
    { "Example.COM/name", "Example.COM/name:latest" },
    { "alpine@sha256:" HEX64, "docker.io/library/alpine@sha256:" HEX64 },
    { "alpine:3@sha256:" HEX64, "docker.io/library/alpine:3@sha256:" HEX64 },
    { "a__b/c-d/e.f--g:Tag_1.0-x", "docker.io/a__b/c-d/e.f--g:Tag_1.0-x" },
  };

  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      cleanup_free char *got = norm (cases[i][0]);
      CHECK_STR (got, cases[i][1]);
    }
}

static void
test_malformed (void)
{
  static const char *const cases[][2] = {
    { "", "empty name" },
    { "Alpine", "must be lower-case" },
    { "foo/Bar", "must be lower-case" },
    { "alpine:", "empty tag" },
    { "alpine:.bad", "invalid tag" },
    { "alpine:-bad", "invalid tag" },
    { "alpine:a/b", "port must be a number" }, /* a ':' in the first component: a domain */
    { "alpine@sha256:abc", "invalid digest" },
    { "alpine@md5:" HEX64, "invalid digest" },
    { "alpine@", "invalid digest" },
    { "a..b", "separators" },
    { "a___b", "separators" },
    { "-a", "start and end" },
    { "a-", "start and end" },
    { "a//b", "empty path component" },
    { "a/", "empty path component" },
    { "a$b", "invalid character" },
    { "host:port/x", "port must be a number" },
    { "host:123456/x", "port out of range" },
    { "-host.com/x", "invalid domain component" },
    { "host..com/x", "invalid domain component" },
    { "[zz]:5000/x", "IPv6" },
    { HEX64, "image id" },
    { ":tag", "empty name" },
  };

  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      cleanup_free char *got = reason (cases[i][0]);
      if (strstr (got, cases[i][1]) == NULL)
        {
          fprintf (stderr, "  `%s`: got \"%s\", expected a reason with \"%s\"\n", cases[i][0], got,
                   cases[i][1]);
          unit_failed_now++;
        }
      /* Every reason names the offending reference. */
      if (strcmp (got, "OK") != 0)
        CHECK (str_has_prefix (got, "invalid reference `"));
    }
}

static void
test_lengths (void)
{
  char tag[REF_TAG_MAX + 2];
  char name[REF_NAME_MAX + 10];
  cleanup_free char *ok_tag = NULL;
  cleanup_free char *long_tag = NULL;
  cleanup_free char *long_name = NULL;
  cleanup_free char *s1 = NULL;
  cleanup_free char *s2 = NULL;

  memset (tag, 'a', REF_TAG_MAX);
  tag[REF_TAG_MAX] = '\0';
  CHECK (ref_tag_valid (tag));
  s1 = xasprintf ("x:%s", tag);
  ok_tag = reason (s1);
  CHECK_STR (ok_tag, "OK");
  tag[REF_TAG_MAX] = 'a';
  tag[REF_TAG_MAX + 1] = '\0';
  CHECK (!ref_tag_valid (tag));
  s2 = xasprintf ("x:%s", tag);
  long_tag = reason (s2);
  CHECK (strstr (long_tag, "invalid tag") != NULL);

  memset (name, 'a', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  long_name = reason (name);
  CHECK (strstr (long_name, "longer than") != NULL);
}

static void
test_parts (void)
{
  struct rl_ref r;
  rl_error_t err = NULL;

  CHECK (ref_parse ("localhost:5000/ns/name:tag@sha256:" HEX64, &r, &err) == 0);
  CHECK_STR (r.domain, "localhost:5000");
  CHECK_STR (r.path, "ns/name");
  CHECK_STR (r.tag, "tag");
  CHECK_STR (r.digest, "sha256:" HEX64);
  ref_clear (&r);

  CHECK (ref_parse ("bb", &r, &err) == 0);
  CHECK (r.domain == NULL && r.tag == NULL && r.digest == NULL);
  CHECK_STR (r.path, "bb");
  ref_clear (&r);
}

static void
test_local_name (void)
{
  static const char *const cases[][2] = {
    { "bb", "localhost/bb:latest" },
    { "bb:v1", "localhost/bb:v1" },
    { "team/tool", "localhost/team/tool:latest" },
    { "example.org/team/tool:2.0", "example.org/team/tool:2.0" },
    { "localhost/bb", "localhost/bb:latest" },
  };
  rl_error_t err = NULL;
  char *out = NULL;

  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      CHECK (ref_local_name (cases[i][0], &out, &err) == 0);
      CHECK_STR (out, cases[i][1]);
      free (out);
      out = NULL;
    }
  CHECK (ref_local_name ("bb@sha256:" HEX64, &out, &err) < 0);
  CHECK (err && strstr (err->msg, "digest"));
  rl_error_free (&err);
  CHECK (ref_local_name ("BB", &out, &err) < 0);
  rl_error_free (&err);
}

static void
test_lookup_names (void)
{
  cleanup_strv char **a = NULL;
  cleanup_strv char **b = NULL;
  cleanup_strv char **c = NULL;
  rl_error_t err = NULL;

  CHECK (ref_lookup_names ("bb", &a, &err) == 0);
  CHECK (strv_len (a) == 2);
  CHECK_STR (a[0], "localhost/bb:latest");
  CHECK_STR (a[1], "docker.io/library/bb:latest");

  CHECK (ref_lookup_names ("ns/bb:v2", &b, &err) == 0);
  CHECK (strv_len (b) == 2);
  CHECK_STR (b[0], "localhost/ns/bb:v2");
  CHECK_STR (b[1], "docker.io/ns/bb:v2");

  CHECK (ref_lookup_names ("quay.io/x/y", &c, &err) == 0);
  CHECK (strv_len (c) == 1);
  CHECK_STR (c[0], "quay.io/x/y:latest");
}

static void
test_digest (void)
{
  char hex[SHA256_HEX_LEN + 1];
  rl_error_t err = NULL;

  /* libcrypto is loaded at first use, as in rl. */
  CHECK (dl_need_crypto (&err) == 0);
  sha256_hex ("abc", 3, hex);
  CHECK_STR (hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK (digest_valid ("sha256:" HEX64));
  CHECK (!digest_valid ("sha256:"
                        "0123"));
  CHECK (!digest_valid ("sha512:" HEX64));
  CHECK (!digest_valid ("sha256:"
                        "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
  CHECK (digest_hex ("sha256:" HEX64, "x", &err) != NULL);
  CHECK (digest_hex ("md5:abc", "config", &err) == NULL);
  CHECK (err && strstr (err->msg, "unsupported algorithm `md5`"));
  rl_error_free (&err);

  /* A chain of one layer is its diff_id; the next hashes "parent diff". */
  chain_id_next (NULL, "sha256:" HEX64, hex);
  CHECK_STR (hex, HEX64);
  {
    const char *s = "sha256:" HEX64 " sha256:" HEX64;
    char want[SHA256_HEX_LEN + 1];
    sha256_hex (s, strlen (s), want);
    chain_id_next ("sha256:" HEX64, "sha256:" HEX64, hex);
    CHECK_STR (hex, want);
  }
}

int
main (void)
{
  RUN_TEST (test_normalize);
  RUN_TEST (test_malformed);
  RUN_TEST (test_lengths);
  RUN_TEST (test_parts);
  RUN_TEST (test_local_name);
  RUN_TEST (test_lookup_names);
  RUN_TEST (test_digest);
  return unit_exit ();
}
