/* Unit tests of the runtime's pure parts: `rl run` options, -v/--mount/
 * --tmpfs, env files, the command and environment rules, and user lookup
 * in an image's passwd and group text.
 * Also capability names and sets, --security-opt, and the seccomp filters:
 * compiled, and loaded in a child to see what they answer. */
#include "config.h"
#include "runtime/caps.h"
#include "runtime/runspec.h"
#include "runtime/seccomp.h"
#include "runtime/userdb.h"
#include "util/util.h"
#include "unit.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int
parse (struct run_spec *s, rl_error_t *err, ...)
{
  char *argv[64];
  int argc = 0;
  bool help = false;
  va_list ap;
  const char *a;

  argv[argc++] = (char *)"run";
  va_start (ap, err);
  while ((a = va_arg (ap, const char *)) != NULL)
    argv[argc++] = (char *)a;
  va_end (ap);
  argv[argc] = NULL;
  return run_spec_parse (s, argc, argv, &help, err);
}

static void
test_network_options (void)
{
  struct run_spec s;
  rl_error_t err = NULL;
  char *mode;

  CHECK (parse (&s, &err, "--network",
                "slirp4netns:mtu=1500,allow_host_loopback=true,"
                "enable_ipv6=false",
                "-p", "127.0.0.1:8080:80", "-p", "9000-9002:7000-7002/udp", "-p", "53", "-P", "bb",
                NULL)
         == 0);
  CHECK (s.network == NETWORK_SLIRP && s.net_mtu == 1500 && s.net_host_loopback && !s.net_ipv6);
  CHECK (s.publish_all && s.n_publish == 5);
  CHECK_STR (s.publish[0].host_ip, "127.0.0.1");
  CHECK (s.publish[0].host_port == 8080 && s.publish[0].ctr_port == 80 && !s.publish[0].udp);
  CHECK (s.publish[3].host_port == 9002 && s.publish[3].ctr_port == 7002 && s.publish[3].udp);
  CHECK_STR (s.publish[4].host_ip, "0.0.0.0");
  CHECK (s.publish[4].host_port == 0 && s.publish[4].ctr_port == 53);
  mode = network_mode_name (&s);
  CHECK_STR (mode, "slirp4netns");
  free (mode);
  run_spec_clear (&s);

  CHECK (parse (&s, &err, "--network", "container:web", "--dns", "1.1.1.1", "--add-host",
                "db:10.0.0.5", "--add-host", "v6:fd00::9", "--no-hosts", "bb", NULL)
         == 0);
  CHECK (s.network == NETWORK_CONTAINER && s.no_hosts);
  CHECK_STR (s.network_target, "web");
  CHECK_STR (s.dns[0], "1.1.1.1");
  CHECK_STR (s.add_hosts[0], "db 10.0.0.5");
  CHECK_STR (s.add_hosts[1], "v6 fd00::9");
  mode = network_mode_name (&s);
  CHECK_STR (mode, "container:web");
  free (mode);
  run_spec_clear (&s);

  {
    static const char *const bad[][2] = {
      { "--network", "slirp:mtu=70000" },
      { "--network", "slirp:port_handler=x" },
      { "--network", "ns:relative" },
      { "--network", "container:" },
      { "-p", "80/sctp" },
      { "-p", "1.2.3:80:80" },
      { "-p", "8080-8081:80" },
      { "-p", "0:80" },
      { "-p", "70000:80" },
      { "--dns", "not-an-ip" },
      { "--add-host", "nocolon" },
      { "--add-host", "x:999.1.1.1" },
    };
    for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
      {
        CHECK (parse (&s, &err, bad[i][0], bad[i][1], "bb", NULL) < 0);
        CHECK (err && strchr (err->msg, '\n') == NULL);
        rl_error_free (&err);
        run_spec_clear (&s);
      }
  }
  /* Publishing needs slirp. */
  CHECK (parse (&s, &err, "--network", "none", "-p", "80:80", "bb", NULL) < 0);
  CHECK (err && strstr (err->msg, "none"));
  rl_error_free (&err);
  run_spec_clear (&s);
  /* The record keeps them. */
  CHECK (
      parse (&s, &err, "-p", "8080:80", "--network", "slirp:allow_host_loopback=true", "bb", NULL)
      == 0);
  CHECK (strv_contains (s.canon, "--publish=8080:80"));
  CHECK (strv_contains (s.canon, "--network=slirp:allow_host_loopback=true"));
  run_spec_clear (&s);
}

