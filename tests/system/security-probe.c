/* A probe for 300-security.bats: makes one raw system call, as a hostile
 * program would, and prints `TEST: ok` or `TEST: ERRNONAME`.  Built static
 * at test time, so it runs in any image. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int
report (const char *what, long r)
{
  if (r < 0)
    printf ("%s: %s\n", what, strerrorname_np (errno));
  else
    printf ("%s: ok\n", what);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *w = argc > 1 ? argv[1] : "";
  unsigned long arg = argc > 2 ? strtoul (argv[2], NULL, 0) : 0;
  char c = 'x';

  if (strcmp (w, "keyctl") == 0) /* KEYCTL_GET_KEYRING_ID of the session keyring */
    return report (w, syscall (SYS_keyctl, 0, -3, 0));
  if (strcmp (w, "add_key") == 0)
    return report (w, syscall (SYS_add_key, "user", "rl", "x", 1, -3));
  if (strcmp (w, "request_key") == 0)
    return report (w, syscall (SYS_request_key, "user", "rl", NULL, -3));
  if (strcmp (w, "bpf") == 0) /* BPF_MAP_CREATE with no attributes */
    return report (w, syscall (SYS_bpf, 0, NULL, 0));
  if (strcmp (w, "perf_event_open") == 0)
    return report (w, syscall (SYS_perf_event_open, NULL, 0, -1, -1, 0));
  if (strcmp (w, "userfaultfd") == 0)
    return report (w, syscall (SYS_userfaultfd, 0));
  if (strcmp (w, "open_by_handle_at") == 0)
    return report (w, syscall (SYS_open_by_handle_at, -1, NULL, 0));
  if (strcmp (w, "kexec_load") == 0)
    return report (w, syscall (SYS_kexec_load, 0, 0, NULL, 0));
  if (strcmp (w, "init_module") == 0)
    return report (w, syscall (SYS_init_module, NULL, 0, ""));
  if (strcmp (w, "clone3") == 0)
    return report (w, syscall (SYS_clone3, NULL, 0));
  if (strcmp (w, "clone-newns") == 0)
    {
      long r = syscall (SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
      if (r == 0)
        _exit (0);
      return report (w, r);
    }
  if (strcmp (w, "fork") == 0)
    {
      long r = syscall (SYS_clone, SIGCHLD, 0, 0, 0, 0);
      if (r == 0)
        _exit (0);
      return report (w, r);
    }
  if (strcmp (w, "tiocsti") == 0)
    return report (w, ioctl (0, TIOCSTI, &c));
  /* The kernel reads the command as 32 bits: high bits must not get it
   * past the filter. */
  if (strcmp (w, "tiocsti-high") == 0)
    return report (w, syscall (SYS_ioctl, 0, 0x100000000UL | TIOCSTI, &c));
  if (strcmp (w, "tiocgwinsz") == 0)
    {
      struct winsize ws;
      return report (w, ioctl (0, TIOCGWINSZ, &ws));
    }
  if (strcmp (w, "personality") == 0)
    return report (w, syscall (SYS_personality, arg));
  if (strcmp (w, "x32") == 0)
    return report (w, syscall (0x40000000 | SYS_getpid));
  if (strcmp (w, "nr") == 0)
    return report (w, syscall (arg, 0, 0, 0, 0, 0));
  if (strcmp (w, "ptrace") == 0) /* PTRACE_PEEKDATA of a pid that does not exist */
    return report (w, syscall (SYS_ptrace, 2, 99999, 0, 0));
  fprintf (stderr, "probe: unknown test `%s`\n", w);
  return 2;
}
