/* seccomp filters through libseccomp. */
#include "config.h"
#include "runtime/seccomp.h"
#include "util/util.h"

#include <errno.h>
#include <seccomp.h>

/* Root emulation: these return 0 and change nothing.  Unknown names (say
 * the 32-bit chown32 on x86-64) are skipped by the resolver. */
static const char *const root_emulation_calls[] = {
  "chown",      "fchown",    "lchown",     "fchownat",    "chown32",     "fchown32",  "lchown32",
  "setuid",     "setgid",    "setuid32",   "setgid32",    "setreuid",    "setregid",  "setreuid32",
  "setregid32", "setresuid", "setresgid",  "setresuid32", "setresgid32", "setgroups", "setgroups32",
  "setfsuid",   "setfsgid",  "setfsuid32", "setfsgid32",
};

static void
cleanup_seccompp (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
}
#define cleanup_seccomp __attribute__ ((cleanup (cleanup_seccompp)))

bool
seccomp_wanted (const struct seccomp_opts *o)
{
  return o->root_emulation;
}

static int
add_rules (scmp_filter_ctx ctx, const char *const *names, size_t n, uint32_t action,
           rl_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    {
      int nr = seccomp_syscall_resolve_name (names[i]);
      int r;

      if (nr == __NR_SCMP_ERROR)
        continue;
      r = seccomp_rule_add (ctx, action, nr, 0);
      /* A pseudo-syscall number of another architecture: nothing to do. */
      if (r == -EDOM || r == -EFAULT)
        continue;
      if (r < 0)
        return rl_error (err, -r, "seccomp rule for `%s`", names[i]);
    }
  return 0;
}

int
seccomp_apply (const struct seccomp_opts *o, rl_error_t *err)
{
  cleanup_seccomp scmp_filter_ctx ctx = NULL;
  int r;

  if (!seccomp_wanted (o))
    return 0;
  ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return rl_error (err, ENOMEM, "seccomp init");
  /* We are root of the user namespace: CAP_SYS_ADMIN there suffices, and
   * whether no_new_privs is set is a decision of its own. */
  r = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (r < 0)
    return rl_error (err, -r, "seccomp attribute");
  if (o->root_emulation
      && add_rules (ctx, root_emulation_calls, ARRAY_SIZE (root_emulation_calls),
                    SCMP_ACT_ERRNO (0), err)
             < 0)
    return rl_error_wrap (err, "root emulation");
  r = seccomp_load (ctx);
  if (r < 0)
    return rl_error (err, -r, "load seccomp filter");
  return 0;
}