static void
test_run_options (void)
{
  struct run_spec s;
  rl_error_t err = NULL;

  CHECK (parse (&s, &err, "-it", "--rm", "--name", "web", "-e", "A=1", "-w", "/srv", "-u",
                "alice:users", "-h", "box", "--network", "host", "--init", "bb", "sh", "-c",
                "echo hi", NULL)
         == 0);
  CHECK (s.interactive && s.tty && s.rm && s.init);
  CHECK_STR (s.name, "web");
  CHECK_STR (s.workdir, "/srv");
  CHECK_STR (s.user, "alice:users");
  CHECK_STR (s.hostname, "box");
  CHECK (s.network == NETWORK_HOST);
  CHECK_STR (s.image, "bb");
  CHECK (strv_len (s.args) == 3);
  CHECK_STR (s.args[2], "echo hi");
  CHECK_STR (s.env[0], "A=1");
  run_spec_clear (&s);

  /* Options after the image belong to the command. */
  CHECK (parse (&s, &err, "bb", "ls", "-l", NULL) == 0);
  CHECK (!s.interactive);
  CHECK_STR (s.args[1], "-l");
  CHECK (s.network == NETWORK_SLIRP && s.net_ipv6 && !s.net_host_loopback && s.net_mtu == 0);
  run_spec_clear (&s);

  CHECK (parse (&s, &err, "--bogus", "bb", NULL) < 0);
  CHECK (err && strstr (err->msg, "--bogus"));
  rl_error_free (&err);
  run_spec_clear (&s);

  CHECK (parse (&s, &err, "--network", "bridge", "bb", NULL) < 0);
  CHECK (err && strstr (err->msg, "bridge"));
  rl_error_free (&err);
  run_spec_clear (&s);

  CHECK (parse (&s, &err, "--storage-driver", "btrfs", "bb", NULL) < 0);
  rl_error_free (&err);
  run_spec_clear (&s);

  CHECK (parse (&s, &err, "--name", "-bad", "bb", NULL) < 0);
  rl_error_free (&err);
  run_spec_clear (&s);

  CHECK (parse (&s, &err, "-w", "relative", "bb", NULL) < 0);
  rl_error_free (&err);
  run_spec_clear (&s);

  CHECK (parse (&s, &err, "-i", NULL) < 0);
  CHECK (err && strstr (err->msg, "image"));
  rl_error_free (&err);
  run_spec_clear (&s);
}

static void
test_env_options (void)
{
  struct run_spec s;
  rl_error_t err = NULL;

  setenv ("RL_TEST_FROM_CALLER", "yes", 1);
  unsetenv ("RL_TEST_UNSET");
  CHECK (parse (&s, &err, "-e", "RL_TEST_FROM_CALLER", "-e", "RL_TEST_UNSET", "-eB=2", "--env",
                "C=x=y", "bb", NULL)
         == 0);
  CHECK (strv_len (s.env) == 3);
  CHECK_STR (env_get (s.env, "RL_TEST_FROM_CALLER"), "yes");
  CHECK (env_get (s.env, "RL_TEST_UNSET") == NULL);
  CHECK_STR (env_get (s.env, "B"), "2");
  CHECK_STR (env_get (s.env, "C"), "x=y");
  run_spec_clear (&s);

  CHECK (parse (&s, &err, "-e", "=x", "bb", NULL) < 0);
  rl_error_free (&err);
  run_spec_clear (&s);
}

static void
test_env_file (void)
{
  char **env = NULL;
  rl_error_t err = NULL;

  setenv ("RL_TEST_FILE_VAR", "from-caller", 1);
  CHECK (env_file_parse ("# comment\n\nA=1\n  B=two words\r\nRL_TEST_FILE_VAR\nRL_TEST_NOPE\nC=",
                         "f", &env, &err)
         == 0);
  CHECK (strv_len (env) == 4);
  CHECK_STR (env_get (env, "A"), "1");
  CHECK_STR (env_get (env, "B"), "two words");
  CHECK_STR (env_get (env, "RL_TEST_FILE_VAR"), "from-caller");
  CHECK_STR (env_get (env, "C"), "");
  strv_free (env);
  env = NULL;

  CHECK (env_file_parse ("A=1\nBAD KEY=2\n", "envf", &env, &err) < 0);
  CHECK (err && strstr (err->msg, "envf:2"));
  rl_error_free (&err);
  strv_free (env);
}

