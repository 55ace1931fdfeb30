/* rl ps and rl rm: listing containers with their state from the truth, and
 * removing them. */
#include "config.h"
#include "cmd/cmd.h"
#include "image/image.h"
#include "runtime/container.h"
#include "runtime/runspec.h"
#include "util/gotmpl.h"
#include "util/json.h"
#include "util/opts.h"
#include "util/util.h"

#include <fcntl.h>
#include <regex.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Docker's width of the COMMAND column. */
#define COMMAND_WIDTH 20

/* What -s counts: the bytes of the container's writable layer (upper for
 * overlay, its own rootfs copy for vfs). */
static uint64_t container_rw_size (struct rl_store *st, const char *id);

/* A --filter: its key, and the values given for it. */
struct ps_filter
{
  const char *key;
  char **values;
};

enum
{
  F_STATUS,
  F_NAME,
  F_ID,
  F_ANCESTOR,
  F_LABEL,
  F_COUNT,
};

/* Docker's states; rl's containers are only ever created, running or
 * exited, but a script may ask for the others. */
static const char *const docker_states[] = {
  "created", "running", "exited", "restarting", "removing", "paused", "dead", NULL,
};

static const char *const filter_keys[F_COUNT] = { "status", "name", "id", "ancestor", "label" };

struct ps_opts
{
  bool all, quiet, no_trunc, latest, size;
  long long last; /* -1: not given */
  char *format;
  char **filters[F_COUNT];
};

static void
ps_opts_clear (struct ps_opts *o)
{
  free (o->format);
  for (size_t i = 0; i < F_COUNT; i++)
    strv_free (o->filters[i]);
}

enum
{
  PS_ALL = 1,
  PS_QUIET,
  PS_NO_TRUNC,
  PS_FILTER,
  PS_FORMAT,
  PS_LATEST,
  PS_LAST,
  PS_SIZE,
};

static const struct rl_opt ps_opts_table[] = {
  { "all", 'a', NULL, "show all containers (default: running ones)", PS_ALL },
  { "quiet", 'q', NULL, "print the ids only", PS_QUIET },
  { "no-trunc", 0, NULL, "do not truncate ids and commands", PS_NO_TRUNC },
  { "filter", 'f', "KEY=VALUE",
    "show only matching containers: status=, name=, id=, ancestor=, label=", PS_FILTER },
  { "format", 0, "FORMAT", "a Go template, `table TEMPLATE` or `json`", PS_FORMAT },
  { "latest", 'l', NULL, "show the latest created container (in any state)", PS_LATEST },
  { "last", 'n', "N", "show the N last created containers (in any state)", PS_LAST },
  { "size", 's', NULL, "show the size of each container's writable layer", PS_SIZE },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec ps_cmd = {
  .name = "ps",
  .usage = "[OPTIONS]",
  .summary = "List containers",
  .opts = ps_opts_table,
  .example = "rl ps -a --filter status=exited --format '{{.ID}} {{.Names}}'",
  .interspersed = true,
};

static int
add_filter (struct ps_opts *o, const char *arg, rl_error_t *err)
{
  const char *eq = strchr (arg, '=');
  size_t klen = eq ? (size_t)(eq - arg) : strlen (arg);

  for (size_t i = 0; i < F_COUNT; i++)
    if (strlen (filter_keys[i]) == klen && strncmp (arg, filter_keys[i], klen) == 0)
      {
        if (eq == NULL || (eq[1] == '\0' && i != F_LABEL))
          return rl_error (err, 0, "ps: filter `%s` needs a value (`%s=VALUE`)", arg,
                           filter_keys[i]);
        if (i == F_STATUS && !strv_contains ((char **)docker_states, eq + 1))
          return rl_error (err, 0,
                           "ps: invalid filter `%s`: the status is created, running or exited "
                           "(or restarting, removing, paused, dead: never true here)",
                           arg);
        if (i == F_NAME)
          {
            regex_t re;
            int r = regcomp (&re, eq + 1, REG_EXTENDED | REG_NOSUB);
            if (r != 0)
              return rl_error (err, 0, "ps: invalid filter `%s`: not a regular expression", arg);
            regfree (&re);
          }
        strv_add (&o->filters[i], eq + 1);
        return 0;
      }
  return rl_error (
      err, 0, "ps: invalid filter `%s` (the keys are status, name, id, ancestor and label)", arg);
}

static int
ps_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct ps_opts *o = data;

  switch (id)
    {
    case PS_ALL:
      return opts_flag_value ("all", arg, &o->all, err);
    case PS_QUIET:
      return opts_flag_value ("quiet", arg, &o->quiet, err);
    case PS_NO_TRUNC:
      return opts_flag_value ("no-trunc", arg, &o->no_trunc, err);
    case PS_LATEST:
      return opts_flag_value ("latest", arg, &o->latest, err);
    case PS_SIZE:
      return opts_flag_value ("size", arg, &o->size, err);
    case PS_FILTER:
      return add_filter (o, arg, err);
    case PS_FORMAT:
      free (o->format);
      o->format = xstrdup (arg);
      return 0;
    case PS_LAST:
      if (!parse_long (arg, -1, 1000000000, &o->last))
        return rl_error (err, 0, "ps: --last wants a number, not `%s`", arg);
      return 0;
    }
  return 0;
}
/* The command as Docker shows it: joined, cut to 20 characters with an
 * ellipsis, in double quotes. */
