/* `rl run` options: the table, their parsing and validation, and the rules
 * that merge them with the image config. */
#include "config.h"
#include "runtime/runspec.h"
#include "runtime/caps.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/opts.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Largest --env-file rl reads. */
#define ENV_FILE_MAX_SIZE (1024 * 1024)

static const char *const driver_names[] = {
  [DRIVER_AUTO] = "auto",
  [DRIVER_OVERLAY] = "overlay",
  [DRIVER_FUSE] = "fuse-overlayfs",
  [DRIVER_VFS] = "vfs",
};

const char *
driver_name (enum rl_driver d)
{
  return driver_names[d];
}

int
driver_from_name (const char *name, enum rl_driver *out, rl_error_t *err)
{
  for (size_t i = 0; i < ARRAY_SIZE (driver_names); i++)
    if (strcmp (name, driver_names[i]) == 0)
      {
        *out = i;
        return 0;
      }
  return rl_error (err, 0, "unknown storage driver `%s` (overlay, fuse-overlayfs or vfs)", name);
}

void
rl_mount_clear (struct rl_mount *m)
{
  free (m->source);
  free (m->target);
  memset (m, 0, sizeof *m);
}

void
run_spec_clear (struct run_spec *s)
{
  free (s->name);
  strv_free (s->env);
  free (s->workdir);
  free (s->user);
  strv_free (s->entrypoint);
  free (s->hostname);
  for (size_t i = 0; i < s->n_mounts; i++)
    rl_mount_clear (&s->mounts[i]);
  free (s->mounts);
  free (s->network_target);
  free (s->publish);
  strv_free (s->dns);
  strv_free (s->dns_search);
  strv_free (s->dns_option);
  strv_free (s->add_hosts);
  free (s->storage_driver);
  free (s->platform);
  strv_free (s->cap_add);
  strv_free (s->cap_drop);
  free (s->seccomp_file);
  for (size_t i = 0; i < s->n_devices; i++)
    {
      free (s->devices[i].host);
      free (s->devices[i].ctr);
    }
  free (s->devices);
  free (s->ulimits);
  free (s->image);
  strv_free (s->args);
  strv_free (s->labels);
  free (s->cidfile);
  strv_free (s->canon);
  memset (s, 0, sizeof *s);
}

bool
parse_size (const char *s, unsigned long long *out)
{
  static const struct
  {
    char c;
    unsigned shift;
  } units[] = { { 'k', 10 }, { 'm', 20 }, { 'g', 30 }, { 't', 40 } };
  char *end;
  unsigned long long v;

  if (s == NULL || !isdigit ((unsigned char)*s))
    return false;
  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno != 0)
    return false;
  if (*end == '\0' || ((*end == 'b' || *end == 'B') && end[1] == '\0'))
    {
      *out = v;
      return true;
    }
  for (size_t i = 0; i < ARRAY_SIZE (units); i++)
    if (tolower ((unsigned char)*end) == units[i].c
        && (end[1] == '\0' || ((end[1] == 'b' || end[1] == 'B') && end[2] == '\0')))
      {
        if (v > (~0ULL >> units[i].shift))
          return false;
        *out = v << units[i].shift;
        return true;
      }
  return false;
}

static bool
parse_mode (const char *s, mode_t *out)
{
  char *end;
  unsigned long v;

  if (s == NULL || *s == '\0')
    return false;
  errno = 0;
  v = strtoul (s, &end, 8);
  if (errno != 0 || *end != '\0' || v > 07777)
    return false;
  *out = v;
  return true;
}

static int
check_target (const char *target, const char *what, rl_error_t *err)
{
  if (target == NULL || *target == '\0')
    return rl_error (err, 0, "%s: no container path given", what);
  if (target[0] != '/')
    return rl_error (err, 0, "%s: container path `%s` is not absolute", what, target);
  return 0;
}

static void
tmpfs_defaults (struct rl_mount *m)
{
  m->type = MOUNT_TMPFS;
  m->mode = 01777;
  m->noexec = m->nosuid = m->nodev = true;
}

/* The options shared by --tmpfs and a tmpfs --mount (mount(8) names). */
static int
tmpfs_option (struct rl_mount *m, const char *o, rl_error_t *err)
{
  static const struct
  {
    const char *name;
    size_t off;
    bool value;
  } flags[] = {
    { "ro", offsetof (struct rl_mount, readonly), true },
    { "rw", offsetof (struct rl_mount, readonly), false },
    { "noexec", offsetof (struct rl_mount, noexec), true },
    { "exec", offsetof (struct rl_mount, noexec), false },
    { "nosuid", offsetof (struct rl_mount, nosuid), true },
    { "suid", offsetof (struct rl_mount, nosuid), false },
    { "nodev", offsetof (struct rl_mount, nodev), true },
    { "dev", offsetof (struct rl_mount, nodev), false },
  };

  for (size_t i = 0; i < ARRAY_SIZE (flags); i++)
    if (strcmp (o, flags[i].name) == 0)
      {
        *(bool *)((char *)m + flags[i].off) = flags[i].value;
        return 0;
      }
  if (str_has_prefix (o, "size="))
    {
      if (!parse_size (o + 5, &m->size))
        return rl_error (err, 0, "invalid tmpfs size `%s`", o + 5);
      return 0;
    }
  if (str_has_prefix (o, "mode="))
    {
      if (!parse_mode (o + 5, &m->mode))
        return rl_error (err, 0, "invalid tmpfs mode `%s` (octal, as 1777)", o + 5);
      return 0;
    }
  return rl_error (err, 0, "unknown tmpfs option `%s`", o);
}

int
parse_volume (const char *arg, struct rl_mount *m, rl_error_t *err)
{
  cleanup_free char *copy = xstrdup (arg);
  char *host = copy, *ctr, *opts;

  memset (m, 0, sizeof *m);
  m->type = MOUNT_BIND;
  ctr = strchr (copy, ':');
  if (ctr == NULL)
    return rl_error (err, 0, "volume `%s`: anonymous volumes are not supported yet; use HOST:CTR",
                     arg);
  *ctr++ = '\0';
  opts = strchr (ctr, ':');
  if (opts)
    *opts++ = '\0';
  if (*host == '\0')
    return rl_error (err, 0, "volume `%s`: no host path given", arg);
  if (host[0] != '/')
    return rl_error (err, 0,
                     "volume `%s`: named volumes and relative paths are not supported yet; give "
                     "an absolute host path",
                     arg);
  if (check_target (ctr, "volume", err) < 0)
    return rl_error_wrap (err, "`%s`", arg);
  for (char *o = opts ? strtok (opts, ",") : NULL; o; o = strtok (NULL, ","))
    {
      if (strcmp (o, "ro") == 0)
        m->readonly = true;
      else if (strcmp (o, "rw") == 0)
        m->readonly = false;
      /* SELinux relabelling and propagation requests mean nothing here. */
      else if (strcmp (o, "z") == 0 || strcmp (o, "Z") == 0 || strcmp (o, "rprivate") == 0
               || strcmp (o, "private") == 0)
        continue;
      else
        return rl_error (err, 0, "volume `%s`: unknown option `%s` (ro or rw)", arg, o);
    }
  m->source = xstrdup (host);
  m->target = xstrdup (ctr);
  return 0;
}

