/* Lazy libraries (see dl.h).  Each library has one list of the functions
 * rl calls from it, written once as an X-macro; from the list come the
 * pointers that dlsym() fills, the table of names to resolve, and forwarders
 * that carry the library's own names.  This file includes the library's
 * headers, so the compiler checks every forwarder against the real
 * prototype: a list that drifts from the library does not build.
 *
 * To add a library: its SONAME and Debian package come from RL_LAZY in
 * configure.ac, its list goes here, and one LAZY_LIBRARY line and one
 * dl_need_*() function make it usable. */
#include "config.h"
#include "util/dl.h"
#include "util/util.h"

#include <archive.h>
#include <archive_entry.h>
/* This file defines curl_easy_setopt() itself: no type-checking macro may
 * stand in for the name here (callers elsewhere keep it). */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <openssl/evp.h>
#include <slirp/libslirp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One function to resolve, and the pointer its address goes into. */
struct lazy_sym
{
  const char *name;
  void **fn;
};

struct lazy_lib
{
  const char *soname;  /* what dlopen() asks for (configure read it from the .so) */
  const char *package; /* the Debian package that ships soname, for the error */
  const struct lazy_sym *syms;
  size_t nsyms;
  bool loaded; /* rl has no threads: a plain flag is enough */
};

static int
lazy_load (struct lazy_lib *l, rl_error_t *err)
{
  size_t len = strlen (l->soname);
  const char *why;
  void *handle;

  if (l->loaded)
    return 0;
  /* RTLD_NOW: a broken installation fails here, in one place, rather than
   * at some later call.  RTLD_LOCAL: nothing but the forwarders below may
   * reach the library's symbols.  It is never closed: its functions may be
   * called until rl exits. */
  handle = dlopen (l->soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL)
    {
      /* dlerror() starts with the soname when the library itself is
       * missing: say it once.  A missing dependency keeps its own name. */
      why = dlerror ();
      if (strncmp (why, l->soname, len) == 0 && str_has_prefix (why + len, ": "))
        why += len + 2;
      return rl_error (err, 0, "cannot load %s (install the Debian package %s): %s", l->soname,
                       l->package, why);
    }
  for (size_t i = 0; i < l->nsyms; i++)
    {
      *l->syms[i].fn = dlsym (handle, l->syms[i].name);
      if (*l->syms[i].fn != NULL)
        continue;
      /* Older than the library rl was built with: leave nothing half
       * resolved, so that a forwarder still aborts instead of jumping. */
      for (size_t j = 0; j < i; j++)
        *l->syms[j].fn = NULL;
      dlclose (handle);
      return rl_error (err, 0,
                       "cannot load %s: it has no function `%s` (upgrade the Debian package %s)",
                       l->soname, l->syms[i].name, l->package);
    }
  l->loaded = true;
  return 0;
}

static _Noreturn void
lazy_unloaded (const char *name)
{
  fprintf (stderr, "rl: internal error: %s() called before its library was loaded (dl_need_*)\n",
           name);
  abort ();
}

/* A forwarder's target.  Reaching an unloaded one is a bug in rl (an entry
 * point without its dl_need_*() call); a clear abort beats a jump to 0. */
static inline void *
lazy_fn (void *fn, const char *name)
{
  if (__builtin_expect (fn == NULL, 0))
    lazy_unloaded (name);
  return fn;
}

/* clang-format off */

/* The lists below use F (TYPE, NAME, (PARAMETERS), (ARGUMENTS)) for a
 * function returning TYPE, V (NAME, (PARAMETERS), (ARGUMENTS)) for a void
 * one (C does not let a void function return a void call) and H (NAME) for
 * one whose forwarder is written by hand (variadic ones).  The parameters
 * are named so that the arguments can pass them on. */