static char *
format_command (char *const *cmd, bool no_trunc)
{
  size_t cap = 3, len;
  char *joined, *out, *o;
  size_t chars = 0, cut = 0;

  for (size_t i = 0; cmd && cmd[i]; i++)
    cap += strlen (cmd[i]) + 1;
  joined = xmalloc0 (cap);
  for (size_t i = 0; cmd && cmd[i]; i++)
    {
      if (i)
        strcat (joined, " ");
      strcat (joined, cmd[i]);
    }
  len = strlen (joined);
  /* Count characters, not bytes (UTF-8 continuation bytes do not start one). */
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)joined[i] & 0xC0) != 0x80 && ++chars == COMMAND_WIDTH)
      cut = i;
  if (!no_trunc && chars > COMMAND_WIDTH)
    {
      joined[cut] = '\0';
      len = cut;
    }
  out = o = xmalloc (len * 2 + 8);
  *o++ = '"';
  for (size_t i = 0; i < len; i++)
    {
      if (joined[i] == '"' || joined[i] == '\\')
        *o++ = '\\';
      *o++ = joined[i];
    }
  if (!no_trunc && chars > COMMAND_WIDTH)
    o += sprintf (o, "\u2026");
  *o++ = '"';
  *o = '\0';
  free (joined);
  return out;
}

static char *
format_status (const struct container_state *s)
{
  cleanup_free char *ago = NULL;

  switch (s->status)
    {
    case CTR_RUNNING:
      if (s->restarting)
        {
          ago = human_duration_ago (s->finished ? s->finished : now_ns ());
          return xasprintf ("Restarting (%d) %s", s->exit_code, ago);
        }
      ago = human_duration_ago (s->started ? s->started : now_ns ());
      if (str_has_suffix (ago, " ago"))
        ago[strlen (ago) - 4] = '\0';
      return xasprintf ("Up %s", ago);
    case CTR_EXITED:
      if (s->finished == 0)
        return xasprintf ("Exited (%d)", s->exit_code);
      ago = human_duration_ago (s->finished);
      return xasprintf ("Exited (%d) %s", s->exit_code, ago);
    case CTR_CREATED:
      break;
    }
  return xstrdup ("Created");
}

static uint64_t
dir_size_at (int fd0, int depth)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  uint64_t total = 0;

  /* Past this depth something is wrong: stop counting rather than recurse. */
  if (depth > 256 || (d = fdopendir (fd0)) == NULL)
    {
      close (fd0);
      return 0;
    }
  while ((de = readdir (d)) != NULL)
    {
      struct stat sb;
      int fd;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fstatat (dirfd (d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        continue; /* gone, or not ours to see */
      if (!S_ISDIR (sb.st_mode))
        {
          total += (uint64_t)sb.st_size;
          continue;
        }
      fd = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0)
        total += dir_size_at (fd, depth + 1);
    }
  return total;
}