int
parse_tmpfs (const char *arg, struct rl_mount *m, rl_error_t *err)
{
  cleanup_free char *copy = xstrdup (arg);
  char *opts = strchr (copy, ':');

  memset (m, 0, sizeof *m);
  tmpfs_defaults (m);
  if (opts)
    *opts++ = '\0';
  if (check_target (copy, "tmpfs", err) < 0)
    return rl_error_wrap (err, "`%s`", arg);
  for (char *o = opts ? strtok (opts, ",") : NULL; o; o = strtok (NULL, ","))
    if (tmpfs_option (m, o, err) < 0)
      {
        rl_mount_clear (m);
        return rl_error_wrap (err, "tmpfs `%s`", arg);
      }
  m->target = xstrdup (copy);
  return 0;
}

static int
bool_value (const char *key, const char *v, bool *out, rl_error_t *err)
{
  if (v == NULL || strcmp (v, "true") == 0 || strcmp (v, "1") == 0)
    *out = true;
  else if (strcmp (v, "false") == 0 || strcmp (v, "0") == 0)
    *out = false;
  else
    return rl_error (err, 0, "`%s`: expected true or false, not `%s`", key, v);
  return 0;
}

static int
parse_mount_fields (const char *arg, struct rl_mount *m, rl_error_t *err)
{
  cleanup_free char *copy = xstrdup (arg);
  char *save = NULL;
  bool have_type = false;

  for (char *f = strtok_r (copy, ",", &save); f; f = strtok_r (NULL, ",", &save))
    {
      char *v = strchr (f, '=');
      if (v)
        *v++ = '\0';
      if (strcmp (f, "type") == 0)
        {
          if (v && strcmp (v, "bind") == 0)
            m->type = MOUNT_BIND;
          else if (v && strcmp (v, "tmpfs") == 0)
            {
              bool ro = m->readonly;
              tmpfs_defaults (m);
              m->readonly = ro;
            }
          else
            return rl_error (err, 0, "mount type `%s` is not supported (bind or tmpfs)",
                             v ? v : "");
          have_type = true;
        }
      else if (strcmp (f, "source") == 0 || strcmp (f, "src") == 0)
        {
          free (m->source);
          m->source = xstrdup (v ? v : "");
        }
      else if (strcmp (f, "target") == 0 || strcmp (f, "destination") == 0
               || strcmp (f, "dst") == 0)
        {
          free (m->target);
          m->target = xstrdup (v ? v : "");
        }
      else if (strcmp (f, "ro") == 0 || strcmp (f, "readonly") == 0)
        {
          if (bool_value (f, v, &m->readonly, err) < 0)
            return -1;
        }
      else if (strcmp (f, "rw") == 0)
        m->readonly = false;
      else if (strcmp (f, "tmpfs-size") == 0)
        {
          if (!parse_size (v, &m->size))
            return rl_error (err, 0, "invalid tmpfs-size `%s`", v ? v : "");
        }
      else if (strcmp (f, "tmpfs-mode") == 0)
        {
          if (!parse_mode (v, &m->mode))
            return rl_error (err, 0, "invalid tmpfs-mode `%s` (octal, as 1777)", v ? v : "");
        }
      else if (strcmp (f, "bind-propagation") == 0 && v
               && (strcmp (v, "rprivate") == 0 || strcmp (v, "private") == 0))
        continue;
      else
        return rl_error (err, 0, "unknown mount option `%s`", f);
    }
  if (!have_type)
    return rl_error (err, 0, "no `type=` given (bind or tmpfs)");
  if (check_target (m->target, "mount", err) < 0)
    return -1;
  if (m->type == MOUNT_BIND)
    {
      if (m->source == NULL || *m->source == '\0')
        return rl_error (err, 0, "bind mount needs `source=`");
      if (m->source[0] != '/')
        return rl_error (err, 0, "bind source `%s` is not an absolute path", m->source);
    }
  else if (m->source && *m->source)
    return rl_error (err, 0, "a tmpfs mount takes no `source=`");
  return 0;
}

int
parse_mount (const char *arg, struct rl_mount *m, rl_error_t *err)
{
  memset (m, 0, sizeof *m);
  if (parse_mount_fields (arg, m, err) < 0)
    {
      rl_mount_clear (m);
      return rl_error_wrap (err, "mount `%s`", arg);
    }
  return 0;
}

const char *
env_get (char *const *env, const char *key)
{
  size_t n = strlen (key);

  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], key, n) == 0 && env[i][n] == '=')
      return env[i] + n + 1;
  return NULL;
}

void
env_set (char ***env, const char *kv)
{
  const char *eq = strchr (kv, '=');
  size_t n = eq ? (size_t)(eq - kv) : strlen (kv);

  for (size_t i = 0; *env && (*env)[i]; i++)
    if (strncmp ((*env)[i], kv, n) == 0 && (*env)[i][n] == '=')
      {
        free ((*env)[i]);
        (*env)[i] = xstrdup (kv);
        return;
      }
  strv_add (env, kv);
}

/* -e KEY=VALUE, or -e KEY for the caller's value (skipped when unset). */
static int
env_arg (char ***env, const char *arg, const char *what, rl_error_t *err)
{
  const char *eq = strchr (arg, '=');
  size_t n = eq ? (size_t)(eq - arg) : strlen (arg);
  const char *v;

  if (n == 0)
    return rl_error (err, 0, "%s: invalid environment variable `%s`", what, arg);
  for (size_t i = 0; i < n; i++)
    if (isspace ((unsigned char)arg[i]))
      return rl_error (err, 0, "%s: variable `%.*s` contains whitespace", what, (int)n, arg);
  if (eq)
    {
      strv_add (env, arg);
      return 0;
    }
  v = getenv (arg);
  if (v)
    strv_add_take (env, xasprintf ("%s=%s", arg, v));
  return 0;
}

int
env_file_parse (const char *text, const char *what, char ***env, rl_error_t *err)
{
  const char *p = text;
  int lineno = 0;

  while (*p)
    {
      const char *nl = strchr (p, '\n');
      size_t len = nl ? (size_t)(nl - p) : strlen (p);
      cleanup_free char *line = xstrndup (p, len);
      char *s = line;

      lineno++;
      p += len + (nl ? 1 : 0);
      if (len && line[len - 1] == '\r')
        line[len - 1] = '\0';
      while (isspace ((unsigned char)*s))
        s++;
      if (*s == '\0' || *s == '#')
        continue;
      {
        cleanup_free char *where = xasprintf ("%s:%d", what, lineno);
        if (env_arg (env, s, where, err) < 0)
          return -1;
      }
    }
  return 0;
}

