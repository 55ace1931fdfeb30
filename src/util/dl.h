/* Lazy libraries: libarchive, libcrypto, libcurl and libslirp are not linked into rl but
 * loaded at first use, so that commands which never touch an image blob
 * (run, ps, rm, --version) do not pay for mapping and relocating them and
 * their dependencies at every exec.
 *
 * Code that calls archive_*(), EVP_*() or curl_*() keeps calling them by their own
 * names (dl.c defines forwarders with those names); what it must do is call
 * dl_need_archive(), dl_need_crypto() or dl_need_curl() first, at the entry point that leads
 * there, before any fork, so that a missing library is one error line.  A
 * forwarder used before its library was loaded aborts: that is a bug. */
#ifndef RL_DL_H
#define RL_DL_H

#include "util/error.h"

/* Load the library (once; later calls return at once) and resolve every
 * function rl uses from it.  The error names the library and the Debian
 * package that provides it. */
int dl_need_archive (rl_error_t *err);

/* Cleanup attributes for libarchive handles (a NULL handle is left alone). */
struct archive;
void dl_archive_read_freep (struct archive **a);
void dl_archive_write_freep (struct archive **a);
#define cleanup_aread  __attribute__ ((cleanup (dl_archive_read_freep)))
#define cleanup_awrite __attribute__ ((cleanup (dl_archive_write_freep)))
int dl_need_crypto (rl_error_t *err);
/* libslirp, for --network slirp (it brings GLib). */
int dl_need_slirp (rl_error_t *err);
/* Also runs curl_global_init(). */
int dl_need_curl (rl_error_t *err);

#endif