static uint64_t
container_rw_size (struct rl_store *st, const char *id)
{
  static const char *const dirs[] = { "upper", "rootfs" };

  for (size_t i = 0; i < ARRAY_SIZE (dirs); i++)
    {
      cleanup_free char *path = xasprintf ("containers/%s/%s", id, dirs[i]);
      int fd = openat (st->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0)
        return dir_size_at (fd, 0);
    }
  return 0;
}

/* The columns a template can name, and their titles in a table's header. */
static const struct
{
  const char *field, *title;
} ps_fields[] = {
  { "ID", "CONTAINER ID" },    { "Image", "IMAGE" },
  { "ImageID", "IMAGE ID" },   { "Command", "COMMAND" },
  { "Created", "CREATED" },    { "CreatedAt", "CREATED AT" },
  { "RunningFor", "CREATED" }, { "Status", "STATUS" },
  { "State", "STATE" },        { "Names", "NAMES" },
  { "Labels", "LABELS" },      { "Mounts", "MOUNTS" },
  { "Networks", "NETWORKS" },  { "Ports", "PORTS" },
  { "Size", "SIZE" },          { "Pid", "PID" },
  { "ExitCode", "EXIT CODE" },
};

static const char *const ps_map_keys[] = { "Labels", NULL };

#define PS_DEFAULT_FORMAT                                                                          \
  "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}"

/* Docker's CreatedAt: "2026-11-27 20:50:29 +0000 UTC". */
static char *
created_at (int64_t unix_ns)
{
  time_t secs = unix_ns / 1000000000LL;
  struct tm tm;
  char buf[80];

  localtime_r (&secs, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
  return xstrdup (buf);
}

struct ps_row
{
  struct rl_container c;
  struct container_state s;
  yajl_val data;
};

static int
row_cmp (const void *a, const void *b)
{
  const struct ps_row *x = a, *y = b;
  return x->c.created < y->c.created ? 1 : x->c.created > y->c.created ? -1 : 0;
}

/* What a template sees of one container. */
static yajl_val
ps_row_data (struct rl_store *st, const struct rl_container *c, const struct container_state *s,
             const struct ps_opts *o, const struct rl_image_db *db, bool want_size)
{
  cleanup_gen yajl_gen g = json_gen_new (false);
  cleanup_free char *cmd = format_command (c->command, o->no_trunc);
  cleanup_free char *at = created_at (c->created);
  cleanup_free char *ago = human_duration_ago (c->created);
  cleanup_free char *status = format_status (s);
  cleanup_free char *image = NULL;
  cleanup_free char *size = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *short_id = o->no_trunc ? xstrdup (c->id) : xstrndup (c->id, 12);
  struct run_spec spec = { 0 };
  rl_error_t e = NULL;
  yajl_val v = NULL;

  if (c->image_name && *c->image_name)
    image = xstrdup (c->image_name);
  else
    image = o->no_trunc ? xstrdup (c->image_id) : xstrndup (c->image_id, 12);
  if (want_size)
    {
      uint64_t rw_bytes = container_rw_size (st, c->id), isize = 0;
      cleanup_free char *rw = human_size (rw_bytes);
      cleanup_free char *virt = NULL;
      for (size_t i = 0; i < db->n; i++)
        if (strcmp (db->images[i]->id, c->image_id) == 0)
          isize = db->images[i]->size;
      virt = human_size (isize + rw_bytes);
      size = xasprintf ("%s (virtual %s)", rw, virt);
    }
  if (run_spec_from_record (&spec, c->spec, &e) < 0)
    rl_error_free (&e); /* an old record: no mounts to show */

  yajl_gen_map_open (g);
  jg_kstr (g, "ID", short_id);
  jg_kstr (g, "Image", image);
  jg_kstr (g, "ImageID", c->image_id);
  jg_kstr (g, "Command", cmd);
  jg_kint (g, "Created", (long long)(c->created / 1000000000LL));
  jg_kstr (g, "CreatedAt", at);
  jg_kstr (g, "RunningFor", ago);
  jg_kstr (g, "Status", status);
  jg_kstr (g, "State", container_status_name (s->status));
  jg_kstr (g, "Names", c->name);
  jg_klabels (g, "Labels", c->labels);
  jg_key (g, "Mounts");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < spec.n_mounts; i++)
    jg_str (g, spec.mounts[i].target);
  yajl_gen_array_close (g);
  {
    cleanup_free char *net = network_mode_name (&spec);
    jg_kstr (g, "Networks", net);
  }
  jg_kstr (g, "Ports", "");
  jg_kstr (g, "Size", size ? size : "");
  jg_kint (g, "Pid", s->pid);
  jg_kint (g, "ExitCode", s->status == CTR_EXITED ? s->exit_code : 0);
  yajl_gen_map_close (g);
  run_spec_clear (&spec);
  text = jg_finish (g, NULL);
  if (json_parse (text, "ps row", &v, &e) < 0)
    abort (); /* we just generated it */
  return v;
}