static int
read_env_file (const char *path, char ***env, rl_error_t *err)
{
  cleanup_free char *text = NULL;

  if (read_file_at (AT_FDCWD, path, ENV_FILE_MAX_SIZE, &text, NULL, err) < 0)
    return rl_error_wrap (err, "env file");
  return env_file_parse (text, path, env, err);
}

static int
parse_entrypoint (const char *arg, char ***out, rl_error_t *err)
{
  cleanup_json yajl_val v = NULL;

  strv_free (*out);
  *out = xmalloc0 (sizeof (char *));
  if (*arg == '\0')
    return 0;
  /* Podman also takes a JSON array, to give arguments with it. */
  if (arg[0] == '[')
    {
      if (json_parse (arg, "--entrypoint", &v, err) < 0)
        return -1;
      if (!YAJL_IS_ARRAY (v))
        return rl_error (err, 0, "--entrypoint `%s`: not a JSON array of strings", arg);
      for (size_t i = 0; i < v->u.array.len; i++)
        {
          if (!YAJL_IS_STRING (v->u.array.values[i]))
            return rl_error (err, 0, "--entrypoint `%s`: not a JSON array of strings", arg);
          strv_add (out, YAJL_GET_STRING (v->u.array.values[i]));
        }
      return 0;
    }
  strv_add (out, arg);
  return 0;
}