static void
test_volume (void)
{
  struct rl_mount m;
  rl_error_t err = NULL;

  CHECK (parse_volume ("/srv/data:/data", &m, &err) == 0);
  CHECK (m.type == MOUNT_BIND && !m.readonly);
  CHECK_STR (m.source, "/srv/data");
  CHECK_STR (m.target, "/data");
  rl_mount_clear (&m);

  CHECK (parse_volume ("/srv:/srv:ro", &m, &err) == 0);
  CHECK (m.readonly);
  rl_mount_clear (&m);

  CHECK (parse_volume ("/srv:/srv:rw,z", &m, &err) == 0);
  CHECK (!m.readonly);
  rl_mount_clear (&m);

  CHECK (parse_volume ("myvol:/data", &m, &err) < 0);
  CHECK (err && strstr (err->msg, "named volumes"));
  rl_error_free (&err);
  CHECK (parse_volume ("./rel:/data", &m, &err) < 0);
  rl_error_free (&err);
  CHECK (parse_volume ("/data", &m, &err) < 0);
  rl_error_free (&err);
  CHECK (parse_volume ("/a:rel", &m, &err) < 0);
  rl_error_free (&err);
  CHECK (parse_volume ("/a:/b:bogus", &m, &err) < 0);
  CHECK (err && strstr (err->msg, "bogus"));
  rl_error_free (&err);
}

static void
test_mount (void)
{
  struct rl_mount m;
  rl_error_t err = NULL;

  CHECK (parse_mount ("type=bind,source=/a,target=/b,readonly", &m, &err) == 0);
  CHECK (m.type == MOUNT_BIND && m.readonly);
  CHECK_STR (m.source, "/a");
  CHECK_STR (m.target, "/b");
  rl_mount_clear (&m);

  CHECK (parse_mount ("type=bind,src=/a,dst=/b,ro=false", &m, &err) == 0);
  CHECK (!m.readonly);
  rl_mount_clear (&m);

  CHECK (parse_mount ("type=tmpfs,destination=/scratch,tmpfs-size=64m,tmpfs-mode=700", &m, &err)
         == 0);
  CHECK (m.type == MOUNT_TMPFS);
  CHECK (m.size == 64ULL << 20);
  CHECK (m.mode == 0700);
  CHECK_STR (m.target, "/scratch");
  rl_mount_clear (&m);

  CHECK (parse_mount ("type=volume,target=/x", &m, &err) < 0);
  rl_error_free (&err);
  CHECK (parse_mount ("source=/a,target=/b", &m, &err) < 0);
  rl_error_free (&err);
  CHECK (parse_mount ("type=bind,target=/b", &m, &err) < 0);
  rl_error_free (&err);
  CHECK (parse_mount ("type=tmpfs,target=/b,tmpfs-size=lots", &m, &err) < 0);
  rl_error_free (&err);
  CHECK (parse_mount ("type=bind,source=/a,target=/b,color=red", &m, &err) < 0);
  CHECK (err && strstr (err->msg, "color"));
  rl_error_free (&err);
}

static void
test_tmpfs (void)
{
  struct rl_mount m;
  rl_error_t err = NULL;

  CHECK (parse_tmpfs ("/run", &m, &err) == 0);
  CHECK (m.type == MOUNT_TMPFS && m.mode == 01777 && m.noexec && m.nosuid && m.nodev);
  CHECK (m.size == 0);
  rl_mount_clear (&m);

  CHECK (parse_tmpfs ("/run:rw,exec,size=1g,mode=755", &m, &err) == 0);
  CHECK (!m.noexec && m.nosuid);
  CHECK (m.size == 1ULL << 30);
  CHECK (m.mode == 0755);
  rl_mount_clear (&m);

  CHECK (parse_tmpfs ("run", &m, &err) < 0);
  rl_error_free (&err);
  CHECK (parse_tmpfs ("/run:size=x", &m, &err) < 0);
  rl_error_free (&err);
}

