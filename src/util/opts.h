/* Command-line parsing from a table: each command lists its options once and
 * gets parsing, `--help` text and error messages from it. */
#ifndef RL_OPTS_H
#define RL_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#include "util/error.h"

struct rl_opt
{
  const char *name;    /* long name without "--" */
  int short_name;      /* 0 if none */
  const char *metavar; /* NULL for a flag (which also takes =true/=false) */
  const char *help;
  int id; /* passed to the callback */
};

struct rl_cmd_spec
{
  const char *name;          /* "run", "image inspect" */
  const char *usage;         /* "[OPTIONS] IMAGE [COMMAND [ARG...]]" */
  const char *summary;       /* one line */
  const struct rl_opt *opts; /* terminated by an entry with name NULL */
  const char *example;       /* may be NULL */
  bool interspersed;         /* options may follow positional arguments */
};

/* Called once per option seen, with arg NULL for flags set to true and
 * "false" for --flag=false.  Return < 0 (filling err) to stop. */
typedef int (*rl_opt_cb) (void *data, int id, const char *arg, rl_error_t *err);

/* Parse argv (argv[0] is the command name); cb may be NULL for a command
 * with no options of its own.  The positional arguments are
 * returned as a new strv in *args.  `--help`/`-h` (when -h is not taken)
 * print the help and set *help_shown; the caller then exits 0. */
int opts_parse (const struct rl_cmd_spec *spec, int argc, char **argv, rl_opt_cb cb, void *data,
                char ***args, bool *help_shown, rl_error_t *err);
void opts_print_help (const struct rl_cmd_spec *spec, FILE *out);
/* For a flag callback: arg NULL or "true" means true, "false" false. */
int opts_flag_value (const char *name, const char *arg, bool *out, rl_error_t *err);

#endif
