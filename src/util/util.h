/* Small helpers used everywhere: cleanup attributes, allocation that never
 * returns NULL, string vectors and number parsing. */
#ifndef RL_UTIL_H
#define RL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <dirent.h>

void cleanup_freep (void *p);
void cleanup_closep (int *fd);
void cleanup_fclosep (FILE **f);
void cleanup_closedirp (DIR **d);
void cleanup_strvp (char ***v);

#define cleanup_free   __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_close  __attribute__ ((cleanup (cleanup_closep)))
#define cleanup_fclose __attribute__ ((cleanup (cleanup_fclosep)))
#define cleanup_dir    __attribute__ ((cleanup (cleanup_closedirp)))
#define cleanup_strv   __attribute__ ((cleanup (cleanup_strvp)))

/* Hand a value out of a cleanup variable: return steal_pointer (&p); */
static inline void *
steal_pointer_ (void *pp)
{
  void **p = pp;
  void *v = *p;
  *p = NULL;
  return v;
}
#define steal_pointer(pp) steal_pointer_ (pp)
static inline int
steal_fd (int *fd)
{
  int v = *fd;
  *fd = -1;
  return v;
}

#define ARRAY_SIZE(a) (sizeof (a) / sizeof ((a)[0]))

void *xmalloc (size_t n);
void *xmalloc0 (size_t n);
void *xrealloc (void *p, size_t n);
char *xstrdup (const char *s);
char *xstrndup (const char *s, size_t n);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *xvasprintf (const char *fmt, va_list ap);

/* NULL-terminated string vectors. */
size_t strv_len (char *const *v);
void strv_free (char **v);
char **strv_dup (char *const *v);
/* Append a copy of s; *v may be NULL. */
void strv_add (char ***v, const char *s);
/* Append s itself (ownership taken). */
void strv_add_take (char ***v, char *s);
bool strv_contains (char *const *v, const char *s);

bool str_has_prefix (const char *s, const char *prefix);
bool str_has_suffix (const char *s, const char *suffix);
/* Parse a whole decimal string into [min, max]; false on any junk. */
bool parse_long (const char *s, long long min, long long max, long long *out);

/* "TERM", "SIGTERM", "sigterm", "15", "RTMIN+2" -> the number; -1 if unknown. */
int signal_from_name (const char *name);
/* "SIGTERM" for 15; "SIGRTMIN+2"; NULL if not a signal. */
const char *signal_name (int sig);

/* Lower-case hex of n random bytes (2n chars + NUL into out). */
int random_hex (char *out, size_t nbytes);
/* Monotonic clock in nanoseconds and wall clock helpers. */
int64_t now_ns (void);
/* RFC 3339 UTC with nanoseconds, as in OCI configs ("2026-11-27T18:06:12.123456789Z"). */
char *rfc3339_time (int64_t unix_ns);
/* "3 minutes ago", "About an hour ago", as in docker ps/images. */
char *human_duration_ago (int64_t unix_ns);
/* "1.23MB", "5.8kB" (decimal units, as Docker shows sizes). */
char *human_size (uint64_t bytes);

#endif
