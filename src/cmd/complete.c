/* rl __complete: the hidden entry point the shell completion scripts call.
 *
 * Commands and options are read back from the `--help` text of the command
 * itself (captured in memory): that text is generated from each command's
 * option table, so what completes can never drift from what `--help` says,
 * and tables private to other parts (run's lives in the runtime) need no
 * exporting.  Images and containers are read from the store without taking
 * its lock, and nothing here touches the lazily loaded libraries
 * (libarchive, libcrypto, libcurl): a TAB must not wait behind a pull.
 *
 *   rl __complete commands [image|system]
 *   rl __complete options CMD [SUBCMD]
 *   rl __complete values CMD[ SUBCMD] OPTION
 *   rl __complete images
 *   rl __complete containers [--running]
 *   rl __complete line WORD... CURRENT   (what the scripts use)
 *
 * `values` and `line` may end with one directive line: `:file` (complete
 * file names), `:dir` (directories) or `:none` (free text, offer nothing). */
#include "config.h"
#include "cmd/cmd.h"
#include "image/image.h"
#include "runtime/container.h"
#include "util/fs.h"
#include "util/opts.h"
#include "util/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct help_opt
{
  char *name;    /* "--network" */
  char *shortn;  /* "-v" or NULL */
  char *metavar; /* NULL for a flag */
};

struct help_text
{
  char **commands;
  struct help_opt *opts;
  size_t n_opts;
};

static void
help_text_clear (struct help_text *h)
{
  strv_free (h->commands);
  for (size_t i = 0; i < h->n_opts; i++)
    {
      free (h->opts[i].name);
      free (h->opts[i].shortn);
      free (h->opts[i].metavar);
    }
  free (h->opts);
  memset (h, 0, sizeof *h);
}

#define cleanup_help __attribute__ ((cleanup (help_text_clear)))

/* "-v, --volume HOST:CTR[:ro|rw]" or "--rm" (the left column of a help line). */
static void
parse_opt_column (struct help_text *h, const char *left)
{
  cleanup_free char *copy = xstrdup (left);
  struct help_opt o = { 0 };
  char *save = NULL;

  for (char *tok = strtok_r (copy, " ", &save); tok; tok = strtok_r (NULL, " ", &save))
    {
      size_t n = strlen (tok);
      if (tok[0] == '-' && tok[1] != '-' && n >= 2)
        o.shortn = xstrndup (tok, tok[n - 1] == ',' ? n - 1 : n);
      else if (str_has_prefix (tok, "--") && o.name == NULL)
        o.name = xstrdup (tok);
      else if (o.name && o.metavar == NULL)
        o.metavar = xstrdup (tok);
    }
  if (o.name == NULL)
    {
      free (o.shortn);
      free (o.metavar);
      return;
    }
  h->opts = xrealloc (h->opts, (h->n_opts + 1) * sizeof *h->opts);
  h->opts[h->n_opts++] = o;
}

enum help_section
{
  SEC_NONE,
  SEC_COMMANDS,
  SEC_OPTIONS,
};

/* opts_print_help and the command lists print "  LEFT<pad to 30> HELP", or
 * LEFT alone on its line when it is longer than 30 columns. */
static void
parse_help (const char *text, struct help_text *h)
{
  enum help_section sec = SEC_NONE;
  cleanup_free char *copy = xstrdup (text);
  char *save = NULL;

  memset (h, 0, sizeof *h);
  h->commands = xmalloc0 (sizeof (char *));
  for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      if (line[0] != ' ')
        {
          if (strcmp (line, "Commands:") == 0)
            sec = SEC_COMMANDS;
          else if (str_has_suffix (line, "ptions:"))
            sec = SEC_OPTIONS;
          else
            sec = SEC_NONE;
          continue;
        }
      if (strncmp (line, "  ", 2) != 0)
        continue;
      if (sec == SEC_COMMANDS && line[2] != ' ')
        {
          size_t n = strcspn (line + 2, " ");
          strv_add_take (&h->commands, xstrndup (line + 2, n));
        }
      else if (sec == SEC_OPTIONS)
        {
          const char *start = line + 2;
          size_t len = strlen (start);
          cleanup_free char *left = xstrndup (start, len > 30 ? 30 : len);
          /* Lines that only continue a long option's help start blank. */
          if (left[strspn (left, " ")] == '-')
            parse_opt_column (h, left);
        }
    }
}