struct ps_match
{
  regex_t *names;
  size_t n_names;
  char **ancestors; /* image ids (hex) */
};

static bool
ps_matches (const struct ps_opts *o, const struct ps_match *m, const struct rl_container *c,
            const struct container_state *s)
{
  bool ok;

  if (o->filters[F_STATUS]
      && !strv_contains (o->filters[F_STATUS], container_status_name (s->status)))
    return false;
  if (m->n_names)
    {
      ok = false;
      for (size_t i = 0; i < m->n_names && !ok; i++)
        ok = regexec (&m->names[i], c->name, 0, NULL, 0) == 0;
      if (!ok)
        return false;
    }
  if (o->filters[F_ID])
    {
      ok = false;
      for (size_t i = 0; o->filters[F_ID][i] && !ok; i++)
        ok = str_has_prefix (c->id, o->filters[F_ID][i]);
      if (!ok)
        return false;
    }
  if (o->filters[F_ANCESTOR] && !strv_contains (m->ancestors, c->image_id))
    return false;
  /* Labels all have to match, as in Docker. */
  for (size_t i = 0; o->filters[F_LABEL] && o->filters[F_LABEL][i]; i++)
    {
      const char *want = o->filters[F_LABEL][i];
      ok = false;
      for (size_t l = 0; c->labels && c->labels[l] && !ok; l++)
        {
          const char *eq = strchr (c->labels[l], '=');
          size_t klen = eq ? (size_t)(eq - c->labels[l]) : strlen (c->labels[l]);
          if (strchr (want, '='))
            ok = strcmp (c->labels[l], want) == 0;
          else
            ok = strlen (want) == klen && strncmp (c->labels[l], want, klen) == 0;
        }
      if (!ok)
        return false;
    }
  return true;
}

static void
ps_match_clear (struct ps_match *m)
{
  for (size_t i = 0; i < m->n_names; i++)
    regfree (&m->names[i]);
  free (m->names);
  strv_free (m->ancestors);
}