static void
test_parse_size (void)
{
  unsigned long long v;

  CHECK (parse_size ("4096", &v) && v == 4096);
  CHECK (parse_size ("64k", &v) && v == 65536);
  CHECK (parse_size ("2MB", &v) && v == 2ULL << 20);
  CHECK (parse_size ("1G", &v) && v == 1ULL << 30);
  CHECK (!parse_size ("", &v));
  CHECK (!parse_size ("12q", &v));
  CHECK (!parse_size ("-1", &v));
}

static void
test_command (void)
{
  char *ep[] = { (char *)"/entry", (char *)"--flag", NULL };
  char *cmd[] = { (char *)"default", NULL };
  struct run_spec s = { 0 };
  char *args[] = { (char *)"mine", NULL };
  char *empty_ep[] = { NULL };
  char *new_ep[] = { (char *)"/other", NULL };
  char **c;

  c = run_command (&s, ep, cmd);
  CHECK (strv_len (c) == 3);
  CHECK_STR (c[2], "default");
  strv_free (c);

  s.args = args;
  c = run_command (&s, ep, cmd);
  CHECK (strv_len (c) == 3);
  CHECK_STR (c[2], "mine");
  strv_free (c);

  /* --entrypoint drops the image's Cmd, as Docker does. */
  s.args = NULL;
  s.entrypoint_set = true;
  s.entrypoint = new_ep;
  c = run_command (&s, ep, cmd);
  CHECK (strv_len (c) == 1);
  CHECK_STR (c[0], "/other");
  strv_free (c);

  /* --entrypoint "" and no arguments: nothing to run. */
  s.entrypoint = empty_ep;
  c = run_command (&s, ep, cmd);
  CHECK (c == NULL);

  s.entrypoint_set = false;
  c = run_command (&s, NULL, NULL);
  CHECK (c == NULL);
}

static void
test_environment (void)
{
  char *img_env[] = { (char *)"PATH=/img/bin", (char *)"A=image", (char *)"B=image", NULL };
  char *user_env[] = { (char *)"B=user", (char *)"HOSTNAME=mine", NULL };
  struct run_spec s = { 0 };
  char **e;

  s.tty = true;
  s.env = user_env;
  e = run_environment (&s, img_env, "abc123", "/root");
  CHECK_STR (env_get (e, "PATH"), "/img/bin");
  CHECK_STR (env_get (e, "A"), "image");
  CHECK_STR (env_get (e, "B"), "user");
  CHECK_STR (env_get (e, "HOSTNAME"), "mine");
  CHECK_STR (env_get (e, "TERM"), "xterm");
  CHECK_STR (env_get (e, "HOME"), "/root");
  strv_free (e);

  s.tty = false;
  s.env = NULL;
  e = run_environment (&s, NULL, "abc123", "/");
  CHECK_STR (env_get (e, "PATH"), RL_DEFAULT_PATH);
  CHECK_STR (env_get (e, "HOSTNAME"), "abc123");
  CHECK (env_get (e, "TERM") == NULL);
  strv_free (e);
}

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "# a comment\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                             "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
                             "broken line\n"
                             "bob:x:1001:100::/home/bob:/bin/sh\n";
static const char group[] = "root:x:0:\n"
                            "wheel:x:10:alice,bob\n"
                            "users:x:100:alice\n"
                            "alice:x:1000:\n"
                            "staff:x:50:bob\n";

