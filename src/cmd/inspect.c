/* rl inspect (containers, then images) and rl rename. */
#include "config.h"
#include "cmd/cmd.h"
#include "image/image.h"
#include "runtime/container.h"
#include "runtime/net.h"
#include "runtime/ctrlog.h"
#include "runtime/runspec.h"
#include "util/gotmpl.h"
#include "util/json.h"
#include "util/opts.h"
#include "util/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- inspect ---- */

enum inspect_type
{
  TYPE_ANY,
  TYPE_CONTAINER,
  TYPE_IMAGE,
};

struct inspect_opts
{
  char *format;
  enum inspect_type type;
};

enum
{
  I_FORMAT = 1,
  I_TYPE,
};

static const struct rl_opt inspect_opts_table[] = {
  { "format", 'f', "FORMAT", "a Go template for each object, or `json` (the default)", I_FORMAT },
  { "type", 0, "TYPE", "what the names are: container or image (default: either)", I_TYPE },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec inspect_cmd = {
  .name = "inspect",
  .usage = "[OPTIONS] NAME [NAME...]",
  .summary = "Show details of containers or images as a JSON array",
  .opts = inspect_opts_table,
  .example = "rl inspect --format '{{.State.Status}} {{.State.ExitCode}}' web",
  .interspersed = true,
};

static int
inspect_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct inspect_opts *o = data;

  switch (id)
    {
    case I_FORMAT:
      free (o->format);
      o->format = xstrdup (arg);
      return 0;
    case I_TYPE:
      if (strcmp (arg, "container") == 0)
        o->type = TYPE_CONTAINER;
      else if (strcmp (arg, "image") == 0)
        o->type = TYPE_IMAGE;
      else
        return rl_error (err, 0, "inspect: --type `%s`: expected container or image", arg);
      return 0;
    }
  return 0;
}

/* The keys whose values are maps (a missing key is "<no value>", not an
 * error). */
static const char *const inspect_map_keys[]
    = { "Labels", "Ports", "Networks", "ExposedPorts", "Volumes", NULL };
/* An image's Config holds only the keys its config has: a map too. */
static const char *const image_map_keys[] = { "Config", "Labels", "ExposedPorts", "Volumes", NULL };

/* Go's zero time, which Docker shows for times not yet reached. */
#define ZERO_TIME "0001-01-01T00:00:00Z"

static void
jg_ktime (yajl_gen g, const char *key, int64_t unix_ns)
{
  cleanup_free char *t = unix_ns ? rfc3339_time (unix_ns) : NULL;
  jg_kstr (g, key, t ? t : ZERO_TIME);
}

static void
jg_kstrv_or_empty (yajl_gen g, const char *key, char *const *v)
{
  static char *const empty[] = { NULL };
  jg_kstrv (g, key, v ? v : empty);
}

static const char *
restart_name (enum rl_restart r)
{
  switch (r)
    {
    case RESTART_ON_FAILURE:
      return "on-failure";
    case RESTART_ALWAYS:
      return "always";
    case RESTART_UNLESS_STOPPED:
      return "unless-stopped";
    case RESTART_NO:
      break;
    }
  return "no";
}

