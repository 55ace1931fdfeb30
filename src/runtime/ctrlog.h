/* A detached container's log, in the CRI log format that `kubectl logs` and
 * Podman's k8s-file driver use: one record a line,
 *
 *     2026-11-27T21:14:03.123456789Z stdout F the line without its newline
 *
 * TIMESTAMP (RFC 3339, nanoseconds, UTC) STREAM (stdout|stderr) TAG (F: the
 * line ends here, P: a part; the next record of the stream goes on) and the
 * bytes as the container wrote them.  The monitor writes what it reads as
 * soon as it reads it: a chunk without a newline at its end becomes a P
 * record, so a follower sees output at once.
 *
 * Rotation (--log-opt max-size=, max-file=): when ctr.log has reached
 * max_size, the next write first renames it to ctr.log.1 (ctr.log.1 to .2,
 * ...; max_files counts ctr.log too, so max-file=1 keeps no old file: the
 * file is emptied instead) and a new ctr.log begins. */
#ifndef RL_CTRLOG_H
#define RL_CTRLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define CTRLOG_NAME "ctr.log"

enum ctrlog_stream
{
  CTRLOG_STDOUT,
  CTRLOG_STDERR,
};

struct ctrlog
{
  int dirfd; /* the container's directory (not owned) */
  int fd;
  uint64_t size;
  uint64_t max_size; /* 0: never rotate */
  int max_files;
  bool failed; /* a write failed (disk full): said once, then dropped */
};

/* Open (append to) dirfd/ctr.log. */
int ctrlog_open (struct ctrlog *l, int dirfd, uint64_t max_size, int max_files, rl_error_t *err);
/* Write what the container wrote to one stream; never fails (a full disk
 * loses log lines, never the container). */
void ctrlog_write (struct ctrlog *l, enum ctrlog_stream s, const char *buf, size_t n);
void ctrlog_close (struct ctrlog *l);

/* One record of the log, parsed. */
struct ctrlog_record
{
  int64_t time; /* unix ns */
  enum ctrlog_stream stream;
  bool partial;    /* P */
  const char *msg; /* points into the line given, not NUL-terminated */
  size_t len;
};

/* Parse one line (without its newline); false if it is not a record. */
bool ctrlog_parse (const char *line, size_t n, struct ctrlog_record *r);

/* ---- Reading (rl logs) ---- */

/* A log file read line by line, in a buffer of its own: streamed, never
 * read whole.  Reads with pread() from pos, so the file may grow while it is
 * read (a follower calls ctrlog_reader_next again after more was written). */
struct ctrlog_reader
{
  int fd;       /* owned */
  uint64_t pos; /* file offset of buf[len] (the next byte read() brings) */
  char *buf;
  size_t start, len, cap; /* unread bytes: buf[start..len) */
  bool skipping;          /* inside an overlong line: dropped up to its newline */
};

/* A line longer than this (the monitor writes far shorter records) is not a
 * record: it is skipped, like any other bad line. */
#define CTRLOG_LINE_MAX (16u << 20)

/* Take fd (owned from now on), reading from offset 0. */
void ctrlog_reader_init (struct ctrlog_reader *r, int fd);
/* Start again at offset 0 (the file was truncated or is read a second time). */
void ctrlog_reader_rewind (struct ctrlog_reader *r);
/* The next whole line without its newline: 1, with *line (valid until the
 * next call) and *n set; 0 when no whole line is left for now (a line still
 * being written waits for the next call); -1 with err set if read() failed. */
int ctrlog_reader_next (struct ctrlog_reader *r, const char **line, size_t *n, rl_error_t *err);
void ctrlog_reader_close (struct ctrlog_reader *r);

/* "2026-11-27T21:14:03.123456789Z" (RFC 3339 in UTC, always nine digits of
 * fraction, as `docker logs -t` prints it) into out; returns its length. */
size_t ctrlog_format_time (int64_t unix_ns, char out[static 40]);

/* A time given to --since / --until, in Docker's forms: a duration back
 * from now ("10m", "1h30m", "1.5h", "250ms"), an RFC 3339 date or time
 * ("2026-11-27", "2026-11-27T21:14", "2026-11-27T21:14:03.5Z",
 * "...+01:00"; without a zone it is local time) or unix seconds with an
 * optional fraction ("1764278043.5").  false if s is none of them. */
bool ctrlog_parse_time_arg (const char *s, int64_t now_ns, int64_t *out);

#endif
