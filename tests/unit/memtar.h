/* Helpers shared by the unit tests that build tar archives in memory with
 * libarchive's writer (test_store.c, test_archive.c), and their scratch
 * directories under tmp_root. */
#ifndef RL_UNIT_MEMTAR_H
#define RL_UNIT_MEMTAR_H

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "util/util.h"

static char *tmp_root;

static char *
tmp_dir (const char *what)
{
  char *p = xasprintf ("%s/%s-XXXXXX", tmp_root, what);
  if (mkdtemp (p) == NULL)
    abort ();
  return p;
}

/* ---- a tar built in memory ---- */

struct tar
{
  struct archive *a;
  char *buf;
  size_t cap, used;
};

static void
tar_begin (struct tar *t)
{
  t->cap = 4 << 20;
  t->buf = xmalloc (t->cap);
  t->a = archive_write_new ();
  archive_write_set_format_pax_restricted (t->a);
  archive_write_set_bytes_in_last_block (t->a, 1);
  if (archive_write_open_memory (t->a, t->buf, t->cap, &t->used) != ARCHIVE_OK)
    abort ();
}

/* type: 'f' file (len bytes of data), 'd' dir, 'l' symlink (target),
 * 'h' hardlink (target), 'c' char device (dev), 'p' fifo. */
static void
tar_entry (struct tar *t, char type, const char *path, mode_t mode, const void *data, size_t len,
           const char *target, dev_t dev, const char *xattr)
{
  struct archive_entry *e = archive_entry_new ();

  archive_entry_set_pathname (e, path);
  archive_entry_set_perm (e, mode);
  archive_entry_set_uid (e, 0);
  archive_entry_set_gid (e, 0);
  archive_entry_set_mtime (e, 1600000000, 0);
  switch (type)
    {
    case 'f':
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_size (e, len);
      break;
    case 'd':
      archive_entry_set_filetype (e, AE_IFDIR);
      break;
    case 'l':
      archive_entry_set_filetype (e, AE_IFLNK);
      archive_entry_set_symlink (e, target);
      break;
    case 'h':
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_hardlink (e, target);
      break;
    case 'c':
      archive_entry_set_filetype (e, AE_IFCHR);
      archive_entry_set_rdev (e, dev);
      break;
    case 'p':
      archive_entry_set_filetype (e, AE_IFIFO);
      break;
    }
  if (xattr)
    archive_entry_xattr_add_entry (e, xattr, "y", 1);
  if (archive_write_header (t->a, e) != ARCHIVE_OK)
    {
      fprintf (stderr, "tar_entry %s: %s\n", path, archive_error_string (t->a));
      abort ();
    }
  if (len)
    archive_write_data (t->a, data, len);
  archive_entry_free (e);
}

/* The same with data as a C string. */
static inline void
tar_add (struct tar *t, char type, const char *path, mode_t mode, const char *data,
         const char *target, dev_t dev, const char *xattr)
{
  tar_entry (t, type, path, mode, data, data ? strlen (data) : 0, target, dev, xattr);
}

static void
tar_end (struct tar *t)
{
  archive_write_close (t->a);
  archive_write_free (t->a);
}

#endif