/* The inspect object of container id, Docker's shape. */
static int
container_inspect_json (struct rl_store *st, const char *id, yajl_gen g, rl_error_t *err)
{
  struct rl_container c;
  struct container_state s;
  struct run_spec spec = { 0 };
  struct rl_image *img = NULL;
  struct rl_image_config empty_cfg = { 0 };
  const struct rl_image_config *ic;
  cleanup_free char *created = NULL;
  cleanup_free char *hostname = NULL;
  cleanup_free char *log_path = NULL;
  cleanup_free char *image = NULL;
  cleanup_strv char **env = NULL;
  rl_error_t e = NULL;
  const char *stop_signal;

  if (container_load (st, id, &c, err) < 0)
    return -1;
  if (container_get_state (st, id, &s, err) < 0)
    {
      container_clear (&c);
      return -1;
    }
  /* An old or damaged record still shows what it has. */
  if (run_spec_from_record (&spec, c.spec, &e) < 0)
    rl_error_free (&e);
  if (image_lookup (st, c.image_id, &img, &e) < 0)
    rl_error_free (&e);
  ic = img ? &img->config : &empty_cfg;

  created = rfc3339_time (c.created);
  hostname = spec.hostname ? xstrdup (spec.hostname) : xstrndup (c.id, 12);
  log_path = xasprintf ("%s/containers/%s/%s", st->root, c.id, CTRLOG_NAME);
  image = xasprintf ("sha256:%s", c.image_id);
  for (size_t i = 0; ic->env && ic->env[i]; i++)
    if (strchr (ic->env[i], '='))
      env_set (&env, ic->env[i]);
  for (size_t i = 0; spec.env && spec.env[i]; i++)
    env_set (&env, spec.env[i]);
  if (env_get (env, "PATH") == NULL)
    strv_add (&env, "PATH=" RL_DEFAULT_PATH);
  stop_signal = spec.stop_signal  ? signal_name (spec.stop_signal)
                : ic->stop_signal ? ic->stop_signal
                                  : "SIGTERM";

  yajl_gen_map_open (g);
  jg_kstr (g, "Id", c.id);
  jg_kstr (g, "Created", created);
  jg_kstr (g, "Path", c.command && c.command[0] ? c.command[0] : "");
  jg_kstrv_or_empty (g, "Args", c.command && c.command[0] ? c.command + 1 : NULL);

  jg_key (g, "State");
  yajl_gen_map_open (g);
  jg_kstr (g, "Status", s.restarting ? "restarting" : container_status_name (s.status));
  jg_kbool (g, "Running", s.status == CTR_RUNNING);
  jg_kbool (g, "Paused", false);
  jg_kbool (g, "Restarting", s.restarting);
  jg_kbool (g, "OOMKilled", false);
  jg_kbool (g, "Dead", false);
  jg_kint (g, "Pid", s.status == CTR_RUNNING && !s.restarting ? s.pid : 0);
  jg_kint (g, "ExitCode", s.status == CTR_EXITED ? s.exit_code : 0);
  jg_kstr (g, "Error", "");
  jg_ktime (g, "StartedAt", s.started);
  jg_ktime (g, "FinishedAt", s.status == CTR_EXITED ? s.finished : 0);
  yajl_gen_map_close (g);

  jg_kstr (g, "Image", image);
  jg_kstr (g, "ImageName", c.image_name ? c.image_name : spec.image);
  jg_kstr (g, "Name", c.name);
  jg_kint (g, "RestartCount", s.restarts);
  jg_kstr (g, "Driver", s.driver ? s.driver : c.driver);
  jg_kstr (g, "LogPath", log_path);

  jg_key (g, "Mounts");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < spec.n_mounts; i++)
    {
      const struct rl_mount *m = &spec.mounts[i];
      yajl_gen_map_open (g);
      jg_kstr (g, "Type", m->type == MOUNT_TMPFS ? "tmpfs" : "bind");
      jg_kstr (g, "Source", m->type == MOUNT_TMPFS ? "" : m->source);
      jg_kstr (g, "Destination", m->target);
      jg_kstr (g, "Mode", "");
      jg_kbool (g, "RW", !m->readonly);
      jg_kstr (g, "Propagation", m->type == MOUNT_TMPFS ? "" : "rprivate");
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);

  jg_key (g, "Config");
  yajl_gen_map_open (g);
  jg_kstr (g, "Hostname", hostname);
  jg_kstr (g, "Domainname", "");
  jg_kstr (g, "User", spec.user ? spec.user : ic->user ? ic->user : "");
  jg_kbool (g, "AttachStdin", spec.interactive);
  jg_kbool (g, "AttachStdout", !spec.detach);
  jg_kbool (g, "AttachStderr", !spec.detach);
  jg_kbool (g, "Tty", spec.tty);
  jg_kbool (g, "OpenStdin", spec.interactive);
  jg_kbool (g, "StdinOnce", spec.interactive && !spec.detach);
  jg_kstrv_or_empty (g, "Env", env);
  /* Docker's rules: --entrypoint drops the image's Cmd, arguments replace it. */
  jg_kstrv (g, "Cmd", spec.args && spec.args[0] ? spec.args : spec.entrypoint_set ? NULL : ic->cmd);
  jg_kstrv (g, "Entrypoint", spec.entrypoint_set ? spec.entrypoint : ic->entrypoint);
  jg_kstr (g, "Image", spec.image ? spec.image : c.image_name);
  jg_kstr (g, "WorkingDir", spec.workdir ? spec.workdir : ic->workdir ? ic->workdir : "");
  jg_klabels (g, "Labels", c.labels);
  jg_kstr (g, "StopSignal", stop_signal);
  jg_kint (g, "StopTimeout", spec.stop_timeout >= 0 ? spec.stop_timeout : 10);
  yajl_gen_map_close (g);

  jg_key (g, "HostConfig");
  yajl_gen_map_open (g);
  jg_key (g, "RestartPolicy");
  yajl_gen_map_open (g);
  jg_kstr (g, "Name", restart_name (spec.restart));
  jg_kint (g, "MaximumRetryCount", spec.restart == RESTART_ON_FAILURE ? spec.restart_max : 0);
  yajl_gen_map_close (g);
  {
    cleanup_free char *net = network_mode_name (&spec);
    jg_kstr (g, "NetworkMode", net);
  }
  jg_kbool (g, "Privileged", spec.privileged);
  jg_kstrv_or_empty (g, "CapAdd", spec.cap_add);
  jg_kstrv_or_empty (g, "CapDrop", spec.cap_drop);
  jg_kbool (g, "ReadonlyRootfs", spec.read_only);
  jg_kbool (g, "AutoRemove", c.rm);
  jg_kint (g, "Memory", (long long)spec.memory);
  jg_kint (g, "NanoCpus", (long long)(spec.cpus * 1e9));
  jg_kint (g, "PidsLimit", spec.pids_limit);
  jg_key (g, "LogConfig");
  yajl_gen_map_open (g);
  jg_kstr (g, "Type", "k8s-file");
  jg_key (g, "Config");
  yajl_gen_map_open (g);
  if (spec.log_max_size)
    {
      cleanup_free char *v = xasprintf ("%llu", spec.log_max_size);
      jg_kstr (g, "max-size", v);
    }
  if (spec.log_max_files)
    {
      cleanup_free char *v = xasprintf ("%d", spec.log_max_files);
      jg_kstr (g, "max-file", v);
    }
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);

  jg_key (g, "NetworkSettings");
  yajl_gen_map_open (g);
  jg_key (g, "Ports");
  yajl_gen_map_open (g);
  {
    /* Docker's shape: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, ...]} */
    rl_error_t pe = NULL;
    cleanup_free char *ports = net_published_ports (st, id, &pe);
    cleanup_strv char **lines = NULL;
    char *line, *save = NULL;

    rl_error_free (&pe);
    for (line = ports ? strtok_r (ports, "\n", &save) : NULL; line;
         line = strtok_r (NULL, "\n", &save))
      strv_add (&lines, line);
    for (size_t i = 0; lines && lines[i]; i++)
      {
        size_t klen = strcspn (lines[i], " ");
        bool seen = false;
        for (size_t j = 0; j < i; j++)
          seen |= strncmp (lines[j], lines[i], klen + 1) == 0;
        if (seen)
          continue;
        {
          cleanup_free char *key = xstrndup (lines[i], klen);
          jg_key (g, key);
        }
        yajl_gen_array_open (g);
        for (size_t j = i; lines[j]; j++)
          {
            char ip[64], host[8];
            if (j > i && strncmp (lines[j], lines[i], klen + 1) != 0)
              continue;
            if (sscanf (lines[j] + klen + 1, "%63s %7s", ip, host) != 2)
              continue;
            yajl_gen_map_open (g);
            jg_kstr (g, "HostIp", ip);
            jg_kstr (g, "HostPort", host);
            yajl_gen_map_close (g);
          }
        yajl_gen_array_close (g);
      }
  }
  yajl_gen_map_close (g);
  {
    bool slirp = spec.network == NETWORK_SLIRP && s.status == CTR_RUNNING;
    jg_kstr (g, "IPAddress", slirp ? NET_CTR_ADDR : "");
    jg_kint (g, "IPPrefixLen", slirp ? 24 : 0);
    jg_kstr (g, "Gateway", slirp ? NET_GATEWAY : "");
  }
  jg_kstr (g, "MacAddress", "");
  jg_key (g, "Networks");
  yajl_gen_map_open (g);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);

  if (img)
    image_free (img);
  run_spec_clear (&spec);
  container_clear (&c);
  container_state_clear (&s);
  return 0;
}

