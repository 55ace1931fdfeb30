/* The CRI log a detached container's monitor writes (see ctrlog.h). */
#include "config.h"
#include "runtime/ctrlog.h"
#include "util/fs.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
ctrlog_open (struct ctrlog *l, int dirfd, uint64_t max_size, int max_files, rl_error_t *err)
{
  struct stat sb;

  memset (l, 0, sizeof *l);
  l->dirfd = dirfd;
  l->max_size = max_size;
  l->max_files = max_files > 0 ? max_files : 1;
  l->fd = openat (dirfd, CTRLOG_NAME, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (l->fd < 0)
    return rl_error (err, errno, "open the container's log");
  if (fstat (l->fd, &sb) == 0)
    l->size = (uint64_t)sb.st_size;
  return 0;
}

void
ctrlog_close (struct ctrlog *l)
{
  if (l->fd >= 0)
    close (l->fd);
  l->fd = -1;
}

/* ctr.log.(N-1) -> .N ... ctr.log -> .1, then a new ctr.log. */
static void
rotate (struct ctrlog *l)
{
  char from[32], to[32];

  if (l->max_files <= 1)
    {
      if (ftruncate (l->fd, 0) == 0)
        l->size = 0;
      return;
    }
  for (int i = l->max_files - 1; i >= 1; i--)
    {
      if (i == 1)
        snprintf (from, sizeof from, "%s", CTRLOG_NAME);
      else
        snprintf (from, sizeof from, "%s.%d", CTRLOG_NAME, i - 1);
      snprintf (to, sizeof to, "%s.%d", CTRLOG_NAME, i);
      renameat (l->dirfd, from, l->dirfd, to);
    }
  close (l->fd);
  l->fd = openat (l->dirfd, CTRLOG_NAME, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  l->size = 0;
}

/* The time as RFC 3339 with nanoseconds, UTC.  By hand: the detached
 * monitor writes this for every chunk it logs, and keeps its resident set
 * small by touching little of libc (no stdio, no strftime, no time zone
 * code); the date is Howard Hinnant's days-to-civil algorithm. */
static size_t
format_time (int64_t secs, long nsec, char *out)
{
  int64_t days, sod, era, doe, yoe, doy, mp, y;
  unsigned m, d, v[7];
  char *o = out;

  days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  sod = secs - days * 86400;
  days += 719468;
  era = (days >= 0 ? days : days - 146096) / 146097;
  doe = days - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
  v[0] = (unsigned)y;
  v[1] = m;
  v[2] = d;
  v[3] = (unsigned)(sod / 3600);
  v[4] = (unsigned)(sod / 60 % 60);
  v[5] = (unsigned)(sod % 60);
  v[6] = (unsigned)nsec;
  {
    static const char sep[] = "--T::.Z";
    static const int width[] = { 4, 2, 2, 2, 2, 2, 9 };
    for (int f = 0; f < 7; f++)
      {
        for (int i = width[f] - 1; i >= 0; i--)
          {
            o[i] = (char)('0' + v[f] % 10);
            v[f] /= 10;
          }
        o += width[f];
        *o++ = sep[f];
      }
  }
  *o = '\0';
  return (size_t)(o - out);
}

/* Records of one chunk go out in writes of at most this much. */
#define CTRLOG_OUT 65536

static bool
flush_out (struct ctrlog *l, const char *out, size_t len)
{
  if (len == 0)
    return true;
  if (write_all (l->fd, out, len) < 0)
    {
      if (!l->failed)
        {
          static const char msg[] = "rl: container log: write failed: lines are lost\n";
          if (write (2, msg, sizeof msg - 1) < 0)
            {
              /* nowhere to say it */
            }
        }
      l->failed = true;
      return false;
    }
  l->failed = false;
  l->size += len;
  return true;
}

void
ctrlog_write (struct ctrlog *l, enum ctrlog_stream s, const char *buf, size_t n)
{
  static char out[CTRLOG_OUT];
  const char *tag = s == CTRLOG_STDERR ? " stderr " : " stdout ";
  char stamp[40];
  size_t slen, len = 0;

  if (l->fd < 0 || n == 0)
    return;
  /* Rotate before a write, not after one: the last lines written stay in
   * ctr.log until more come (with max-file=1 they would be gone at once). */
  if (l->max_size && l->size >= l->max_size)
    rotate (l);
  if (l->fd < 0)
    return;
  {
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    slen = format_time (ts.tv_sec, ts.tv_nsec, stamp);
  }
  for (size_t i = 0; i < n;)
    {
      const char *nl = memchr (buf + i, '\n', n - i);
      size_t end = nl ? (size_t)(nl - buf) : n;
      size_t head = slen + 10;

      /* A record's head, then its text in as many pieces as fit. */
      if (len + head > sizeof out)
        {
          if (!flush_out (l, out, len))
            return;
          len = 0;
        }
      memcpy (out + len, stamp, slen);
      memcpy (out + len + slen, tag, 8);
      out[len + slen + 8] = nl ? 'F' : 'P';
      out[len + slen + 9] = ' ';
      len += head;
      while (i < end)
        {
          size_t take = end - i;
          if (take > sizeof out - len)
            take = sizeof out - len;
          memcpy (out + len, buf + i, take);
          len += take;
          i += take;
          if (len == sizeof out && !flush_out (l, out, len))
            return;
          if (len == sizeof out)
            len = 0;
        }
      if (len == sizeof out)
        {
          if (!flush_out (l, out, len))
            return;
          len = 0;
        }
      out[len++] = '\n';
      i = nl ? end + 1 : n;
    }
  flush_out (l, out, len);
}

bool
ctrlog_parse (const char *line, size_t n, struct ctrlog_record *r)
{
  const char *end = line + n, *p, *q;
  struct tm tm = { 0 };
  long nsec = 0;
  int digits = 0;
  char *rest;
  char ts[40];

  memset (r, 0, sizeof *r);
  p = memchr (line, ' ', n);
  if (p == NULL || (size_t)(p - line) >= sizeof ts)
    return false;
  memcpy (ts, line, p - line);
  ts[p - line] = '\0';
  rest = strptime (ts, "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == NULL)
    return false;
  if (*rest == '.')
    for (rest++; *rest >= '0' && *rest <= '9'; rest++)
      if (digits < 9)
        {
          nsec = nsec * 10 + (*rest - '0');
          digits++;
        }
  while (digits++ < 9)
    nsec *= 10;
  {
    int64_t secs = (int64_t)timegm (&tm);
    if (*rest == '+' || *rest == '-')
      {
        int hh = 0, mm = 0;
        if (sscanf (rest + 1, "%2d:%2d", &hh, &mm) != 2)
          return false;
        secs -= (*rest == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
      }
    else if (*rest != 'Z')
      return false;
    r->time = secs * 1000000000LL + nsec;
  }
  p++;
  if (end - p >= 7 && memcmp (p, "stdout ", 7) == 0)
    r->stream = CTRLOG_STDOUT;
  else if (end - p >= 7 && memcmp (p, "stderr ", 7) == 0)
    r->stream = CTRLOG_STDERR;
  else
    return false;
  q = p + 7;
  if (end - q < 1 || (*q != 'F' && *q != 'P'))
    return false;
  r->partial = *q == 'P';
  q++;
  if (q < end && *q == ' ')
    q++;
  else if (q != end)
    return false;
  r->msg = q;
  r->len = (size_t)(end - q);
  return true;
}

/* ---- Reading (rl logs) ---- */

#define READ_CHUNK (256u << 10)

void
ctrlog_reader_init (struct ctrlog_reader *r, int fd)
{
  memset (r, 0, sizeof *r);
  r->fd = fd;
}

void
ctrlog_reader_rewind (struct ctrlog_reader *r)
{
  r->pos = 0;
  r->start = r->len = 0;
  r->skipping = false;
}

void
ctrlog_reader_close (struct ctrlog_reader *r)
{
  if (r->fd >= 0)
    close (r->fd);
  r->fd = -1;
  free (r->buf);
  r->buf = NULL;
  r->start = r->len = r->cap = 0;
}

/* Read more at the end of the buffer: > 0 bytes read, 0 at the end. */
static ssize_t
reader_fill (struct ctrlog_reader *r)
{
  ssize_t got;

  if (r->start > 0 && (r->start == r->len || r->len + READ_CHUNK > r->cap))
    {
      memmove (r->buf, r->buf + r->start, r->len - r->start);
      r->len -= r->start;
      r->start = 0;
    }
  if (r->len + READ_CHUNK > r->cap)
    {
      r->cap = r->cap * 2 > r->len + READ_CHUNK ? r->cap * 2 : r->len + READ_CHUNK;
      r->buf = xrealloc (r->buf, r->cap);
    }
  do
    got = pread (r->fd, r->buf + r->len, r->cap - r->len, (off_t)r->pos);
  while (got < 0 && errno == EINTR);
  if (got > 0)
    {
      r->len += (size_t)got;
      r->pos += (uint64_t)got;
    }
  return got;
}

int
ctrlog_reader_next (struct ctrlog_reader *r, const char **line, size_t *n, rl_error_t *err)
{
  size_t scanned = 0; /* bytes after start known to hold no newline */

  for (;;)
    {
      char *p = r->start + scanned < r->len
                    ? memchr (r->buf + r->start + scanned, '\n', r->len - r->start - scanned)
                    : NULL;
      ssize_t got;

      if (p)
        {
          size_t end = (size_t)(p - r->buf);
          bool skipped = r->skipping;

          *line = r->buf + r->start;
          *n = end - r->start;
          r->start = end + 1;
          r->skipping = false;
          if (!skipped)
            return 1;
          scanned = 0;
          continue;
        }
      scanned = r->len - r->start;
      if (scanned >= CTRLOG_LINE_MAX)
        {
          /* Drop what is buffered of an overlong line; the rest of it goes
           * when its newline comes. */
          r->start = r->len;
          r->skipping = true;
          scanned = 0;
        }
      got = reader_fill (r);
      if (got < 0)
        return rl_error (err, errno, "read the container's log");
      if (got == 0)
        return 0;
      scanned = r->len - r->start - (size_t)got;
    }
}

size_t
ctrlog_format_time (int64_t unix_ns, char out[static 40])
{
  int64_t secs = unix_ns / 1000000000LL, nsec = unix_ns % 1000000000LL;

  if (nsec < 0)
    {
      nsec += 1000000000LL;
      secs--;
    }
  return format_time (secs, (long)nsec, out);
}

/* Go's time.ParseDuration, which Docker uses: an optional sign, then one or
 * more decimal numbers (fraction allowed) each with a unit. */
static bool
parse_duration (const char *s, int64_t *out)
{
  static const struct
  {
    const char *name;
    double ns;
  } units[] = {
    { "ns", 1 },   { "us", 1e3 }, { "\u00b5s", 1e3 }, { "\u03bcs", 1e3 },
    { "ms", 1e6 }, { "s", 1e9 },  { "m", 60e9 },      { "h", 3600e9 },
  };
  double total = 0;
  bool neg = false;

  if (*s == '+' || *s == '-')
    neg = *s++ == '-';
  if (*s == '\0')
    return false;
  while (*s)
    {
      double v = 0, scale = 1;
      bool digits = false;
      size_t best = 0, best_len = 0;

      for (; *s >= '0' && *s <= '9'; s++, digits = true)
        v = v * 10 + (*s - '0');
      if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
          v += (*s - '0') * (scale /= 10);
      if (!digits)
        return false;
      /* The longest unit name that matches ("ms" before "m"). */
      for (size_t i = 0; i < ARRAY_SIZE (units); i++)
        {
          size_t l = strlen (units[i].name);
          if (strncmp (s, units[i].name, l) == 0 && l > best_len)
            best = i, best_len = l;
        }
      if (best_len == 0)
        return false;
      total += v * units[best].ns;
      s += best_len;
    }
  if (total > 9e18)
    return false;
  *out = neg ? -(int64_t)total : (int64_t)total;
  return true;
}

/* n decimal digits at *s into *v (advancing *s). */
static bool
digits_n (const char **s, int n, int *v)
{
  *v = 0;
  for (int i = 0; i < n; i++, (*s)++)
    {
      if (**s < '0' || **s > '9')
        return false;
      *v = *v * 10 + (**s - '0');
    }
  return true;
}

/* Up to 9 digits of a fraction (more are ignored) as nanoseconds. */
static const char *
parse_fraction (const char *s, int64_t *ns)
{
  int64_t v = 0;
  int d = 0;

  for (; *s >= '0' && *s <= '9'; s++)
    if (d < 9)
      {
        v = v * 10 + (*s - '0');
        d++;
      }
  while (d++ < 9)
    v *= 10;
  *ns = v;
  return s;
}

/* DATE[THH[:MM[:SS[.FRAC]]]][Z|+HH:MM|-HH:MM] */
static bool
parse_rfc3339ish (const char *s, int64_t *out)
{
  struct tm tm = { 0 };
  int year, mon, day, hh = 0, mm = 0, ss = 0;
  int64_t nsec = 0, secs;

  if (!digits_n (&s, 4, &year) || *s++ != '-' || !digits_n (&s, 2, &mon) || *s++ != '-'
      || !digits_n (&s, 2, &day))
    return false;
  if (*s == 'T' || *s == 't')
    {
      s++;
      if (!digits_n (&s, 2, &hh))
        return false;
      if (*s == ':' && s[1] >= '0' && s[1] <= '9')
        {
          s++;
          if (!digits_n (&s, 2, &mm))
            return false;
          if (*s == ':' && s[1] >= '0' && s[1] <= '9')
            {
              s++;
              if (!digits_n (&s, 2, &ss))
                return false;
              if (*s == '.')
                {
                  if (s[1] < '0' || s[1] > '9')
                    return false;
                  s = parse_fraction (s + 1, &nsec);
                }
            }
        }
    }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
    return false;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  if (*s == '\0')
    {
      /* No zone: local time, as Docker reads it. */
      tm.tm_isdst = -1;
      secs = (int64_t)mktime (&tm);
    }
  else if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
    secs = (int64_t)timegm (&tm);
  else if (*s == '+' || *s == '-')
    {
      int sign = *s++ == '+' ? 1 : -1, oh, om;
      if (!digits_n (&s, 2, &oh) || *s++ != ':' || !digits_n (&s, 2, &om) || *s != '\0' || oh > 23
          || om > 59)
        return false;
      secs = (int64_t)timegm (&tm) - sign * (int64_t)(oh * 3600 + om * 60);
    }
  else
    return false;
  *out = secs * 1000000000LL + nsec;
  return true;
}

bool
ctrlog_parse_time_arg (const char *s, int64_t now_ns, int64_t *out)
{
  int64_t d, secs = 0, nsec = 0;
  const char *p = s;

  /* "0" is the epoch, not a duration (Docker tells them apart so too). */
  if (strcmp (s, "0") != 0 && parse_duration (s, &d))
    {
      *out = now_ns - d;
      return true;
    }
  if (strchr (s, '-'))
    return parse_rfc3339ish (s, out);
  if (*p < '0' || *p > '9')
    return false;
  for (; *p >= '0' && *p <= '9'; p++)
    {
      secs = secs * 10 + (*p - '0');
      if (secs > 9000000000LL)
        return false;
    }
  if (*p == '.')
    {
      if (p[1] < '0' || p[1] > '9')
        return false;
      p = parse_fraction (p + 1, &nsec);
    }
  if (*p != '\0')
    return false;
  *out = secs * 1000000000LL + nsec;
  return true;
}