/* Print the rows as the format asks. */
static int
ps_print (const struct ps_opts *o, struct ps_row *rows, size_t n, rl_error_t *err)
{
  cleanup_free char *tmpl_text = NULL;
  cleanup_free char *out = NULL;
  struct gotmpl *t = NULL;
  const char *fmt = o->format;
  size_t len = 0, cap = 1;
  bool table = true;

  if (o->quiet)
    {
      for (size_t i = 0; i < n; i++)
        printf ("%s\n", json_get_str (rows[i].data, "ID"));
      return 0;
    }
  if (fmt && strcmp (fmt, "json") == 0)
    {
      cleanup_gen yajl_gen g = json_gen_new (true);
      cleanup_free char *text = NULL;
      yajl_gen_array_open (g);
      for (size_t i = 0; i < n; i++)
        jg_value (g, rows[i].data);
      yajl_gen_array_close (g);
      text = jg_finish (g, NULL);
      gotmpl_json_tidy (text);
      printf ("%s\n", text);
      return 0;
    }
  if (fmt == NULL || strcmp (fmt, "table") == 0 || *fmt == '\0')
    tmpl_text = xstrdup (o->size ? PS_DEFAULT_FORMAT "\t{{.Size}}" : PS_DEFAULT_FORMAT);
  else
    tmpl_text = gotmpl_prepare (fmt, &table);
  if (gotmpl_parse (tmpl_text, &t, err) < 0)
    return rl_error_wrap (err, "ps: --format");
  out = xmalloc0 (cap);
  for (size_t i = 0; i <= n; i++)
    {
      cleanup_free char *line = NULL;
      cleanup_json yajl_val header = NULL;
      int r;

      if (i == 0 && !table)
        continue;
      if (i == 0)
        {
          cleanup_gen yajl_gen g = json_gen_new (false);
          cleanup_free char *text = NULL;
          yajl_gen_map_open (g);
          for (size_t f = 0; f < ARRAY_SIZE (ps_fields); f++)
            jg_kstr (g, ps_fields[f].field, ps_fields[f].title);
          yajl_gen_map_close (g);
          text = jg_finish (g, NULL);
          if (json_parse (text, "ps header", &header, err) < 0)
            abort ();
          r = gotmpl_exec (t, header, ps_map_keys, true, &line, err);
        }
      else
        r = gotmpl_exec (t, rows[i - 1].data, ps_map_keys, false, &line, err);
      if (r < 0)
        {
          gotmpl_free (t);
          return rl_error_wrap (err, "ps: --format");
        }
      cap += strlen (line) + 1;
      out = xrealloc (out, cap);
      memcpy (out + len, line, strlen (line));
      len += strlen (line);
      out[len++] = '\n';
      out[len] = '\0';
    }
  gotmpl_free (t);
  if (table)
    {
      cleanup_free char *aligned = gotmpl_tabwrite (out);
      fputs (aligned, stdout);
    }
  else
    fputs (out, stdout);
  return 0;
}