static void
test_userdb (void)
{
  struct rl_user u;
  rl_error_t err = NULL;

  CHECK (userdb_resolve (NULL, passwd, group, &u, &err) == 0);
  CHECK (u.uid == 0 && u.gid == 0);
  CHECK_STR (u.home, "/root");
  rl_user_clear (&u);

  CHECK (userdb_resolve ("alice", passwd, group, &u, &err) == 0);
  CHECK (u.uid == 1000 && u.gid == 1000);
  CHECK_STR (u.home, "/home/alice");
  CHECK (u.n_groups == 2);
  CHECK (u.n_groups == 2 && u.groups[0] == 10 && u.groups[1] == 100);
  rl_user_clear (&u);

  CHECK (userdb_resolve ("bob:staff", passwd, group, &u, &err) == 0);
  CHECK (u.uid == 1001 && u.gid == 50);
  rl_user_clear (&u);

  CHECK (userdb_resolve ("1000:42", passwd, group, &u, &err) == 0);
  CHECK (u.uid == 1000 && u.gid == 42);
  CHECK_STR (u.home, "/home/alice");
  rl_user_clear (&u);

  /* A uid without an entry is fine (gid 0, no home), as in Docker. */
  CHECK (userdb_resolve ("4242", passwd, group, &u, &err) == 0);
  CHECK (u.uid == 4242 && u.gid == 0 && u.home == NULL && u.n_groups == 0);
  rl_user_clear (&u);

  CHECK (userdb_resolve ("4242:users", passwd, group, &u, &err) == 0);
  CHECK (u.gid == 100);
  rl_user_clear (&u);

  /* No passwd or group file at all. */
  CHECK (userdb_resolve ("7:8", NULL, NULL, &u, &err) == 0);
  CHECK (u.uid == 7 && u.gid == 8);
  rl_user_clear (&u);

  CHECK (userdb_resolve ("mallory", passwd, group, &u, &err) < 0);
  CHECK (err && strstr (err->msg, "mallory"));
  rl_error_free (&err);
  CHECK (userdb_resolve ("alice:nogroup", passwd, group, &u, &err) < 0);
  CHECK (err && strstr (err->msg, "nogroup"));
  rl_error_free (&err);
  CHECK (userdb_resolve ("alice:", passwd, group, &u, &err) < 0);
  rl_error_free (&err);
  CHECK (userdb_resolve ("4294967295", passwd, group, &u, &err) < 0);
  rl_error_free (&err);
}

static void
test_caps (void)
{
  rl_error_t err = NULL;
  uint64_t set, added, b;
  char *add[4] = { NULL }, *drop[4] = { NULL };

  CHECK (caps_compute (NULL, NULL, &set, &added, &err) == 0);
  CHECK (set == CAPS_DEFAULT && set == UINT64_C (0x800405fb) && added == 0);
  CHECK (caps_from_name ("net_raw", &b, &err) == 0 && b == CAP_BIT (CAP_NET_RAW));
  CHECK (caps_from_name ("CAP_Net_Raw", &b, &err) == 0 && b == CAP_BIT (CAP_NET_RAW));
  CHECK (caps_from_name ("all", &b, &err) == 0 && b == caps_all ());
  CHECK (caps_from_name ("12", &b, &err) < 0);
  rl_error_free (&err);
  CHECK (caps_from_name ("CAP_", &b, &err) < 0);
  rl_error_free (&err);
  CHECK (caps_from_name ("NET_BOGUS", &b, &err) < 0);
  CHECK_STR (err->msg, "unknown capability `NET_BOGUS`");
  rl_error_free (&err);

  /* Drop ALL, then add: only what was added. */
  add[0] = (char *)"SYS_CHROOT";
  drop[0] = (char *)"ALL";
  CHECK (caps_compute (add, drop, &set, &added, &err) == 0);
  CHECK (set == CAP_BIT (CAP_SYS_CHROOT) && added == set);
  /* Add ALL, then drop: the dropped one stays out. */
  add[0] = (char *)"ALL";
  drop[0] = (char *)"sys_admin";
  CHECK (caps_compute (add, drop, &set, &added, &err) == 0);
  CHECK (set == (caps_all () & ~CAP_BIT (CAP_SYS_ADMIN)) && added == set);
}

