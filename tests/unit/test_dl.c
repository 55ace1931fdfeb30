/* Unit tests of the lazy libraries (util/dl.c).  This program is linked as
 * rl is, without libarchive and libcrypto, so it checks that neither is
 * mapped until asked for, and that calls through the forwarders reach the
 * real functions: digests of known vectors, a tar written and read back,
 * the hand-written variadic archive_set_error(), and libcurl's variadic
 * setopt/getinfo with each type of argument. */
#include "config.h"
#include "unit.h"
#include "image/digest.h"
#include "util/dl.h"
#include "util/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool
is_loaded (const char *soname)
{
  void *h = dlopen (soname, RTLD_NOW | RTLD_NOLOAD);

  if (h == NULL)
    return false;
  dlclose (h);
  return true;
}

static void
test_not_loaded_at_start (void)
{
  CHECK (!is_loaded (LIBARCHIVE_SONAME));
  CHECK (!is_loaded (LIBCRYPTO_SONAME));
  CHECK (!is_loaded (LIBCURL_SONAME));
  CHECK (!is_loaded (LIBSLIRP_SONAME));
}

static void
test_crypto (void)
{
  rl_error_t err = NULL;
  char hex[SHA256_HEX_LEN + 1];
  char *chunk = xmalloc (1000);
  struct rl_sha256 h;

  CHECK (dl_need_crypto (&err) == 0);
  CHECK (dl_need_crypto (&err) == 0); /* a second call is a no-op */
  CHECK (err == NULL);
  CHECK (is_loaded (LIBCRYPTO_SONAME));
  CHECK (!is_loaded (LIBARCHIVE_SONAME));

  /* FIPS 180-2 vectors: empty, two blocks, and a million bytes streamed. */
  sha256_hex ("", 0, hex);
  CHECK_STR (hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  sha256_init (&h);
  sha256_update (&h, "abcdbcdecdefdefgefghfghighijhijk", 32);
  sha256_update (&h, "ijkljklmklmnlmnomnopnopq", 24);
  sha256_final_hex (&h, hex);
  CHECK_STR (hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  memset (chunk, 'a', 1000);
  sha256_init (&h);
  for (int i = 0; i < 1000; i++)
    sha256_update (&h, chunk, 1000);
  sha256_final_hex (&h, hex);
  CHECK_STR (hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free (chunk);
}

struct mem
{
  const char *buf;
  size_t len;
  bool fail;
};

static la_ssize_t
mem_read (struct archive *a, void *data, const void **buf)
{
  struct mem *m = data;
  size_t n = m->len;

  if (m->fail)
    {
      archive_set_error (a, EIO, "source `%s` broke after %d bytes", "pipe", 0);
      return -1;
    }
  *buf = m->buf;
  m->len = 0;
  return n;
}

static void
test_archive (void)
{
  rl_error_t err = NULL;
  char tar[8192];
  size_t used = 0;
  struct archive *w, *r;
  struct archive_entry *e;
  struct mem m = { 0 };
  char data[8] = { 0 };

  CHECK (dl_need_archive (&err) == 0);
  CHECK (err == NULL);
  CHECK (is_loaded (LIBARCHIVE_SONAME));

  w = archive_write_new ();
  archive_write_set_format_pax_restricted (w);
  archive_write_add_filter_none (w);
  CHECK (archive_write_open_memory (w, tar, sizeof tar, &used) == ARCHIVE_OK);
  e = archive_entry_new ();
  archive_entry_set_pathname (e, "etc/motd");
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_uid (e, 1000);
  archive_entry_set_size (e, 5);
  CHECK (archive_write_header (w, e) == ARCHIVE_OK);
  CHECK (archive_write_data (w, "hello", 5) == 5);
  archive_entry_free (e);
  CHECK (archive_write_close (w) == ARCHIVE_OK);
  archive_write_free (w);

  m.buf = tar;
  m.len = used;
  r = archive_read_new ();
  archive_read_support_format_tar (r);
  CHECK (archive_read_open (r, &m, NULL, mem_read, NULL) == ARCHIVE_OK);
  CHECK (archive_read_next_header (r, &e) == ARCHIVE_OK);
  CHECK_STR (archive_entry_pathname (e), "etc/motd");
  CHECK (archive_entry_filetype (e) == AE_IFREG && archive_entry_perm (e) == 0644);
  CHECK (archive_entry_uid (e) == 1000 && archive_entry_size (e) == 5);
  CHECK (archive_read_data (r, data, sizeof data) == 5);
  CHECK_STR (data, "hello");
  CHECK (archive_read_next_header (r, &e) == ARCHIVE_EOF);
  archive_read_free (r);

  /* The variadic forwarder formats the message and keeps the errno. */
  m.fail = true;
  r = archive_read_new ();
  archive_read_support_format_tar (r);
  CHECK (archive_read_open (r, &m, NULL, mem_read, NULL) != ARCHIVE_OK
         || archive_read_next_header (r, &e) != ARCHIVE_OK);
  CHECK_STR (archive_error_string (r), "source `pipe` broke after 0 bytes");
  CHECK (archive_errno (r) == EIO);
  archive_read_free (r);
}

static size_t
count_write (char *data, size_t size, size_t n, void *arg)
{
  *(size_t *)arg += size * n;
  return size * n;
}

/* A file:// transfer goes through every argument type of the forwarders:
 * long, pointer, function pointer, curl_off_t; getinfo's pointers. */
static void
test_curl (void)
{
  char path[] = "/tmp/rl-test-curl-XXXXXX";
  cleanup_free char *url = NULL;
  rl_error_t err = NULL;
  size_t got = 0;
  long code = -1;
  curl_off_t size = -1;
  char *eff = NULL;
  CURL *h;
  int fd;

  CHECK (dl_need_curl (&err) == 0);
  CHECK (dl_need_curl (&err) == 0);
  CHECK (is_loaded (LIBCURL_SONAME));
  fd = mkstemp (path);
  CHECK (fd >= 0);
  CHECK (write (fd, "0123456789", 10) == 10);
  close (fd);
  url = xasprintf ("file://%s", path);
  h = curl_easy_init ();
  CHECK (h != NULL);
  CHECK (curl_easy_setopt (h, CURLOPT_URL, url) == CURLE_OK);
  CHECK (curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, count_write) == CURLE_OK);
  CHECK (curl_easy_setopt (h, CURLOPT_WRITEDATA, &got) == CURLE_OK);
  CHECK (curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK);
  CHECK (curl_easy_setopt (h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)4) == CURLE_OK);
  CHECK (curl_easy_perform (h) == CURLE_OK);
  CHECK (got == 6);
  CHECK (curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 0);
  CHECK (curl_easy_getinfo (h, CURLINFO_SIZE_DOWNLOAD_T, &size) == CURLE_OK && size == 6);
  CHECK (curl_easy_getinfo (h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff
         && strcmp (eff, url) == 0);
  CHECK_STR (curl_easy_strerror (CURLE_COULDNT_CONNECT), "Couldn't connect to server");
  curl_easy_cleanup (h);
  unlink (path);
}

int
main (void)
{
  RUN_TEST (test_not_loaded_at_start);
  RUN_TEST (test_crypto);
  RUN_TEST (test_archive);
  RUN_TEST (test_curl);
  return unit_exit ();
}
