/* The error model shared by all of rl.
 *
 * A fallible function returns int (< 0 on failure) and fills the error object
 * passed as its last argument.  Callers add context on the way up with
 * rl_error_wrap(), so the line finally printed tells the whole story:
 *   rl: run bb: mount overlay on `/home/u/.local/share/rl/...`: Invalid argument
 * The exit status follows Docker: 125 unless set otherwise (126/127 for a
 * command that could not be executed). */
#ifndef RL_ERROR_H
#define RL_ERROR_H

#include <stdarg.h>

#define RL_EXIT_FAILURE       125 /* rl itself failed */
#define RL_EXIT_CANNOT_INVOKE 126
#define RL_EXIT_NOT_FOUND     127

struct rl_error_s
{
  int status; /* exit status to use if this error ends rl */
  int errnum; /* errno that caused it, 0 if none */
  char *msg;
};
typedef struct rl_error_s *rl_error_t;

/* Set *err (which must be NULL) and return -1.  When errnum is not 0,
 * ": strerror(errnum)" is appended.  Never fails: on OOM it aborts. */
int rl_error (rl_error_t *err, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Like rl_error() with an explicit exit status. */
int rl_error_status (rl_error_t *err, int status, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
/* Prefix the message of an existing error with "context: "; returns -1. */
int rl_error_wrap (rl_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void rl_error_free (rl_error_t *err);
/* Print "rl: MSG" on stderr, free the error and return its exit status. */
int rl_error_report (rl_error_t *err);
/* Print "rl: warning: MSG" (not an error; used sparingly). */
void rl_warn (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