int
cmd_ps (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  struct ps_opts o = { .last = -1 };
  struct ps_match m = { 0 };
  cleanup_strv char **args = NULL;
  cleanup_strv char **ids = NULL;
  cleanup_image_db struct rl_image_db db = { 0 };
  struct rl_store st;
  struct ps_row *rows = NULL;
  size_t n_rows = 0;
  bool help, want_size;
  int r = -1;

  if (opts_parse (&ps_cmd, argc, argv, ps_opt, &o, &args, &help, err) < 0)
    goto out;
  r = 0;
  if (help)
    goto out;
  r = -1;
  if (args[0])
    {
      rl_error (err, 0, "ps: unexpected argument `%s`", args[0]);
      goto out;
    }
  if (o.latest && o.last >= 0)
    {
      rl_error (err, 0, "ps: --latest and --last cannot be used together");
      goto out;
    }
  if (o.latest)
    o.last = 1;
  /* As in Docker: a status filter, -l or -n look at every container. */
  if (o.last >= 0 || o.filters[F_STATUS])
    o.all = true;
  want_size = o.size || (o.format && strstr (o.format, ".Size"))
              || (o.format && strcmp (o.format, "json") == 0 && o.size);
  for (size_t i = 0; o.filters[F_NAME] && o.filters[F_NAME][i]; i++)
    {
      m.names = xrealloc (m.names, (m.n_names + 1) * sizeof *m.names);
      if (regcomp (&m.names[m.n_names], o.filters[F_NAME][i], REG_EXTENDED | REG_NOSUB) != 0)
        {
          rl_error (err, 0, "ps: invalid filter `name=%s`", o.filters[F_NAME][i]);
          goto out;
        }
      m.n_names++;
    }
  if (store_open (&st, g, err) < 0)
    goto out;
  if (image_db_load (&st, &db, err) < 0 || container_list (&st, &ids, err) < 0)
    goto out_store;
  m.ancestors = xmalloc0 (sizeof (char *));
  for (size_t i = 0; o.filters[F_ANCESTOR] && o.filters[F_ANCESTOR][i]; i++)
    {
      size_t idx;
      rl_error_t e = NULL;
      /* An image that is not known has no containers. */
      if (image_db_find (&db, o.filters[F_ANCESTOR][i], &idx, NULL, &e) == 1)
        strv_add (&m.ancestors, db.images[idx]->id);
      rl_error_free (&e);
    }
  rows = xmalloc0 ((strv_len (ids) + 1) * sizeof *rows);
  for (size_t i = 0; ids[i]; i++)
    {
      struct rl_container c;
      struct container_state s;
      rl_error_t e = NULL;

      /* Removed meanwhile: skip it; a damaged record: say so, list the rest. */
      if (container_load (&st, ids[i], &c, &e) < 0)
        {
          if (e->errnum != ENOENT)
            fprintf (stderr, "rl: ps: %s (`rl rm %.12s` removes it)\n", e->msg, ids[i]);
          rl_error_free (&e);
          continue;
        }
      if (container_get_state (&st, ids[i], &s, &e) < 0)
        {
          if (e->errnum != ENOENT)
            fprintf (stderr, "rl: ps: %s (`rl rm %.12s` removes it)\n", e->msg, ids[i]);
          rl_error_free (&e);
          container_clear (&c);
          continue;
        }
      if (s.unrecorded)
        {
          /* Killed with its monitor: write down what happened, once. */
          s.finished = now_ns ();
          if (container_write_exit (&st, ids[i], &s, &e) < 0)
            rl_error_free (&e);
        }
      if ((o.all || s.status == CTR_RUNNING) && ps_matches (&o, &m, &c, &s))
        {
          rows[n_rows].c = c;
          rows[n_rows].s = s;
          n_rows++;
          continue;
        }
      container_clear (&c);
      container_state_clear (&s);
    }
  qsort (rows, n_rows, sizeof *rows, row_cmp);
  if (o.last >= 0 && (size_t)o.last < n_rows)
    {
      for (size_t i = o.last; i < n_rows; i++)
        {
          container_clear (&rows[i].c);
          container_state_clear (&rows[i].s);
        }
      n_rows = o.last;
    }
  /* The row data, sizes included, only for the containers shown. */
  for (size_t i = 0; i < n_rows; i++)
    rows[i].data = ps_row_data (&st, &rows[i].c, &rows[i].s, &o, &db, want_size);
  r = ps_print (&o, rows, n_rows, err);
out_store:
  store_close (&st);
out:
  for (size_t i = 0; i < n_rows; i++)
    {
      container_clear (&rows[i].c);
      container_state_clear (&rows[i].s);
      yajl_tree_free (rows[i].data);
    }
  free (rows);
  ps_match_clear (&m);
  ps_opts_clear (&o);
  return r;
}

struct rm_opts
{
  bool force, all, volumes;
};

enum
{
  RM_FORCE = 1,
  RM_ALL,
  RM_VOLUMES,
};

static const struct rl_opt rm_opts_table[] = {
  { "force", 'f', NULL, "kill and remove running containers too", RM_FORCE },
  { "all", 'a', NULL, "remove all containers", RM_ALL },
  { "volumes", 'v', NULL, "accepted for scripts: rl has no anonymous volumes to remove",
    RM_VOLUMES },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec rm_cmd = {
  .name = "rm",
  .usage = "[OPTIONS] CONTAINER [CONTAINER...]",
  .summary = "Remove containers",
  .opts = rm_opts_table,
  .example = "rl rm -f web",
  .interspersed = true,
};

static int
rm_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct rm_opts *o = data;

  switch (id)
    {
    case RM_FORCE:
      return opts_flag_value ("force", arg, &o->force, err);
    case RM_ALL:
      return opts_flag_value ("all", arg, &o->all, err);
    case RM_VOLUMES:
      return opts_flag_value ("volumes", arg, &o->volumes, err);
    }
  return 0;
}