/* Look name up as the type asks: 1 (a container) or 2 (an image) with the
 * object generated into g, 0 when it names nothing. */
static int
inspect_one (struct rl_store *st, const struct rl_image_db *db, enum inspect_type type,
             const char *name, yajl_gen g, rl_error_t *err)
{
  if (type != TYPE_IMAGE)
    {
      cleanup_free char *id = NULL;
      rl_error_t e = NULL;

      if (container_resolve (st, name, &id, &e) == 0)
        return container_inspect_json (st, id, g, err) < 0 ? -1 : 1;
      /* An ambiguous id prefix is an answer, not "not found". */
      if (strstr (e->msg, "ambiguous"))
        {
          rl_error_free (err);
          *err = e;
          return -1;
        }
      rl_error_free (&e);
    }
  if (type != TYPE_CONTAINER)
    {
      size_t idx;
      int r = image_db_find (db, name, &idx, NULL, err);
      if (r <= 0)
        return r;
      return image_inspect_json (st, db->images[idx], g, err) < 0 ? -1 : 2;
    }
  return 0;
}

int
cmd_inspect (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_strv char **args = NULL;
  cleanup_strv char **missing = NULL;
  struct inspect_opts o = { 0 };
  struct gotmpl *t = NULL;
  yajl_val *objs = NULL;
  bool *is_image = NULL;
  size_t n_objs = 0;
  bool help, table = false;
  int r = -1;

  if (opts_parse (&inspect_cmd, argc, argv, inspect_opt, &o, &args, &help, err) < 0)
    goto out;
  if (help)
    {
      r = 0;
      goto out;
    }
  if (args[0] == NULL)
    {
      rl_error (err, 0, "inspect: expected NAME... (see `rl inspect --help`)");
      goto out;
    }
  if (o.format && strcmp (o.format, "json") != 0)
    {
      cleanup_free char *text = gotmpl_prepare (o.format, &table);
      /* No table here, as in Docker: the word is part of the template. */
      if (table)
        {
          free (text);
          text = xstrdup (o.format);
        }
      if (gotmpl_parse (text, &t, err) < 0)
        {
          rl_error_wrap (err, "inspect: --format");
          goto out;
        }
    }
  if (store_open (&st, g, err) < 0 || image_db_load (&st, &db, err) < 0)
    {
      rl_error_wrap (err, "inspect");
      goto out;
    }
  objs = xmalloc0 ((strv_len (args) + 1) * sizeof *objs);
  is_image = xmalloc0 ((strv_len (args) + 1) * sizeof *is_image);
  for (size_t a = 0; args[a]; a++)
    {
      cleanup_gen yajl_gen gen = json_gen_new (false);
      cleanup_free char *text = NULL;
      int found = inspect_one (&st, &db, o.type, args[a], gen, err);

      if (found < 0)
        {
          rl_error_wrap (err, "inspect %s", args[a]);
          goto out;
        }
      if (found == 0)
        {
          strv_add (&missing, args[a]);
          continue;
        }
      text = jg_finish (gen, NULL);
      if (json_parse (text, "inspect object", &objs[n_objs], err) < 0)
        goto out;
      is_image[n_objs++] = found == 2;
    }
  if (t)
    {
      for (size_t i = 0; i < n_objs; i++)
        {
          cleanup_free char *line = NULL;
          if (gotmpl_exec (t, objs[i], is_image[i] ? image_map_keys : inspect_map_keys, false,
                           &line, err)
              < 0)
            {
              rl_error_wrap (err, "inspect: --format");
              goto out;
            }
          printf ("%s\n", line);
        }
    }
  else
    {
      cleanup_gen yajl_gen gen = json_gen_new (true);
      cleanup_free char *text = NULL;
      yajl_gen_array_open (gen);
      for (size_t i = 0; i < n_objs; i++)
        jg_value (gen, objs[i]);
      yajl_gen_array_close (gen);
      text = jg_finish (gen, NULL);
      gotmpl_json_tidy (text);
      printf ("%s\n", text);
    }
  r = 0;
  if (missing)
    {
      const char *what = o.type == TYPE_CONTAINER ? "container"
                         : o.type == TYPE_IMAGE   ? "image"
                                                  : "container or image";
      size_t n = strv_len (missing);
      fflush (stdout);
      for (size_t i = 0; i + 1 < n; i++)
        fprintf (stderr, "rl: inspect %s: no such %s\n", missing[i], what);
      r = rl_error (err, 0, "inspect %s: no such %s", missing[n - 1], what);
    }
out:
  for (size_t i = 0; i < n_objs; i++)
    yajl_tree_free (objs[i]);
  free (objs);
  free (is_image);
  gotmpl_free (t);
  free (o.format);
  return r;
}

/* ---- rename ---- */

static const struct rl_opt rename_opts_table[] = {
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec rename_cmd = {
  .name = "rename",
  .usage = "CONTAINER NEW_NAME",
  .summary = "Rename a container",
  .opts = rename_opts_table,
  .example = "rl rename web web-old",
  .interspersed = true,
};

int
cmd_rename (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_strv char **args = NULL;
  cleanup_free char *id = NULL;
  bool help;

  if (opts_parse (&rename_cmd, argc, argv, NULL, NULL, &args, &help, err) < 0)
    return -1;
  if (help)
    return 0;
  if (strv_len (args) != 2)
    return rl_error (err, 0, "rename: expected CONTAINER NEW_NAME (see `rl rename --help`)");
  if (!container_name_valid (args[1]))
    return rl_error (err, 0, "rename: invalid container name `%s`: use [a-zA-Z0-9][a-zA-Z0-9_.-]*",
                     args[1]);
  if (store_open (&st, g, err) < 0 || container_resolve (&st, args[0], &id, err) < 0
      || container_rename (&st, id, args[1], err) < 0)
    return rl_error_wrap (err, "rename %s", args[0]);
  return 0;
}
