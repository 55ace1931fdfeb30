/* rl login / rl logout: credentials in Podman's auth.json. */
#include "config.h"
#include "cmd/cmd.h"
#include "image/ref.h"
#include "registry/auth.h"
#include "registry/registry.h"
#include "util/opts.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASSWORD_MAX 4096

enum
{
  OPT_USERNAME = 1,
  OPT_PASSWORD,
  OPT_PASSWORD_STDIN,
  OPT_TLS_VERIFY,
  OPT_ALL,
};

struct login_cmd
{
  char *user;
  char *pass;
  bool pass_stdin;
  int tls_verify;
  bool all;
};

static const struct rl_opt login_opts[] = {
  { "username", 'u', "USER", "user name (asked on the terminal when missing)", OPT_USERNAME },
  { "password", 'p', "PASSWORD", "password (visible to other users: prefer --password-stdin)",
    OPT_PASSWORD },
  { "password-stdin", 0, NULL, "read the password from standard input", OPT_PASSWORD_STDIN },
  { "tls-verify", 0, NULL,
    "check the registry's certificate (--tls-verify=false also allows plain HTTP)",
    OPT_TLS_VERIFY },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec login_spec = {
  "login",
  "[OPTIONS] REGISTRY",
  "Check credentials against a registry and store them in ${XDG_RUNTIME_DIR}/containers/auth.json "
  "(Podman's file) for pull and push.",
  login_opts,
  "echo \"$TOKEN\" | rl login -u me --password-stdin registry.example.org",
  true,
};

static const struct rl_opt logout_opts[] = {
  { "all", 'a', NULL, "remove the credentials of every registry", OPT_ALL },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec logout_spec = {
  "logout",
  "[OPTIONS] REGISTRY|--all",
  "Remove stored credentials from ${XDG_RUNTIME_DIR}/containers/auth.json (~/.docker/config.json "
  "is never changed).",
  logout_opts,
  "rl logout registry.example.org",
  true,
};

static int
set_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct login_cmd *c = data;
  bool b;

  switch (id)
    {
    case OPT_USERNAME:
      free (c->user);
      c->user = xstrdup (arg);
      return 0;
    case OPT_PASSWORD:
      free (c->pass);
      c->pass = xstrdup (arg);
      return 0;
    case OPT_PASSWORD_STDIN:
      return opts_flag_value ("password-stdin", arg, &c->pass_stdin, err);
    case OPT_TLS_VERIFY:
      if (opts_flag_value ("tls-verify", arg, &b, err) < 0)
        return -1;
      c->tls_verify = b ? 1 : 0;
      return 0;
    case OPT_ALL:
      return opts_flag_value ("all", arg, &c->all, err);
    }
  return 0;
}

/* "host[:port]" or "host/path" (Podman accepts a repository too), with
 * URLs and Docker Hub's API names reduced to what references use. */
static int
login_key (const char *arg, char **key, rl_error_t *err)
{
  cleanup_ref struct rl_ref r = { 0 };
  cleanup_free char *s = NULL;
  const char *a = arg;
  size_t n;

  if (str_has_prefix (a, "https://"))
    a += strlen ("https://");
  else if (str_has_prefix (a, "http://"))
    a += strlen ("http://");
  s = xstrdup (a);
  n = strlen (s);
  while (n > 0 && s[n - 1] == '/')
    s[--n] = '\0';
  if (strchr (s, '/') == NULL)
    {
      /* A bare host: check it like a reference's domain. */
      cleanup_free char *probe = xasprintf ("%s/x", s);
      if (ref_parse (probe, &r, err) < 0 || r.domain == NULL)
        {
          rl_error_free (err);
          return rl_error (err, 0, "invalid registry `%s` (expected HOST[:PORT])", arg);
        }
    }
  else if (ref_parse (s, &r, err) < 0 || r.domain == NULL || r.tag || r.digest)
    {
      rl_error_free (err);
      return rl_error (err, 0, "invalid registry `%s` (expected HOST[:PORT][/PATH])", arg);
    }
  if (strcmp (r.domain, "index.docker.io") == 0 || strcmp (r.domain, "registry-1.docker.io") == 0)
    {
      free (r.domain);
      r.domain = xstrdup ("docker.io");
    }
  *key = strchr (s, '/') ? ref_repository (&r) : xstrdup (r.domain);
  return 0;
}

/* Read one line from fd (the trailing newline dropped). */
static int
read_line (int fd, char **out, rl_error_t *err)
{
  cleanup_free char *buf = xmalloc (PASSWORD_MAX + 1);
  size_t n = 0;

  for (;;)
    {
      ssize_t r = read (fd, buf + n, 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return rl_error (err, errno, "read standard input");
      if (r == 0 || buf[n] == '\n')
        break;
      if (++n == PASSWORD_MAX)
        return rl_error (err, 0, "password longer than %d bytes", PASSWORD_MAX);
    }
  while (n > 0 && buf[n - 1] == '\r')
    n--;
  buf[n] = '\0';
  *out = steal_pointer (&buf);
  return 0;
}

static int
prompt (const char *what, bool echo, char **out, rl_error_t *err)
{
  struct termios old, quiet;
  int r;

  if (!isatty (STDIN_FILENO))
    return rl_error (err, 0, "no %s given and standard input is not a terminal to ask for it",
                     what);
  fprintf (stderr, "%s: ", what);
  fflush (stderr);
  if (!echo && tcgetattr (STDIN_FILENO, &old) == 0)
    {
      quiet = old;
      quiet.c_lflag &= ~ECHO;
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
      r = read_line (STDIN_FILENO, out, err);
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &old);
      fputc ('\n', stderr);
      return r;
    }
  return read_line (STDIN_FILENO, out, err);
}

int
cmd_login (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  struct login_cmd c = { .tls_verify = -1 };
  cleanup_strv char **args = NULL;
  cleanup_free char *key = NULL;
  cleanup_free char *path = NULL;
  cleanup_reg_client struct reg_client *client = NULL;
  struct reg_client_opts co = { 0 };
  char *slash;
  bool help;
  int ret = -1;

  if (opts_parse (&login_spec, argc, argv, set_opt, &c, &args, &help, err) < 0)
    goto out;
  if (help)
    {
      ret = 0;
      goto out;
    }
  if (strv_len (args) != 1)
    {
      rl_error (err, 0, "login: expected one REGISTRY (see `rl login --help`)");
      goto out;
    }
  if (c.pass && c.pass_stdin)
    {
      rl_error (err, 0, "login: `--password` and `--password-stdin` exclude each other");
      goto out;
    }
  if (login_key (args[0], &key, err) < 0)
    goto fail;
  if (c.pass_stdin)
    {
      if (c.user == NULL)
        {
          rl_error (err, 0, "`--password-stdin` needs `--username`");
          goto fail;
        }
      if (read_line (STDIN_FILENO, &c.pass, err) < 0)
        goto fail;
    }
  if (c.user == NULL && prompt ("Username", true, &c.user, err) < 0)
    goto fail;
  if (c.pass == NULL && prompt ("Password", false, &c.pass, err) < 0)
    goto fail;
  if (*c.user == '\0' || strchr (c.user, ':'))
    {
      rl_error (err, 0, "invalid user name `%s`", c.user);
      goto fail;
    }

  /* Check before saving: a typo must not replace working credentials. */
  co.tls_verify = c.tls_verify;
  co.username = c.user;
  co.password = c.pass;
  co.config_path = g->config;
  slash = strchr (key, '/');
  {
    cleanup_free char *host = slash ? xstrndup (key, slash - key) : xstrdup (key);
    if (reg_client_open (host, slash ? slash + 1 : "", &co, &client, err) < 0
        || reg_client_check (client, err) < 0)
      goto fail;
  }
  path = auth_file_path ();
  if (auth_store (path, key, c.user, c.pass, err) < 0)
    {
      if ((*err)->errnum == EACCES && getenv ("XDG_RUNTIME_DIR") == NULL)
        {
          cleanup_free char *m = xstrdup ((*err)->msg);
          rl_error_free (err);
          rl_error (err, 0, "%s (set XDG_RUNTIME_DIR or REGISTRY_AUTH_FILE)", m);
        }
      goto fail;
    }
  printf ("Login Succeeded!\n");
  ret = 0;
  goto out;
fail:
  rl_error_wrap (err, "login %s", args[0]);
out:
  free (c.user);
  if (c.pass)
    explicit_bzero (c.pass, strlen (c.pass));
  free (c.pass);
  return ret;
}

int
cmd_logout (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  struct login_cmd c = { 0 };
  cleanup_strv char **args = NULL;
  cleanup_free char *key = NULL;
  cleanup_free char *path = auth_file_path ();
  bool help, removed;

  if (opts_parse (&logout_spec, argc, argv, set_opt, &c, &args, &help, err) < 0)
    return -1;
  if (help)
    return 0;
  if (c.all)
    {
      if (strv_len (args) != 0)
        return rl_error (err, 0, "logout: `--all` takes no REGISTRY");
      if (auth_remove (path, NULL, &removed, err) < 0)
        return rl_error_wrap (err, "logout");
      printf ("Removed login credentials for all registries\n");
      return 0;
    }
  if (strv_len (args) != 1)
    return rl_error (err, 0, "logout: expected one REGISTRY or --all (see `rl logout --help`)");
  if (login_key (args[0], &key, err) < 0)
    return rl_error_wrap (err, "logout");
  if (auth_remove (path, key, &removed, err) < 0)
    return rl_error_wrap (err, "logout %s", args[0]);
  if (!removed)
    return rl_error (err, 0, "logout %s: not logged in (no entry in `%s`)", args[0], path);
  printf ("Removed login credentials for %s\n", key);
  return 0;
}
