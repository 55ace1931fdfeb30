/* What `rl run` was asked to do: its options parsed from the command line
 * into one structure, plus the pure rules that combine them with the image
 * config (command, environment).  No I/O here beyond reading --env-file, so
 * all of it is unit tested. */
#ifndef RL_RUNSPEC_H
#define RL_RUNSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

enum rl_driver
{
  DRIVER_AUTO,
  DRIVER_OVERLAY,
  DRIVER_FUSE,
  DRIVER_VFS,
};

/* "overlay", "fuse-overlayfs", "vfs" ("auto" for DRIVER_AUTO). */
const char *driver_name (enum rl_driver d);
int driver_from_name (const char *name, enum rl_driver *out, rl_error_t *err);

/* --network; the zero value is the default. */
enum rl_network
{
  NETWORK_SLIRP,     /* a user-mode stack (libslirp) in rl's monitor */
  NETWORK_NONE,      /* loopback only */
  NETWORK_HOST,      /* the host's namespace */
  NETWORK_CONTAINER, /* container:NAME, that container's namespace */
  NETWORK_NS,        /* ns:PATH, the namespace at PATH */
};

/* -p [IP:]HOSTPORT:CTRPORT[/tcp|udp] (a range is one entry per port);
 * host_port 0: a free one, chosen at start (-P). */
struct rl_publish
{
  bool udp;
  char host_ip[16]; /* dotted quad, "0.0.0.0" for every address */
  unsigned host_port, ctr_port;
};

enum rl_mount_type
{
  MOUNT_BIND,
  MOUNT_TMPFS,
};

/* --pull: when `rl run` fetches the image from a registry. */
enum rl_pull_policy
{
  PULL_MISSING, /* the default: only when the store does not have it */
  PULL_ALWAYS,
  PULL_NEVER,
};

/* --security-opt seccomp=... */
enum rl_seccomp_mode
{
  SECCOMP_DEFAULT,
  SECCOMP_FILE,
  SECCOMP_UNCONFINED,
};

/* A -v, --mount or --tmpfs request. */
struct rl_mount
{
  enum rl_mount_type type;
  char *source; /* bind: host path as given (absolute) */
  char *target; /* absolute path in the container */
  bool readonly;
  /* tmpfs only */
  unsigned long long size; /* bytes, 0 for the kernel's default */
  mode_t mode;
  bool noexec, nosuid, nodev;
};

/* --device HOST[:CTR][:rwm] */
struct rl_device
{
  char *host;
  char *ctr;
  bool write; /* 'w' given (m, mknod, is meaningless rootless) */
};

/* --ulimit NAME=SOFT[:HARD] */
struct rl_ulimit
{
  int resource;                  /* RLIMIT_* */
  unsigned long long soft, hard; /* RLIM_INFINITY for unlimited */
};

/* --restart */
enum rl_restart
{
  RESTART_NO,
  RESTART_ON_FAILURE, /* restart_max tries (0: no limit) */
  RESTART_ALWAYS,
  RESTART_UNLESS_STOPPED, /* without a daemon, the same as always */
};

struct run_spec
{
  bool interactive, tty, rm, init;
  char *name;        /* NULL: a random one */
  char **env;        /* -e and --env-file, "K=V", in the order Docker applies them */
  char *workdir;     /* NULL: the image's */
  char *user;        /* NULL: the image's */
  char **entrypoint; /* --entrypoint as a vector, valid when entrypoint_set */
  bool entrypoint_set;
  char *hostname; /* NULL: the short id */
  struct rl_mount *mounts;
  size_t n_mounts;
  enum rl_network network;
  char *network_target; /* container:NAME's NAME, ns:PATH's PATH */
  unsigned net_mtu;     /* slirp: 0 for the default (65520) */
  bool net_host_loopback, net_ipv6;
  struct rl_publish *publish;
  size_t n_publish;
  bool publish_all; /* -P: the image's EXPOSE list on free host ports */
  char **dns, **dns_search, **dns_option;
  char **add_hosts; /* "NAME IP" */
  bool no_hosts;
  char *storage_driver; /* NULL: the global option, else auto */
  enum rl_pull_policy pull;
  char *platform;      /* --platform for a pull, or NULL */
  bool tls_verify_set; /* --tls-verify given (else rl.conf decides) */
  bool tls_verify;
  /* Confinement: --cap-add, --cap-drop, --security-opt */
  char **cap_add; /* names as given (validated) */
  char **cap_drop;
  enum rl_seccomp_mode seccomp;
  char *seccomp_file; /* SECCOMP_FILE */
  bool no_new_privileges;
  bool privileged;
  bool read_only;
  bool read_only_tmpfs; /* --read-only-tmpfs (on unless =false) */
  struct rl_device *devices;
  size_t n_devices;
  struct rl_ulimit *ulimits;
  size_t n_ulimits;
  /* cgroup limits, 0 when not asked */
  long long pids_limit;
  unsigned long long memory;
  double cpus;
  /* The container's lifetime: -d, --restart, --label, --cidfile, --log-opt */
  bool detach;
  enum rl_restart restart;
  int restart_max;
  char **labels; /* "KEY=VALUE", a key once */
  char *cidfile;
  unsigned long long log_max_size; /* 0: no rotation */
  int log_max_files;               /* 0: the default (1) */
  int stop_signal;                 /* 0: the image's STOPSIGNAL, else SIGTERM */
  int stop_timeout;                /* -1: the default, 10 s */
  char *image;
  char **args; /* COMMAND [ARG...] (may be empty) */
  /* The options as parsed, one "--long=ARG" (or "--flag") each, the
   * environment resolved into --env=K=V, then "--", IMAGE and the args:
   * what the container record keeps, so that `rl start` and `rl exec`
   * see the same container (run_spec_from_record).  Not -d, --cidfile. */
  char **canon;
};

