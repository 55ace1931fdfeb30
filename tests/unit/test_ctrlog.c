/* Unit tests of the container log (runtime/ctrlog.c): the writer's records
 * (F and P), rotation and truncation, the record parser with good and bad
 * lines, the line reader `rl logs` streams with, and the --since/--until
 * time forms. */
#include "config.h"
#include "runtime/ctrlog.h"
#include "util/fs.h"
#include "util/util.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/rl-test-ctrlog.XXXXXX";
static int tmpfd = -1;

/* A fresh empty directory for each test. */
static int
scratch (const char *name)
{
  rl_error_t err = NULL;
  int fd;

  rm_rf_at (tmpfd, name, &err);
  rl_error_free (&err);
  if (mkdirat (tmpfd, name, 0700) < 0)
    return -1;
  fd = openat (tmpfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return fd;
}

/* The records of dirfd/name, parsed; n set to their number.  Lines that
 * are not records count as a record with len (size_t)-1. */
struct recs
{
  size_t n;
  struct ctrlog_record r[64];
  char *text[64];
};

static void
recs_free (struct recs *rs)
{
  for (size_t i = 0; i < rs->n; i++)
    free (rs->text[i]);
  rs->n = 0;
}

static bool
read_recs (int dirfd, const char *name, struct recs *rs)
{
  struct ctrlog_reader rd;
  rl_error_t err = NULL;
  const char *line;
  size_t n;
  int fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC);

  rs->n = 0;
  if (fd < 0)
    return false;
  ctrlog_reader_init (&rd, fd);
  while (rs->n < 64 && ctrlog_reader_next (&rd, &line, &n, &err) > 0)
    {
      struct ctrlog_record *r = &rs->r[rs->n];
      rs->text[rs->n] = xstrndup (line, n);
      if (ctrlog_parse (rs->text[rs->n], n, r))
        r->msg = xstrndup (r->msg, r->len); /* leaked: a test */
      else
        r->len = (size_t)-1;
      rs->n++;
    }
  ctrlog_reader_close (&rd);
  return err == NULL;
}

static bool
rec_is (const struct recs *rs, size_t i, enum ctrlog_stream s, bool partial, const char *msg)
{
  const struct ctrlog_record *r = &rs->r[i];
  if (i >= rs->n || r->len == (size_t)-1)
    return false;
  return r->stream == s && r->partial == partial && r->len == strlen (msg)
         && memcmp (r->msg, msg, r->len) == 0;
}

static void
test_writer_records (void)
{
  cleanup_close int dfd = scratch ("records");
  struct ctrlog l;
  rl_error_t err = NULL;
  struct recs rs;
  int64_t before = now_ns (), after;

  CHECK (dfd >= 0);
  CHECK (ctrlog_open (&l, dfd, 0, 0, &err) == 0);
  ctrlog_write (&l, CTRLOG_STDOUT, "a\nb", 3);
  ctrlog_write (&l, CTRLOG_STDERR, "c\n", 2);
  ctrlog_write (&l, CTRLOG_STDOUT, "", 0); /* nothing */
  ctrlog_write (&l, CTRLOG_STDOUT, "d e\n\n", 5);
  ctrlog_write (&l, CTRLOG_STDOUT, "tab\there\r\n", 10);
  ctrlog_close (&l);
  after = now_ns ();
  CHECK (read_recs (dfd, CTRLOG_NAME, &rs));
  CHECK (rs.n == 6);
  CHECK (rec_is (&rs, 0, CTRLOG_STDOUT, false, "a"));
  CHECK (rec_is (&rs, 1, CTRLOG_STDOUT, true, "b"));
  CHECK (rec_is (&rs, 2, CTRLOG_STDERR, false, "c"));
  CHECK (rec_is (&rs, 3, CTRLOG_STDOUT, false, "d e"));
  CHECK (rec_is (&rs, 4, CTRLOG_STDOUT, false, ""));
  CHECK (rec_is (&rs, 5, CTRLOG_STDOUT, false, "tab\there\r"));
  for (size_t i = 0; i < rs.n; i++)
    {
      /* RFC 3339 in UTC with nanoseconds, then " stdout F ..." */
      CHECK (strlen (rs.text[i]) >= 39);
      CHECK (rs.text[i][10] == 'T' && rs.text[i][19] == '.' && rs.text[i][29] == 'Z');
      CHECK (rs.r[i].time >= before - 1000000000LL && rs.r[i].time <= after);
      if (i)
        CHECK (rs.r[i].time >= rs.r[i - 1].time);
    }
  CHECK (memcmp (rs.text[1] + 30, " stdout P b", 12) == 0);
  CHECK (strcmp (rs.text[4] + 30, " stdout F ") == 0);
  recs_free (&rs);

  /* Opening again appends. */
  CHECK (ctrlog_open (&l, dfd, 0, 0, &err) == 0);
  CHECK (l.size > 0);
  ctrlog_write (&l, CTRLOG_STDERR, "more\n", 5);
  ctrlog_close (&l);
  CHECK (read_recs (dfd, CTRLOG_NAME, &rs));
  CHECK (rs.n == 7);
  CHECK (rec_is (&rs, 6, CTRLOG_STDERR, false, "more"));
  recs_free (&rs);
}