/* Run the help of `path` (no words: rl's own; "run"; "image inspect") with
 * stdout pointed at a memory stream.  Every command prints its help before
 * it touches anything, so this has no other effect. */
static void
capture_help (struct rl_globals *g, char **path, size_t n, struct help_text *h)
{
  cleanup_free char *buf = NULL;
  cleanup_strv char **argv = xmalloc0 (sizeof (char *));
  rl_error_t err = NULL;
  size_t len = 0;
  FILE *saved = stdout, *mem = open_memstream (&buf, &len);

  if (mem == NULL)
    {
      parse_help ("", h);
      return;
    }
  for (size_t i = 0; i < n; i++)
    strv_add (&argv, path[i]);
  strv_add (&argv, "--help");
  fflush (stdout);
  stdout = mem;
  if (n == 0)
    rl_print_usage (mem);
  else
    {
      rl_cmd_fn fn = rl_find_command (path[0]);
      if (fn && fn (g, (int)n + 1, argv, &err) < 0)
        rl_error_free (&err);
    }
  fflush (mem);
  stdout = saved;
  fclose (mem);
  parse_help (buf ? buf : "", h);
}

static const struct help_opt *
find_opt (const struct help_text *h, const char *word)
{
  for (size_t i = 0; i < h->n_opts; i++)
    if (strcmp (h->opts[i].name, word) == 0
        || (h->opts[i].shortn && strcmp (h->opts[i].shortn, word) == 0))
      return &h->opts[i];
  return NULL;
}

