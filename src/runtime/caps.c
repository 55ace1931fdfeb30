/* Capability sets of the container's processes, through libcap. */
#include "config.h"
#include "runtime/caps.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <linux/securebits.h>

static void
cleanup_capp (cap_t *c)
{
  if (*c)
    cap_free (*c);
}
#define cleanup_cap __attribute__ ((cleanup (cleanup_capp)))

uint64_t
caps_all (void)
{
  int n = cap_max_bits ();

  if (n <= 0 || n >= 64)
    return n >= 64 ? ~UINT64_C (0) : CAP_BIT (CAP_LAST_CAP + 1) - 1;
  return CAP_BIT (n) - 1;
}

int
caps_from_name (const char *name, uint64_t *out, rl_error_t *err)
{
  cleanup_free char *lower = NULL;
  const char *base = name;
  cap_value_t v;

  if (strcasecmp (name, "ALL") == 0)
    {
      *out = caps_all ();
      return 0;
    }
  if (strncasecmp (base, "CAP_", 4) == 0)
    base += 4;
  /* libcap also takes numbers; a number is not a name anyone types. */
  if (*base == '\0'
      || strspn (base, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_") != strlen (base))
    return rl_error (err, 0, "unknown capability `%s`", name);
  lower = xasprintf ("cap_%s", base);
  for (char *p = lower; *p; p++)
    *p = tolower ((unsigned char)*p);
  if (cap_from_name (lower, &v) < 0)
    return rl_error (err, 0, "unknown capability `%s`", name);
  if (!(caps_all () & CAP_BIT (v)))
    return rl_error (err, 0, "capability `%s` is not known to this kernel", name);
  *out = CAP_BIT (v);
  return 0;
}

static bool
has_all (char *const *names)
{
  for (size_t i = 0; names && names[i]; i++)
    if (strcasecmp (names[i], "ALL") == 0)
      return true;
  return false;
}

int
caps_compute (char *const *add, char *const *drop, uint64_t *set, uint64_t *added, rl_error_t *err)
{
  uint64_t s = CAPS_DEFAULT, a = 0, b;

  if (has_all (add))
    s = caps_all ();
  if (has_all (drop))
    s = 0;
  for (size_t i = 0; drop && drop[i]; i++)
    {
      if (strcasecmp (drop[i], "ALL") == 0)
        continue;
      if (caps_from_name (drop[i], &b, err) < 0)
        return rl_error_wrap (err, "--cap-drop");
      s &= ~b;
    }
  for (size_t i = 0; add && add[i]; i++)
    {
      if (caps_from_name (add[i], &b, err) < 0)
        return rl_error_wrap (err, "--cap-add");
      /* With --cap-add ALL --cap-drop X, X stays dropped. */
      if (strcasecmp (add[i], "ALL") == 0)
        {
          a |= s;
          continue;
        }
      s |= b;
      a |= b;
    }
  *set = s;
  *added = a & s;
  return 0;
}

/* effective, permitted and inheritable to mask; the rest clear. */
static int
set_proc (uint64_t eff_perm, uint64_t inh, rl_error_t *err)
{
  cleanup_cap cap_t c = cap_init ();

  if (c == NULL)
    return rl_error (err, errno, "cap_init");
  for (cap_value_t v = 0; v < 64; v++)
    {
      if (eff_perm & CAP_BIT (v))
        if (cap_set_flag (c, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0
            || cap_set_flag (c, CAP_PERMITTED, 1, &v, CAP_SET) < 0)
          return rl_error (err, errno, "capability %d", v);
      if (inh & CAP_BIT (v))
        if (cap_set_flag (c, CAP_INHERITABLE, 1, &v, CAP_SET) < 0)
          return rl_error (err, errno, "capability %d", v);
    }
  if (cap_set_proc (c) < 0)
    return rl_error (err, errno, "set the capability sets");
  return 0;
}

int
caps_apply_before_user (uint64_t set, uint64_t keep, rl_error_t *err)
{
  uint64_t all = caps_all ();

  for (cap_value_t v = 0; v < 64; v++)
    {
      if (!(all & CAP_BIT (v)))
        break;
      if (!(set & CAP_BIT (v)) && cap_drop_bound (v) < 0)
        return rl_error (err, errno, "drop capability %d from the bounding set", v);
    }
  /* Nothing reaches the command through the inheritable set unless asked
   * (CVE-2022-24769), nor through ambient. */
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return rl_error (err, errno, "clear the ambient capabilities");
  /* Keep what we hold until the switch of user; CAP_SETPCAP for the
   * securebits and the rest for switch_user itself. */
  if (keep && prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return rl_error (err, errno, "keep capabilities");
  return 0;
}

int
caps_apply_after_user (uint64_t set, uint64_t keep, bool root_user, bool still_uid0,
                       rl_error_t *err)
{
  if (root_user)
    return set_proc (set, 0, err);
  if (still_uid0 && prctl (PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) < 0)
    return rl_error (err, errno, "set securebits");
  if (set_proc (keep, keep, err) < 0)
    return -1;
  for (cap_value_t v = 0; v < 64; v++)
    if ((keep & CAP_BIT (v)) && cap_set_ambient (v, CAP_SET) < 0)
      return rl_error (err, errno, "raise ambient capability %d", v);
  if (keep)
    prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0);
  return 0;
}