int
cmd_rm (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  struct rm_opts o = { 0 };
  cleanup_strv char **args = NULL;
  cleanup_strv char **targets = NULL;
  struct rl_store st;
  bool help;
  int failed = 0;

  if (opts_parse (&rm_cmd, argc, argv, rm_opt, &o, &args, &help, err) < 0)
    return -1;
  if (help)
    return 0;
  if (!o.all && args[0] == NULL)
    return rl_error (err, 0, "rm: at least one container name or id is needed (or `-a`)");
  if (o.all && args[0])
    return rl_error (err, 0, "rm: `-a` takes no container names");
  if (store_open (&st, g, err) < 0)
    return -1;
  if (o.all)
    {
      if (container_list (&st, &targets, err) < 0)
        {
          store_close (&st);
          return -1;
        }
    }
  else
    targets = strv_dup (args);
  for (size_t i = 0; targets[i]; i++)
    {
      cleanup_free char *id = NULL;
      rl_error_t e = NULL;

      if (container_resolve (&st, targets[i], &id, &e) < 0
          || container_remove (&st, id, o.force, &e) < 0)
        {
          fprintf (stderr, "rl: rm %s: %s\n", targets[i], e->msg);
          rl_error_free (&e);
          failed++;
          continue;
        }
      printf ("%s\n", id);
      fflush (stdout);
    }
  store_close (&st);
  return failed ? 1 : 0;
}

struct prune_opts
{
  bool force;
};

static const struct rl_opt prune_opts_table[] = {
  { "force", 'f', NULL, "do not ask for confirmation", 1 },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec prune_cmd = {
  .name = "container prune",
  .usage = "[OPTIONS]",
  .summary = "Remove all exited and created containers; prints their ids and the space reclaimed",
  .opts = prune_opts_table,
  .example = "rl container prune -f",
  .interspersed = true,
};

static int
prune_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct prune_opts *o = data;

  (void)id;
  return opts_flag_value ("force", arg, &o->force, err);
}

int
cmd_container_prune (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  struct prune_opts o = { 0 };
  cleanup_strv char **args = NULL;
  cleanup_strv char **ids = NULL;
  cleanup_free char *total_s = NULL;
  struct rl_store st;
  uint64_t total = 0;
  bool help;
  int failed = 0;

  if (opts_parse (&prune_cmd, argc, argv, prune_opt, &o, &args, &help, err) < 0)
    return -1;
  if (help)
    return 0;
  if (args[0])
    return rl_error (err, 0, "container prune: unexpected argument `%s`", args[0]);
  if (!o.force)
    {
      char answer[16] = "";

      /* Without a terminal there is nobody to ask: a script says -f. */
      if (!isatty (STDIN_FILENO))
        return rl_error (err, 0,
                         "container prune: not asking for confirmation without a terminal; "
                         "use -f to remove all stopped containers");
      fprintf (stderr, "WARNING! This will remove all non running containers.\n"
                       "Are you sure you want to continue? [y/N] ");
      fflush (stderr);
      if (fgets (answer, sizeof answer, stdin) == NULL
          || (strcmp (answer, "y\n") != 0 && strcmp (answer, "Y\n") != 0
              && strcasecmp (answer, "yes\n") != 0))
        return 0;
    }
  if (store_open (&st, g, err) < 0)
    return -1;
  if (container_list (&st, &ids, err) < 0)
    {
      store_close (&st);
      return -1;
    }
  for (size_t i = 0; ids[i]; i++)
    {
      struct container_state s;
      rl_error_t e = NULL;
      uint64_t size;

      if (container_get_state (&st, ids[i], &s, &e) < 0)
        {
          rl_error_free (&e);
          continue; /* removed meanwhile */
        }
      if (s.status == CTR_RUNNING)
        {
          container_state_clear (&s);
          continue;
        }
      container_state_clear (&s);
      size = container_rw_size (&st, ids[i]);
      /* Not forced: one that started meanwhile is refused, and kept. */
      if (container_remove (&st, ids[i], false, &e) < 0)
        {
          fprintf (stderr, "rl: container prune %.12s: %s\n", ids[i], e->msg);
          rl_error_free (&e);
          failed++;
          continue;
        }
      total += size;
      printf ("%s\n", ids[i]);
      fflush (stdout);
    }
  store_close (&st);
  total_s = human_size (total);
  printf ("Total reclaimed space: %s\n", total_s);
  return failed ? 1 : 0;
}
