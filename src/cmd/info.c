/* rl info (rl system info) and rl system check: what rl will use on this
 * machine and why, and what is missing with what to do about it.  Every
 * probe is cheap and read-only, except the overlay probe, which mounts in a
 * throwaway user and mount namespace. */
#include "config.h"
#include "cmd/cmd.h"
#include "runtime/idmap.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/opts.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

struct machine
{
  struct idmap map;
  char *driver, *driver_why;
  char *root, *root_fs;
  bool root_network;
  char *runroot;
  bool runroot_xdg;
  char *cgroup, *cgroup_why;
  bool seccomp;
  bool caps; /* the kernel answers capability bounding-set queries */
  char *kernel;
  /* Why unprivileged user namespaces are off, or NULL. */
  char *userns_off;
};

static void
machine_clear (struct machine *m)
{
  idmap_clear (&m->map);
  free (m->driver);
  free (m->driver_why);
  free (m->root);
  free (m->root_fs);
  free (m->runroot);
  free (m->cgroup);
  free (m->cgroup_why);
  free (m->kernel);
  free (m->userns_off);
}

#define cleanup_machine __attribute__ ((cleanup (machine_clear)))

static const char *
fs_name (long type)
{
  static const struct
  {
    unsigned long magic;
    const char *name;
  } names[] = {
    { 0xEF53, "ext4" },      { 0x58465342, "xfs" },     { 0x9123683E, "btrfs" },
    { 0x01021994, "tmpfs" }, { 0x794c7630, "overlay" }, { 0x2fc12fc1, "zfs" },
    { 0x6969, "nfs" },       { 0x0BD00BD0, "lustre" },  { 0x47504653, "gpfs" },
    { 0x65735546, "fuse" },  { 0xFF534D42, "cifs" },    { 0x00C36400, "ceph" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (names); i++)
    if ((unsigned long)type == names[i].magic)
      return names[i].name;
  return NULL;
}

/* The nearest existing ancestor: the store may not exist yet, and the
 * filesystem it will be on is the one that counts. */
static int
open_existing_ancestor (const char *path)
{
  cleanup_free char *p = xstrdup (path);
  for (;;)
    {
      int fd = open (p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      char *slash;
      if (fd >= 0)
        return fd;
      slash = strrchr (p, '/');
      if (slash == NULL || slash == p)
        return open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      *slash = '\0';
    }
}

static int
read_sysctl (const char *path)
{
  cleanup_free char *text = NULL;
  rl_error_t err = NULL;
  size_t len;

  if (read_file_at (AT_FDCWD, path, 64, &text, &len, &err) < 0)
    {
      rl_error_free (&err);
      return -1;
    }
  return atoi (text);
}

static char *
userns_disabled (void)
{
  if (read_sysctl ("/proc/sys/kernel/unprivileged_userns_clone") == 0)
    return xstrdup ("sysctl kernel.unprivileged_userns_clone is 0");
  if (read_sysctl ("/proc/sys/user/max_user_namespaces") == 0)
    return xstrdup ("sysctl user.max_user_namespaces is 0");
  if (read_sysctl ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
    return xstrdup ("AppArmor restricts unprivileged user namespaces "
                    "(kernel.apparmor_restrict_unprivileged_userns is 1)");
  return NULL;
}

/* Inside the throwaway namespaces: a tmpfs for scratch, then overlay on it. */
static int
try_overlay (void *arg, rl_error_t *err)
{
  const char *dir = arg;
  cleanup_free char *lower = xasprintf ("%s/l", dir), *upper = xasprintf ("%s/u", dir);
  cleanup_free char *work = xasprintf ("%s/w", dir), *merged = xasprintf ("%s/m", dir);
  cleanup_free char *data = NULL;

  if (mount ("tmpfs", dir, "tmpfs", 0, "size=64k") < 0)
    return rl_error (err, errno, "mount tmpfs");
  if (mkdir (lower, 0755) < 0 || mkdir (upper, 0755) < 0 || mkdir (work, 0755) < 0
      || mkdir (merged, 0755) < 0)
    return rl_error (err, errno, "mkdir in `%s`", dir);
  data = xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
  if (mount ("overlay", merged, "overlay", 0, data) < 0)
    return rl_error (err, errno, "mount overlay");
  return 0;
}

static bool
fuse_usable (char **why)
{
  cleanup_free char *path = NULL;
  cleanup_close int fd = open ("/dev/fuse", O_RDWR | O_CLOEXEC);
  const char *envpath = getenv ("PATH");
  cleanup_free char *copy = xstrdup (envpath ? envpath : "/usr/bin:/bin");
  char *save = NULL;

  if (fd < 0)
    {
      *why = xasprintf ("/dev/fuse: %s", strerror (errno));
      return false;
    }
  for (char *d = strtok_r (copy, ":", &save); d; d = strtok_r (NULL, ":", &save))
    {
      free (path);
      path = xasprintf ("%s/fuse-overlayfs", d);
      if (access (path, X_OK) == 0)
        {
          *why = xasprintf ("/dev/fuse is usable and %s is installed", path);
          return true;
        }
    }
  *why = xstrdup ("fuse-overlayfs is not installed");
  return false;
}

static void
probe_driver (struct rl_globals *g, struct machine *m)
{
  cleanup_free char *dir = xstrdup ("/tmp/rl-probe-XXXXXX");
  cleanup_free char *fuse_why = NULL;
  rl_error_t err = NULL;
  bool overlay = false;

  if (g->storage_driver)
    {
      m->driver = xstrdup (g->storage_driver);
      m->driver_why = xstrdup ("asked for with --storage-driver");
      return;
    }
  if (mkdtemp (dir) != NULL)
    {
      overlay = userns_run (&m->map, true, try_overlay, dir, &err) == 0;
      rmdir (dir);
    }
  else
    err = NULL;
  if (overlay)
    {
      m->driver = xstrdup ("overlay");
      m->driver_why = xstrdup ("the kernel's overlay mounts in a user namespace");
    }
  else if (fuse_usable (&fuse_why))
    {
      m->driver = xstrdup ("fuse-overlayfs");
      m->driver_why = xasprintf ("kernel overlay does not work in a user namespace (%s); %s",
                                 err ? err->msg : "no scratch directory", fuse_why);
    }
  else
    {
      m->driver = xstrdup ("vfs");
      m->driver_why = xasprintf ("kernel overlay does not work in a user namespace (%s) and %s: "
                                 "each container gets a full copy of its image",
                                 err ? err->msg : "no scratch directory", fuse_why);
    }
  rl_error_free (&err);
}

/* cgroup v2 alone, v1 alone, or both (hybrid); delegated when this
 * process's v2 cgroup is writable by the caller. */
static void
probe_cgroup (struct machine *m)
{
  cleanup_free char *self = NULL;
  struct statfs sf;
  const char *v2 = NULL;
  bool v1 = false;
  size_t len;
  rl_error_t err = NULL;

  if (statfs ("/sys/fs/cgroup", &sf) == 0 && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC)
    v2 = "/sys/fs/cgroup";
  else
    {
      v1 = true;
      if (statfs ("/sys/fs/cgroup/unified", &sf) == 0
          && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC)
        v2 = "/sys/fs/cgroup/unified";
    }
  m->cgroup = xstrdup (v2 && v1 ? "hybrid (v1 and v2)" : v2 ? "v2" : "v1");
  if (v2 == NULL)
    {
      m->cgroup_why = xstrdup ("no cgroup v2 hierarchy: limits cannot be delegated");
      return;
    }
  if (read_file_at (AT_FDCWD, "/proc/self/cgroup", 65536, &self, &len, &err) < 0)
    {
      m->cgroup_why = xasprintf ("not delegated (%s)", err->msg);
      rl_error_free (&err);
      return;
    }
  for (char *line = strtok (self, "\n"); line; line = strtok (NULL, "\n"))
    if (str_has_prefix (line, "0::"))
      {
        cleanup_free char *dir = xasprintf ("%s%s", v2, line + 3);
        cleanup_free char *ctl = xasprintf ("%s/cgroup.controllers", v2);
        cleanup_free char *have = NULL;
        bool mine = access (dir, W_OK) == 0;
        size_t n = 0;

        /* On a hybrid host the controllers usually stay on v1, and v2
         * can then limit nothing even where it is writable. */
        if (read_file_at (AT_FDCWD, ctl, 4096, &have, &n, &err) < 0)
          rl_error_free (&err);
        for (size_t k = 0; have && k < n; k++)
          if (have[k] == '\n')
            have[k] = ' ';
        while (n > 0 && have[n - 1] == ' ')
          have[--n] = '\0';
        m->cgroup_why = xasprintf (
            "%s: %s %s; v2 controllers: %s", mine ? "delegated" : "not delegated", dir,
            mine ? "is writable" : "is not writable by this user", have && n ? have : "none");
        return;
      }
  m->cgroup_why = xstrdup ("not delegated: this process is in no v2 cgroup");
}

static int
probe (struct rl_globals *g, struct machine *m, rl_error_t *err)
{
  cleanup_close int fd = -1;
  const char *xdg = getenv ("XDG_RUNTIME_DIR");
  const char *net = NULL;
  struct statfs sf;
  struct utsname u;

  if (idmap_detect (&m->map, err) < 0)
    return -1;
  m->root = g->root ? xstrdup (g->root) : store_default_root ();
  m->runroot = g->runroot ? xstrdup (g->runroot) : store_default_runroot ();
  m->runroot_xdg = g->runroot == NULL && xdg && xdg[0] && str_has_prefix (m->runroot, xdg);
  fd = open_existing_ancestor (m->root);
  if (fd >= 0 && fstatfs (fd, &sf) == 0)
    {
      const char *n = fs_name (sf.f_type);
      m->root_network = fs_is_network (fd, &net);
      m->root_fs = n ? xstrdup (n) : net ? xstrdup (net) : xasprintf ("0x%lx", (long)sf.f_type);
    }
  else
    m->root_fs = xstrdup ("unknown");
  m->userns_off = m->map.mode == IDMAP_HOST ? NULL : userns_disabled ();
  probe_driver (g, m);
  probe_cgroup (m);
  m->seccomp = access ("/proc/sys/kernel/seccomp/actions_avail", R_OK) == 0;
  m->caps = prctl (PR_CAPBSET_READ, 0, 0, 0, 0) >= 0;
  m->kernel = uname (&u) == 0 ? xasprintf ("%s %s %s", u.sysname, u.release, u.machine)
                              : xstrdup ("unknown");
  return 0;
}

static void
print_json (const struct machine *m)
{
  yajl_gen j = json_gen_new (true);
  cleanup_free char *out = NULL;
  size_t len;

  yajl_gen_map_open (j);
  jg_kstr (j, "version", PACKAGE_VERSION);
  jg_key (j, "identity");
  yajl_gen_map_open (j);
  jg_kstr (j, "mode", idmap_mode_name (m->map.mode));
  jg_kstr (j, "why", m->map.why);
  jg_kint (j, "uid", m->map.uid);
  jg_kint (j, "gid", m->map.gid);
  yajl_gen_map_close (j);
  jg_key (j, "storage");
  yajl_gen_map_open (j);
  jg_kstr (j, "driver", m->driver);
  jg_kstr (j, "why", m->driver_why);
  jg_kstr (j, "root", m->root);
  jg_kstr (j, "filesystem", m->root_fs);
  jg_kbool (j, "network_filesystem", m->root_network);
  jg_kstr (j, "runroot", m->runroot);
  jg_kbool (j, "runroot_from_xdg", m->runroot_xdg);
  yajl_gen_map_close (j);
  jg_key (j, "network");
  yajl_gen_array_open (j);
  jg_str (j, "none");
  jg_str (j, "host");
  yajl_gen_array_close (j);
  jg_key (j, "cgroup");
  yajl_gen_map_open (j);
  jg_kstr (j, "version", m->cgroup);
  jg_kstr (j, "delegation", m->cgroup_why);
  yajl_gen_map_close (j);
  jg_kbool (j, "seccomp", m->seccomp);
  jg_kbool (j, "capabilities", m->caps);
  jg_kstr (j, "userns_disabled", m->userns_off);
  jg_kstr (j, "kernel", m->kernel);
  yajl_gen_map_close (j);
  out = jg_finish (j, &len);
  fwrite (out, 1, len, stdout);
  if (len == 0 || out[len - 1] != '\n')
    putchar ('\n');
}

static void
print_text (const struct machine *m)
{
  printf ("version:      %s\n", PACKAGE_VERSION);
  printf ("identity:     %s (%s)\n", idmap_mode_name (m->map.mode), m->map.why ? m->map.why : "");
  printf ("driver:       %s (%s)\n", m->driver, m->driver_why);
  printf ("store:        %s (on %s%s)\n", m->root, m->root_fs,
          m->root_network ? ", a network filesystem" : "");
  printf ("runroot:      %s (%s)\n", m->runroot,
          m->runroot_xdg ? "from XDG_RUNTIME_DIR" : "XDG_RUNTIME_DIR unset or unusable: fallback");
  printf ("network:      none, host\n");
  printf ("cgroup:       %s, %s\n", m->cgroup, m->cgroup_why);
  printf ("seccomp:      %s\n", m->seccomp ? "available" : "not available");
  printf ("capabilities: %s\n", m->caps ? "available" : "not available");
  if (m->userns_off)
    printf ("user ns:      disabled: %s\n", m->userns_off);
  printf ("kernel:       %s\n", m->kernel);
}

enum
{
  INFO_FORMAT = 1,
};

static const struct rl_opt info_opts[] = {
  { "format", 'f', "FORMAT", "text (default) or json", INFO_FORMAT },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec info_spec = {
  .name = "info",
  .usage = "[OPTIONS]",
  .summary = "Show what rl will use on this machine and why: identity mode, storage driver, "
             "store and its filesystem, runtime directory, network, cgroups, seccomp, kernel",
  .opts = info_opts,
  .example = "rl info --format json",
};

static const struct rl_cmd_spec system_info_spec = {
  .name = "system info",
  .usage = "[OPTIONS]",
  .summary = "Show what rl will use on this machine and why (same as `rl info`)",
  .opts = info_opts,
  .example = "rl system info",
};

static int
set_format (void *data, int id, const char *arg, rl_error_t *err)
{
  bool *json = data;
  if (strcmp (arg, "json") != 0 && strcmp (arg, "text") != 0)
    return rl_error (err, 0, "unknown format `%s` (text, json)", arg);
  *json = strcmp (arg, "json") == 0;
  return 0;
}

static int
show_info (const struct rl_cmd_spec *spec, struct rl_globals *g, int argc, char **argv,
           rl_error_t *err)
{
  cleanup_machine struct machine m = { 0 };
  cleanup_strv char **args = NULL;
  bool help, json = false;

  if (opts_parse (spec, argc, argv, set_format, &json, &args, &help, err) < 0)
    return rl_error_wrap (err, "%s", spec->name);
  if (help)
    return 0;
  if (strv_len (args) > 0)
    return rl_error (err, 0, "%s: unexpected argument `%s`", spec->name, args[0]);
  if (probe (g, &m, err) < 0)
    return rl_error_wrap (err, "%s", spec->name);
  if (json)
    print_json (&m);
  else
    print_text (&m);
  return 0;
}

int
cmd_info (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  return show_info (&info_spec, g, argc, argv, err);
}

int
system_info (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  return show_info (&system_info_spec, g, argc, argv, err);
}

static const struct rl_opt check_opts[] = {
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec check_spec = {
  .name = "system check",
  .usage = "",
  .summary = "Say what is missing for rl on this machine and what to do about it, one line "
             "each; exit 0 when nothing is, 1 otherwise",
  .opts = check_opts,
  .example = "rl system check",
};

/* setuid root, or file capabilities (some distributions ship those). */
static char *
helper_problem (const char *name)
{
  static const char *const dirs[] = { "/usr/bin", "/bin", "/usr/sbin", "/usr/local/bin" };
  for (size_t i = 0; i < ARRAY_SIZE (dirs); i++)
    {
      cleanup_free char *path = xasprintf ("%s/%s", dirs[i], name);
      struct stat sb;
      if (stat (path, &sb) < 0)
        continue;
      if ((sb.st_mode & S_ISUID) && sb.st_uid == 0)
        return NULL;
      if (getxattr (path, "security.capability", NULL, 0) > 0)
        return NULL;
      return xasprintf ("%s is neither setuid root nor has file capabilities: as root, run "
                        "`chmod u+s %s` (or reinstall the uidmap package)",
                        path, path);
    }
  return xasprintf ("%s is not installed: install the uidmap package (shadow-utils on "
                    "Fedora/RHEL) to use a subordinate id range",
                    name);
}

int
system_check (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_machine struct machine m = { 0 };
  cleanup_strv char **args = NULL;
  cleanup_strv char **problems = xmalloc0 (sizeof (char *));
  bool help;

  if (opts_parse (&check_spec, argc, argv, NULL, NULL, &args, &help, err) < 0)
    return rl_error_wrap (err, "system check");
  if (help)
    return 0;
  if (strv_len (args) > 0)
    return rl_error (err, 0, "system check: unexpected argument `%s`", args[0]);
  if (probe (g, &m, err) < 0)
    return rl_error_wrap (err, "system check");
  if (m.userns_off)
    strv_add_take (&problems, xasprintf ("unprivileged user namespaces are disabled: %s; ask an "
                                         "administrator to allow them (rl cannot work without)",
                                         m.userns_off));
  if (m.map.mode != IDMAP_HOST)
    {
      struct passwd *pw = getpwuid (m.map.uid);
      cleanup_free char *user = pw ? xstrdup (pw->pw_name) : xasprintf ("%u", m.map.uid);
      cleanup_free char *u = helper_problem ("newuidmap");
      cleanup_free char *gh = helper_problem ("newgidmap");

      if (m.map.mode == IDMAP_SINGLE && m.map.why && strstr (m.map.why, "/etc/sub"))
        strv_add_take (&problems,
                       xasprintf ("no subuid range: %s; containers see one id only; as root, "
                                  "run `usermod --add-subuids 100000-165535 --add-subgids "
                                  "100000-165535 %s` (pick a range no other user has)",
                                  m.map.why, user));
      if (u)
        strv_add_take (&problems, steal_pointer (&u));
      if (gh)
        strv_add_take (&problems, steal_pointer (&gh));
    }
  if (strcmp (m.driver, "vfs") == 0 && g->storage_driver == NULL)
    {
      cleanup_free char *why = NULL;
      if (!fuse_usable (&why))
        strv_add_take (&problems,
                       xasprintf ("no overlay driver works (%s): containers use full copies "
                                  "(vfs); load the fuse module, make /dev/fuse readable and "
                                  "writable by all, and install fuse-overlayfs",
                                  why));
    }
  if (m.root_network)
    strv_add_take (&problems,
                   xasprintf ("the store %s is on %s, a network filesystem: ownership, xattrs "
                              "and locks break there; use --root on a local disk (or set "
                              "XDG_DATA_HOME), e.g. --root /tmp/$USER/rl",
                              m.root, m.root_fs));
  for (size_t i = 0; problems[i]; i++)
    puts (problems[i]);
  if (problems[0] == NULL)
    puts ("nothing is missing");
  return problems[0] ? 1 : 0;
}
