/* seccomp filters: rl's default profile, Docker-format JSON profiles, root
 * emulation, the BPF cache and the loading.
 *
 * The default profile is an allow-list written from the kernel's x86-64
 * and i386 syscall tables (up to Linux 6.17): what is not listed fails with
 * EPERM, numbers past the table fail with ENOSYS so that libc falls back
 * to an older call, as it does on an older kernel.  libseccomp compiles the
 * rules; a short prologue of our own, run before libseccomp's program,
 * handles what libseccomp cannot express: the ENOSYS range, calls newer
 * than the libseccomp we build with (by number: since Linux 5.1 every
 * architecture numbers new calls alike) and the ioctl commands that inject
 * input into a terminal, compared on the 32 bits the kernel reads. */
#include "config.h"
#include "runtime/seccomp.h"
#include "runtime/caps.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/util.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* The largest syscall number the default profile was written against
 * (file_setattr, Linux 6.17), for x86-64 and i386 alike. */
#define TABLE_MAX_NR 469
/* x32 calls carry this bit on the x86-64 entry point. */
#define X32_SYSCALL_BIT 0x40000000
#define NR_IOCTL_X86_64 16
#define NR_IOCTL_I386   54
#define BPF_MAX_INSNS   4096

/* Everything an ordinary program needs: files, memory, processes and
 * threads, signals, time, sockets, IPC within the container's namespace,
 * and the setuid family (capabilities decide what those may do).  Names
 * an architecture lacks are skipped by libseccomp. */
/* clang-format off */
static const char *const allowed_calls[] = {
  /* files and directories */
  "read", "write", "open", "openat", "openat2", "close", "close_range", "creat", "stat", "fstat",
  "lstat", "newfstatat", "statx", "stat64", "fstat64", "lstat64", "fstatat64", "lseek", "_llseek",
  "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2", "access",
  "faccessat", "faccessat2", "dup", "dup2", "dup3", "pipe", "pipe2", "fcntl", "fcntl64", "flock",
  "fsync", "fdatasync", "syncfs", "sync", "sync_file_range", "truncate", "ftruncate",
  "truncate64", "ftruncate64", "fallocate", "fadvise64", "fadvise64_64", "readahead", "getdents",
  "getdents64", "readdir", "getcwd", "chdir", "fchdir", "chroot", "rename", "renameat",
  "renameat2", "mkdir", "mkdirat", "rmdir", "link", "linkat", "unlink", "unlinkat", "symlink",
  "symlinkat", "readlink", "readlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown",
  "fchownat", "chown32", "fchown32", "lchown32", "umask", "mknod", "mknodat", "utime", "utimes",
  "futimesat", "utimensat", "utimensat_time64", "statfs", "fstatfs", "statfs64", "fstatfs64",
  "setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
  "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr", "sendfile",
  "sendfile64", "splice", "tee", "vmsplice", "copy_file_range", "name_to_handle_at",
  "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "memfd_create",
  "ioctl",
  /* polling and events */
  "poll", "ppoll", "ppoll_time64", "select", "_newselect", "pselect6", "pselect6_time64",
  "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
  "eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create", "timerfd_settime",
  "timerfd_gettime", "timerfd_settime64", "timerfd_gettime64", "io_setup", "io_destroy",
  "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_submit", "io_cancel",
  /* memory */
  "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "pkey_mprotect", "pkey_alloc",
  "pkey_free", "msync", "mincore", "madvise", "process_madvise", "mlock", "mlock2", "munlock",
  "mlockall", "munlockall", "remap_file_pages", "membarrier", "memfd_secret", "mbind",
  "set_mempolicy", "get_mempolicy", "set_mempolicy_home_node", "map_shadow_stack",
  /* processes and threads (clone and clone3 have rules of their own) */
  "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "waitpid",
  "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
  "set_tid_address", "set_robust_list", "get_robust_list", "futex", "futex_time64", "futex_waitv",
  "futex_wake", "futex_wait", "futex_requeue", "rseq", "arch_prctl", "set_thread_area",
  "get_thread_area", "prctl", "seccomp", "restart_syscall", "pidfd_open", "pidfd_getfd",
  "pidfd_send_signal", "process_mrelease", "kill", "tkill", "tgkill", "getrandom", "uname",
  "olduname", "sysinfo", "times", "getrusage", "getrlimit", "ugetrlimit", "setrlimit",
  "prlimit64", "getpriority", "setpriority", "nice", "sched_yield", "sched_setparam",
  "sched_getparam", "sched_setscheduler", "sched_getscheduler", "sched_get_priority_max",
  "sched_get_priority_min", "sched_rr_get_interval", "sched_rr_get_interval_time64",
  "sched_setaffinity", "sched_getaffinity", "sched_setattr", "sched_getattr", "getcpu",
  "ioprio_set", "ioprio_get", "capget", "capset", "landlock_create_ruleset", "landlock_add_rule",
  "landlock_restrict_self",
  /* credentials (root emulation may replace these) */
  "getuid", "geteuid", "getgid", "getegid", "getuid32", "geteuid32", "getgid32", "getegid32",
  "getresuid", "getresgid", "getresuid32", "getresgid32", "getgroups", "getgroups32", "setuid",
  "setgid", "setuid32", "setgid32", "setreuid", "setregid", "setreuid32", "setregid32",
  "setresuid", "setresgid", "setresuid32", "setresgid32", "setgroups", "setgroups32", "setfsuid",
  "setfsgid", "setfsuid32", "setfsgid32",
  /* signals */
  "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait",
  "rt_sigtimedwait_time64", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigsuspend",
  "sigaltstack", "sigaction", "signal", "sigprocmask", "sigpending", "sigsuspend", "sigreturn",
  "pause",
  /* time (setting the clock needs CAP_SYS_TIME of the host: not listed) */
  "time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres",
  "clock_getres_time64", "clock_nanosleep", "clock_nanosleep_time64", "nanosleep", "alarm",
  "getitimer", "setitimer", "timer_create", "timer_settime", "timer_settime64", "timer_gettime",
  "timer_gettime64", "timer_getoverrun", "timer_delete", "adjtimex", "clock_adjtime",
  "clock_adjtime64",
  /* sockets (the container has its own network namespace, or the host's by choice) */
  "socket", "socketpair", "socketcall", "connect", "accept", "accept4", "bind", "listen",
  "shutdown", "getsockname", "getpeername", "setsockopt", "getsockopt", "sendto", "recvfrom",
  "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "recvmmsg_time64",
  /* System V and POSIX IPC, in the container's IPC namespace */
  "ipc", "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop",
  "semtimedop_time64", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink",
  "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64", "mq_notify",
  "mq_getsetattr",
};
/* clang-format on */

/* ptrace reaches only the container's processes (its pid namespace), and
 * since Linux 4.8 a tracer can no longer change a call after seccomp has
 * checked it: allowed from 4.8 on, like process_vm_*, which ptrace's
 * access check guards. */