static void
test_security_opts (void)
{
  struct run_spec s;
  rl_error_t err = NULL;

  CHECK (parse (&s, &err, "--cap-add", "NET_RAW,chown", "--cap-drop", "ALL", "--security-opt",
                "no-new-privileges", "--security-opt", "seccomp=/p.json", "bb", NULL)
         == 0);
  CHECK (strv_len (s.cap_add) == 2 && strv_len (s.cap_drop) == 1);
  CHECK (s.no_new_privileges && s.seccomp == SECCOMP_FILE);
  CHECK_STR (s.seccomp_file, "/p.json");
  run_spec_clear (&s);

  CHECK (parse (&s, &err, "--security-opt", "seccomp=unconfined", "--security-opt",
                "no-new-privileges:false", "bb", NULL)
         == 0);
  CHECK (s.seccomp == SECCOMP_UNCONFINED && s.seccomp_file == NULL && !s.no_new_privileges);
  run_spec_clear (&s);

  CHECK (parse (&s, &err, "--cap-add", "BOGUS", "bb", NULL) < 0);
  CHECK_STR (err->msg, "--cap-add: unknown capability `BOGUS`");
  rl_error_free (&err);
  run_spec_clear (&s);
  CHECK (parse (&s, &err, "--security-opt", "apparmor=x", "bb", NULL) < 0);
  rl_error_free (&err);
  run_spec_clear (&s);
}

static void
test_seccomp_compile (void)
{
  struct seccomp_opts o = { .profile = SECCOMP_PROFILE_DEFAULT, .caps = CAPS_DEFAULT };
  struct seccomp_prog p;
  rl_error_t err = NULL;

  CHECK (seccomp_compile (&o, NULL, &p, &err) == 0);
  CHECK (p.n_insns > 100 && p.n_insns < 4096);
  seccomp_prog_clear (&p);
  o.root_emulation = true;
  o.caps = caps_all ();
  CHECK (seccomp_compile (&o, NULL, &p, &err) == 0 && p.n_insns > 100);
  seccomp_prog_clear (&p);

  /* Unconfined: no filter at all, or root emulation alone. */
  o.profile = SECCOMP_PROFILE_UNCONFINED;
  CHECK (seccomp_compile (&o, NULL, &p, &err) == 0 && p.n_insns > 0);
  seccomp_prog_clear (&p);
  o.root_emulation = false;
  CHECK (seccomp_compile (&o, NULL, &p, &err) == 0 && p.n_insns == 0);

  o.profile = SECCOMP_PROFILE_FILE;
  o.file = "t.json";
  CHECK (seccomp_compile (&o,
                          "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": "
                          "[\"SCMP_ARCH_X86\"], \"syscalls\": [{\"names\": [\"read\", "
                          "\"no_such_call\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
                          "[{\"index\": 0, \"value\": 18446744073709551615, \"op\": "
                          "\"SCMP_CMP_LE\"}]}]}",
                          &p, &err)
         == 0);
  seccomp_prog_clear (&p);
  CHECK (seccomp_compile (&o,
                          "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
                          "[{\"names\": [\"read\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
                          &p, &err)
         < 0);
  CHECK_STR (err->msg, "seccomp profile `t.json`: syscalls[0]: unknown action `SCMP_ACT_NOTIFY`");
  rl_error_free (&err);
  CHECK (seccomp_compile (&o, "[]", &p, &err) < 0);
  rl_error_free (&err);
}

/* Load p in a child (no_new_privs: no privilege needed) and return the
 * errno of each call in nrs (0 for success), packed one bit per "as
 * expected" into the exit status. */
static int
calls_under (const struct seccomp_prog *p, const long *nrs, const int *want, size_t n)
{
  pid_t pid = fork ();
  int status;

  if (pid == 0)
    {
      rl_error_t e = NULL;
      int bad = 0;

      if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load_prog (p, &e) < 0)
        _exit (255);
      for (size_t i = 0; i < n; i++)
        {
          long r = syscall (nrs[i], -1L, 0L, 0L, 0L, 0L);
          int got = r < 0 ? errno : 0;
          if (got != want[i])
            bad |= 1 << i;
        }
      syscall (SYS_exit_group, bad);
    }
  if (pid < 0 || waitpid (pid, &status, 0) != pid || !WIFEXITED (status))
    return -1;
  return WEXITSTATUS (status);
}

