/* sha256 digests through OpenSSL's EVP interface. */
#include "config.h"
#include "image/digest.h"
#include "util/util.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static void
to_hex (const unsigned char *md, size_t n, char *out)
{
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++)
    {
      out[2 * i] = hex[md[i] >> 4];
      out[2 * i + 1] = hex[md[i] & 15];
    }
  out[2 * n] = '\0';
}

void
sha256_init (struct rl_sha256 *h)
{
  EVP_MD_CTX *c = EVP_MD_CTX_new ();
  /* The only failure modes are allocation ones; treat them like xmalloc. */
  if (c == NULL || EVP_DigestInit_ex (c, EVP_sha256 (), NULL) != 1)
    abort ();
  h->ctx = c;
}

void
sha256_update (struct rl_sha256 *h, const void *buf, size_t len)
{
  if (len > 0 && EVP_DigestUpdate (h->ctx, buf, len) != 1)
    abort ();
}

void
sha256_final_hex (struct rl_sha256 *h, char hex[SHA256_HEX_LEN + 1])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  if (EVP_DigestFinal_ex (h->ctx, md, &n) != 1 || n != SHA256_HEX_LEN / 2)
    abort ();
  to_hex (md, n, hex);
  sha256_clear (h);
}

void
sha256_clear (struct rl_sha256 *h)
{
  if (h->ctx)
    EVP_MD_CTX_free (h->ctx);
  h->ctx = NULL;
}

void
sha256_hex (const void *buf, size_t len, char hex[SHA256_HEX_LEN + 1])
{
  struct rl_sha256 h;
  sha256_init (&h);
  sha256_update (&h, buf, len);
  sha256_final_hex (&h, hex);
}

bool
sha256_hex_valid (const char *s)
{
  size_t i;
  for (i = 0; s[i]; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return i == SHA256_HEX_LEN;
}

bool
digest_valid (const char *s)
{
  return s && str_has_prefix (s, DIGEST_PREFIX) && sha256_hex_valid (s + strlen (DIGEST_PREFIX));
}

const char *
digest_hex (const char *s, const char *what, rl_error_t *err)
{
  const char *colon;

  if (digest_valid (s))
    return s + strlen (DIGEST_PREFIX);
  if (s == NULL)
    return rl_error (err, 0, "%s: missing digest", what), NULL;
  colon = strchr (s, ':');
  if (colon == NULL)
    rl_error (err, 0, "%s: digest `%s` has no algorithm (expected sha256:<64 hex>)", what, s);
  else if (!str_has_prefix (s, DIGEST_PREFIX))
    rl_error (err, 0, "%s: digest `%s`: unsupported algorithm `%.*s`", what, s, (int)(colon - s),
              s);
  else
    rl_error (err, 0, "%s: digest `%s`: expected 64 lower-case hex characters", what, s);
  return NULL;
}

void
chain_id_next (const char *parent_chain_digest, const char *diff_id, char hex[SHA256_HEX_LEN + 1])
{
  cleanup_free char *s = NULL;

  if (parent_chain_digest == NULL)
    {
      /* The bottom layer's chain id is its diff_id. */
      strcpy (hex, diff_id + strlen (DIGEST_PREFIX));
      return;
    }
  s = xasprintf ("%s %s", parent_chain_digest, diff_id);
  sha256_hex (s, strlen (s), hex);
}