#define LAZY_SLOT_F(type, name, params, args) static void *lazy_##name;
#define LAZY_SLOT_V(name, params, args)       static void *lazy_##name;
#define LAZY_SLOT_H(name)                     static void *lazy_##name;
#define LAZY_SYM_F(type, name, params, args)  { #name, &lazy_##name },
#define LAZY_SYM_V(name, params, args)        { #name, &lazy_##name },
#define LAZY_SYM_H(name)                      { #name, &lazy_##name },
#define LAZY_FORWARD_F(type, name, params, args)                                                   \
  type name params                                                                                 \
  {                                                                                                \
    return ((type (*) params) lazy_fn (lazy_##name, #name)) args;                                  \
  }
#define LAZY_FORWARD_V(name, params, args)                                                         \
  void name params                                                                                 \
  {                                                                                                \
    ((void (*) params) lazy_fn (lazy_##name, #name)) args;                                         \
  }
#define LAZY_FORWARD_H(name)

/* Everything one library needs, from its list; var is its struct lazy_lib.
 * The pointers are process-wide state, as the loaded library itself is. */
#define LAZY_LIBRARY(var, LIST, soname, package)                                                   \
  LIST (LAZY_SLOT_F, LAZY_SLOT_V, LAZY_SLOT_H)                                                     \
  static const struct lazy_sym var##_syms[] = { LIST (LAZY_SYM_F, LAZY_SYM_V, LAZY_SYM_H) };       \
  static struct lazy_lib var = { soname, package, var##_syms, ARRAY_SIZE (var##_syms), false };    \
  LIST (LAZY_FORWARD_F, LAZY_FORWARD_V, LAZY_FORWARD_H)

/* libarchive: reading tarballs, directories and layers (unpack.c,
 * mklayer.c), writing layer tars (mklayer.c). */
#define ARCHIVE_FUNCS(F, V, H)                                                                     \
  F (struct archive *, archive_read_new, (void), ())                                               \
  F (struct archive *, archive_read_disk_new, (void), ())                                          \
  F (int, archive_read_free, (struct archive *a), (a))                                             \
  F (int, archive_read_support_format_tar, (struct archive *a), (a))                               \
  F (int, archive_read_support_format_raw, (struct archive *a), (a))                               \
  F (int, archive_read_support_format_empty, (struct archive *a), (a))                             \
  F (int, archive_read_support_filter_all, (struct archive *a), (a))                               \
  F (int, archive_read_open, (struct archive *a, void *data, archive_open_callback *open_cb,       \
                              archive_read_callback *read_cb, archive_close_callback *close_cb),   \
     (a, data, open_cb, read_cb, close_cb))                                                        \
  F (int, archive_read_open_fd, (struct archive *a, int fd, size_t block), (a, fd, block))         \
  F (int, archive_read_next_header, (struct archive *a, struct archive_entry **e), (a, e))         \
  F (int, archive_read_next_header2, (struct archive *a, struct archive_entry *e), (a, e))         \
  F (la_ssize_t, archive_read_data, (struct archive *a, void *buf, size_t len), (a, buf, len))     \
  F (int, archive_read_data_block,                                                                 \
     (struct archive *a, const void **buf, size_t *len, la_int64_t *off), (a, buf, len, off))      \
  F (int, archive_read_disk_open, (struct archive *a, const char *path), (a, path))                \
  F (int, archive_read_disk_descend, (struct archive *a), (a))                                     \
  F (int, archive_read_disk_set_behavior, (struct archive *a, int flags), (a, flags))              \
  F (int, archive_read_disk_set_symlink_physical, (struct archive *a), (a))                        \
  F (int, archive_read_disk_set_symlink_hybrid, (struct archive *a), (a))                          \
  F (int, archive_write_open_fd, (struct archive *a, int fd), (a, fd))                             \
  F (struct archive *, archive_write_new, (void), ())                                              \
  F (int, archive_write_free, (struct archive *a), (a))                                            \
  F (int, archive_write_set_format_pax_restricted, (struct archive *a), (a))                       \
  F (int, archive_write_add_filter_none, (struct archive *a), (a))                                 \
  F (int, archive_write_set_bytes_in_last_block, (struct archive *a, int n), (a, n))               \
  F (int, archive_write_open, (struct archive *a, void *data, archive_open_callback *open_cb,      \
                               archive_write_callback *write_cb,                                   \
                               archive_close_callback *close_cb),                                  \
     (a, data, open_cb, write_cb, close_cb))                                                       \
  F (int, archive_write_header, (struct archive *a, struct archive_entry *e), (a, e))              \
  F (la_ssize_t, archive_write_data, (struct archive *a, const void *buf, size_t len),             \
     (a, buf, len))                                                                                \
  F (int, archive_write_close, (struct archive *a), (a))                                           \
  F (int, archive_errno, (struct archive *a), (a))                                                 \
  F (const char *, archive_error_string, (struct archive *a), (a))                                 \
  H (archive_set_error)                                                                            \
  F (struct archive_entry *, archive_entry_new, (void), ())                                        \
  F (struct archive_entry *, archive_entry_clear, (struct archive_entry *e), (e))                  \
  V (archive_entry_free, (struct archive_entry *e), (e))                                           \
  F (const char *, archive_entry_pathname, (struct archive_entry *e), (e))                         \
  F (const char *, archive_entry_hardlink, (struct archive_entry *e), (e))                         \
  F (const char *, archive_entry_symlink, (struct archive_entry *e), (e))                          \
  F (mode_t, archive_entry_filetype, (struct archive_entry *e), (e))                               \
  F (mode_t, archive_entry_perm, (struct archive_entry *e), (e))                                   \
  F (la_int64_t, archive_entry_uid, (struct archive_entry *e), (e))                                \
  F (la_int64_t, archive_entry_gid, (struct archive_entry *e), (e))                                \
  F (la_int64_t, archive_entry_size, (struct archive_entry *e), (e))                               \
  F (int, archive_entry_size_is_set, (struct archive_entry *e), (e))                               \
  F (time_t, archive_entry_mtime, (struct archive_entry *e), (e))                                  \
  F (long, archive_entry_mtime_nsec, (struct archive_entry *e), (e))                               \
  F (int, archive_entry_mtime_is_set, (struct archive_entry *e), (e))                              \
  F (dev_t, archive_entry_rdevmajor, (struct archive_entry *e), (e))                               \
  F (dev_t, archive_entry_rdevminor, (struct archive_entry *e), (e))                               \
  F (int, archive_entry_xattr_reset, (struct archive_entry *e), (e))                               \
  F (int, archive_entry_xattr_next,                                                                \
     (struct archive_entry *e, const char **name, const void **value, size_t *size),               \
     (e, name, value, size))                                                                       \
  V (archive_entry_xattr_clear, (struct archive_entry *e), (e))                                    \
  V (archive_entry_set_pathname, (struct archive_entry *e, const char *s), (e, s))                 \
  V (archive_entry_set_hardlink, (struct archive_entry *e, const char *s), (e, s))                 \
  V (archive_entry_set_symlink, (struct archive_entry *e, const char *s), (e, s))                  \
  V (archive_entry_set_uname, (struct archive_entry *e, const char *s), (e, s))                    \
  V (archive_entry_set_gname, (struct archive_entry *e, const char *s), (e, s))                    \
  V (archive_entry_set_uid, (struct archive_entry *e, la_int64_t id), (e, id))                     \
  V (archive_entry_set_gid, (struct archive_entry *e, la_int64_t id), (e, id))                     \
  V (archive_entry_sparse_clear, (struct archive_entry *e), (e))                                   \
  F (struct archive_entry_linkresolver *, archive_entry_linkresolver_new, (void), ())              \
  V (archive_entry_linkresolver_set_strategy, (struct archive_entry_linkresolver *r, int format),  \
     (r, format))                                                                                  \
  V (archive_entry_linkify, (struct archive_entry_linkresolver *r, struct archive_entry **e,       \
                             struct archive_entry **spare), (r, e, spare))                         \
  V (archive_entry_linkresolver_free, (struct archive_entry_linkresolver *r), (r))                 \
  /* The unit tests build their tars in memory with these. */                                      \
  F (int, archive_write_open_memory, (struct archive *a, void *buf, size_t size, size_t *used),    \
     (a, buf, size, used))                                                                         \
  V (archive_entry_set_filetype, (struct archive_entry *e, unsigned int type), (e, type))          \
  V (archive_entry_set_perm, (struct archive_entry *e, mode_t perm), (e, perm))                    \
  V (archive_entry_set_size, (struct archive_entry *e, la_int64_t size), (e, size))                \
  V (archive_entry_set_mtime, (struct archive_entry *e, time_t sec, long nsec), (e, sec, nsec))    \
  V (archive_entry_set_rdev, (struct archive_entry *e, dev_t dev), (e, dev))                       \
  V (archive_entry_xattr_add_entry,                                                                \
     (struct archive_entry *e, const char *name, const void *value, size_t size),                  \
     (e, name, value, size))

/* libcrypto: sha256 for blob digests, diff_ids and chain ids (digest.c). */
#define CRYPTO_FUNCS(F, V, H)                                                                      \
  F (EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())                                                     \
  V (EVP_MD_CTX_free, (EVP_MD_CTX *c), (c))                                                        \
  F (const EVP_MD *, EVP_sha256, (void), ())                                                       \
  F (int, EVP_DigestInit_ex, (EVP_MD_CTX *c, const EVP_MD *md, ENGINE *e), (c, md, e))             \
  F (int, EVP_DigestUpdate, (EVP_MD_CTX *c, const void *buf, size_t len), (c, buf, len))           \
  F (int, EVP_DigestFinal_ex, (EVP_MD_CTX *c, unsigned char *md, unsigned int *len), (c, md, len))

/* libcurl: the registry client (src/registry/).  setopt and getinfo are
 * variadic: their forwarders below read the argument with the type the
 * option number says. */
#define CURL_FUNCS(F, V, H)                                                                        \
  F (CURLcode, curl_global_init, (long flags), (flags))                                            \
  F (CURL *, curl_easy_init, (void), ())                                                           \
  V (curl_easy_cleanup, (CURL *c), (c))                                                            \
  V (curl_easy_reset, (CURL *c), (c))                                                              \
  F (CURLcode, curl_easy_perform, (CURL *c), (c))                                                  \
  F (const char *, curl_easy_strerror, (CURLcode code), (code))                                    \
  H (curl_easy_setopt)                                                                             \
  H (curl_easy_getinfo)                                                                            \
  F (struct curl_slist *, curl_slist_append, (struct curl_slist *l, const char *s), (l, s))        \
  V (curl_slist_free_all, (struct curl_slist *l), (l))                                             \
  F (CURLU *, curl_url, (void), ())                                                                \
  V (curl_url_cleanup, (CURLU *u), (u))                                                            \
  F (CURLUcode, curl_url_set, (CURLU *u, CURLUPart what, const char *part, unsigned int flags),    \
     (u, what, part, flags))                                                                       \
  F (CURLUcode, curl_url_get, (CURLU *u, CURLUPart what, char **part, unsigned int flags),         \
     (u, what, part, flags))                                                                       \
  V (curl_free, (void *p), (p))                                                                    \
  F (char *, curl_easy_escape, (CURL *c, const char *s, int len), (c, s, len))

/* libslirp: the user-mode network stack of --network slirp (net.c). */
#define SLIRP_FUNCS(F, V, H)                                                                       \
  F (Slirp *, slirp_new, (const SlirpConfig *cfg, const SlirpCb *cb, void *opaque),                \
     (cfg, cb, opaque))                                                                            \
  V (slirp_cleanup, (Slirp *s), (s))                                                               \
  V (slirp_pollfds_fill, (Slirp *s, uint32_t *timeout, SlirpAddPollCb add, void *opaque),          \
     (s, timeout, add, opaque))                                                                    \
  V (slirp_pollfds_poll, (Slirp *s, int select_error, SlirpGetREventsCb get, void *opaque),       \
     (s, select_error, get, opaque))                                                               \
  V (slirp_input, (Slirp *s, const uint8_t *pkt, int len), (s, pkt, len))                          \
  V (slirp_handle_timer, (Slirp *s, SlirpTimerId id, void *cb_opaque), (s, id, cb_opaque))         \
  F (int, slirp_add_hostfwd, (Slirp *s, int is_udp, struct in_addr host_addr, int host_port,       \
                              struct in_addr guest_addr, int guest_port),                          \
     (s, is_udp, host_addr, host_port, guest_addr, guest_port))

/* clang-format on */

LAZY_LIBRARY (slirp_lib, SLIRP_FUNCS, LIBSLIRP_SONAME, LIBSLIRP_PACKAGE)
LAZY_LIBRARY (archive_lib, ARCHIVE_FUNCS, LIBARCHIVE_SONAME, LIBARCHIVE_PACKAGE)
LAZY_LIBRARY (crypto_lib, CRYPTO_FUNCS, LIBCRYPTO_SONAME, LIBCRYPTO_PACKAGE)
LAZY_LIBRARY (curl_lib, CURL_FUNCS, LIBCURL_SONAME, LIBCURL_PACKAGE)

/* The option number tells the argument's type (curl.h: CURLOPTTYPE_*
 * bases): it is read with that type and passed on, as the one variadic
 * argument libcurl reads with that same type, through the real variadic
 * prototype (so the calling convention of variadic calls is kept). */
typedef CURLcode curl_vararg_fn (CURL *, int, ...);

CURLcode
curl_easy_setopt (CURL *c, CURLoption opt, ...)
{
  curl_vararg_fn *fn = (curl_vararg_fn *)lazy_fn (lazy_curl_easy_setopt, "curl_easy_setopt");
  CURLcode r;
  va_list ap;

  va_start (ap, opt);
  if (opt < CURLOPTTYPE_OBJECTPOINT)
    r = fn (c, opt, va_arg (ap, long));
  else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
    r = fn (c, opt, va_arg (ap, void *));
  else if (opt < CURLOPTTYPE_OFF_T)
    r = fn (c, opt, va_arg (ap, void (*) (void)));
  else if (opt < CURLOPTTYPE_BLOB)
    r = fn (c, opt, va_arg (ap, curl_off_t));
  else
    r = fn (c, opt, va_arg (ap, void *));
  va_end (ap);
  return r;
}

/* Every CURLINFO_* takes a pointer to where the answer goes. */
CURLcode
curl_easy_getinfo (CURL *c, CURLINFO info, ...)
{
  curl_vararg_fn *fn = (curl_vararg_fn *)lazy_fn (lazy_curl_easy_getinfo, "curl_easy_getinfo");
  CURLcode r;
  va_list ap;

  va_start (ap, info);
  r = fn (c, info, va_arg (ap, void *));
  va_end (ap);
  return r;
}

/* Variadic: formatted here and handed on whole; a NULL format clears the
 * error, as in libarchive itself. */
void
archive_set_error (struct archive *a, int errnum, const char *fmt, ...)
{
  typedef void set_error_fn (struct archive *, int, const char *, ...);
  set_error_fn *fn = (set_error_fn *)lazy_fn (lazy_archive_set_error, "archive_set_error");
  cleanup_free char *msg = NULL;
  va_list ap;

  if (fmt == NULL)
    {
      fn (a, errnum, NULL);
      return;
    }
  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  fn (a, errnum, "%s", msg);
}

int
dl_need_archive (rl_error_t *err)
{
  return lazy_load (&archive_lib, err);
}

int
dl_need_slirp (rl_error_t *err)
{
  return lazy_load (&slirp_lib, err);
}

int
dl_need_crypto (rl_error_t *err)
{
  return lazy_load (&crypto_lib, err);
}

int
dl_need_curl (rl_error_t *err)
{
  if (curl_lib.loaded)
    return 0;
  if (lazy_load (&curl_lib, err) < 0)
    return -1;
  /* Once, before any handle and before any fork, as libcurl asks. */
  if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return rl_error (err, 0, "cannot initialise %s", LIBCURL_SONAME);
  return 0;
}

void
dl_archive_read_freep (struct archive **a)
{
  if (*a)
    archive_read_free (*a);
}

void
dl_archive_write_freep (struct archive **a)
{
  if (*a)
    archive_write_free (*a);
}