static const char *const signals[]
    = { "SIGHUP",  "SIGINT",  "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2",  "SIGPIPE", "SIGALRM",
        "SIGTERM", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGWINCH", NULL };

/* Fixed sets of values, by option name; cmd restricts an entry to one command. */
static const struct
{
  const char *cmd; /* NULL: any command */
  const char *opt;
  const char *values[12];
} value_sets[] = {
  { NULL, "--network", { "none", "host" } },
  { NULL, "--net", { "none", "host" } },
  { NULL, "--pull", { "missing", "always", "never" } },
  { NULL, "--storage-driver", { "overlay", "fuse-overlayfs", "vfs" } },
  { NULL, "--log-level", { "error", "warn", "info", "debug" } },
  { NULL,
    "--platform",
    { "linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386", "linux/ppc64le",
      "linux/s390x", "linux/riscv64" } },
  { NULL, "--security-opt", { "seccomp=unconfined", "seccomp=", "no-new-privileges" } },
  { "images", "--format", { "table", "json" } },
  { "image ls", "--format", { "table", "json" } },
  { "save", "--format", { "docker-archive", "oci-archive", "oci-dir" } },
  { "image save", "--format", { "docker-archive", "oci-archive", "oci-dir" } },
  { "push", "--format", { "oci", "v2s2" } },
  { "image push", "--format", { "oci", "v2s2" } },
  { "info", "--format", { "text", "json" } },
  { "system info", "--format", { "text", "json" } },
  { NULL,
    "--cap-add",
    { "ALL", "CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "NET_ADMIN", "NET_BIND_SERVICE", "NET_RAW",
      "SETGID", "SETUID", "SYS_ADMIN", "SYS_PTRACE" } },
  { NULL,
    "--cap-drop",
    { "ALL", "CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "NET_BIND_SERVICE", "NET_RAW", "SETGID",
      "SETUID", "SETPCAP", "MKNOD", "AUDIT_WRITE" } },
};

static void
print_matching (const char *prefix, const char *cand)
{
  if (str_has_prefix (cand, prefix))
    puts (cand);
}

static void
print_values (const char *cmd, const struct help_opt *o, const char *prefix)
{
  if (o->metavar == NULL)
    return;
  if (strcmp (o->name, "--signal") == 0)
    {
      for (size_t i = 0; signals[i]; i++)
        print_matching (prefix, signals[i]);
      return;
    }
  for (size_t i = 0; i < ARRAY_SIZE (value_sets); i++)
    {
      if (strcmp (value_sets[i].opt, o->name) != 0
          || (value_sets[i].cmd && strcmp (value_sets[i].cmd, cmd) != 0))
        continue;
      for (size_t j = 0; j < ARRAY_SIZE (value_sets[i].values) && value_sets[i].values[j]; j++)
        print_matching (prefix, value_sets[i].values[j]);
      /* seccomp=FILE: the shell then completes a path after the `=`. */
      if (strcmp (o->name, "--security-opt") == 0 && str_has_prefix (prefix, "seccomp="))
        puts (":file");
      return;
    }
  if (strstr (o->metavar, "FILE") || strstr (o->metavar, "PATH")
      || str_has_prefix (o->metavar, "HOST"))
    puts (":file");
  else if (strstr (o->metavar, "DIR"))
    puts (":dir");
  else
    puts (":none");
}

/* Ids go with the names when asked for all (`rl __complete images`), and
 * on a TAB only once the word looks like one: 200 ids would bury the
 * names. */
static bool
want_id (const char *prefix, bool all, const char *id)
{
  if (all)
    return true;
  return prefix[0] && prefix[strspn (prefix, "0123456789abcdef")] == '\0'
         && str_has_prefix (id, prefix);
}

/* Image names as stored ("localhost/bb:latest"), the short forms people
 * type ("bb:latest", "bb"), and ids when the word looks like one. */
static void
list_images (struct rl_store *st, const char *prefix, bool ids)
{
  cleanup_image_db struct rl_image_db db = { 0 };
  static const char *const implicit[] = { "localhost/", "docker.io/library/", "docker.io/" };
  rl_error_t err = NULL;

  if (image_db_load (st, &db, &err) < 0)
    {
      rl_error_free (&err);
      return;
    }
  for (size_t i = 0; i < db.n; i++)
    {
      for (size_t j = 0; db.images[i]->names && db.images[i]->names[j]; j++)
        {
          const char *name = db.images[i]->names[j];
          print_matching (prefix, name);
          for (size_t k = 0; k < ARRAY_SIZE (implicit); k++)
            if (str_has_prefix (name, implicit[k]))
              {
                const char *shortn = name + strlen (implicit[k]);
                print_matching (prefix, shortn);
                if (str_has_suffix (shortn, ":latest"))
                  {
                    cleanup_free char *bare = xstrndup (shortn, strlen (shortn) - 7);
                    print_matching (prefix, bare);
                  }
                break;
              }
        }
      if (want_id (prefix, ids, db.images[i]->id))
        printf ("%.12s\n", db.images[i]->id);
    }
}

/* Names come from the name index (one readlink each); the state, which
 * costs a few reads, only when running ones are asked for. */
static void
list_containers (struct rl_store *st, bool running, const char *prefix, bool ids)
{
  cleanup_close int namesfd = openat (st->rootfd, "names", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_dir DIR *d = NULL;
  struct dirent *de;

  if (namesfd < 0 || (d = fdopendir (namesfd)) == NULL)
    return;
  namesfd = -1;
  while ((de = readdir (d)) != NULL)
    {
      char id[CONTAINER_ID_LEN + 1];

      if (de->d_name[0] == '.' || !container_name_link_read (dirfd (d), de->d_name, id))
        continue;
      if (running)
        {
          struct container_state s = { 0 };
          rl_error_t err = NULL;
          bool up = container_get_state (st, id, &s, &err) == 0 && s.status == CTR_RUNNING;
          rl_error_free (&err);
          container_state_clear (&s);
          if (!up)
            continue;
        }
      print_matching (prefix, de->d_name);
      if (want_id (prefix, ids, id))
        printf ("%.12s\n", id);
    }
}

/* Open the store without creating it: completing must not make a store for
 * someone who never used rl, and must not wait for the lock. */
static bool
open_store (struct rl_globals *g, struct rl_store *st)
{
  cleanup_free char *root = g->root ? xstrdup (g->root) : store_default_root ();
  rl_error_t err = NULL;

  if (access (root, F_OK) < 0)
    return false;
  if (store_open (st, g, &err) < 0)
    {
      rl_error_free (&err);
      return false;
    }
  return true;
}

enum arg_kind
{
  ARG_NONE,
  ARG_IMAGE,     /* every argument is an image */
  ARG_IMAGE1,    /* the first argument is an image, then a free command */
  ARG_CONTAINER, /* any container */
  ARG_RUNNING,   /* a running container */
  ARG_FILE,      /* the first argument is a file (import) */
};

/* What the positional arguments of each command are. */
static const struct
{
  const char *cmd;
  enum arg_kind kind;
} arg_kinds[] = {
  { "run", ARG_IMAGE1 },
  { "rm", ARG_CONTAINER },
  { "rmi", ARG_IMAGE },
  { "tag", ARG_IMAGE1 },
  { "untag", ARG_IMAGE },
  { "push", ARG_IMAGE1 },
  { "save", ARG_IMAGE },
  { "import", ARG_FILE },
  { "image inspect", ARG_IMAGE },
  { "image rm", ARG_IMAGE },
  { "image exists", ARG_IMAGE },
  { "image tag", ARG_IMAGE1 },
  { "image untag", ARG_IMAGE },
  { "image push", ARG_IMAGE1 },
  { "image save", ARG_IMAGE },
  { "inspect", ARG_CONTAINER },
  { "start", ARG_CONTAINER },
  { "exec", ARG_RUNNING },
  { "stop", ARG_RUNNING },
  { "kill", ARG_RUNNING },
  { "logs", ARG_CONTAINER },
  { "container inspect", ARG_CONTAINER },
  { "create", ARG_IMAGE1 },
  { "container create", ARG_IMAGE1 },
  { "container run", ARG_IMAGE1 },
  { "commit", ARG_CONTAINER },
  { "restart", ARG_CONTAINER },
  { "wait", ARG_CONTAINER },
  { "rename", ARG_CONTAINER },
  { "export", ARG_CONTAINER },
  { "port", ARG_CONTAINER },
  { "attach", ARG_RUNNING },
  { "top", ARG_RUNNING },
  { "pause", ARG_RUNNING },
  { "unpause", ARG_CONTAINER },
  { "container rm", ARG_CONTAINER },
  { "container start", ARG_CONTAINER },
  { "container stop", ARG_RUNNING },
  { "container kill", ARG_RUNNING },
  { "container restart", ARG_CONTAINER },
  { "container wait", ARG_CONTAINER },
  { "container logs", ARG_CONTAINER },
  { "container exec", ARG_RUNNING },
  { "container top", ARG_RUNNING },
  { "container attach", ARG_RUNNING },
  { "container port", ARG_CONTAINER },
  { "container rename", ARG_CONTAINER },
  { "container export", ARG_CONTAINER },
  { "container commit", ARG_CONTAINER },
  { "container pause", ARG_RUNNING },
  { "container unpause", ARG_CONTAINER },
};

static enum arg_kind
arg_kind_of (const char *cmd)
{
  for (size_t i = 0; i < ARRAY_SIZE (arg_kinds); i++)
    if (strcmp (arg_kinds[i].cmd, cmd) == 0)
      return arg_kinds[i].kind;
  return ARG_NONE;
}

static void
complete_positional (struct rl_globals *g, const char *cmd, size_t index, const char *cur)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  enum arg_kind k = arg_kind_of (cmd);

  if (k == ARG_FILE && index == 0)
    {
      puts (":file");
      return;
    }
  if (k == ARG_NONE || k == ARG_FILE || (k == ARG_IMAGE1 && index > 0))
    {
      puts (":none");
      return;
    }
  if (!open_store (g, &st))
    return;
  if (k == ARG_IMAGE || k == ARG_IMAGE1)
    list_images (&st, cur, false);
  else
    list_containers (&st, k == ARG_RUNNING, cur, false);
}

static bool
has_subcommands (const struct help_text *top_cmd)
{
  return top_cmd->commands && top_cmd->commands[0];
}

/* words[0..n-2] are complete, words[n-1] is being typed. */
static void
complete_line (struct rl_globals *g, char **words, size_t n)
{
  cleanup_help struct help_text top = { 0 };
  cleanup_help struct help_text cmdh = { 0 };
  cleanup_free char *cmdname = NULL;
  const char *cur = n ? words[n - 1] : "";
  char *path[2] = { NULL, NULL };
  size_t npath = 0, i = 0, npos = 0;
  bool only_args = false;

  capture_help (g, NULL, 0, &top);
  /* Global options, then the command. */
  while (i + 1 < n && words[i][0] == '-')
    {
      cleanup_free char *name = xstrndup (words[i], strcspn (words[i], "="));
      const struct help_opt *o = find_opt (&top, name);
      const char *val = strchr (words[i], '=');

      if (o && o->metavar && val == NULL)
        {
          if (i + 2 == n)
            {
              print_values ("", o, cur);
              return;
            }
          val = words[++i];
        }
      else if (val)
        val++;
      /* The store the command line names is the one to list. */
      if (val && strcmp (name, "--root") == 0)
        {
          free (g->root);
          g->root = xstrdup (val);
        }
      else if (val && strcmp (name, "--runroot") == 0)
        {
          free (g->runroot);
          g->runroot = xstrdup (val);
        }
      i++;
    }
  if (i + 1 == n)
    {
      if (cur[0] == '-')
        {
          for (size_t k = 0; k < top.n_opts; k++)
            {
              print_matching (cur, top.opts[k].name);
              if (top.opts[k].shortn)
                print_matching (cur, top.opts[k].shortn);
            }
          print_matching (cur, "--help");
        }
      else
        for (size_t k = 0; top.commands[k]; k++)
          print_matching (cur, top.commands[k]);
      return;
    }
  path[npath++] = words[i++];
  if (rl_find_command (path[0]) == NULL)
    return;
  capture_help (g, path, npath, &cmdh);
  if (has_subcommands (&cmdh))
    {
      if (i + 1 == n)
        {
          for (size_t k = 0; cmdh.commands[k]; k++)
            print_matching (cur, cmdh.commands[k]);
          return;
        }
      path[npath++] = words[i++];
      help_text_clear (&cmdh);
      capture_help (g, path, npath, &cmdh);
    }
  cmdname = npath == 2 ? xasprintf ("%s %s", path[0], path[1]) : xstrdup (path[0]);
  /* Options of the command and its positional arguments so far. */
  for (; i + 1 < n; i++)
    {
      const struct help_opt *o;
      if (only_args || words[i][0] != '-' || words[i][1] == '\0')
        {
          npos++;
          /* run takes its options before the image only. */
          if (strcmp (cmdname, "run") == 0)
            only_args = true;
          continue;
        }
      if (strcmp (words[i], "--") == 0)
        {
          only_args = true;
          continue;
        }
      o = find_opt (&cmdh, words[i]);
      if (o && o->metavar && !strchr (words[i], '='))
        {
          if (i + 2 == n)
            {
              print_values (cmdname, o, cur);
              return;
            }
          i++;
        }
    }
  if (!only_args && str_has_prefix (cur, "--") && strchr (cur, '='))
    {
      cleanup_free char *name = xstrndup (cur, strcspn (cur, "="));
      const struct help_opt *o = find_opt (&cmdh, name);
      if (o)
        print_values (cmdname, o, cur + strlen (name) + 1);
      return;
    }
  if (!only_args && cur[0] == '-')
    {
      for (size_t k = 0; k < cmdh.n_opts; k++)
        {
          print_matching (cur, cmdh.opts[k].name);
          if (cmdh.opts[k].shortn)
            print_matching (cur, cmdh.opts[k].shortn);
        }
      if (str_has_prefix ("--help", cur))
        puts ("--help");
      return;
    }
  if (only_args && strcmp (cmdname, "run") == 0)
    {
      puts (":none");
      return;
    }
  complete_positional (g, cmdname, npos, cur);
}

int
cmd_complete (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  const char *what = argc > 1 ? argv[1] : "";

  if (strcmp (what, "line") == 0)
    complete_line (g, argv + 2, (size_t)argc - 2);
  else if (strcmp (what, "commands") == 0)
    {
      cleanup_help struct help_text h = { 0 };
      capture_help (g, argv + 2, (size_t)argc - 2, &h);
      for (size_t k = 0; h.commands[k]; k++)
        puts (h.commands[k]);
    }
  else if (strcmp (what, "options") == 0 && argc > 2)
    {
      cleanup_help struct help_text h = { 0 };
      capture_help (g, argv + 2, (size_t)argc - 2, &h);
      for (size_t k = 0; k < h.n_opts; k++)
        {
          puts (h.opts[k].name);
          if (h.opts[k].shortn)
            puts (h.opts[k].shortn);
        }
    }
  else if (strcmp (what, "values") == 0 && argc > 3)
    {
      cleanup_help struct help_text h = { 0 };
      cleanup_free char *cmdname = NULL;
      const struct help_opt *o;
      size_t np = (size_t)argc - 3;

      capture_help (g, argv + 2, np, &h);
      cmdname = np == 2 ? xasprintf ("%s %s", argv[2], argv[3]) : xstrdup (argv[2]);
      o = find_opt (&h, argv[argc - 1]);
      if (o == NULL)
        return rl_error (err, 0, "__complete: `rl %s` has no option `%s`", cmdname, argv[argc - 1]);
      print_values (cmdname, o, "");
    }
  else if (strcmp (what, "images") == 0 || strcmp (what, "containers") == 0)
    {
      cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
      if (!open_store (g, &st))
        return 0;
      if (what[0] == 'i')
        list_images (&st, "", true);
      else
        list_containers (&st, argc > 2 && strcmp (argv[2], "--running") == 0, "", true);
    }
  else
    return rl_error (err, 0,
                     "__complete: expected commands, options, values, images, containers or line");
  return 0;
}