void run_spec_clear (struct run_spec *s);
/* A container name as --name takes it: [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
bool container_name_valid (const char *s);
/* Parse `run [OPTIONS] IMAGE [COMMAND [ARG...]]` (argv[0] = "run").
 * *help_shown is set when --help was printed. */
int run_spec_parse (struct run_spec *s, int argc, char **argv, bool *help_shown, rl_error_t *err);
/* The same for `create [OPTIONS] IMAGE [COMMAND [ARG...]]` (no -d). */
int create_spec_parse (struct run_spec *s, int argc, char **argv, bool *help_shown,
                       rl_error_t *err);
/* The spec a container was created with, from its record's canon. */
int run_spec_from_record (struct run_spec *s, char *const *canon, rl_error_t *err);

/* The pieces, exposed for the unit tests. */
int parse_network (struct run_spec *s, const char *arg, rl_error_t *err);
/* Append the -p arg's entries to s->publish. */
int parse_publish (struct run_spec *s, const char *arg, rl_error_t *err);
/* "slirp4netns", "none", "host", "container:NAME", "ns:PATH" as Podman
 * names them (inspect, ps); the caller frees it. */
char *network_mode_name (const struct run_spec *s);
int parse_volume (const char *arg, struct rl_mount *m, rl_error_t *err);
int parse_mount (const char *arg, struct rl_mount *m, rl_error_t *err);
int parse_tmpfs (const char *arg, struct rl_mount *m, rl_error_t *err);
void rl_mount_clear (struct rl_mount *m);
/* One --security-opt: seccomp=unconfined|FILE, no-new-privileges[=|:true|
 * false], label=disable (no SELinux here: accepted for scripts). */
int parse_security_opt (struct run_spec *s, const char *arg, rl_error_t *err);
int parse_device (const char *arg, struct rl_device *d, rl_error_t *err);
int parse_ulimit (const char *arg, struct rl_ulimit *u, rl_error_t *err);
/* The name of an RLIMIT_* as --ulimit takes it ("nofile"). */
const char *ulimit_name (int resource);
/* "64m", "1g", "4096" -> bytes. */
bool parse_size (const char *s, unsigned long long *out);
/* Lines of an env file appended to *env: KEY=VALUE, or KEY alone to take the
 * caller's value (skipped when unset); blank lines and # comments skipped. */
int env_file_parse (const char *text, const char *what, char ***env, rl_error_t *err);
/* Set KEY=VALUE in *env, replacing an earlier KEY. */
void env_set (char ***env, const char *kv);
/* Value of key in env, or NULL. */
const char *env_get (char *const *env, const char *key);

/* The container's command, Docker's way: --entrypoint replaces the image's
 * Entrypoint and drops its Cmd; args replace Cmd.  NULL when empty. */
char **run_command (const struct run_spec *s, char *const *img_entrypoint, char *const *img_cmd);
/* The container's environment: HOSTNAME, TERM under -t, the image's Env, the
 * user's -e/--env-file, then PATH and HOME where still missing. */
char **run_environment (const struct run_spec *s, char *const *img_env, const char *hostname,
                        const char *home);

#define RL_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#endif