static void
test_seccomp_load (void)
{
  struct seccomp_opts o = { .profile = SECCOMP_PROFILE_DEFAULT, .caps = CAPS_DEFAULT };
  struct seccomp_prog p;
  rl_error_t err = NULL;
  /* keyctl(-1) and bpf(-1) would be EINVAL past the filter; getppid
   * succeeds; clone3 is ENOSYS by rule, 1000 by being past the table;
   * clone(-1) has namespace flags; personality(-1) is no safe value (its
   * high word counts); ioctl(-1, 0) passes and finds no such fd. */
  const long nrs[] = { SYS_keyctl, SYS_bpf,   SYS_getppid,     SYS_clone3,
                       1000,       SYS_clone, SYS_personality, SYS_ioctl };
  const int want[] = { EPERM, EPERM, 0, ENOSYS, ENOSYS, EPERM, EPERM, EBADF };
  /* A deny-by-default profile: calls it names work, others below its
   * highest name (exit_group, 231) are EPERM, past it ENOSYS. */
  const long jnrs[] = { SYS_getppid, SYS_tkill, 232, 1000 };
  const int jwant[] = { 0, EPERM, ENOSYS, ENOSYS };

  CHECK (seccomp_compile (&o, NULL, &p, &err) == 0);
  CHECK (calls_under (&p, nrs, want, ARRAY_SIZE (nrs)) == 0);
  seccomp_prog_clear (&p);

  o.profile = SECCOMP_PROFILE_FILE;
  o.file = "deny.json";
  CHECK (seccomp_compile (&o,
                          "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": "
                          "[\"exit_group\", \"exit\", \"getppid\"], \"action\": "
                          "\"SCMP_ACT_ALLOW\"}]}",
                          &p, &err)
         == 0);
  CHECK (calls_under (&p, jnrs, jwant, ARRAY_SIZE (jnrs)) == 0);
  seccomp_prog_clear (&p);
}

/* rl's compact program for the default profile answers every call as
 * libseccomp's program for the same rules does: every number of both
 * architectures (and past the table, x32 numbers, another architecture),
 * with the arguments that the rules look at. */
static void
test_seccomp_compact (void)
{
  static const uint64_t a0s[] = {
    0,
    0x8,
    0x20000,
    0x20008,
    0xffffffff,
    0x1,
    0x400000,
    0x100000008ULL,
    0x1ffffffffULL,
    SIGCHLD,
    CLONE_NEWNS | SIGCHLD,
    CLONE_NEWUSER,
    CLONE_NEWNET,
    CLONE_VM | CLONE_THREAD,
    (1ULL << 32) | SIGCHLD,
    (1ULL << 32) | CLONE_NEWPID,
    UINT64_MAX,
  };
  static const uint64_t a1s[]
      = { 0,         TIOCSTI, TIOCLINUX, TCGETS, TIOCSTI | (1ULL << 32), (uint64_t)TIOCLINUX << 32,
          UINT64_MAX };
  static const uint32_t arches[] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64 };
  size_t checked = 0, differ = 0;

  for (int variant = 0; variant < 4; variant++)
    {
      struct seccomp_opts o = { .profile = SECCOMP_PROFILE_DEFAULT,
                                .caps = variant & 1 ? caps_all () : CAPS_DEFAULT,
                                .root_emulation = variant & 2 };
      struct seccomp_prog ref, mine;
      rl_error_t err = NULL;

      CHECK (seccomp_compile_reference (&o, NULL, &ref, &err) == 0);
      CHECK (seccomp_compile (&o, NULL, &mine, &err) == 0);
      /* Far smaller than libseccomp's. */
      CHECK (mine.n_insns > 50 && mine.n_insns * 3 < ref.n_insns * 2);
      for (size_t ai = 0; ai < ARRAY_SIZE (arches); ai++)
        for (uint32_t k = 0; k < 560 + 16; k++)
          {
            uint32_t nr = k < 560 ? k : 0x40000000U + (k - 560);
            for (size_t j = 0; j < ARRAY_SIZE (a0s) + ARRAY_SIZE (a1s); j++)
              {
                struct seccomp_data d = { .nr = (int)nr, .arch = arches[ai] };
                uint32_t r1, r2;
                if (j < ARRAY_SIZE (a0s))
                  d.args[0] = a0s[j];
                else
                  d.args[1] = a1s[j - ARRAY_SIZE (a0s)];
                r1 = seccomp_prog_eval (&ref, &d);
                r2 = seccomp_prog_eval (&mine, &d);
                checked++;
                if (r1 != r2 || r1 == SECCOMP_EVAL_BAD)
                  {
                    if (differ++ < 10)
                      fprintf (stderr,
                               "variant %d arch %#x nr %u a0 %#llx a1 %#llx: libseccomp %#x, "
                               "rl %#x\n",
                               variant, arches[ai], nr, (unsigned long long)d.args[0],
                               (unsigned long long)d.args[1], r1, r2);
                  }
              }
          }
      seccomp_prog_clear (&ref);
      seccomp_prog_clear (&mine);
    }
  CHECK (checked > 100000);
  CHECK (differ == 0);
}