static const char *const ptrace_calls[] = { "ptrace", "process_vm_readv", "process_vm_writev" };

/* Calls newer than the libseccomp rl may be built with, allowed by number
 * (the same on x86-64 and i386): cachestat, fchmodat2, map_shadow_stack,
 * statmount, listmount (they see only the caller's mount namespace),
 * lsm_get_self_attr, lsm_set_self_attr, lsm_list_modules, mseal, the
 * *xattrat family, file_getattr, file_setattr.  Numbers the table knows
 * but allows nowhere fail with EPERM. */
static const uint32_t allowed_numbers[]
    = { 451, 452, 453, 457, 458, 459, 460, 461, 462, 463, 464, 465, 466, 468, 469 };
/* open_tree_attr (Linux 6.15): a mount call, allowed with CAP_SYS_ADMIN. */
static const uint32_t sys_admin_numbers[] = { 467 };

/* Changing the mount table or the namespaces: only with CAP_SYS_ADMIN, as
 * Docker does.  Without it, rl's read-only mounts stay read-only and the
 * container cannot make a user namespace in which it would have it. */
static const char *const sys_admin_calls[] = {
  "mount",      "umount",        "umount2",       "pivot_root",  "unshare",
  "setns",      "fsopen",        "fsconfig",      "fsmount",     "fspick",
  "move_mount", "open_tree",     "mount_setattr", "sethostname", "setdomainname",
  "clone3",     "fanotify_init", "fanotify_mark", "quotactl",    "quotactl_fd",
};

/* Not allowed, and worth naming here so that nobody adds them back:
 * keyctl, add_key, request_key (the kernel keyring is not namespaced), bpf,
 * perf_event_open (kernel attack surface, host-wide data), kexec_load,
 * kexec_file_load, init_module, finit_module, delete_module, open_by_handle_at
 * (escapes a bind mount), userfaultfd (stalls the kernel at will), io_uring
 * (a second syscall interface seccomp does not see), personality beyond the
 * safe values, modify_ldt, vm86, iopl, ioperm, acct, swapon, swapoff,
 * reboot, syslog, settimeofday, clock_settime, lookup_dcookie, kcmp,
 * move_pages, migrate_pages, and the calls Linux has removed. */

/* personality(2) values that change nothing dangerous: Linux, 32-bit
 * uname, UNAME26, both, and the query. */
