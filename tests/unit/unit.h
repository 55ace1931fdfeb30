/* A tiny unit test harness: CHECK() records failures, each TEST prints an
 * automake-style "PASS: name" or "FAIL: name" line, and unit_exit() returns
 * 0 only if all passed (automake's test driver reads the exit status). */
#ifndef RL_UNIT_H
#define RL_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed_total;
static int unit_failed_now;

#define CHECK(cond)                                                                                \
  do                                                                                               \
    {                                                                                              \
      if (!(cond))                                                                                 \
        {                                                                                          \
          fprintf (stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);              \
          unit_failed_now++;                                                                       \
        }                                                                                          \
    }                                                                                              \
  while (0)

#define CHECK_STR(a, b)                                                                            \
  do                                                                                               \
    {                                                                                              \
      const char *a_ = (a), *b_ = (b);                                                             \
      if (a_ == NULL || b_ == NULL || strcmp (a_, b_) != 0)                                        \
        {                                                                                          \
          fprintf (stderr, "  %s:%d: `%s` is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,   \
                   a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                        \
          unit_failed_now++;                                                                       \
        }                                                                                          \
    }                                                                                              \
  while (0)

#define RUN_TEST(fn)                                                                               \
  do                                                                                               \
    {                                                                                              \
      unit_failed_now = 0;                                                                         \
      fn ();                                                                                       \
      printf ("%s: %s\n", unit_failed_now ? "FAIL" : "PASS", #fn);                                 \
      unit_failed_total += unit_failed_now ? 1 : 0;                                                \
    }                                                                                              \
  while (0)

static inline int
unit_exit (void)
{
  return unit_failed_total ? 1 : 0;
}

#endif