/* One record of 91 bytes: 30 (time) + " stdout F " (10) + 50 + newline. */
static void
write_line (struct ctrlog *l, int i)
{
  char buf[64];
  snprintf (buf, sizeof buf, "line %02d %042d\n", i, 0);
  ctrlog_write (l, CTRLOG_STDOUT, buf, 51);
}

static void
test_writer_rotation (void)
{
  cleanup_close int dfd = scratch ("rotation");
  struct ctrlog l;
  rl_error_t err = NULL;
  struct recs rs;
  struct stat sb;

  CHECK (ctrlog_open (&l, dfd, 100, 3, &err) == 0);
  write_line (&l, 0);
  write_line (&l, 1);
  /* Past max-size, but nothing rotates before the next write. */
  CHECK (fstatat (dfd, CTRLOG_NAME, &sb, 0) == 0 && sb.st_size == 182);
  CHECK (fstatat (dfd, CTRLOG_NAME ".1", &sb, 0) < 0 && errno == ENOENT);
  for (int i = 2; i < 5; i++)
    write_line (&l, i);
  /* Rotated before lines 2 and 4: .2 = 0 1, .1 = 2 3, ctr.log = 4. */
  CHECK (read_recs (dfd, CTRLOG_NAME ".2", &rs));
  CHECK (rs.n == 2 && memcmp (rs.r[0].msg, "line 00", 7) == 0);
  recs_free (&rs);
  CHECK (read_recs (dfd, CTRLOG_NAME ".1", &rs));
  CHECK (rs.n == 2 && memcmp (rs.r[0].msg, "line 02", 7) == 0);
  recs_free (&rs);
  CHECK (read_recs (dfd, CTRLOG_NAME, &rs));
  CHECK (rs.n == 1 && memcmp (rs.r[0].msg, "line 04", 7) == 0);
  recs_free (&rs);
  write_line (&l, 5);
  write_line (&l, 6);
  /* max-file=3 counts ctr.log: the oldest pair is gone. */
  CHECK (fstatat (dfd, CTRLOG_NAME ".3", &sb, 0) < 0 && errno == ENOENT);
  CHECK (read_recs (dfd, CTRLOG_NAME ".2", &rs));
  CHECK (rs.n == 2 && memcmp (rs.r[1].msg, "line 03", 7) == 0);
  recs_free (&rs);
  CHECK (read_recs (dfd, CTRLOG_NAME ".1", &rs));
  CHECK (rs.n == 2 && memcmp (rs.r[1].msg, "line 05", 7) == 0);
  recs_free (&rs);
  CHECK (read_recs (dfd, CTRLOG_NAME, &rs));
  CHECK (rs.n == 1 && memcmp (rs.r[0].msg, "line 06", 7) == 0);
  recs_free (&rs);
  ctrlog_close (&l);

  /* Opened again (a restart) with a full ctr.log: the first write rotates. */
  CHECK (ctrlog_open (&l, dfd, 80, 3, &err) == 0);
  write_line (&l, 7);
  ctrlog_close (&l);
  CHECK (read_recs (dfd, CTRLOG_NAME ".1", &rs));
  CHECK (rs.n == 1 && memcmp (rs.r[0].msg, "line 06", 7) == 0);
  recs_free (&rs);
  CHECK (read_recs (dfd, CTRLOG_NAME, &rs));
  CHECK (rs.n == 1 && memcmp (rs.r[0].msg, "line 07", 7) == 0);
  recs_free (&rs);
}