static const uint64_t safe_personalities[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

/* Flags of clone(2) that make namespaces. */
#define CLONE_NS_FLAGS                                                                             \
  (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET         \
   | CLONE_NEWCGROUP)

/* Root emulation: these return 0 and change nothing. */
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

void
seccomp_prog_clear (struct seccomp_prog *p)
{
  free (p->insns);
  p->insns = NULL;
  p->n_insns = 0;
}

static bool
is_emulated (const struct seccomp_opts *o, const char *name)
{
  if (!o->root_emulation)
    return false;
  for (size_t i = 0; i < ARRAY_SIZE (root_emulation_calls); i++)
    if (strcmp (name, root_emulation_calls[i]) == 0)
      return true;
  return false;
}

/* One rule; a name no architecture of the filter has is skipped. */
static int
add_rule (scmp_filter_ctx ctx, const char *name, uint32_t action, unsigned n_cmp,
          const struct scmp_arg_cmp *cmp, rl_error_t *err)
{
  int nr = seccomp_syscall_resolve_name (name);
  int r;

  if (nr == __NR_SCMP_ERROR)
    return 0;
  r = seccomp_rule_add_array (ctx, action, nr, n_cmp, cmp);
  /* A pseudo-syscall number of another architecture: nothing to do. */
  if (r == -EDOM || r == -EFAULT)
    return 0;
  if (r < 0)
    return rl_error (err, -r, "seccomp rule for `%s`", name);
  return 0;
}

static int
add_names (scmp_filter_ctx ctx, const struct seccomp_opts *o, const char *const *names, size_t n,
           uint32_t action, rl_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    if (!is_emulated (o, names[i]) && add_rule (ctx, names[i], action, 0, NULL, err) < 0)
      return -1;
  return 0;
}

static bool
ptrace_is_safe (void)
{
  struct utsname u;
  unsigned major = 0, minor = 0;

  if (uname (&u) < 0 || sscanf (u.release, "%u.%u", &major, &minor) != 2)
    return false;
  return major > 4 || (major == 4 && minor >= 8);
}

static int
add_default_rules (scmp_filter_ctx ctx, const struct seccomp_opts *o, rl_error_t *err)
{
  bool sys_admin = o->caps & CAP_BIT (CAP_SYS_ADMIN);

  if (add_names (ctx, o, allowed_calls, ARRAY_SIZE (allowed_calls), SCMP_ACT_ALLOW, err) < 0)
    return -1;
  if (ptrace_is_safe ()
      && add_names (ctx, o, ptrace_calls, ARRAY_SIZE (ptrace_calls), SCMP_ACT_ALLOW, err) < 0)
    return -1;
  for (size_t i = 0; i < ARRAY_SIZE (safe_personalities); i++)
    {
      struct scmp_arg_cmp c = SCMP_A0 (SCMP_CMP_EQ, safe_personalities[i]);
      if (add_rule (ctx, "personality", SCMP_ACT_ALLOW, 1, &c, err) < 0)
        return -1;
    }
  if (sys_admin)
    {
      if (add_names (ctx, o, sys_admin_calls, ARRAY_SIZE (sys_admin_calls), SCMP_ACT_ALLOW, err)
          < 0)
        return -1;
      return add_rule (ctx, "clone", SCMP_ACT_ALLOW, 0, NULL, err);
    }
  {
    /* The kernel reads the low 32 bits of the flags, where all of these
     * are. */
    struct scmp_arg_cmp c = SCMP_A0 (SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0);
    if (add_rule (ctx, "clone", SCMP_ACT_ALLOW, 1, &c, err) < 0)
      return -1;
  }
  /* clone3 passes its flags in memory, out of seccomp's sight: ENOSYS
   * makes glibc fall back to clone, whose flags the rule above sees. */
  return add_rule (ctx, "clone3", SCMP_ACT_ERRNO (ENOSYS), 0, NULL, err);
}

/* ---- Docker-format JSON profiles ------------------------------------- */

static int
parse_action (const char *s, int64_t errno_ret, uint32_t *out)
{
  static const struct
  {
    const char *name;
    uint32_t action;
  } actions[] = {
    { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
    { "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD },
    { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
    { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
    { "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
    { "SCMP_ACT_LOG", SCMP_ACT_LOG },
  };

  if (s == NULL)
    return -1;
  if (strcmp (s, "SCMP_ACT_ERRNO") == 0)
    {
      *out = SCMP_ACT_ERRNO ((uint16_t)errno_ret);
      return 0;
    }
  if (strcmp (s, "SCMP_ACT_TRACE") == 0)
    {
      *out = SCMP_ACT_TRACE ((uint16_t)errno_ret);
      return 0;
    }
  for (size_t i = 0; i < ARRAY_SIZE (actions); i++)
    if (strcmp (s, actions[i].name) == 0)
      {
        *out = actions[i].action;
        return 0;
      }
  return -1;
}

static int
parse_op (const char *s, enum scmp_compare *out)
{
  static const struct
  {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
    { "SCMP_CMP_NE", SCMP_CMP_NE },
    { "SCMP_CMP_LT", SCMP_CMP_LT },
    { "SCMP_CMP_LE", SCMP_CMP_LE },
    { "SCMP_CMP_EQ", SCMP_CMP_EQ },
    { "SCMP_CMP_GE", SCMP_CMP_GE },
    { "SCMP_CMP_GT", SCMP_CMP_GT },
    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
  };

  for (size_t i = 0; s && i < ARRAY_SIZE (ops); i++)
    if (strcmp (s, ops[i].name) == 0)
      {
        *out = ops[i].op;
        return 0;
      }
  return -1;
}

/* Architecture names of profiles, for the two families rl runs on. */
static uint32_t
arch_token (const char *s)
{
  if (s == NULL)
    return 0;
  if (strcmp (s, "SCMP_ARCH_X86_64") == 0)
    return SCMP_ARCH_X86_64;
  if (strcmp (s, "SCMP_ARCH_X86") == 0)
    return SCMP_ARCH_X86;
  if (strcmp (s, "SCMP_ARCH_X32") == 0)
    return SCMP_ARCH_X32;
  return 0;
}

static bool
json_u64 (yajl_val v, uint64_t *out)
{
  char *end;

  if (v == NULL || !YAJL_IS_NUMBER (v) || v->u.number.r == NULL || v->u.number.r[0] == '-')
    return false;
  errno = 0;
  *out = strtoull (v->u.number.r, &end, 10);
  return errno == 0 && *end == '\0';
}

/* "includes"/"excludes": caps (all of them held), arches (the native one
 * named), minKernel (the running kernel at least this). */
static bool
condition_holds (yajl_val cond, bool include, const struct seccomp_opts *o)
{
  yajl_val caps = json_get (cond, "caps"), arches = json_get (cond, "arches");
  const char *min = json_get_str (cond, "minKernel");

  if (caps && YAJL_IS_ARRAY (caps) && caps->u.array.len > 0)
    {
      bool all = true, any = false;
      for (size_t i = 0; i < caps->u.array.len; i++)
        {
          rl_error_t e = NULL;
          uint64_t b = 0;
          const char *n = YAJL_GET_STRING (caps->u.array.values[i]);
          bool held = n && caps_from_name (n, &b, &e) == 0 && (o->caps & b) == b;
          rl_error_free (&e);
          all = all && held;
          any = any || held;
        }
      if (include ? !all : any)
        return false;
    }
  if (arches && YAJL_IS_ARRAY (arches) && arches->u.array.len > 0)
    {
      bool named = false;
      for (size_t i = 0; i < arches->u.array.len; i++)
        {
          const char *a = YAJL_GET_STRING (arches->u.array.values[i]);
          named = named || (a && (strcmp (a, "amd64") == 0 || strcmp (a, "x86_64") == 0));
        }
      if (include ? !named : named)
        return false;
    }
  if (min && *min)
    {
      struct utsname u;
      unsigned kmaj = 0, kmin = 0, rmaj = 0, rmin = 0;
      bool newer;
      if (uname (&u) < 0 || sscanf (u.release, "%u.%u", &kmaj, &kmin) < 1
          || sscanf (min, "%u.%u", &rmaj, &rmin) < 1)
        return false;
      newer = kmaj > rmaj || (kmaj == rmaj && kmin >= rmin);
      if (include ? !newer : newer)
        return false;
    }
  return true;
}

static int
add_json_rule (scmp_filter_ctx ctx, const struct seccomp_opts *o, yajl_val rule, size_t idx,
               rl_error_t *err)
{
  yajl_val names = json_get (rule, "names"), args = json_get (rule, "args");
  const char *one = json_get_str (rule, "name");
  yajl_val inc = json_get (rule, "includes"), exc = json_get (rule, "excludes");
  struct scmp_arg_cmp cmp[6];
  unsigned n_cmp = 0;
  bool repeated = false;
  uint32_t action;
  cleanup_strv char **list = NULL;

  if (!YAJL_IS_OBJECT (rule))
    return rl_error (err, 0, "syscalls[%zu]: not an object", idx);
  /* A rule without errnoRet fails with EPERM, as in runc: defaultErrnoRet
   * is the default action's alone. */
  if (parse_action (json_get_str (rule, "action"), json_get_int (rule, "errnoRet", EPERM), &action)
      < 0)
    return rl_error (err, 0, "syscalls[%zu]: unknown action `%s`", idx,
                     json_get_str (rule, "action") ? json_get_str (rule, "action") : "");
  if ((inc && !condition_holds (inc, true, o)) || (exc && !condition_holds (exc, false, o)))
    return 0;
  if (names && YAJL_IS_ARRAY (names))
    for (size_t i = 0; i < names->u.array.len; i++)
      {
        const char *n = YAJL_GET_STRING (names->u.array.values[i]);
        if (n == NULL)
          return rl_error (err, 0, "syscalls[%zu]: `names` must hold strings", idx);
        strv_add (&list, n);
      }
  if (one)
    strv_add (&list, one);
  if (list == NULL)
    return rl_error (err, 0, "syscalls[%zu]: no `names`", idx);
  if (args && !YAJL_IS_NULL (args))
    {
      if (!YAJL_IS_ARRAY (args) || args->u.array.len > 6)
        return rl_error (err, 0, "syscalls[%zu]: `args` must be an array of at most 6", idx);
      for (size_t i = 0; i < args->u.array.len; i++)
        {
          yajl_val a = args->u.array.values[i];
          uint64_t index, value = 0, two = 0;
          enum scmp_compare op;

          if (!json_u64 (json_get (a, "index"), &index) || index > 5
              || !json_u64 (json_get (a, "value"), &value)
              || (json_get (a, "valueTwo") && !json_u64 (json_get (a, "valueTwo"), &two)))
            return rl_error (err, 0, "syscalls[%zu].args[%zu]: bad index, value or valueTwo", idx,
                             i);
          if (parse_op (json_get_str (a, "op"), &op) < 0)
            return rl_error (err, 0, "syscalls[%zu].args[%zu]: unknown op `%s`", idx, i,
                             json_get_str (a, "op") ? json_get_str (a, "op") : "");
          for (unsigned j = 0; j < n_cmp; j++)
            repeated = repeated || cmp[j].arg == index;
          cmp[n_cmp++]
              = (struct scmp_arg_cmp){ .arg = index, .op = op, .datum_a = value, .datum_b = two };
        }
    }
  for (size_t i = 0; list[i]; i++)
    {
      if (is_emulated (o, list[i]))
        continue;
      /* As runc does: comparisons on one argument given twice are
       * alternatives (one rule each), otherwise they all must hold. */
      if (repeated)
        {
          for (unsigned j = 0; j < n_cmp; j++)
            if (add_rule (ctx, list[i], action, 1, &cmp[j], err) < 0)
              return rl_error_wrap (err, "syscalls[%zu]", idx);
        }
      else if (add_rule (ctx, list[i], action, n_cmp, cmp, err) < 0)
        return rl_error_wrap (err, "syscalls[%zu]", idx);
    }
  return 0;
}

/* The largest number of a syscall the profile names, on arch. */
static uint32_t
json_max_nr (yajl_val syscalls, uint32_t arch)
{
  uint32_t max = 0;

  for (size_t i = 0; syscalls && i < syscalls->u.array.len; i++)
    {
      yajl_val names = json_get (syscalls->u.array.values[i], "names");
      for (size_t j = 0; names && YAJL_IS_ARRAY (names) && j < names->u.array.len; j++)
        {
          const char *n = YAJL_GET_STRING (names->u.array.values[j]);
          int nr = n ? seccomp_syscall_resolve_name_arch (arch, n) : -1;
          if (nr >= 0 && (uint32_t)nr > max)
            max = nr;
        }
    }
  return max;
}

struct prologue
{
  bool i386;              /* an i386 block too (x86-64 has one always) */
  uint32_t max64, max32;  /* above: ENOSYS (0: no such rule) */
  bool tiocsti;           /* TIOCSTI and TIOCLINUX fail with EPERM */
  bool sys_admin_numbers; /* open_tree_attr allowed too */
  bool numbers;           /* allowed_numbers are allowed */
};

static int
json_rules (scmp_filter_ctx *ctx, const struct seccomp_opts *o, const char *text,
            struct prologue *pro, rl_error_t *err)
{
  cleanup_json yajl_val doc = NULL;
  yajl_val arches, syscalls, archmap;
  int64_t def_errno;
  uint32_t def_action;
  int r;

  if (json_parse (text, "seccomp profile", &doc, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (doc))
    return rl_error (err, 0, "not a JSON object");
  def_errno = json_get_int (doc, "defaultErrnoRet", EPERM);
  if (parse_action (json_get_str (doc, "defaultAction"), def_errno, &def_action) < 0)
    return rl_error (err, 0, "unknown defaultAction `%s`",
                     json_get_str (doc, "defaultAction") ? json_get_str (doc, "defaultAction")
                                                         : "");
  *ctx = seccomp_init (def_action);
  if (*ctx == NULL)
    return rl_error (err, ENOMEM, "seccomp init");
  /* "architectures", or the subArchitectures of x86-64's "archMap" entry. */
  arches = json_get (doc, "architectures");
  archmap = json_get (doc, "archMap");
  for (size_t i = 0; archmap && YAJL_IS_ARRAY (archmap) && i < archmap->u.array.len; i++)
    if (arch_token (json_get_str (archmap->u.array.values[i], "architecture")) == SCMP_ARCH_X86_64)
      arches = json_get (archmap->u.array.values[i], "subArchitectures");
  for (size_t i = 0; arches && YAJL_IS_ARRAY (arches) && i < arches->u.array.len; i++)
    {
      uint32_t a = arch_token (YAJL_GET_STRING (arches->u.array.values[i]));
      if (a == 0 || a == SCMP_ARCH_X86_64)
        continue;
      r = seccomp_arch_add (*ctx, a);
      if (r < 0 && r != -EEXIST)
        return rl_error (err, -r, "add architecture `%s`",
                         YAJL_GET_STRING (arches->u.array.values[i]));
      if (a == SCMP_ARCH_X86)
        pro->i386 = true;
    }
  syscalls = json_get (doc, "syscalls");
  if (syscalls && !YAJL_IS_NULL (syscalls) && !YAJL_IS_ARRAY (syscalls))
    return rl_error (err, 0, "`syscalls` is not an array");
  for (size_t i = 0; syscalls && YAJL_IS_ARRAY (syscalls) && i < syscalls->u.array.len; i++)
    if (add_json_rule (*ctx, o, syscalls->u.array.values[i], i, err) < 0)
      return -1;
  /* A deny-by-default profile denies calls it has never heard of with
   * ENOSYS (what an older kernel says), so that libc falls back. */
  if (def_action != SCMP_ACT_ALLOW && def_action != SCMP_ACT_LOG && syscalls
      && YAJL_IS_ARRAY (syscalls))
    {
      pro->max64 = json_max_nr (syscalls, SCMP_ARCH_X86_64);
      pro->max32 = pro->i386 ? json_max_nr (syscalls, SCMP_ARCH_X86) : 0;
    }
  return 0;
}

/* ---- the prologue ----------------------------------------------------- */

enum label
{
  L_NEXT = 0, /* the next instruction */
  L_ENOSYS,
  L_EPERM,
  L_ALLOW,
  L_IOCTL,
  L_END, /* libseccomp's program */
  L_ARCH_I386,
  L_COUNT,
};

struct asm_insn
{
  struct sock_filter f;
  enum label jt, jf, ja;
};

struct bpf_asm
{
  struct asm_insn insn[128];
  size_t n;
  size_t at[L_COUNT];
};

static void
emit (struct bpf_asm *a, uint16_t code, uint32_t k, enum label jt, enum label jf)
{
  a->insn[a->n++] = (struct asm_insn){ .f = BPF_STMT (code, k), .jt = jt, .jf = jf };
}

static void
emit_ja (struct bpf_asm *a, enum label to)
{
  a->insn[a->n++] = (struct asm_insn){ .f = BPF_STMT (BPF_JMP | BPF_JA, 0), .ja = to };
}

static void
arch_block (struct bpf_asm *a, const struct prologue *p, bool x86_64)
{
  uint32_t max = x86_64 ? p->max64 : p->max32;

  emit (a, BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr), L_NEXT, L_NEXT);
  if (x86_64)
    emit (a, BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, L_END, L_NEXT);
  if (p->tiocsti)
    emit (a, BPF_JMP | BPF_JEQ | BPF_K, x86_64 ? NR_IOCTL_X86_64 : NR_IOCTL_I386, L_IOCTL, L_NEXT);
  if (max)
    emit (a, BPF_JMP | BPF_JGT | BPF_K, max, L_ENOSYS, L_NEXT);
  /* The kernel runs the filter once per syscall number when it attaches
   * it (to learn which are always allowed): the common numbers skip the
   * list below in one jump. */
  if (p->numbers || p->sys_admin_numbers)
    emit (a, BPF_JMP | BPF_JGE | BPF_K, allowed_numbers[0], L_NEXT, L_END);
  for (size_t i = 0; p->numbers && i < ARRAY_SIZE (allowed_numbers); i++)
    emit (a, BPF_JMP | BPF_JEQ | BPF_K, allowed_numbers[i], L_ALLOW, L_NEXT);
  for (size_t i = 0; p->sys_admin_numbers && i < ARRAY_SIZE (sys_admin_numbers); i++)
    emit (a, BPF_JMP | BPF_JEQ | BPF_K, sys_admin_numbers[i], L_ALLOW, L_NEXT);
  emit_ja (a, L_END);
}

/* The prologue as BPF in front of libseccomp's n instructions. */
static int
prepend_prologue (const struct prologue *p, struct seccomp_prog *prog, rl_error_t *err)
{
  struct bpf_asm a = { .n = 0 };
  struct sock_filter *out;

  if (!p->tiocsti && !p->max64 && !p->max32 && !p->numbers)
    return 0;
  emit (&a, BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch), L_NEXT, L_NEXT);
  emit (&a, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, L_NEXT, L_ARCH_I386);
  arch_block (&a, p, true);
  a.at[L_ARCH_I386] = a.n;
  if (p->i386)
    {
      emit (&a, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, L_NEXT, L_END);
      arch_block (&a, p, false);
    }
  else
    emit_ja (&a, L_END);
  a.at[L_IOCTL] = a.n;
  /* The command is an unsigned int: compare the low word only, or a
   * command with high bits set would pass the filter and still be
   * TIOCSTI to the kernel. */
  emit (&a, BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, args[1]), L_NEXT, L_NEXT);
  emit (&a, BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, L_EPERM, L_NEXT);
  emit (&a, BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, L_EPERM, L_NEXT);
  emit_ja (&a, L_END);
  a.at[L_ENOSYS] = a.n;
  emit (&a, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS, L_NEXT, L_NEXT);
  a.at[L_EPERM] = a.n;
  emit (&a, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM, L_NEXT, L_NEXT);
  a.at[L_ALLOW] = a.n;
  emit (&a, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, L_NEXT, L_NEXT);
  a.at[L_END] = a.n;

  if (a.n + prog->n_insns > BPF_MAX_INSNS)
    return rl_error (err, 0, "seccomp filter too large (%zu instructions)", a.n + prog->n_insns);
  out = xmalloc ((a.n + prog->n_insns) * sizeof *out);
  for (size_t i = 0; i < a.n; i++)
    {
      struct asm_insn *in = &a.insn[i];
      out[i] = in->f;
      /* Jumps are relative to the next instruction. */
      if (BPF_CLASS (in->f.code) == BPF_JMP && BPF_OP (in->f.code) == BPF_JA)
        out[i].k = a.at[in->ja] - (i + 1);
      else if (BPF_CLASS (in->f.code) == BPF_JMP)
        {
          out[i].jt = in->jt == L_NEXT ? 0 : a.at[in->jt] - (i + 1);
          out[i].jf = in->jf == L_NEXT ? 0 : a.at[in->jf] - (i + 1);
        }
    }
  memcpy (out + a.n, prog->insns, prog->n_insns * sizeof *out);
  free (prog->insns);
  prog->insns = out;
  prog->n_insns += a.n;
  return 0;
}

/* libseccomp's program, exported through a memory file. */
static int
export_bpf (scmp_filter_ctx ctx, struct seccomp_prog *out, rl_error_t *err)
{
  cleanup_close int fd = memfd_create ("rl-seccomp", MFD_CLOEXEC);
  struct stat sb;
  int r;

  if (fd < 0)
    return rl_error (err, errno, "memfd_create");
  r = seccomp_export_bpf (ctx, fd);
  if (r < 0)
    return rl_error (err, -r, "export the seccomp filter");
  if (fstat (fd, &sb) < 0)
    return rl_error (err, errno, "stat the seccomp filter");
  if (sb.st_size == 0 || sb.st_size % sizeof (struct sock_filter) != 0)
    return rl_error (err, 0, "libseccomp exported a filter of %lld bytes", (long long)sb.st_size);
  out->insns = xmalloc (sb.st_size);
  if (pread (fd, out->insns, sb.st_size, 0) != sb.st_size)
    {
      seccomp_prog_clear (out);
      return rl_error (err, errno, "read the seccomp filter");
    }
  out->n_insns = sb.st_size / sizeof (struct sock_filter);
  return 0;
}

/* ---- the default profile as compact BPF --------------------------------
 *
 * libseccomp's program for the default profile is about 900 instructions
 * for the two architectures; the kernel JIT-compiles it and runs it once
 * per syscall number when the filter is attached, which cost about 0.25 ms
 * of every start.  The allow-list is mostly runs of consecutive numbers:
 * here each architecture gets a binary search over those runs (about 8
 * comparisons per call) that returns the verdict, and three small blocks
 * for the calls with argument rules.  The unit tests run both programs
 * over every number and the interesting arguments and compare verdicts
 * (seccomp_compile_reference keeps libseccomp's for that). */

enum verdict_kind
{
  V_RET,         /* return ret */
  V_IOCTL,       /* allowed but for TIOCSTI and TIOCLINUX */
  V_PERSONALITY, /* allowed for safe_personalities */
  V_CLONE,       /* allowed without namespace flags */
};

struct verdict
{
  enum verdict_kind kind;
  uint32_t ret;
};

#define RET_EPERM  (SECCOMP_RET_ERRNO | EPERM)
#define RET_ENOSYS (SECCOMP_RET_ERRNO | ENOSYS)

uint32_t
seccomp_prog_eval (const struct seccomp_prog *p, const struct seccomp_data *d)
{
  const struct sock_filter *f = p->insns;
  size_t n = p->n_insns;
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };

  for (size_t pc = 0; pc < n; pc++)
    {
      const struct sock_filter *i = &f[pc];
      uint32_t src = BPF_SRC (i->code) == BPF_X ? x : i->k;
      bool t;

      switch (i->code)
        {
        case BPF_LD | BPF_W | BPF_ABS:
          if (i->k % 4 != 0 || i->k + 4 > sizeof *d)
            return SECCOMP_EVAL_BAD;
          memcpy (&a, (const char *)d + i->k, 4);
          continue;
        case BPF_LD | BPF_MEM:
        case BPF_LDX | BPF_MEM:
        case BPF_ST:
        case BPF_STX:
          if (i->k >= BPF_MEMWORDS)
            return SECCOMP_EVAL_BAD;
          if (i->code == (BPF_LD | BPF_MEM))
            a = mem[i->k];
          else if (i->code == (BPF_LDX | BPF_MEM))
            x = mem[i->k];
          else
            mem[i->k] = i->code == BPF_ST ? a : x;
          continue;
        case BPF_LD | BPF_IMM:
          a = i->k;
          continue;
        case BPF_LDX | BPF_IMM:
          x = i->k;
          continue;
        case BPF_ALU | BPF_AND | BPF_K:
        case BPF_ALU | BPF_AND | BPF_X:
          a &= src;
          continue;
        case BPF_MISC | BPF_TAX:
          x = a;
          continue;
        case BPF_MISC | BPF_TXA:
          a = x;
          continue;
        case BPF_JMP | BPF_JA:
          pc += i->k;
          continue;
        case BPF_RET | BPF_K:
          return i->k;
        case BPF_RET | BPF_A:
          return a;
        }
      switch (i->code & ~BPF_X)
        {
        case BPF_JMP | BPF_JEQ:
          t = a == src;
          break;
        case BPF_JMP | BPF_JGT:
          t = a > src;
          break;
        case BPF_JMP | BPF_JGE:
          t = a >= src;
          break;
        case BPF_JMP | BPF_JSET:
          t = (a & src) != 0;
          break;
        default:
          return SECCOMP_EVAL_BAD;
        }
      pc += t ? i->jt : i->jf;
    }
  return SECCOMP_EVAL_BAD;
}

static int
special_nr (uint32_t arch, const char *name)
{
  int nr = seccomp_syscall_resolve_name_arch (arch, name);
  return nr >= 0 && nr <= TABLE_MAX_NR ? nr : -1;
}

/* What the default profile says of every number of arch: the verdicts of
 * libseccomp's program for its rules (ref, prologue included; with the
 * arguments zero), so that what libseccomp knows of each architecture
 * (i386's socket calls, say) holds here too; and the three calls whose
 * arguments the rules look at, marked for their blocks. */
static int
default_verdicts (const struct seccomp_opts *o, const struct seccomp_prog *ref, uint32_t arch,
                  struct verdict *tab, rl_error_t *err)
{
  uint32_t audit = arch == SCMP_ARCH_X86_64 ? AUDIT_ARCH_X86_64 : AUDIT_ARCH_I386;
  int nr;

  for (uint32_t i = 0; i <= TABLE_MAX_NR; i++)
    {
      struct seccomp_data d = { .nr = (int)i, .arch = audit };
      uint32_t r = seccomp_prog_eval (ref, &d);
      if (r == SECCOMP_EVAL_BAD)
        return rl_error (err, 0, "libseccomp's program has an instruction rl does not know");
      tab[i] = (struct verdict){ V_RET, r };
    }
  if ((nr = special_nr (arch, "ioctl")) >= 0)
    tab[nr].kind = V_IOCTL;
  if ((nr = special_nr (arch, "personality")) >= 0)
    tab[nr].kind = V_PERSONALITY;
  if (!(o->caps & CAP_BIT (CAP_SYS_ADMIN)) && (nr = special_nr (arch, "clone")) >= 0)
    tab[nr].kind = V_CLONE;
  return 0;
}

struct bpf_buf
{
  struct sock_filter *f;
  size_t n, cap;
};

static size_t
put (struct bpf_buf *b, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
  if (b->n == b->cap)
    {
      b->cap = b->cap ? 2 * b->cap : 256;
      b->f = xrealloc (b->f, b->cap * sizeof *b->f);
    }
  b->f[b->n] = (struct sock_filter){ code, jt, jf, k };
  return b->n++;
}

/* Runs of numbers with one verdict. */
struct run
{
  uint32_t first;
  struct verdict v;
};

/* A jump to a block placed later: patched once it is. */
struct fixup
{
  size_t at;
  enum verdict_kind kind;
};

static bool
same_verdict (struct verdict a, struct verdict b)
{
  return a.kind == b.kind && (a.kind != V_RET || a.ret == b.ret);
}

/* Instructions of the search over runs[lo..hi). */
static size_t
tree_size (size_t lo, size_t hi)
{
  size_t mid, left;

  if (hi - lo == 1)
    return 1;
  mid = lo + (hi - lo) / 2;
  left = tree_size (lo, mid);
  return (left > 255 ? 2 : 1) + left + tree_size (mid, hi);
}

/* The binary search over runs[lo..hi): each node compares with the first
 * number of its right half and jumps over the left one (through a JA
 * when that is too far for the 8-bit offset).  Leaves return the verdict
 * or jump to the argument blocks, patched later (fx). */
static void
emit_tree (struct bpf_buf *b, const struct run *runs, size_t lo, size_t hi, struct fixup *fx,
           size_t *n_fx)
{
  size_t mid, left;

  if (hi - lo == 1)
    {
      if (runs[lo].v.kind == V_RET)
        put (b, BPF_RET | BPF_K, runs[lo].v.ret, 0, 0);
      else
        fx[(*n_fx)++] = (struct fixup){ put (b, BPF_JMP | BPF_JA, 0, 0, 0), runs[lo].v.kind };
      return;
    }
  mid = lo + (hi - lo) / 2;
  left = tree_size (lo, mid);
  if (left <= 255)
    put (b, BPF_JMP | BPF_JGE | BPF_K, runs[mid].first, (uint8_t)left, 0);
  else
    {
      put (b, BPF_JMP | BPF_JGE | BPF_K, runs[mid].first, 0, 1);
      put (b, BPF_JMP | BPF_JA, (uint32_t)left, 0, 0);
    }
  emit_tree (b, runs, lo, mid, fx, n_fx);
  emit_tree (b, runs, mid, hi, fx, n_fx);
}

/* One architecture: nr above the table ENOSYS, x32 numbers EPERM, then the
 * search; the argument blocks follow.  i386 arguments are 32 bits: only
 * their low word is compared, as libseccomp does. */
static int
emit_arch (struct bpf_buf *b, const struct seccomp_opts *o, const struct seccomp_prog *ref,
           uint32_t arch, rl_error_t *err)
{
  struct verdict tab[TABLE_MAX_NR + 1];
  struct run runs[TABLE_MAX_NR + 1];
  struct fixup fx[TABLE_MAX_NR + 1];
  size_t n_runs = 0, n_fx = 0;
  bool is64 = arch == SCMP_ARCH_X86_64;
  const uint32_t a0 = offsetof (struct seccomp_data, args[0]);
  const uint32_t a1 = offsetof (struct seccomp_data, args[1]);

  if (default_verdicts (o, ref, arch, tab, err) < 0)
    return -1;
  for (uint32_t nr = 0; nr <= TABLE_MAX_NR; nr++)
    if (n_runs == 0 || !same_verdict (runs[n_runs - 1].v, tab[nr]))
      runs[n_runs++] = (struct run){ nr, tab[nr] };

  put (b, BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr), 0, 0);
  if (is64)
    {
      put (b, BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1);
      put (b, BPF_RET | BPF_K, RET_EPERM, 0, 0);
    }
  put (b, BPF_JMP | BPF_JGT | BPF_K, TABLE_MAX_NR, 0, 1);
  put (b, BPF_RET | BPF_K, RET_ENOSYS, 0, 0);
  emit_tree (b, runs, 0, n_runs, fx, &n_fx);

  for (int kind = V_IOCTL; kind <= V_CLONE; kind++)
    {
      size_t start = b->n;
      bool used = false;

      for (size_t i = 0; i < n_fx; i++)
        if (fx[i].kind == (enum verdict_kind)kind)
          {
            b->f[fx[i].at].k = start - (fx[i].at + 1);
            used = true;
          }
      if (!used)
        continue;
      switch (kind)
        {
        case V_IOCTL:
          /* The command is an unsigned int: the low word is what the
           * kernel reads. */
          put (b, BPF_LD | BPF_W | BPF_ABS, a1, 0, 0);
          put (b, BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 1, 0);
          put (b, BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 0, 1);
          put (b, BPF_RET | BPF_K, RET_EPERM, 0, 0);
          put (b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
          break;
        case V_PERSONALITY:
          {
            size_t n = ARRAY_SIZE (safe_personalities);
            if (is64)
              {
                put (b, BPF_LD | BPF_W | BPF_ABS, a0 + 4, 0, 0);
                put (b, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (uint8_t)(n + 1));
              }
            put (b, BPF_LD | BPF_W | BPF_ABS, a0, 0, 0);
            /* Each match jumps to the ALLOW after the EPERM. */
            for (size_t i = 0; i < n; i++)
              put (b, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)safe_personalities[i], (uint8_t)(n - i),
                   0);
            put (b, BPF_RET | BPF_K, RET_EPERM, 0, 0);
            put (b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
          }
          break;
        case V_CLONE:
          /* CLONE_NS_FLAGS are all in the low word. */
          put (b, BPF_LD | BPF_W | BPF_ABS, a0, 0, 0);
          put (b, BPF_JMP | BPF_JSET | BPF_K, CLONE_NS_FLAGS, 0, 1);
          put (b, BPF_RET | BPF_K, RET_EPERM, 0, 0);
          put (b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
          break;
        }
    }
  return 0;
}

static int compile_libseccomp (const struct seccomp_opts *o, const char *profile_text,
                               struct seccomp_prog *out, rl_error_t *err);

static int
default_program (const struct seccomp_opts *o, struct seccomp_prog *out, rl_error_t *err)
{
  struct seccomp_prog ref = { 0 };
  struct bpf_buf b = { 0 };
  size_t to64, to32;
  int r;

  if (compile_libseccomp (o, NULL, &ref, err) < 0)
    return -1;
  put (&b, BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch), 0, 0);
  put (&b, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 1);
  to64 = put (&b, BPF_JMP | BPF_JA, 0, 0, 0);
  put (&b, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 1);
  to32 = put (&b, BPF_JMP | BPF_JA, 0, 0, 0);
  put (&b, BPF_RET | BPF_K, RET_EPERM, 0, 0);
  b.f[to64].k = b.n - (to64 + 1);
  r = emit_arch (&b, o, &ref, SCMP_ARCH_X86_64, err);
  b.f[to32].k = b.n - (to32 + 1);
  if (r == 0)
    r = emit_arch (&b, o, &ref, SCMP_ARCH_X86, err);
  seccomp_prog_clear (&ref);
  if (r == 0 && b.n > BPF_MAX_INSNS)
    r = rl_error (err, 0, "seccomp filter too large (%zu instructions)", b.n);
  if (r < 0)
    {
      free (b.f);
      return -1;
    }
  out->insns = b.f;
  out->n_insns = b.n;
  return 0;
}

static int
compile_libseccomp (const struct seccomp_opts *o, const char *profile_text,
                    struct seccomp_prog *out, rl_error_t *err)
{
  cleanup_seccomp scmp_filter_ctx ctx = NULL;
  struct prologue pro = { 0 };
  int r;

  memset (out, 0, sizeof *out);
  switch (o->profile)
    {
    case SECCOMP_PROFILE_UNCONFINED:
      if (!o->root_emulation)
        return 0;
      ctx = seccomp_init (SCMP_ACT_ALLOW);
      if (ctx == NULL)
        return rl_error (err, ENOMEM, "seccomp init");
      break;
    case SECCOMP_PROFILE_DEFAULT:
      ctx = seccomp_init (SCMP_ACT_ERRNO (EPERM));
      if (ctx == NULL)
        return rl_error (err, ENOMEM, "seccomp init");
      r = seccomp_arch_add (ctx, SCMP_ARCH_X86);
      if (r < 0 && r != -EEXIST)
        return rl_error (err, -r, "add architecture `x86`");
      pro = (struct prologue){ .i386 = true,
                               .max64 = TABLE_MAX_NR,
                               .max32 = TABLE_MAX_NR,
                               .tiocsti = true,
                               .numbers = true,
                               .sys_admin_numbers = o->caps & CAP_BIT (CAP_SYS_ADMIN) };
      if (add_default_rules (ctx, o, err) < 0)
        return rl_error_wrap (err, "default seccomp profile");
      break;
    case SECCOMP_PROFILE_FILE:
      if (json_rules (&ctx, o, profile_text, &pro, err) < 0)
        return rl_error_wrap (err, "seccomp profile `%s`", o->file);
      pro.tiocsti = true;
      break;
    }
  /* x32 calls on the x86-64 entry point, and any architecture not
   * added, fail like every call not allowed. */
  r = seccomp_attr_set (ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO (EPERM));
  if (r == 0)
    r = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (r < 0)
    return rl_error (err, -r, "seccomp attribute");
  if (o->root_emulation
      && add_names (ctx, &(struct seccomp_opts){ 0 }, root_emulation_calls,
                    ARRAY_SIZE (root_emulation_calls), SCMP_ACT_ERRNO (0), err)
             < 0)
    return rl_error_wrap (err, "root emulation");
  if (export_bpf (ctx, out, err) < 0)
    return -1;
  if (prepend_prologue (&pro, out, err) < 0)
    {
      seccomp_prog_clear (out);
      return -1;
    }
  return 0;
}

int
seccomp_compile (const struct seccomp_opts *o, const char *profile_text, struct seccomp_prog *out,
                 rl_error_t *err)
{
  if (o->profile == SECCOMP_PROFILE_DEFAULT)
    {
      memset (out, 0, sizeof *out);
      return default_program (o, out, err);
    }
  return compile_libseccomp (o, profile_text, out, err);
}

int
seccomp_compile_reference (const struct seccomp_opts *o, const char *profile_text,
                           struct seccomp_prog *out, rl_error_t *err)
{
  return compile_libseccomp (o, profile_text, out, err);
}

/* ---- the cache --------------------------------------------------------- */

static uint64_t
fnv1a (uint64_t h, const void *data, size_t len)
{
  const unsigned char *p = data;

  for (size_t i = 0; i < len; i++)
    {
      h ^= p[i];
      h *= UINT64_C (0x100000001b3);
    }
  return h;
}

static uint64_t
fnv1a_str (uint64_t h, const char *s)
{
  return fnv1a (h, s, strlen (s) + 1);
}

/* rl's own part of a filter's cache name: its tables of calls, numbers
 * and personalities.  The GNU build id of rl's binary, when the linker
 * wrote one, stands for them (it changes with any change of the code);
 * without one the tables are hashed.  Once per process, two seeds. */
struct build_note
{
  const void *id;
  size_t len;
};

static int
find_build_id (struct dl_phdr_info *info, size_t size, void *arg)
{
  struct build_note *b = arg;

  (void)size;
  /* The first object is the program itself. */
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      const char *p, *end;
      if (ph->p_type != PT_NOTE)
        continue;
      p = (const char *)(info->dlpi_addr + ph->p_vaddr);
      end = p + ph->p_memsz;
      while (p + sizeof (ElfW (Nhdr)) <= end)
        {
          const ElfW (Nhdr) *n = (const ElfW (Nhdr) *)p;
          const char *name = p + sizeof *n;
          const char *desc = name + ((n->n_namesz + 3) & ~3U);
          if (desc + n->n_descsz > end)
            break;
          if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp (name, "GNU", 4) == 0)
            {
              b->id = desc;
              b->len = n->n_descsz;
              return 1;
            }
          p = desc + ((n->n_descsz + 3) & ~3U);
        }
    }
  return 1;
}

static void
rl_tables_hash (uint64_t h[2])
{
  static uint64_t cached[2];
  static bool done;

  if (!done)
    {
      struct build_note b = { NULL, 0 };
      dl_iterate_phdr (find_build_id, &b);
      for (int k = 0; k < 2; k++)
        {
          uint64_t x = k ? UINT64_C (0x84222325cbf29ce4) : UINT64_C (0xcbf29ce484222325);
          if (b.id && b.len > 0)
            {
              cached[k] = fnv1a (x, b.id, b.len);
              continue;
            }
          for (size_t i = 0; i < ARRAY_SIZE (allowed_calls); i++)
            x = fnv1a_str (x, allowed_calls[i]);
          for (size_t i = 0; i < ARRAY_SIZE (sys_admin_calls); i++)
            x = fnv1a_str (x, sys_admin_calls[i]);
          for (size_t i = 0; i < ARRAY_SIZE (ptrace_calls); i++)
            x = fnv1a_str (x, ptrace_calls[i]);
          x = fnv1a (x, allowed_numbers, sizeof allowed_numbers);
          x = fnv1a (x, sys_admin_numbers, sizeof sys_admin_numbers);
          cached[k] = fnv1a (x, safe_personalities, sizeof safe_personalities);
        }
      done = true;
    }
  h[0] = cached[0];
  h[1] = cached[1];
}

/* Everything the compiled filter depends on: rl's tables (rl_tables_hash),
 * libseccomp's version, the mode, the capabilities, whether ptrace is safe,
 * and the profile's text with the kernel's release (for its minKernel
 * conditions).  Two seeds give 128 bits. */
static char *
cache_name (const struct seccomp_opts *o, const char *text)
{
  const struct scmp_version *v = seccomp_version ();
  struct utsname u = { 0 };
  uint64_t h[2];
  uint64_t bits
      = (uint64_t)o->profile | (uint64_t)o->root_emulation << 8 | (uint64_t)ptrace_is_safe () << 9;

  if (text && uname (&u) < 0)
    u.release[0] = '\0';
  rl_tables_hash (h);
  for (int k = 0; k < 2; k++)
    {
      h[k] = fnv1a_str (h[k], "rl-seccomp-2 x86_64");
      h[k] = fnv1a (h[k], v, sizeof *v);
      /* A profile's minKernel conditions depend on it. */
      if (text)
        h[k] = fnv1a_str (h[k], u.release);
      h[k] = fnv1a (h[k], &bits, sizeof bits);
      h[k] = fnv1a (h[k], &o->caps, sizeof o->caps);
      if (text)
        h[k] = fnv1a_str (h[k], text);
    }
  return xasprintf ("%016llx%016llx.bpf", (unsigned long long)h[0], (unsigned long long)h[1]);
}

/* ${XDG_CACHE_HOME:-~/.cache}/rl/seccomp, or NULL: then no cache. */
static char *
cache_dir (void)
{
  const char *x = getenv ("XDG_CACHE_HOME"), *home = getenv ("HOME");

  if (x && x[0] == '/')
    return xasprintf ("%s/rl/seccomp", x);
  if (home && home[0] == '/')
    return xasprintf ("%s/.cache/rl/seccomp", home);
  return NULL;
}

static bool
cache_read (const char *dir, const char *name, struct seccomp_prog *out)
{
  cleanup_free char *path = xasprintf ("%s/%s", dir, name);
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat sb;

  if (fd < 0 || fstat (fd, &sb) < 0 || !S_ISREG (sb.st_mode) || sb.st_size == 0
      || sb.st_size % sizeof (struct sock_filter) != 0
      || sb.st_size > BPF_MAX_INSNS * (off_t)sizeof (struct sock_filter))
    return false;
  out->insns = xmalloc (sb.st_size);
  if (read_all (fd, out->insns, sb.st_size) != sb.st_size)
    {
      seccomp_prog_clear (out);
      return false;
    }
  out->n_insns = sb.st_size / sizeof (struct sock_filter);
  return true;
}

int
seccomp_prepare (const struct seccomp_opts *o, struct seccomp_prog *out, rl_error_t *err)
{
  cleanup_free char *text = NULL, *dir = NULL, *name = NULL;
  cleanup_close int dfd = -1;
  rl_error_t e = NULL;

  memset (out, 0, sizeof *out);
  if (o->profile == SECCOMP_PROFILE_UNCONFINED && !o->root_emulation)
    return 0;
  if (o->profile == SECCOMP_PROFILE_FILE
      && read_file_at (AT_FDCWD, o->file, JSON_MAX_SIZE, &text, NULL, err) < 0)
    return rl_error_wrap (err, "seccomp profile");
  dir = cache_dir ();
  name = cache_name (o, text);
  if (dir && cache_read (dir, name, out))
    return 0;
  if (seccomp_compile (o, text, out, err) < 0)
    return -1;
  /* The cache only saves time: failing to write it is no error. */
  if (dir && mkdir_p_at (AT_FDCWD, dir, 0700, &e) == 0
      && (dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
    write_file_atomic (dfd, name, out->insns, out->n_insns * sizeof (struct sock_filter), 0600, &e);
  rl_error_free (&e);
  return 0;
}

int
seccomp_load_prog (const struct seccomp_prog *p, rl_error_t *err)
{
  struct sock_fprog prog = { .len = p->n_insns, .filter = p->insns };

  if (p->n_insns == 0)
    return 0;
  if (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
    return rl_error (err, errno, "load seccomp filter");
  return 0;
}
