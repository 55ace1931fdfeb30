/* rl ps and rl rm: listing containers with their state from the truth, and
 * removing them. */
#include "config.h"
#include "cmd/cmd.h"
#include "runtime/container.h"
#include "util/opts.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Docker's width of the COMMAND column. */
#define COMMAND_WIDTH 20

struct ps_opts
{
  bool all, quiet, no_trunc;
};

enum
{
  PS_ALL = 1,
  PS_QUIET,
  PS_NO_TRUNC,
};

static const struct rl_opt ps_opts_table[] = {
  { "all", 'a', NULL, "show all containers (default: running ones)", PS_ALL },
  { "quiet", 'q', NULL, "print the ids only", PS_QUIET },
  { "no-trunc", 0, NULL, "do not truncate ids and commands", PS_NO_TRUNC },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec ps_cmd = {
  .name = "ps",
  .usage = "[OPTIONS]",
  .summary = "List containers",
  .opts = ps_opts_table,
  .example = "rl ps -a",
  .interspersed = true,
};

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

struct ps_row
{
  int64_t created;
  char *col[6];
};

static int
row_cmp (const void *a, const void *b)
{
  const struct ps_row *x = a, *y = b;
  return x->created < y->created ? 1 : x->created > y->created ? -1 : 0;
}

int
cmd_ps (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  static const char *const headers[6]
      = { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES" };
  struct ps_opts o = { 0 };
  cleanup_strv char **args = NULL;
  cleanup_strv char **ids = NULL;
  struct rl_store st;
  struct ps_row *rows = NULL;
  size_t n_rows = 0, width[6];
  bool help;

  if (opts_parse (&ps_cmd, argc, argv, ps_opt, &o, &args, &help, err) < 0)
    return -1;
  if (help)
    return 0;
  if (args[0])
    return rl_error (err, 0, "ps: unexpected argument `%s`", args[0]);
  if (store_open (&st, g, err) < 0)
    return -1;
  if (container_list (&st, &ids, err) < 0)
    {
      store_close (&st);
      return -1;
    }
  rows = xmalloc0 ((strv_len (ids) + 1) * sizeof *rows);
  for (size_t i = 0; ids[i]; i++)
    {
      struct rl_container c;
      struct container_state s;
      rl_error_t e = NULL;
      struct ps_row *r;

      /* A container removed meanwhile, or an unreadable record: skip it. */
      if (container_load (&st, ids[i], &c, &e) < 0)
        {
          rl_error_free (&e);
          continue;
        }
      if (container_get_state (&st, ids[i], &s, &e) < 0)
        {
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
      if (o.all || s.status == CTR_RUNNING)
        {
          r = &rows[n_rows++];
          r->created = c.created;
          r->col[0] = o.no_trunc ? xstrdup (c.id) : xstrndup (c.id, 12);
          r->col[1] = c.image_name && *c.image_name ? xstrdup (c.image_name)
                      : o.no_trunc                  ? xstrdup (c.image_id)
                                                    : xstrndup (c.image_id, 12);
          r->col[2] = format_command (c.command, o.no_trunc);
          r->col[3] = human_duration_ago (c.created);
          r->col[4] = format_status (&s);
          r->col[5] = xstrdup (c.name);
        }
      container_clear (&c);
      container_state_clear (&s);
    }
  store_close (&st);
  qsort (rows, n_rows, sizeof *rows, row_cmp);

  for (size_t j = 0; j < 6; j++)
    width[j] = strlen (headers[j]);
  for (size_t i = 0; i < n_rows; i++)
    for (size_t j = 0; j < 6; j++)
      {
        /* Display width: the ellipsis is 3 bytes but one column. */
        size_t w = 0;
        for (const char *p = rows[i].col[j]; *p; p++)
          w += ((unsigned char)*p & 0xC0) != 0x80;
        if (w > width[j])
          width[j] = w;
      }
  if (!o.quiet)
    {
      for (size_t j = 0; j < 6; j++)
        printf ("%-*s%s", j < 5 ? (int)width[j] : 0, headers[j], j < 5 ? "   " : "\n");
    }
  for (size_t i = 0; i < n_rows; i++)
    {
      if (o.quiet)
        printf ("%s\n", rows[i].col[0]);
      else
        for (size_t j = 0; j < 6; j++)
          {
            size_t w = 0;
            for (const char *p = rows[i].col[j]; *p; p++)
              w += ((unsigned char)*p & 0xC0) != 0x80;
            printf ("%s%*s%s", rows[i].col[j], j < 5 ? (int)(width[j] - w) : 0, "",
                    j < 5 ? "   " : "\n");
          }
      for (size_t j = 0; j < 6; j++)
        free (rows[i].col[j]);
    }
  free (rows);
  return 0;
}

struct rm_opts
{
  bool force, all;
};

enum
{
  RM_FORCE = 1,
  RM_ALL,
};

static const struct rl_opt rm_opts_table[] = {
  { "force", 'f', NULL, "kill and remove running containers too", RM_FORCE },
  { "all", 'a', NULL, "remove all containers", RM_ALL },
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

int
cmd_container_prune (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  (void)g, (void)argc, (void)argv;
  return rl_error (err, 0, "container prune: not implemented yet");
}