static void
test_writer_truncate (void)
{
  cleanup_close int dfd = scratch ("truncate");
  struct ctrlog l;
  rl_error_t err = NULL;
  struct recs rs;
  struct stat sb;

  /* max-file=1 (and 0, the default): no old file, ctr.log starts over, but
   * only when more comes: the last lines stay readable. */
  CHECK (ctrlog_open (&l, dfd, 100, 0, &err) == 0);
  write_line (&l, 0);
  write_line (&l, 1);
  CHECK (fstatat (dfd, CTRLOG_NAME, &sb, 0) == 0 && sb.st_size == 182);
  write_line (&l, 2);
  CHECK (fstatat (dfd, CTRLOG_NAME ".1", &sb, 0) < 0 && errno == ENOENT);
  ctrlog_close (&l);
  CHECK (read_recs (dfd, CTRLOG_NAME, &rs));
  CHECK (rs.n == 1 && memcmp (rs.r[0].msg, "line 02", 7) == 0);
  recs_free (&rs);
}

static bool
parse_str (const char *line, struct ctrlog_record *r)
{
  return ctrlog_parse (line, strlen (line), r);
}

static bool
msg_is (const struct ctrlog_record *r, const char *msg)
{
  return r->len == strlen (msg) && memcmp (r->msg, msg, r->len) == 0;
}

static void
test_parse_good (void)
{
  struct ctrlog_record r;
  struct tm tm
      = { .tm_year = 126, .tm_mon = 10, .tm_mday = 27, .tm_hour = 21, .tm_min = 14, .tm_sec = 3 };
  int64_t t0 = (int64_t)timegm (&tm) * 1000000000LL;

  CHECK (parse_str ("2026-11-27T21:14:03.123456789Z stdout F hello world", &r));
  CHECK (r.time == t0 + 123456789 && r.stream == CTRLOG_STDOUT && !r.partial);
  CHECK (msg_is (&r, "hello world"));
  CHECK (parse_str ("2026-11-27T21:14:03Z stderr P part", &r));
  CHECK (r.time == t0 && r.stream == CTRLOG_STDERR && r.partial && msg_is (&r, "part"));
  CHECK (parse_str ("2026-11-27T21:14:03.5Z stdout F  two", &r));
  CHECK (r.time == t0 + 500000000 && msg_is (&r, " two"));
  /* More than nine digits: the rest is ignored. */
  CHECK (parse_str ("2026-11-27T21:14:03.1234567891Z stdout F x", &r));
  CHECK (r.time == t0 + 123456789);
  CHECK (parse_str ("2026-11-27T22:14:03+01:00 stdout F x", &r));
  CHECK (r.time == t0);
  CHECK (parse_str ("2026-11-27T20:44:03-00:30 stdout F x", &r));
  CHECK (r.time == t0);
  /* An empty message, with and without the space. */
  CHECK (parse_str ("2026-11-27T21:14:03Z stdout F", &r) && r.len == 0);
  CHECK (parse_str ("2026-11-27T21:14:03Z stdout F ", &r) && r.len == 0);
  /* The message is bytes: only the line's end bounds it. */
  {
    const char line[] = "2026-11-27T21:14:03Z stdout F a\0b";
    CHECK (ctrlog_parse (line, sizeof line - 1, &r) && r.len == 3 && r.msg[2] == 'b');
  }
  /* The given length bounds the line, not a NUL. */
  CHECK (ctrlog_parse ("2026-11-27T21:14:03Z stdout F abcdef", 33, &r) && msg_is (&r, "abc"));
}

static void
test_parse_bad (void)
{
  static const char *const bad[] = {
    "",
    " ",
    "garbage",
    "2026-11-27T21:14:03Z",
    "2026-11-27T21:14:03Z ",
    "2026-11-27T21:14:03Z stdout",
    "2026-11-27T21:14:03Z stdout ",
    "2026-11-27T21:14:03Z stdin F x",
    "2026-11-27T21:14:03Z STDOUT F x",
    "2026-11-27T21:14:03Z stdout X x",
    "2026-11-27T21:14:03Z stdout Fx",
    "2026-11-27T21:14:03Z stdout f x",
    "2026-11-27T21:14:03 stdout F x",
    "2026-11-27T21:14:03Q stdout F x",
    "2026-11-27T21:14:03+01 stdout F x",
    "2026-11-27 stdout F x",
    "21:14:03Z stdout F x",
    "yesterday stdout F x",
    " 2026-11-27T21:14:03Z stdout F x",
    "2026-11-27T21:14:03Z  stdout F x",
    "2026-11-27T21:14:03.123456789Z-and-a-very-long-tail-of-nonsense stdout F x",
  };
  struct ctrlog_record r;

  for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
    if (parse_str (bad[i], &r))
      {
        fprintf (stderr, "  accepted a bad line: \"%s\"\n", bad[i]);
        unit_failed_now++;
      }
  /* Cut short by its length. */
  CHECK (!ctrlog_parse ("2026-11-27T21:14:03Z stdout F x", 27, &r));
}