bool
container_name_valid (const char *s)
{
  if (!isalnum ((unsigned char)*s))
    return false;
  for (s++; *s; s++)
    if (!isalnum ((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
      return false;
  return true;
}

int
parse_device (const char *arg, struct rl_device *d, rl_error_t *err)
{
  cleanup_free char *copy = xstrdup (arg);
  char *parts[3] = { NULL, NULL, NULL };
  char *save = NULL, *perms = NULL;
  size_t n = 0;

  for (char *p = strtok_r (copy, ":", &save); p; p = strtok_r (NULL, ":", &save))
    {
      if (n == 3)
        return rl_error (err, 0, "--device `%s`: too many `:`", arg);
      parts[n++] = p;
    }
  if (n == 0 || parts[0][0] != '/')
    return rl_error (err, 0, "--device `%s`: the host device must be an absolute path", arg);
  /* HOST:rwm is a permission, HOST:/dev/x a container path. */
  if (n == 2 && parts[1][0] != '/')
    perms = parts[1];
  else if (n == 3)
    perms = parts[2];
  if (n == 3 && parts[1][0] != '/')
    return rl_error (err, 0, "--device `%s`: the container path must be absolute", arg);
  if (perms && (*perms == '\0' || strspn (perms, "rwm") != strlen (perms)))
    return rl_error (err, 0, "--device `%s`: permissions must be made of r, w and m", arg);
  d->host = xstrdup (parts[0]);
  d->ctr = xstrdup (n >= 2 && parts[1][0] == '/' ? parts[1] : parts[0]);
  d->write = perms == NULL || strchr (perms, 'w') != NULL;
  return 0;
}

static const struct
{
  const char *name;
  int resource;
} ulimit_names[] = {
  { "core", RLIMIT_CORE },         { "cpu", RLIMIT_CPU },
  { "data", RLIMIT_DATA },         { "fsize", RLIMIT_FSIZE },
  { "locks", RLIMIT_LOCKS },       { "memlock", RLIMIT_MEMLOCK },
  { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
  { "nofile", RLIMIT_NOFILE },     { "nproc", RLIMIT_NPROC },
  { "rss", RLIMIT_RSS },           { "rtprio", RLIMIT_RTPRIO },
  { "rttime", RLIMIT_RTTIME },     { "sigpending", RLIMIT_SIGPENDING },
  { "stack", RLIMIT_STACK },       { "as", RLIMIT_AS },
};

const char *
ulimit_name (int resource)
{
  for (size_t i = 0; i < ARRAY_SIZE (ulimit_names); i++)
    if (ulimit_names[i].resource == resource)
      return ulimit_names[i].name;
  return "?";
}

static bool
parse_rlim (const char *s, unsigned long long *out)
{
  char *end;

  if (strcmp (s, "unlimited") == 0 || strcmp (s, "-1") == 0)
    {
      *out = RLIM_INFINITY;
      return true;
    }
  if (!isdigit ((unsigned char)*s))
    return false;
  errno = 0;
  *out = strtoull (s, &end, 10);
  return errno == 0 && *end == '\0';
}

int
parse_ulimit (const char *arg, struct rl_ulimit *u, rl_error_t *err)
{
  const char *eq = strchr (arg, '=');
  cleanup_free char *name = NULL;
  cleanup_free char *val = NULL;
  char *colon;
  size_t i;

  if (eq == NULL)
    return rl_error (err, 0, "--ulimit `%s`: expected NAME=SOFT[:HARD]", arg);
  name = xstrndup (arg, eq - arg);
  for (i = 0; i < ARRAY_SIZE (ulimit_names); i++)
    if (strcasecmp (name, ulimit_names[i].name) == 0
        || (strncasecmp (name, "rlimit_", 7) == 0
            && strcasecmp (name + 7, ulimit_names[i].name) == 0))
      break;
  if (i == ARRAY_SIZE (ulimit_names))
    return rl_error (err, 0, "--ulimit `%s`: unknown limit `%s` (nofile, nproc, core, stack, ...)",
                     arg, name);
  u->resource = ulimit_names[i].resource;
  val = xstrdup (eq + 1);
  colon = strchr (val, ':');
  if (colon)
    *colon++ = '\0';
  if (!parse_rlim (val, &u->soft) || (colon && !parse_rlim (colon, &u->hard)))
    return rl_error (err, 0, "--ulimit `%s`: limits are numbers or `unlimited`", arg);
  if (!colon)
    u->hard = u->soft;
  if (u->soft > u->hard)
    return rl_error (err, 0, "--ulimit `%s`: the soft limit is above the hard one", arg);
  return 0;
}

static int
parse_cpus (const char *arg, double *out, rl_error_t *err)
{
  char *end;

  errno = 0;
  *out = strtod (arg, &end);
  if (errno != 0 || end == arg || *end != '\0' || !(*out > 0) || *out > 4096)
    return rl_error (err, 0, "--cpus `%s`: expected a positive number of CPUs (1.5)", arg);
  return 0;
}

enum
{
  O_INTERACTIVE = 1,
  O_TTY,
  O_RM,
  O_NAME,
  O_ENV,
  O_ENV_FILE,
  O_WORKDIR,
  O_USER,
  O_ENTRYPOINT,
  O_HOSTNAME,
  O_VOLUME,
  O_MOUNT,
  O_TMPFS,
  O_NETWORK,
  O_INIT,
  O_STORAGE_DRIVER,
  O_PULL,
  O_PLATFORM,
  O_TLS_VERIFY,
  O_CAP_ADD,
  O_CAP_DROP,
  O_SECURITY_OPT,
  O_PRIVILEGED,
  O_READ_ONLY,
  O_READ_ONLY_TMPFS,
  O_DEVICE,
  O_ULIMIT,
  O_PIDS_LIMIT,
  O_MEMORY,
  O_CPUS,
  O_DETACH,
  O_RESTART,
  O_LABEL,
  O_CIDFILE,
  O_LOG_OPT,
  O_STOP_SIGNAL,
  O_STOP_TIMEOUT,
  O_PUBLISH,
  O_PUBLISH_ALL,
  O_DNS,
  O_DNS_SEARCH,
  O_DNS_OPTION,
  O_ADD_HOST,
  O_NO_HOSTS,
};

static const struct rl_opt run_opts[] = {
  { "interactive", 'i', NULL, "keep stdin open (the container reads the caller's stdin)",
    O_INTERACTIVE },
  { "tty", 't', NULL, "allocate a pseudo-terminal", O_TTY },
  { "rm", 0, NULL, "remove the container when it exits", O_RM },
  { "name", 0, "NAME", "name the container (default: a random adjective_noun)", O_NAME },
  { "env", 'e', "KEY[=VALUE]", "set an environment variable (KEY alone: the caller's value)",
    O_ENV },
  { "env-file", 0, "FILE", "read environment variables from FILE, one KEY=VALUE a line",
    O_ENV_FILE },
  { "workdir", 'w', "DIR", "working directory in the container (created if missing)", O_WORKDIR },
  { "user", 'u', "USER[:GROUP]", "user name or uid, and group name or gid, in the image", O_USER },
  { "entrypoint", 0, "CMD", "replace the image's entrypoint (\"\" clears it)", O_ENTRYPOINT },
  { "hostname", 'h', "NAME", "the container's host name", O_HOSTNAME },
  { "volume", 'v', "HOST:CTR[:ro|rw]", "bind-mount a host path", O_VOLUME },
  { "mount", 0, "type=bind|tmpfs,...", "mount (source=, target=, ro, tmpfs-size=, tmpfs-mode=)",
    O_MOUNT },
  { "tmpfs", 0, "PATH[:OPTS]", "mount a tmpfs (OPTS as mount(8): size=64m,mode=1777,...)",
    O_TMPFS },
  { "network", 0, "MODE",
    "slirp[:OPTS] (the default; slirp4netns too), none, host, container:NAME or ns:PATH; "
    "OPTS: mtu=N, allow_host_loopback=true, enable_ipv6=false",
    O_NETWORK },
  { "net", 0, "MODE", "same as --network", O_NETWORK },
  { "publish", 'p', "[IP:]HOSTPORT:CTRPORT[/tcp|udp]",
    "publish a container's port (or range) on the host (slirp network)", O_PUBLISH },
  { "publish-all", 'P', NULL, "publish the image's exposed ports on free host ports",
    O_PUBLISH_ALL },
  { "dns", 0, "IP", "a nameserver for the container's resolv.conf", O_DNS },
  { "dns-search", 0, "DOMAIN", "a search domain for the container's resolv.conf", O_DNS_SEARCH },
  { "dns-option", 0, "OPT", "an option line for the container's resolv.conf (ndots:2)",
    O_DNS_OPTION },
  { "add-host", 0, "NAME:IP", "add a line to the container's /etc/hosts", O_ADD_HOST },
  { "no-hosts", 0, NULL, "keep the image's /etc/hosts (rl writes none)", O_NO_HOSTS },
  { "init", 0, NULL, "run an init as PID 1 that forwards signals and reaps zombies", O_INIT },
  { "storage-driver", 0, "DRIVER", "overlay, fuse-overlayfs or vfs (default: the first that works)",
    O_STORAGE_DRIVER },
  { "pull", 0, "POLICY", "pull the image: missing (the default), always or never", O_PULL },
  { "platform", 0, "OS/ARCH[/VARIANT]",
    "the platform to pull (default: rl.conf's, else the host's)", O_PLATFORM },
  { "tls-verify", 0, NULL,
    "check the registry's certificate when pulling (=false also allows plain HTTP)", O_TLS_VERIFY },
  { "cap-add", 0, "CAP[,CAP...]", "add capabilities (CHOWN or cap_chown; ALL: every one)",
    O_CAP_ADD },
  { "cap-drop", 0, "CAP[,CAP...]", "drop capabilities (ALL: every one)", O_CAP_DROP },
  { "security-opt", 0, "OPT",
    "seccomp=FILE (Docker's JSON), seccomp=unconfined or no-new-privileges", O_SECURITY_OPT },
  { "privileged", 0, NULL,
    "lift the confinement: every capability of the namespace, no seccomp, no masked paths, "
    "/dev/fuse, /dev/net/tun and /dev/kvm",
    O_PRIVILEGED },
  { "read-only", 0, NULL, "mount the root file system read-only", O_READ_ONLY },
  { "read-only-tmpfs", 0, NULL,
    "with --read-only, a tmpfs on /tmp, /run and /var/tmp (the default; =false: none)",
    O_READ_ONLY_TMPFS },
  { "device", 0, "HOST[:CTR][:rwm]", "bind-mount a host device (read-only without w)", O_DEVICE },
  { "ulimit", 0, "NAME=SOFT[:HARD]", "set a resource limit (nofile, nproc, core, stack, cpu, ...)",
    O_ULIMIT },
  { "pids-limit", 0, "N", "limit the number of processes (needs cgroup v2 delegation)",
    O_PIDS_LIMIT },
  { "memory", 'm', "SIZE", "limit the memory, as 512m or 2g (needs cgroup v2 delegation)",
    O_MEMORY },
  { "cpus", 0, "N", "limit the CPU time, as 1.5 CPUs (needs cgroup v2 delegation)", O_CPUS },
  { "detach", 'd', NULL, "run in the background and print the container's id", O_DETACH },
  { "restart", 0, "POLICY",
    "no (the default), on-failure[:N], always or unless-stopped: carried out by the monitor",
    O_RESTART },
  { "label", 'l', "KEY=VALUE", "set a label on the container", O_LABEL },
  { "cidfile", 0, "FILE", "write the container's id to FILE (which must not exist)", O_CIDFILE },
  { "log-opt", 0, "max-size=SIZE|max-file=N",
    "rotate the log past SIZE, keeping N files (with -d; default: no rotation)", O_LOG_OPT },
  { "stop-signal", 0, "SIGNAL", "signal `rl stop` sends first (default: the image's, or TERM)",
    O_STOP_SIGNAL },
  { "stop-timeout", 0, "SECONDS", "seconds `rl stop` waits before SIGKILL (default 10)",
    O_STOP_TIMEOUT },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec run_cmd = {
  .name = "run",
  .usage = "[OPTIONS] IMAGE [COMMAND [ARG...]]",
  .summary = "Run a command in a new container",
  .opts = run_opts,
  .example = "rl run -it --rm bb sh",
  .interspersed = false,
};

static const struct rl_cmd_spec create_cmd = {
  .name = "create",
  .usage = "[OPTIONS] IMAGE [COMMAND [ARG...]]",
  .summary = "Create a container without starting it (see `rl start`)",
  .opts = run_opts,
  .example = "rl create --name web bb httpd -f -p 8080",
  .interspersed = false,
};

struct parse_state
{
  struct run_spec *s;
  char **env_files; /* Docker applies files first, then -e */
  char **env_args;
  char **canon; /* the options as --long=ARG, for the record */
};

static void
canon_add (struct parse_state *ps, int id, const char *arg)
{
  const struct rl_opt *o = run_opts;

  /* The environment goes in resolved, after the loop; --detach is how
   * this run was started, not what the container is. */
  if (id == O_ENV || id == O_ENV_FILE || id == O_DETACH || id == O_CIDFILE)
    return;
  while (o->name && o->id != id)
    o++;
  if (o->name == NULL)
    return;
  if (arg)
    strv_add_take (&ps->canon, xasprintf ("--%s=%s", o->name, arg));
  else
    strv_add_take (&ps->canon, xasprintf ("--%s", o->name));
}

static int
parse_restart (struct run_spec *s, const char *arg, rl_error_t *err)
{
  s->restart_max = 0;
  if (strcmp (arg, "no") == 0)
    s->restart = RESTART_NO;
  else if (strcmp (arg, "always") == 0)
    s->restart = RESTART_ALWAYS;
  else if (strcmp (arg, "unless-stopped") == 0)
    s->restart = RESTART_UNLESS_STOPPED;
  else if (strcmp (arg, "on-failure") == 0)
    s->restart = RESTART_ON_FAILURE;
  else if (str_has_prefix (arg, "on-failure:"))
    {
      char *end;
      long n;
      errno = 0;
      n = strtol (arg + strlen ("on-failure:"), &end, 10);
      if (errno || *end || end == arg + strlen ("on-failure:") || n < 0 || n > 1000000)
        return rl_error (err, 0, "--restart `%s`: the retry count must be a number", arg);
      s->restart = RESTART_ON_FAILURE;
      s->restart_max = (int)n;
    }
  else
    return rl_error (err, 0,
                     "--restart: unknown policy `%s` (no, on-failure[:N], always or "
                     "unless-stopped)",
                     arg);
  return 0;
}

static int
parse_log_opt (struct run_spec *s, const char *arg, rl_error_t *err)
{
  if (str_has_prefix (arg, "max-size="))
    {
      if (!parse_size (arg + strlen ("max-size="), &s->log_max_size) || s->log_max_size < 4096)
        return rl_error (err, 0, "--log-opt `%s`: expected a size of at least 4k (10m)", arg);
      return 0;
    }
  if (str_has_prefix (arg, "max-file="))
    {
      char *end;
      long n;
      errno = 0;
      n = strtol (arg + strlen ("max-file="), &end, 10);
      if (errno || *end || n < 1 || n > 100)
        return rl_error (err, 0, "--log-opt `%s`: expected a number of files, 1 to 100", arg);
      s->log_max_files = (int)n;
      return 0;
    }
  return rl_error (err, 0, "--log-opt: unknown option `%s` (max-size=SIZE or max-file=N)", arg);
}

static void
add_mount (struct run_spec *s, struct rl_mount *m)
{
  s->mounts = xrealloc (s->mounts, (s->n_mounts + 1) * sizeof *m);
  s->mounts[s->n_mounts++] = *m;
}

static int
set_str (char **dst, const char *v)
{
  free (*dst);
  *dst = xstrdup (v);
  return 0;
}

/* --cap-add/--cap-drop take a comma-separated list, as Podman's do; each
 * name is checked here so that a typo fails before any work. */
static int
cap_list (char ***dst, const char *arg, const char *opt, rl_error_t *err)
{
  cleanup_free char *copy = xstrdup (arg);
  char *save = NULL;
  bool any = false;

  for (char *n = strtok_r (copy, ",", &save); n; n = strtok_r (NULL, ",", &save))
    {
      uint64_t bit;
      if (caps_from_name (n, &bit, err) < 0)
        return rl_error_wrap (err, "--%s", opt);
      strv_add (dst, n);
      any = true;
    }
  if (!any)
    return rl_error (err, 0, "--%s: no capability given", opt);
  return 0;
}

int
parse_security_opt (struct run_spec *s, const char *arg, rl_error_t *err)
{
  const char *v;
  bool b;

  if (str_has_prefix (arg, "seccomp=") || str_has_prefix (arg, "seccomp:"))
    {
      v = arg + strlen ("seccomp=");
      free (s->seccomp_file);
      s->seccomp_file = NULL;
      if (strcmp (v, "unconfined") == 0)
        s->seccomp = SECCOMP_UNCONFINED;
      else if (*v == '\0')
        return rl_error (err, 0, "--security-opt `%s`: no profile given", arg);
      else
        {
          s->seccomp = SECCOMP_FILE;
          s->seccomp_file = xstrdup (v);
        }
      return 0;
    }
  if (strcmp (arg, "no-new-privileges") == 0)
    {
      s->no_new_privileges = true;
      return 0;
    }
  if (str_has_prefix (arg, "no-new-privileges=") || str_has_prefix (arg, "no-new-privileges:"))
    {
      v = arg + strlen ("no-new-privileges=");
      if (bool_value ("no-new-privileges", v, &b, err) < 0)
        return rl_error_wrap (err, "--security-opt");
      s->no_new_privileges = b;
      return 0;
    }
  /* Scripts written for Podman on SELinux hosts pass this; there is no
   * label to disable here. */
  if (strcmp (arg, "label=disable") == 0 || strcmp (arg, "label:disable") == 0)
    return 0;
  return rl_error (err, 0,
                   "--security-opt: unknown option `%s` (seccomp=FILE, seccomp=unconfined or "
                   "no-new-privileges)",
                   arg);
}

/* --network MODE; slirp's options as Podman's slirp4netns takes them. */
int
parse_network (struct run_spec *s, const char *arg, rl_error_t *err)
{
  const char *opts = NULL;

  free (s->network_target);
  s->network_target = NULL;
  s->net_mtu = 0;
  s->net_host_loopback = false;
  s->net_ipv6 = true;
  if (strcmp (arg, "none") == 0)
    s->network = NETWORK_NONE;
  else if (strcmp (arg, "host") == 0)
    s->network = NETWORK_HOST;
  else if (str_has_prefix (arg, "container:"))
    {
      if (arg[strlen ("container:")] == '\0')
        return rl_error (err, 0, "--network `%s`: no container named", arg);
      s->network = NETWORK_CONTAINER;
      s->network_target = xstrdup (arg + strlen ("container:"));
    }
  else if (str_has_prefix (arg, "ns:"))
    {
      if (arg[3] != '/')
        return rl_error (err, 0, "--network `%s`: expected ns:/ABSOLUTE/PATH", arg);
      s->network = NETWORK_NS;
      s->network_target = xstrdup (arg + 3);
    }
  else if (strcmp (arg, "slirp") == 0 || strcmp (arg, "slirp4netns") == 0)
    s->network = NETWORK_SLIRP;
  else if (str_has_prefix (arg, "slirp:"))
    opts = arg + strlen ("slirp:");
  else if (str_has_prefix (arg, "slirp4netns:"))
    opts = arg + strlen ("slirp4netns:");
  else
    return rl_error (err, 0,
                     "--network: unknown mode `%s` (slirp, none, host, container:NAME or "
                     "ns:PATH)",
                     arg);
  if (opts == NULL)
    return 0;
  s->network = NETWORK_SLIRP;
  {
    cleanup_free char *copy = xstrdup (opts);
    char *save = NULL;
    for (char *o = strtok_r (copy, ",", &save); o; o = strtok_r (NULL, ",", &save))
      {
        if (str_has_prefix (o, "mtu="))
          {
            char *end;
            unsigned long n;
            errno = 0;
            n = strtoul (o + 4, &end, 10);
            if (errno || end == o + 4 || *end || n < 1280 || n > 65520)
              return rl_error (err, 0, "--network `%s`: mtu must be 1280 to 65520", arg);
            s->net_mtu = (unsigned)n;
          }
        else if (str_has_prefix (o, "allow_host_loopback="))
          {
            if (bool_value ("allow_host_loopback", o + strlen ("allow_host_loopback="),
                            &s->net_host_loopback, err)
                < 0)
              return rl_error_wrap (err, "--network");
          }
        else if (str_has_prefix (o, "enable_ipv6="))
          {
            if (bool_value ("enable_ipv6", o + strlen ("enable_ipv6="), &s->net_ipv6, err) < 0)
              return rl_error_wrap (err, "--network");
          }
        else
          return rl_error (err, 0,
                           "--network: unknown slirp option `%s` (mtu=N, "
                           "allow_host_loopback=true|false, enable_ipv6=true|false)",
                           o);
      }
  }
  return 0;
}

char *
network_mode_name (const struct run_spec *s)
{
  switch (s->network)
    {
    case NETWORK_SLIRP:
      return xstrdup ("slirp4netns");
    case NETWORK_NONE:
      return xstrdup ("none");
    case NETWORK_HOST:
      return xstrdup ("host");
    case NETWORK_CONTAINER:
      return xasprintf ("container:%s", s->network_target);
    case NETWORK_NS:
      return xasprintf ("ns:%s", s->network_target);
    }
  return xstrdup ("none");
}

static bool
parse_port_range (const char *s, size_t len, unsigned *lo, unsigned *hi)
{
  char buf[32];
  char *end, *dash;
  unsigned long a, b;

  if (len == 0 || len >= sizeof buf)
    return false;
  memcpy (buf, s, len);
  buf[len] = '\0';
  if (!isdigit ((unsigned char)buf[0]))
    return false;
  a = strtoul (buf, &end, 10);
  b = a;
  dash = end;
  if (*dash == '-')
    {
      if (!isdigit ((unsigned char)dash[1]))
        return false;
      b = strtoul (dash + 1, &end, 10);
    }
  if (*end != '\0' || a < 1 || b > 65535 || b < a)
    return false;
  *lo = (unsigned)a;
  *hi = (unsigned)b;
  return true;
}

/* [IP:][HOSTPORT[-END]:]CTRPORT[-END][/tcp|udp]; a missing host port is a
 * free one, as with Docker. */
int
parse_publish (struct run_spec *s, const char *arg, rl_error_t *err)
{
  cleanup_free char *copy = xstrdup (arg);
  char *proto = strchr (copy, '/');
  char *parts[3] = { NULL, NULL, NULL };
  size_t n = 0;
  const char *ip = "0.0.0.0";
  unsigned hlo = 0, hhi = 0, clo, chi;
  bool udp = false;
  struct in_addr a;

  if (proto)
    {
      *proto++ = '\0';
      if (strcmp (proto, "udp") == 0)
        udp = true;
      else if (strcmp (proto, "tcp") != 0)
        return rl_error (err, 0, "--publish `%s`: unknown protocol `%s` (tcp or udp)", arg, proto);
    }
  for (char *p = copy, *c; n < 3; p = c + 1)
    {
      parts[n++] = p;
      c = strchr (p, ':');
      if (c == NULL)
        break;
      *c = '\0';
      if (n == 3)
        return rl_error (err, 0, "--publish `%s`: expected [IP:]HOSTPORT:CTRPORT[/tcp|udp]", arg);
    }
  if (n == 3)
    {
      if (*parts[0] && inet_pton (AF_INET, parts[0], &a) != 1)
        return rl_error (err, 0, "--publish `%s`: `%s` is not an IPv4 address", arg, parts[0]);
      if (*parts[0])
        ip = parts[0];
    }
  if (!parse_port_range (parts[n - 1], strlen (parts[n - 1]), &clo, &chi))
    return rl_error (err, 0, "--publish `%s`: bad container port `%s` (1 to 65535, or a range)",
                     arg, parts[n - 1]);
  if (n >= 2 && *parts[n - 2])
    {
      if (!parse_port_range (parts[n - 2], strlen (parts[n - 2]), &hlo, &hhi))
        return rl_error (err, 0, "--publish `%s`: bad host port `%s` (1 to 65535, or a range)", arg,
                         parts[n - 2]);
      if (hhi - hlo != chi - clo)
        return rl_error (err, 0, "--publish `%s`: the host and container ranges differ in size",
                         arg);
    }
  if (chi - clo >= 1024)
    return rl_error (err, 0, "--publish `%s`: a range of at most 1024 ports", arg);
  for (unsigned i = 0; i <= chi - clo; i++)
    {
      struct rl_publish p = { .udp = udp, .host_port = hlo ? hlo + i : 0, .ctr_port = clo + i };
      snprintf (p.host_ip, sizeof p.host_ip, "%s", ip);
      for (size_t j = 0; j < s->n_publish; j++)
        if (p.host_port && s->publish[j].host_port == p.host_port && s->publish[j].udp == udp
            && strcmp (s->publish[j].host_ip, p.host_ip) == 0)
          return rl_error (err, 0, "--publish `%s`: host port %u/%s is published twice", arg,
                           p.host_port, udp ? "udp" : "tcp");
      s->publish = xrealloc (s->publish, (s->n_publish + 1) * sizeof p);
      s->publish[s->n_publish++] = p;
    }
  return 0;
}

/* --add-host NAME:IP (an IPv6 address has colons of its own). */
static int
parse_add_host (struct run_spec *s, const char *arg, rl_error_t *err)
{
  const char *c = strchr (arg, ':');
  struct in6_addr a;
  cleanup_free char *name = NULL;
  const char *ip;

  if (c == NULL || c == arg)
    return rl_error (err, 0, "--add-host `%s`: expected NAME:IP", arg);
  name = xstrndup (arg, (size_t)(c - arg));
  ip = c + 1;
  if (strcmp (ip, "host-gateway") == 0)
    ip = "10.0.2.2";
  if (strpbrk (name, " \t\n")
      || (inet_pton (AF_INET, ip, &a) != 1 && inet_pton (AF_INET6, ip, &a) != 1))
    return rl_error (err, 0, "--add-host `%s`: expected NAME:IP", arg);
  strv_add_take (&s->add_hosts, xasprintf ("%s %s", name, ip));
  return 0;
}

static int
run_opt_1 (void *data, int id, const char *arg, rl_error_t *err)
{
  struct parse_state *ps = data;
  struct run_spec *s = ps->s;
  struct rl_mount m;

  switch (id)
    {
    case O_INTERACTIVE:
      return opts_flag_value ("interactive", arg, &s->interactive, err);
    case O_TTY:
      return opts_flag_value ("tty", arg, &s->tty, err);
    case O_RM:
      return opts_flag_value ("rm", arg, &s->rm, err);
    case O_INIT:
      return opts_flag_value ("init", arg, &s->init, err);
    case O_NAME:
      if (!container_name_valid (arg))
        return rl_error (err, 0, "invalid container name `%s`: use [a-zA-Z0-9][a-zA-Z0-9_.-]*",
                         arg);
      return set_str (&s->name, arg);
    case O_ENV:
      return env_arg (&ps->env_args, arg, "--env", err);
    case O_ENV_FILE:
      return read_env_file (arg, &ps->env_files, err);
    case O_WORKDIR:
      if (arg[0] != '/')
        return rl_error (err, 0, "working directory `%s` is not an absolute path", arg);
      return set_str (&s->workdir, arg);
    case O_USER:
      if (*arg == '\0')
        return rl_error (err, 0, "--user: empty user");
      return set_str (&s->user, arg);
    case O_ENTRYPOINT:
      s->entrypoint_set = true;
      return parse_entrypoint (arg, &s->entrypoint, err);
    case O_HOSTNAME:
      if (*arg == '\0' || strlen (arg) > 64 || strchr (arg, '/'))
        return rl_error (err, 0, "invalid hostname `%s`", arg);
      return set_str (&s->hostname, arg);
    case O_VOLUME:
      if (parse_volume (arg, &m, err) < 0)
        return -1;
      add_mount (s, &m);
      return 0;
    case O_MOUNT:
      if (parse_mount (arg, &m, err) < 0)
        return -1;
      add_mount (s, &m);
      return 0;
    case O_TMPFS:
      if (parse_tmpfs (arg, &m, err) < 0)
        return -1;
      add_mount (s, &m);
      return 0;
    case O_NETWORK:
      return parse_network (s, arg, err);
    case O_PUBLISH:
      return parse_publish (s, arg, err);
    case O_PUBLISH_ALL:
      return opts_flag_value ("publish-all", arg, &s->publish_all, err);
    case O_DNS:
      {
        struct in6_addr a;
        if (inet_pton (AF_INET, arg, &a) != 1 && inet_pton (AF_INET6, arg, &a) != 1)
          return rl_error (err, 0, "--dns `%s`: expected an IP address", arg);
        strv_add (&s->dns, arg);
        return 0;
      }
    case O_DNS_SEARCH:
      if (*arg == '\0' || strpbrk (arg, " \t\n"))
        return rl_error (err, 0, "--dns-search `%s`: expected a domain", arg);
      strv_add (&s->dns_search, arg);
      return 0;
    case O_DNS_OPTION:
      if (*arg == '\0' || strpbrk (arg, " \t\n"))
        return rl_error (err, 0, "--dns-option `%s`: expected one option (ndots:2)", arg);
      strv_add (&s->dns_option, arg);
      return 0;
    case O_ADD_HOST:
      return parse_add_host (s, arg, err);
    case O_NO_HOSTS:
      return opts_flag_value ("no-hosts", arg, &s->no_hosts, err);
    case O_STORAGE_DRIVER:
      {
        enum rl_driver d;
        if (driver_from_name (arg, &d, err) < 0)
          return -1;
        return set_str (&s->storage_driver, arg);
      }
    case O_PULL:
      {
        static const char *const names[] = { "missing", "always", "never" };
        for (size_t i = 0; i < ARRAY_SIZE (names); i++)
          if (strcmp (arg, names[i]) == 0)
            {
              s->pull = (enum rl_pull_policy)i;
              return 0;
            }
        return rl_error (err, 0, "--pull: unknown policy `%s` (missing, always or never)", arg);
      }
    case O_PLATFORM:
      return set_str (&s->platform, arg);
    case O_TLS_VERIFY:
      s->tls_verify_set = true;
      return opts_flag_value ("tls-verify", arg, &s->tls_verify, err);
    case O_CAP_ADD:
      return cap_list (&s->cap_add, arg, "cap-add", err);
    case O_CAP_DROP:
      return cap_list (&s->cap_drop, arg, "cap-drop", err);
    case O_SECURITY_OPT:
      return parse_security_opt (s, arg, err);
    case O_PRIVILEGED:
      return opts_flag_value ("privileged", arg, &s->privileged, err);
    case O_READ_ONLY:
      return opts_flag_value ("read-only", arg, &s->read_only, err);
    case O_READ_ONLY_TMPFS:
      return opts_flag_value ("read-only-tmpfs", arg, &s->read_only_tmpfs, err);
    case O_DEVICE:
      {
        struct rl_device d;
        if (parse_device (arg, &d, err) < 0)
          return -1;
        s->devices = xrealloc (s->devices, (s->n_devices + 1) * sizeof d);
        s->devices[s->n_devices++] = d;
        return 0;
      }
    case O_ULIMIT:
      {
        struct rl_ulimit u;
        if (parse_ulimit (arg, &u, err) < 0)
          return -1;
        s->ulimits = xrealloc (s->ulimits, (s->n_ulimits + 1) * sizeof u);
        s->ulimits[s->n_ulimits++] = u;
        return 0;
      }
    case O_PIDS_LIMIT:
      {
        char *end;
        errno = 0;
        s->pids_limit = strtoll (arg, &end, 10);
        if (errno != 0 || end == arg || *end != '\0' || s->pids_limit < -1 || s->pids_limit == 0)
          return rl_error (err, 0, "--pids-limit `%s`: expected a positive number (-1: none)", arg);
        return 0;
      }
    case O_MEMORY:
      if (!parse_size (arg, &s->memory) || s->memory == 0)
        return rl_error (err, 0, "--memory `%s`: expected a size such as 512m or 2g", arg);
      return 0;
    case O_CPUS:
      return parse_cpus (arg, &s->cpus, err);
    case O_DETACH:
      return opts_flag_value ("detach", arg, &s->detach, err);
    case O_RESTART:
      return parse_restart (s, arg, err);
    case O_LABEL:
      if (*arg == '\0' || *arg == '=')
        return rl_error (err, 0, "--label `%s`: expected KEY=VALUE", arg);
      if (strchr (arg, '='))
        env_set (&s->labels, arg);
      else
        strv_add_take (&s->labels, xasprintf ("%s=", arg));
      return 0;
    case O_CIDFILE:
      return set_str (&s->cidfile, arg);
    case O_LOG_OPT:
      return parse_log_opt (s, arg, err);
    case O_STOP_SIGNAL:
      {
        int sig = signal_from_name (arg);
        if (sig <= 0)
          return rl_error (err, 0, "--stop-signal: unknown signal `%s`", arg);
        s->stop_signal = sig;
        return 0;
      }
    case O_STOP_TIMEOUT:
      {
        char *end;
        long n;
        errno = 0;
        n = strtol (arg, &end, 10);
        if (errno || *end || end == arg || n < -1 || n > 86400 * 365)
          return rl_error (err, 0, "--stop-timeout `%s`: expected seconds", arg);
        s->stop_timeout = (int)n;
        return 0;
      }
    }
  return 0;
}

static int
run_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  if (run_opt_1 (data, id, arg, err) < 0)
    return -1;
  canon_add (data, id, arg);
  return 0;
}

static int
spec_parse (const struct rl_cmd_spec *cmd, struct run_spec *s, int argc, char **argv,
            bool *help_shown, rl_error_t *err)
{
  struct parse_state ps = { .s = s };
  cleanup_strv char **args = NULL;
  int ret;

  memset (s, 0, sizeof *s);
  s->read_only_tmpfs = true;
  s->net_ipv6 = true;
  s->stop_timeout = -1;
  ret = opts_parse (cmd, argc, argv, run_opt, &ps, &args, help_shown, err);
  for (size_t i = 0; ps.env_args && ps.env_args[i]; i++)
    strv_add (&ps.env_files, ps.env_args[i]);
  s->env = steal_pointer (&ps.env_files);
  strv_free (ps.env_args);
  for (size_t i = 0; s->env && s->env[i]; i++)
    strv_add_take (&ps.canon, xasprintf ("--env=%s", s->env[i]));
  s->canon = steal_pointer (&ps.canon);
  if (ret < 0 || *help_shown)
    return ret;
  if (args == NULL || args[0] == NULL)
    return rl_error (err, 0, "%s: an image is required (see `rl %s --help`)", cmd->name, cmd->name);
  if (s->rm && s->restart != RESTART_NO)
    return rl_error (err, 0, "%s: --rm and --restart cannot be used together", cmd->name);
  if ((s->n_publish || s->publish_all) && s->network != NETWORK_SLIRP)
    {
      cleanup_free char *mode = network_mode_name (s);
      return rl_error (err, 0, "%s: -p and -P need the slirp network, not `%s`", cmd->name, mode);
    }
  s->image = xstrdup (args[0]);
  s->args = strv_dup (args + 1);
  strv_add (&s->canon, "--");
  for (size_t i = 0; args[i]; i++)
    strv_add (&s->canon, args[i]);
  return 0;
}

int
run_spec_parse (struct run_spec *s, int argc, char **argv, bool *help_shown, rl_error_t *err)
{
  return spec_parse (&run_cmd, s, argc, argv, help_shown, err);
}

int
create_spec_parse (struct run_spec *s, int argc, char **argv, bool *help_shown, rl_error_t *err)
{
  if (spec_parse (&create_cmd, s, argc, argv, help_shown, err) < 0)
    return -1;
  if (s->detach)
    return rl_error (err, 0,
                     "create: --detach is for `rl run` (`rl start` runs in the background)");
  return 0;
}

int
run_spec_from_record (struct run_spec *s, char *const *canon, rl_error_t *err)
{
  cleanup_strv char **argv = NULL;
  bool help = false;

  strv_add (&argv, "run");
  for (size_t i = 0; canon && canon[i]; i++)
    strv_add (&argv, canon[i]);
  if (spec_parse (&run_cmd, s, (int)strv_len (argv), argv, &help, err) < 0 || help)
    return rl_error_wrap (err, "the container's recorded options");
  return 0;
}

char **
run_command (const struct run_spec *s, char *const *img_entrypoint, char *const *img_cmd)
{
  char **cmd = NULL;
  char *const *ep = s->entrypoint_set ? s->entrypoint : img_entrypoint;
  char *const *rest = (s->args && s->args[0]) ? s->args : s->entrypoint_set ? NULL : img_cmd;

  for (size_t i = 0; ep && ep[i]; i++)
    strv_add (&cmd, ep[i]);
  for (size_t i = 0; rest && rest[i]; i++)
    strv_add (&cmd, rest[i]);
  return cmd;
}

char **
run_environment (const struct run_spec *s, char *const *img_env, const char *hostname,
                 const char *home)
{
  char **env = NULL;

  strv_add_take (&env, xasprintf ("HOSTNAME=%s", hostname));
  if (s->tty)
    strv_add (&env, "TERM=xterm");
  for (size_t i = 0; img_env && img_env[i]; i++)
    if (strchr (img_env[i], '='))
      env_set (&env, img_env[i]);
  for (size_t i = 0; s->env && s->env[i]; i++)
    env_set (&env, s->env[i]);
  if (env_get (env, "PATH") == NULL)
    strv_add (&env, "PATH=" RL_DEFAULT_PATH);
  if (env_get (env, "HOME") == NULL)
    strv_add_take (&env, xasprintf ("HOME=%s", home));
  return env;
}
