/* Allocation, string vectors, cleanup helpers and small formatters. */
#include "config.h"
#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void
cleanup_freep (void *p)
{
  void **pp = p;
  free (*pp);
}

void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}

void
cleanup_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
}

void
cleanup_closedirp (DIR **d)
{
  if (*d)
    closedir (*d);
}

void
cleanup_strvp (char ***v)
{
  strv_free (*v);
}

static void
oom (void)
{
  fputs ("rl: out of memory\n", stderr);
  abort ();
}

void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    oom ();
  return p;
}

void *
xmalloc0 (size_t n)
{
  void *p = calloc (1, n ? n : 1);
  if (p == NULL)
    oom ();
  return p;
}

void *
xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    oom ();
  return p;
}

char *
xstrdup (const char *s)
{
  char *r = strdup (s ? s : "");
  if (r == NULL)
    oom ();
  return r;
}

char *
xstrndup (const char *s, size_t n)
{
  char *r = strndup (s, n);
  if (r == NULL)
    oom ();
  return r;
}

char *
xvasprintf (const char *fmt, va_list ap)
{
  char *r;
  if (vasprintf (&r, fmt, ap) < 0)
    oom ();
  return r;
}

char *
xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *r;
  va_start (ap, fmt);
  r = xvasprintf (fmt, ap);
  va_end (ap);
  return r;
}

size_t
strv_len (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

void
strv_free (char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

char **
strv_dup (char *const *v)
{
  size_t n = strv_len (v);
  char **r = xmalloc0 ((n + 1) * sizeof *r);
  for (size_t i = 0; i < n; i++)
    r[i] = xstrdup (v[i]);
  return r;
}

void
strv_add_take (char ***v, char *s)
{
  size_t n = strv_len (*v);
  *v = xrealloc (*v, (n + 2) * sizeof **v);
  (*v)[n] = s;
  (*v)[n + 1] = NULL;
}

void
strv_add (char ***v, const char *s)
{
  strv_add_take (v, xstrdup (s));
}

bool
strv_contains (char *const *v, const char *s)
{
  for (size_t i = 0; v && v[i]; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

bool
str_has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

bool
str_has_suffix (const char *s, const char *suffix)
{
  size_t ls = strlen (s), lx = strlen (suffix);
  return ls >= lx && strcmp (s + ls - lx, suffix) == 0;
}

bool
parse_long (const char *s, long long min, long long max, long long *out)
{
  char *end;
  long long v;

  if (s == NULL || *s == '\0')
    return false;
  errno = 0;
  v = strtoll (s, &end, 10);
  if (errno || *end != '\0' || v < min || v > max)
    return false;
  *out = v;
  return true;
}

int
random_hex (char *out, size_t nbytes)
{
  unsigned char buf[64];
  static const char hex[] = "0123456789abcdef";

  if (nbytes > sizeof buf)
    return -1;
  if (getrandom (buf, nbytes, 0) != (ssize_t)nbytes)
    return -1;
  for (size_t i = 0; i < nbytes; i++)
    {
      out[2 * i] = hex[buf[i] >> 4];
      out[2 * i + 1] = hex[buf[i] & 15];
    }
  out[2 * nbytes] = '\0';
  return 0;
}

int64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

char *
rfc3339_time (int64_t unix_ns)
{
  time_t secs = unix_ns / 1000000000LL;
  struct tm tm;
  char buf[64];

  gmtime_r (&secs, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return xasprintf ("%s.%09lldZ", buf, (long long)(unix_ns % 1000000000LL));
}

char *
human_duration_ago (int64_t unix_ns)
{
  int64_t secs = (now_ns () - unix_ns) / 1000000000LL;

  if (secs < 1)
    return xstrdup ("Less than a second ago");
  if (secs < 60)
    return xasprintf ("%lld second%s ago", (long long)secs, secs == 1 ? "" : "s");
  if (secs < 3600)
    {
      long long m = secs / 60;
      return m == 1 ? xstrdup ("About a minute ago") : xasprintf ("%lld minutes ago", m);
    }
  if (secs < 86400)
    {
      long long h = secs / 3600;
      return h == 1 ? xstrdup ("About an hour ago") : xasprintf ("%lld hours ago", h);
    }
  if (secs < 86400 * 14)
    return xasprintf ("%lld days ago", (long long)(secs / 86400));
  if (secs < 86400 * 60)
    return xasprintf ("%lld weeks ago", (long long)(secs / (86400 * 7)));
  if (secs < 86400 * 365 * 2)
    return xasprintf ("%lld months ago", (long long)(secs / (86400 * 30)));
  return xasprintf ("%lld years ago", (long long)(secs / (86400 * 365)));
}

char *
human_size (uint64_t bytes)
{
  static const char *units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
  double v = (double)bytes;
  size_t u = 0;

  while (v >= 1000.0 && u + 1 < ARRAY_SIZE (units))
    {
      v /= 1000.0;
      u++;
    }
  if (u == 0)
    return xasprintf ("%lluB", (unsigned long long)bytes);
  return xasprintf ("%.3g%s", v, units[u]);
}

static const struct
{
  const char *name;
  int sig;
} signal_names[] = {
  { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },     { "ILL", SIGILL },
  { "TRAP", SIGTRAP },     { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },
  { "FPE", SIGFPE },       { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
  { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },
  { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP },
  { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
  { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
  { "WINCH", SIGWINCH },   { "IO", SIGIO },     { "POLL", SIGPOLL },     { "PWR", SIGPWR },
  { "SYS", SIGSYS },
};

int
signal_from_name (const char *name)
{
  long long n;

  if (parse_long (name, 1, SIGRTMAX, &n))
    return (int)n;
  if (strncasecmp (name, "SIG", 3) == 0)
    name += 3;
  for (size_t i = 0; i < ARRAY_SIZE (signal_names); i++)
    if (strcasecmp (name, signal_names[i].name) == 0)
      return signal_names[i].sig;
  if (strncasecmp (name, "RTMIN", 5) == 0)
    {
      if (name[5] == '\0')
        return SIGRTMIN;
      if (name[5] == '+' && parse_long (name + 6, 0, SIGRTMAX - SIGRTMIN, &n))
        return SIGRTMIN + (int)n;
    }
  if (strncasecmp (name, "RTMAX", 5) == 0)
    {
      if (name[5] == '\0')
        return SIGRTMAX;
      if (name[5] == '-' && parse_long (name + 6, 0, SIGRTMAX - SIGRTMIN, &n))
        return SIGRTMAX - (int)n;
    }
  return -1;
}

const char *
signal_name (int sig)
{
  static char buf[32];

  for (size_t i = 0; i < ARRAY_SIZE (signal_names); i++)
    if (signal_names[i].sig == sig)
      {
        snprintf (buf, sizeof buf, "SIG%s", signal_names[i].name);
        return buf;
      }
  if (sig >= SIGRTMIN && sig <= SIGRTMAX)
    {
      snprintf (buf, sizeof buf, "SIGRTMIN+%d", sig - SIGRTMIN);
      return buf;
    }
  return NULL;
}