static void
test_reader (void)
{
  cleanup_close int dfd = scratch ("reader");
  struct ctrlog_reader rd;
  rl_error_t err = NULL;
  const char *line;
  size_t n;
  int fd, wfd;

  wfd = openat (dfd, "f", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  CHECK (wfd >= 0);
  CHECK (write_all (wfd, "one\n\ntwo\npar", 12) == 0);
  fd = openat (dfd, "f", O_RDONLY | O_CLOEXEC);
  ctrlog_reader_init (&rd, fd);
  CHECK (ctrlog_reader_next (&rd, &line, &n, &err) == 1 && n == 3 && memcmp (line, "one", 3) == 0);
  CHECK (ctrlog_reader_next (&rd, &line, &n, &err) == 1 && n == 0);
  CHECK (ctrlog_reader_next (&rd, &line, &n, &err) == 1 && n == 3 && memcmp (line, "two", 3) == 0);
  /* A line being written waits for its newline. */
  CHECK (ctrlog_reader_next (&rd, &line, &n, &err) == 0);
  CHECK (ctrlog_reader_next (&rd, &line, &n, &err) == 0);
  CHECK (write_all (wfd, "tial\nlast\n", 10) == 0);
  CHECK (ctrlog_reader_next (&rd, &line, &n, &err) == 1 && n == 7
         && memcmp (line, "partial", 7) == 0);
  CHECK (ctrlog_reader_next (&rd, &line, &n, &err) == 1 && n == 4);
  CHECK (ctrlog_reader_next (&rd, &line, &n, &err) == 0);
  CHECK (rd.pos == 22);

  /* Lines longer than the buffer, and one past CTRLOG_LINE_MAX (skipped). */
  {
    size_t big = 600000, huge = CTRLOG_LINE_MAX + 300000;
    char *b = xmalloc (huge);
    memset (b, 'x', huge);
    CHECK (write_all (wfd, b, big) == 0 && write_all (wfd, "\n", 1) == 0);
    CHECK (write_all (wfd, b, huge) == 0 && write_all (wfd, "\nafter\n", 7) == 0);
    free (b);
    CHECK (ctrlog_reader_next (&rd, &line, &n, &err) == 1 && n == big && line[big - 1] == 'x');
    CHECK (ctrlog_reader_next (&rd, &line, &n, &err) == 1 && n == 5
           && memcmp (line, "after", 5) == 0);
    CHECK (ctrlog_reader_next (&rd, &line, &n, &err) == 0);
  }

  /* Again from the start. */
  ctrlog_reader_rewind (&rd);
  CHECK (ctrlog_reader_next (&rd, &line, &n, &err) == 1 && n == 3 && memcmp (line, "one", 3) == 0);
  CHECK (err == NULL);
  ctrlog_reader_close (&rd);
  CHECK (rd.fd == -1);
  close (wfd);
}

static void
test_format_time (void)
{
  char buf[40];
  struct ctrlog_record r;
  int64_t t = 1764278043LL * 1000000000LL + 5;
  char line[80];

  CHECK (ctrlog_format_time (0, buf) == 30);
  CHECK_STR (buf, "1970-01-01T00:00:00.000000000Z");
  ctrlog_format_time (t, buf);
  CHECK_STR (buf, "2025-11-27T21:14:03.000000005Z");
  /* What -t prints reads back as the same time. */
  snprintf (line, sizeof line, "%s stdout F x", buf);
  CHECK (parse_str (line, &r) && r.time == t);
}

static void
test_time_arg (void)
{
  const int64_t S = 1000000000LL, now = 1764278043LL * S;
  struct tm tm = { .tm_year = 125, .tm_mon = 10, .tm_mday = 27, .tm_hour = 21, .tm_min = 14 };
  int64_t v = 0;
  static const char *const bad[] = {
    "",
    "abc",
    "10x",
    "1h3",
    "12.",
    "-",
    ".",
    "h",
    "2026-13-01",
    "2026-11-32",
    "2026-11-27T25:00Z",
    "2026-1",
    "2026-11-27T",
    "2026-11-27T21:14:03+0100",
    "2026-11-27T21:14:03Zjunk",
    "1e9",
    " 10m",
    "10m ",
    "99999999999",
    "2026-11-27T21:14:03.Z",
  };

  CHECK (ctrlog_parse_time_arg ("10m", now, &v) && v == now - 600 * S);
  CHECK (ctrlog_parse_time_arg ("1h30m", now, &v) && v == now - 5400 * S);
  CHECK (ctrlog_parse_time_arg ("42s", now, &v) && v == now - 42 * S);
  CHECK (ctrlog_parse_time_arg ("1.5h", now, &v) && v == now - 5400 * S);
  CHECK (ctrlog_parse_time_arg ("250ms", now, &v) && v == now - 250000000);
  CHECK (ctrlog_parse_time_arg ("3us", now, &v) && v == now - 3000);
  CHECK (ctrlog_parse_time_arg ("7ns", now, &v) && v == now - 7);
  CHECK (ctrlog_parse_time_arg ("1h0m10.5s", now, &v) && v == now - 3610 * S - S / 2);
  CHECK (ctrlog_parse_time_arg ("-1m", now, &v) && v == now + 60 * S);
  /* "0" is the epoch; other plain numbers are unix seconds. */
  CHECK (ctrlog_parse_time_arg ("0", now, &v) && v == 0);
  CHECK (ctrlog_parse_time_arg ("1764278043", now, &v) && v == now);
  CHECK (ctrlog_parse_time_arg ("1764278043.5", now, &v) && v == now + S / 2);
  CHECK (ctrlog_parse_time_arg ("1764278043.000000001", now, &v) && v == now + 1);
  /* RFC 3339 and its shorter forms, with a zone or in local time. */
  CHECK (ctrlog_parse_time_arg ("2025-11-27T21:14:03Z", now, &v) && v == now);
  CHECK (ctrlog_parse_time_arg ("2025-11-27T21:14:03.25Z", now, &v) && v == now + S / 4);
  CHECK (ctrlog_parse_time_arg ("2025-11-27T22:14:03+01:00", now, &v) && v == now);
  CHECK (ctrlog_parse_time_arg ("2025-11-27T21:14Z", now, &v) && v == now - 3 * S);
  CHECK (ctrlog_parse_time_arg ("2025-11-27T21Z", now, &v) && v == now - 843 * S);
  CHECK (ctrlog_parse_time_arg ("2025-11-27Z", now, &v) && v == now - (21 * 3600 + 843) * S);
  tm.tm_isdst = -1;
  CHECK (ctrlog_parse_time_arg ("2025-11-27T21:14", now, &v) && v == (int64_t)mktime (&tm) * S);
  tm.tm_hour = tm.tm_min = 0;
  tm.tm_isdst = -1;
  CHECK (ctrlog_parse_time_arg ("2025-11-27", now, &v) && v == (int64_t)mktime (&tm) * S);
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
    if (ctrlog_parse_time_arg (bad[i], now, &v))
      {
        fprintf (stderr, "  accepted a bad time: \"%s\"\n", bad[i]);
        unit_failed_now++;
      }
}

int
main (void)
{
  rl_error_t err = NULL;

  if (mkdtemp (tmpdir) == NULL || (tmpfd = open (tmpdir, O_RDONLY | O_DIRECTORY)) < 0)
    {
      perror ("mkdtemp");
      return 99;
    }
  RUN_TEST (test_writer_records);
  RUN_TEST (test_writer_rotation);
  RUN_TEST (test_writer_truncate);
  RUN_TEST (test_parse_good);
  RUN_TEST (test_parse_bad);
  RUN_TEST (test_reader);
  RUN_TEST (test_format_time);
  RUN_TEST (test_time_arg);
  rm_rf_at (AT_FDCWD, tmpdir, &err);
  rl_error_free (&err);
  close (tmpfd);
  return unit_exit ();
}
