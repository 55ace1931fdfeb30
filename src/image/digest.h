/* Content digests: streaming sha256 (OpenSSL EVP) and the "sha256:<hex>"
 * form that OCI descriptors, diff_ids and image ids use.  libcrypto is
 * loaded at first use: the entry point that leads to hashing calls
 * dl_need_crypto() (util/dl.h) before any sha256_*() or chain_id_next(). */
#ifndef RL_DIGEST_H
#define RL_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define SHA256_HEX_LEN 64
#define DIGEST_PREFIX  "sha256:"
#define DIGEST_LEN     (sizeof DIGEST_PREFIX - 1 + SHA256_HEX_LEN)

struct rl_sha256
{
  void *ctx; /* EVP_MD_CTX */
};

/* Start a hash; aborts on OOM like xmalloc, so it cannot fail. */
void sha256_init (struct rl_sha256 *h);
void sha256_update (struct rl_sha256 *h, const void *buf, size_t len);
/* Finish into 64 lower-case hex characters + NUL; the context is freed. */
void sha256_final_hex (struct rl_sha256 *h, char hex[SHA256_HEX_LEN + 1]);
/* Free a context that was not finished (error paths). */
void sha256_clear (struct rl_sha256 *h);
#define cleanup_sha256 __attribute__ ((cleanup (sha256_clear)))

/* One-shot hash of a buffer. */
void sha256_hex (const void *buf, size_t len, char hex[SHA256_HEX_LEN + 1]);

/* Is s exactly 64 lower-case hex characters? */
bool sha256_hex_valid (const char *s);
/* Is s "sha256:" followed by 64 lower-case hex characters? */
bool digest_valid (const char *s);
/* Check a digest string (what names it in the error) and return a pointer
 * to its hex part, or NULL with err set. */
const char *digest_hex (const char *s, const char *what, rl_error_t *err);

/* OCI chain id of a layer stack: chain(0) = diff(0),
 * chain(n) = sha256(chain(n-1) + " " + diff(n)).  Fills hex of the top. */
void chain_id_next (const char *parent_chain_digest, const char *diff_id,
                    char hex[SHA256_HEX_LEN + 1]);

#endif
