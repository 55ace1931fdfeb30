/* Error objects: creation, context wrapping and reporting. */
#include "config.h"
#include "util/error.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
error_vset (rl_error_t *err, int status, int errnum, const char *fmt, va_list ap)
{
  cleanup_free char *msg = NULL;
  struct rl_error_s *e;

  if (err == NULL)
    return -1;
  msg = xvasprintf (fmt, ap);
  rl_error_free (err);
  e = xmalloc0 (sizeof *e);
  e->status = status;
  e->errnum = errnum;
  e->msg = errnum ? xasprintf ("%s: %s", msg, strerror (errnum)) : xstrdup (msg);
  *err = e;
  return -1;
}

int
rl_error (rl_error_t *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  error_vset (err, RL_EXIT_FAILURE, errnum, fmt, ap);
  va_end (ap);
  return -1;
}

int
rl_error_status (rl_error_t *err, int status, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  error_vset (err, status, errnum, fmt, ap);
  va_end (ap);
  return -1;
}

int
rl_error_wrap (rl_error_t *err, const char *fmt, ...)
{
  cleanup_free char *ctx = NULL;
  char *msg;
  va_list ap;

  if (err == NULL || *err == NULL)
    return -1;
  va_start (ap, fmt);
  ctx = xvasprintf (fmt, ap);
  va_end (ap);
  msg = xasprintf ("%s: %s", ctx, (*err)->msg);
  free ((*err)->msg);
  (*err)->msg = msg;
  return -1;
}

void
rl_error_free (rl_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

int
rl_error_report (rl_error_t *err)
{
  int status = RL_EXIT_FAILURE;

  if (err && *err)
    {
      fprintf (stderr, "rl: %s\n", (*err)->msg);
      status = (*err)->status;
      rl_error_free (err);
    }
  return status;
}

void
rl_warn (const char *fmt, ...)
{
  va_list ap;
  fputs ("rl: warning: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
}