static void
test_confinement_opts (void)
{
  struct run_spec s;
  struct rl_device d;
  struct rl_ulimit u;
  rl_error_t err = NULL;

  CHECK (parse (&s, &err, "bb", NULL) == 0);
  CHECK (!s.privileged && !s.read_only && s.read_only_tmpfs && s.n_devices == 0);
  run_spec_clear (&s);
  CHECK (parse (&s, &err, "--privileged", "--read-only", "--read-only-tmpfs=false", "--device",
                "/dev/fuse", "--ulimit", "nofile=10:20", "-m", "1g", "--pids-limit", "5", "--cpus",
                "0.5", "bb", NULL)
         == 0);
  CHECK (s.privileged && s.read_only && !s.read_only_tmpfs);
  CHECK (s.n_devices == 1 && s.n_ulimits == 1);
  CHECK (s.memory == 1ULL << 30 && s.pids_limit == 5 && s.cpus == 0.5);
  run_spec_clear (&s);
  CHECK (parse (&s, &err, "--cpus", "0", "bb", NULL) < 0);
  rl_error_free (&err);
  run_spec_clear (&s);

  CHECK (parse_device ("/dev/fuse", &d, &err) == 0);
  CHECK_STR (d.ctr, "/dev/fuse");
  CHECK (d.write);
  free (d.host);
  free (d.ctr);
  CHECK (parse_device ("/dev/null:/dev/n:r", &d, &err) == 0);
  CHECK_STR (d.ctr, "/dev/n");
  CHECK (!d.write);
  free (d.host);
  free (d.ctr);
  CHECK (parse_device ("/dev/null:rw", &d, &err) == 0);
  CHECK_STR (d.ctr, "/dev/null");
  CHECK (d.write);
  free (d.host);
  free (d.ctr);
  CHECK (parse_device ("/dev/null:/x:q", &d, &err) < 0);
  rl_error_free (&err);
  CHECK (parse_device ("dev/null", &d, &err) < 0);
  rl_error_free (&err);

  CHECK (parse_ulimit ("nofile=1024:2048", &u, &err) == 0);
  CHECK (u.resource == RLIMIT_NOFILE && u.soft == 1024 && u.hard == 2048);
  CHECK (parse_ulimit ("core=unlimited", &u, &err) == 0);
  CHECK (u.resource == RLIMIT_CORE && u.soft == RLIM_INFINITY && u.hard == RLIM_INFINITY);
  CHECK (parse_ulimit ("RLIMIT_NPROC=5", &u, &err) == 0);
  CHECK (u.resource == RLIMIT_NPROC && u.hard == 5);
  CHECK_STR (ulimit_name (RLIMIT_STACK), "stack");
  CHECK (parse_ulimit ("nofile=20:10", &u, &err) < 0);
  rl_error_free (&err);
  CHECK (parse_ulimit ("bogus=1", &u, &err) < 0);
  CHECK (err && strstr (err->msg, "`bogus`"));
  rl_error_free (&err);
  CHECK (parse_ulimit ("nofile", &u, &err) < 0);
  rl_error_free (&err);
}

int
main (void)
{
  RUN_TEST (test_run_options);
  RUN_TEST (test_env_options);
  RUN_TEST (test_env_file);
  RUN_TEST (test_volume);
  RUN_TEST (test_mount);
  RUN_TEST (test_tmpfs);
  RUN_TEST (test_parse_size);
  RUN_TEST (test_command);
  RUN_TEST (test_environment);
  RUN_TEST (test_userdb);
  RUN_TEST (test_network_options);
  RUN_TEST (test_caps);
  RUN_TEST (test_security_opts);
  RUN_TEST (test_confinement_opts);
  RUN_TEST (test_seccomp_compile);
  RUN_TEST (test_seccomp_load);
  RUN_TEST (test_seccomp_compact);
  return unit_exit ();
}
