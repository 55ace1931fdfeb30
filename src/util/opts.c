/* Table-driven option parsing in the style of Podman/Docker: long options
 * with `=` or a separate value, clustered short flags (`-it`), a short option
 * that takes its value glued (`-eA=1`) or separately, and `--` to stop. */
#include "config.h"
#include "util/opts.h"
#include "util/util.h"

#include <string.h>

static const struct rl_opt *
find_long (const struct rl_cmd_spec *spec, const char *name, size_t len)
{
  for (const struct rl_opt *o = spec->opts; o && o->name; o++)
    if (strlen (o->name) == len && strncmp (o->name, name, len) == 0)
      return o;
  return NULL;
}

static const struct rl_opt *
find_short (const struct rl_cmd_spec *spec, int c)
{
  for (const struct rl_opt *o = spec->opts; o && o->name; o++)
    if (o->short_name == c)
      return o;
  return NULL;
}

int
opts_flag_value (const char *name, const char *arg, bool *out, rl_error_t *err)
{
  if (arg == NULL || strcmp (arg, "true") == 0)
    *out = true;
  else if (strcmp (arg, "false") == 0)
    *out = false;
  else
    return rl_error (err, 0, "option `--%s`: expected true or false, not `%s`", name, arg);
  return 0;
}

int
opts_parse (const struct rl_cmd_spec *spec, int argc, char **argv, rl_opt_cb cb, void *data,
            char ***args, bool *help_shown, rl_error_t *err)
{
  cleanup_strv char **pos = xmalloc0 (sizeof (char *));
  bool only_args = false;

  *help_shown = false;
  for (int i = 1; i < argc; i++)
    {
      char *a = argv[i];

      if (only_args || a[0] != '-' || a[1] == '\0')
        {
          strv_add (&pos, a);
          if (!spec->interspersed)
            only_args = true;
          continue;
        }
      if (strcmp (a, "--") == 0)
        {
          only_args = true;
          continue;
        }
      if (a[1] == '-')
        {
          const char *name = a + 2, *eq = strchr (name, '=');
          size_t len = eq ? (size_t)(eq - name) : strlen (name);
          const struct rl_opt *o = find_long (spec, name, len);
          const char *val = eq ? eq + 1 : NULL;

          if (o == NULL && len == 4 && strncmp (name, "help", 4) == 0)
            {
              opts_print_help (spec, stdout);
              *help_shown = true;
              return 0;
            }
          if (o == NULL)
            return rl_error (err, 0, "unknown option `--%.*s` for `rl %s` (see `rl %s --help`)",
                             (int)len, name, spec->name, spec->name);
          if (o->metavar && val == NULL)
            {
              if (i + 1 >= argc)
                return rl_error (err, 0, "option `--%s` needs a value", o->name);
              val = argv[++i];
            }
          if (cb && cb (data, o->id, val, err) < 0)
            return -1;
          continue;
        }
      /* A cluster of short options. */
      for (char *p = a + 1; *p; p++)
        {
          const struct rl_opt *o = find_short (spec, *p);
          const char *val = NULL;

          if (o == NULL && *p == 'h')
            {
              opts_print_help (spec, stdout);
              *help_shown = true;
              return 0;
            }
          if (o == NULL)
            return rl_error (err, 0, "unknown option `-%c` for `rl %s` (see `rl %s --help`)", *p,
                             spec->name, spec->name);
          if (o->metavar)
            {
              if (p[1] != '\0')
                val = p[1] == '=' ? p + 2 : p + 1;
              else if (i + 1 < argc)
                val = argv[++i];
              else
                return rl_error (err, 0, "option `-%c` needs a value", *p);
              if (cb && cb (data, o->id, val, err) < 0)
                return -1;
              break;
            }
          if (cb && cb (data, o->id, NULL, err) < 0)
            return -1;
        }
    }
  *args = steal_pointer (&pos);
  return 0;
}

void
opts_print_help (const struct rl_cmd_spec *spec, FILE *out)
{
  fprintf (out, "%s\n\nUsage: rl %s %s\n", spec->summary, spec->name, spec->usage);
  if (spec->opts && spec->opts->name)
    {
      fputs ("\nOptions:\n", out);
      for (const struct rl_opt *o = spec->opts; o->name; o++)
        {
          char left[64];
          if (o->short_name)
            snprintf (left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
                      o->metavar ? " " : "", o->metavar ? o->metavar : "");
          else
            snprintf (left, sizeof left, "    --%s%s%s", o->name, o->metavar ? " " : "",
                      o->metavar ? o->metavar : "");
          /* A long option name with its value would run into the text. */
          if (strlen (left) > 30)
            fprintf (out, "  %s\n  %-30s %s\n", left, "", o->help);
          else
            fprintf (out, "  %-30s %s\n", left, o->help);
        }
    }
  if (spec->example)
    fprintf (out, "\nExample:\n  %s\n", spec->example);
}
