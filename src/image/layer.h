/* Layers and blobs: making a layer blob from a root filesystem, the safe
 * unpacker shared by import and pull, and the store's blobs/ and layers/.
 *
 *   blobs/sha256/HEX     a blob, named by the sha256 of its bytes
 *   layers/CHAIN/        the unpacked tree of the layer with chain id CHAIN
 *   layers/CHAIN.json    {"diff_id", "size" (tar bytes), "idmap" (idmap_key()
 *                        of the map the owners were written with), "created"}
 *
 * Whiteouts are stored the way overlay drivers read them: `.wh.NAME` becomes
 * a 0/0 character device NAME; `.wh..wh..opq` sets user.overlay.opaque=y on
 * its directory (read by the kernel's overlay with userxattr and by
 * fuse-overlayfs) and, where permitted (real root), trusted.overlay.opaque=y
 * (read by the kernel's overlay without userxattr).
 *
 * New blobs and layers are made under tmp/ without the store lock, then
 * committed (renamed into place) by the caller under store_lock() together
 * with the images.json update that references them, so a concurrent
 * garbage collection never sees them unreferenced. */
#ifndef RL_LAYER_H
#define RL_LAYER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/digest.h"
#include "image/image.h"
#include "runtime/idmap.h"
#include "store/store.h"
#include "store/tmp.h"
#include "util/error.h"

/* A byte source: fill buf with up to len bytes; return the count, 0 at the
 * end, or -1 with err set. */
typedef ssize_t (*layer_read_fn) (void *arg, void *buf, size_t len, rl_error_t *err);

/* Reading from a file descriptor (arg is a struct layer_fd_reader). */
struct layer_fd_reader
{
  int fd;
  const char *what; /* names the source in errors */
};
ssize_t layer_fd_read (void *arg, void *buf, size_t len, rl_error_t *err);

/* A reader that hashes (and counts) what passes through it, and refuses more
 * than limit bytes (0: no limit): for blob digests and diff_ids. */
struct layer_hash_reader
{
  layer_read_fn rd;
  void *arg;
  struct rl_sha256 h;
  uint64_t n;
  uint64_t limit;
};
void layer_hash_reader_init (struct layer_hash_reader *hr, layer_read_fn rd, void *arg,
                             uint64_t limit);
ssize_t layer_hash_read (void *arg, void *buf, size_t len, rl_error_t *err);
/* "sha256:<hex>" of everything read (finishes the hash). */
void layer_hash_reader_digest (struct layer_hash_reader *hr, char out[DIGEST_LEN + 1]);

/* Decompression of gzip, zstd or plain streams, detected from the first
 * bytes; reads compressed bytes from rd and is itself a layer_read_fn. */
struct layer_decomp;
struct layer_decomp *layer_decomp_new (layer_read_fn rd, void *arg);
ssize_t layer_decomp_read (void *decomp, void *buf, size_t len, rl_error_t *err);
void layer_decomp_free (struct layer_decomp *d);

/* How to unpack (derive it from the id map with layer_unpack_opts_for()). */
struct layer_unpack_opts
{
  bool chown;             /* apply the tar's owners (user namespace with a range, or real root) */
  bool devices;           /* create char/block devices (real root); else they are skipped */
  unsigned long id_limit; /* with chown: owners >= this are refused (0: no limit) */
};
void layer_unpack_opts_for (const struct idmap *m, struct layer_unpack_opts *o);

struct layer_unpack_stats
{
  uint64_t entries;
  uint64_t skipped_devices;
  uint64_t skipped_xattrs; /* xattrs the kernel would not let us set */
};

/* THE SAFE UNPACKER.  Read an uncompressed tar stream from rd and create its
 * entries below dirfd (an O_DIRECTORY fd), every one through *at() calls
 * relative to dirfd with paths resolved in root (openat2 RESOLVE_IN_ROOT)
 * and leaves opened with O_NOFOLLOW: `..` leading out is refused, absolute
 * names are taken relative to dirfd, nothing is written through a symlink,
 * hardlinks must point at files of this layer, 0/0 character devices and
 * overlay xattrs in the tar are refused or dropped, whiteouts become what
 * the overlay drivers read (see above).  rd is read to its end, so a hashing
 * reader has seen every byte when this returns.  stats may be NULL. */
int layer_unpack (int dirfd, layer_read_fn rd, void *arg, const struct layer_unpack_opts *o,
                  struct layer_unpack_stats *stats, rl_error_t *err);

