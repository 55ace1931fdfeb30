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
 * Rotation (--log-opt max-size=, max-file=): when ctr.log passes max_size
 * it is renamed to ctr.log.1 (ctr.log.1 to .2, ...; max_files counts ctr.log
 * too, so max-file=1 keeps no old file) and a new ctr.log begins. */
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

#endif
