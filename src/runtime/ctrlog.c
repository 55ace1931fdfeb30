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

static size_t
format_time (char *out, size_t n)
{
  struct timespec ts;
  struct tm tm;
  size_t len;

  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  len = strftime (out, n, "%Y-%m-%dT%H:%M:%S", &tm);
  len += snprintf (out + len, n - len, ".%09ldZ", ts.tv_nsec);
  return len;
}

void
ctrlog_write (struct ctrlog *l, enum ctrlog_stream s, const char *buf, size_t n)
{
  const char *name = s == CTRLOG_STDERR ? "stderr" : "stdout";
  char stamp[64];
  size_t slen, nlines = 1, cap, len = 0;
  cleanup_free char *out = NULL;

  if (l->fd < 0 || n == 0)
    return;
  slen = format_time (stamp, sizeof stamp);
  for (size_t i = 0; i < n; i++)
    nlines += buf[i] == '\n';
  cap = n + nlines * (slen + 16);
  out = xmalloc (cap);
  for (size_t i = 0; i < n;)
    {
      const char *nl = memchr (buf + i, '\n', n - i);
      size_t end = nl ? (size_t)(nl - buf) : n;
      char tag = nl ? 'F' : 'P';

      memcpy (out + len, stamp, slen);
      len += slen;
      len += (size_t)sprintf (out + len, " %s %c ", name, tag);
      memcpy (out + len, buf + i, end - i);
      len += end - i;
      out[len++] = '\n';
      i = nl ? end + 1 : n;
    }
  if (write_all (l->fd, out, len) < 0)
    {
      if (!l->failed)
        fprintf (stderr, "rl: container log: %s: lines are lost\n", strerror (errno));
      l->failed = true;
      return;
    }
  l->failed = false;
  l->size += len;
  if (l->max_size && l->size >= l->max_size)
    rotate (l);
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