/* A layer unpacked into tmp/, waiting to be committed. */
struct layer_tmp
{
  struct store_tmp tmp; /* "tmp/layer-RANDOM", held while it is unpacked and until committed */
  char diff_id[DIGEST_LEN + 1];
  uint64_t size; /* bytes of the uncompressed tar */
  char *idmap_key;
  struct layer_unpack_stats stats;
};

/* Unpack the tar stream that rd gives (uncompressed) into a new directory
 * under tmp/, with the owners of map m (in SUBID mode inside a user
 * namespace: then rd is called in a child process, so it must only use
 * state that a fork carries, like fds).  When want_diff_id is not NULL the
 * stream's sha256 must match it.  Takes no lock. */
int layer_unpack_tmp (struct rl_store *st, const struct idmap *m, layer_read_fn rd, void *arg,
                      const char *want_diff_id, struct layer_tmp *t, rl_error_t *err);
/* The same from a compressed (gzip/zstd) or plain blob file in the store. */
int layer_unpack_blob_tmp (struct rl_store *st, const struct idmap *m, const char *blob_hex,
                           const char *want_diff_id, struct layer_tmp *t, rl_error_t *err);
/* ... or from any such file, rel being relative to the store root. */
int layer_unpack_file_tmp (struct rl_store *st, const struct idmap *m, const char *rel,
                           const char *want_diff_id, struct layer_tmp *t, rl_error_t *err);
/* Move t into layers/CHAIN and write its metadata; when another process got
 * there first, t is discarded and theirs kept.  The caller holds store_lock(). */
int layer_commit (struct rl_store *st, const struct idmap *m, struct layer_tmp *t,
                  const char *chain_hex, rl_error_t *err);
/* Remove what is left of t (error paths) and free it. */
void layer_tmp_discard (struct rl_store *st, const struct idmap *m, struct layer_tmp *t);

/* Is layers/CHAIN complete, and with which id map key (*key may be NULL)? */
bool layer_exists (struct rl_store *st, const char *chain_hex, char **key);
/* Bytes of the layer's tar as layers/CHAIN.json records them; 0 if unknown. */
uint64_t layer_tar_size (struct rl_store *st, const char *chain_hex);

/* Blobs.  blob_put_bytes() writes a small blob (config, manifest) straight
 * into blobs/ (rename of a whole file: safe without lock, but call it under
 * the lock that also records the reference).  Fills hex. */
int blob_put_bytes (struct rl_store *st, const void *data, size_t len, char hex[SHA256_HEX_LEN + 1],
                    rl_error_t *err);
/* Is blobs/sha256/HEX of digest ("sha256:HEX") there? */
bool blob_exists (struct rl_store *st, const char *digest);
/* Are the config and every layer blob that img's manifest names in
 * blobs/, with the sizes it declares?  For save and push, before they
 * write anything: the error names the first missing blob. */
int image_blobs_check (struct rl_store *st, const struct rl_image *img, rl_error_t *err);
/* Move a finished blob file from tmp/ (tmp_name relative to the store root)
 * into blobs/sha256/HEX; the caller holds store_lock(). */
int blob_commit (struct rl_store *st, const char *tmp_name, const char *hex, rl_error_t *err);

/* Result of layer_blob_create(). */
struct layer_blob
{
  struct store_tmp tmp;         /* "tmp/blob-RANDOM", gzip, to blob_commit() */
  char digest[DIGEST_LEN + 1];  /* of the gzip stream */
  char diff_id[DIGEST_LEN + 1]; /* of the tar */
  uint64_t size;                /* compressed bytes */
  uint64_t tar_size;
};

/* Make a gzip layer blob in tmp/ from a root filesystem: a tarball (plain,
 * gzip, zstd, xz, bzip2: detected), a directory, or "-" for a tarball on
 * stdin.  A tarball is kept as it is (decompressed); a directory becomes a
 * tar with names relative to it, and when an unprivileged user reads it, the
 * user's own uid and gid become 0 in the image (like tar --owner=0). */
int layer_blob_create (struct rl_store *st, const char *source, struct layer_blob *b,
                       rl_error_t *err);
void layer_blob_clear (struct rl_store *st, struct layer_blob *b);

/* Remove blobs and layers that no image of db references (with the
 * owners' map m, as their files may belong to subordinate ids).  The caller
 * holds store_lock() and loaded db under it. */
int layer_gc (struct rl_store *st, const struct idmap *m, const struct rl_image_db *db,
              rl_error_t *err);

#endif
