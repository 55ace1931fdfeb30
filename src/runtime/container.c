/* Container records in the store and the runroot, names, state from /proc,
 * and removal. */
#include "config.h"
#include "runtime/container.h"
#include "runtime/idmap.h"
#include "store/tmp.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How long `rm -f` waits for a killed container and its monitor. */
#define REMOVE_WAIT_MS 10000

void
container_clear (struct rl_container *c)
{
  free (c->id);
  free (c->name);
  free (c->image_id);
  free (c->image_name);
  strv_free (c->command);
  free (c->driver);
  strv_free (c->labels);
  strv_free (c->spec);
  memset (c, 0, sizeof *c);
}

void
container_state_clear (struct container_state *s)
{
  free (s->driver);
  memset (s, 0, sizeof *s);
}

const char *
container_status_name (enum container_status s)
{
  switch (s)
    {
    case CTR_CREATED:
      return "created";
    case CTR_RUNNING:
      return "running";
    case CTR_EXITED:
      return "exited";
    }
  return "unknown";
}

bool
proc_start_time (pid_t pid, unsigned long long *out)
{
  char path[64], buf[1024];
  cleanup_close int fd = -1;
  ssize_t n;
  char *p;

  if (pid <= 0)
    return false;
  snprintf (path, sizeof path, "/proc/%d/stat", pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  n = read_all (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: start after the last ')'. */
  p = strrchr (buf, ')');
  if (p == NULL)
    return false;
  p++;
  /* Field 3 (state) follows; field 22 is 19 fields further. */
  for (int field = 2; field < 22; field++)
    {
      while (*p == ' ')
        p++;
      if (field == 21)
        break;
      while (*p && *p != ' ')
        p++;
    }
  if (!isdigit ((unsigned char)*p))
    return false;
  *out = strtoull (p, NULL, 10);
  return true;
}

/* Field 3 of /proc/PID/stat, or 0 when pid is gone. */
static char
proc_state (pid_t pid)
{
  char path[64], buf[512];
  cleanup_close int fd = -1;
  ssize_t n;
  char *p;

  snprintf (path, sizeof path, "/proc/%d/stat", pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || (n = read_all (fd, buf, sizeof buf - 1)) <= 0)
    return 0;
  buf[n] = '\0';
  p = strrchr (buf, ')');
  return p && p[1] == ' ' ? p[2] : 0;
}

bool
proc_alive (pid_t pid, unsigned long long start)
{
  unsigned long long now;
  char state;

  if (!proc_start_time (pid, &now) || now != start)
    return false;
  /* A zombie waiting for a reaper (its monitor was killed) is gone for us. */
  state = proc_state (pid);
  return state != 0 && state != 'Z' && state != 'X';
}

char *
container_random_name (void)
{
  static const char *const adjectives[] = {
    "agile",   "amber",   "bold",   "brave",  "bright", "calm",   "clever", "cosmic",
    "crisp",   "curious", "daring", "deft",   "eager",  "early",  "fancy",  "fervent",
    "gentle",  "glad",    "golden", "happy",  "hardy",  "humble", "jolly",  "keen",
    "kind",    "lively",  "lucid",  "merry",  "mighty", "modest", "nimble", "noble",
    "patient", "polite",  "proud",  "quick",  "quiet",  "rapid",  "serene", "sharp",
    "shiny",   "silent",  "sleepy", "smooth", "snappy", "steady", "sunny",  "swift",
    "tender",  "tidy",    "upbeat", "vivid",  "warm",   "wise",   "witty",  "zealous",
  };
  static const char *const nouns[] = {
    "badger", "beaver",  "bison",   "condor", "cougar", "crane", "dingo",  "dolphin", "eagle",
    "falcon", "ferret",  "finch",   "gecko",  "gibbon", "heron", "ibex",   "jackal",  "jaguar",
    "koala",  "lemur",   "lynx",    "marmot", "marten", "moose", "newt",   "ocelot",  "otter",
    "owl",    "panda",   "pelican", "puffin", "quail",  "raven", "robin",  "salmon",  "seal",
    "shrew",  "sparrow", "stoat",   "swan",   "tapir",  "tern",  "toucan", "turtle",  "urchin",
    "vole",   "walrus",  "weasel",  "wombat", "wren",   "yak",   "zebra",
  };
  char hex[9];
  unsigned long r;

  if (random_hex (hex, 4) < 0)
    snprintf (hex, sizeof hex, "%08x", (unsigned)(now_ns () ^ getpid ()));
  r = strtoul (hex, NULL, 16);
  return xasprintf ("%s_%s", adjectives[r % ARRAY_SIZE (adjectives)],
                    nouns[(r / ARRAY_SIZE (adjectives)) % ARRAY_SIZE (nouns)]);
}

/* The name index: names/NAME is a symbolic link to the container's id,
 * written as the id's 32 bytes in base64url (43 characters, no padding).
 * ext4 keeps a target shorter than 60 characters in the inode itself; the
 * 64 hex digits took a block, whose discard, when the name went at the end
 * of a --rm run, cost rl 50 microseconds of waiting.  A target of 64 hex
 * digits (stores written before) reads as it is. */
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
hexval (char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int
container_name_link_create (int namesfd, const char *name, const char *id)
{
  unsigned char raw[CONTAINER_ID_LEN / 2];
  char text[48];
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;

  if (strlen (id) != CONTAINER_ID_LEN)
    return symlinkat (id, namesfd, name);
  for (size_t i = 0; i < sizeof raw; i++)
    {
      int hi = hexval (id[2 * i]), lo = hexval (id[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return symlinkat (id, namesfd, name);
      raw[i] = (unsigned char)(hi << 4 | lo);
    }
  for (size_t i = 0; i < sizeof raw; i++)
    {
      acc = acc << 8 | raw[i];
      bits += 8;
      while (bits >= 6)
        {
          bits -= 6;
          text[o++] = b64url[(acc >> bits) & 63];
        }
    }
  if (bits > 0)
    text[o++] = b64url[(acc << (6 - bits)) & 63];
  text[o] = '\0';
  return symlinkat (text, namesfd, name);
}

bool
container_name_link_read (int namesfd, const char *name, char id[CONTAINER_ID_LEN + 1])
{
  char text[CONTAINER_ID_LEN + 2];
  ssize_t n = readlinkat (namesfd, name, text, sizeof text - 1);
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;

  if (n == CONTAINER_ID_LEN)
    {
      memcpy (id, text, CONTAINER_ID_LEN);
      id[CONTAINER_ID_LEN] = '\0';
      return true;
    }
  if (n != (CONTAINER_ID_LEN / 2 * 8 + 5) / 6)
    return false;
  for (ssize_t i = 0; i < n; i++)
    {
      const char *p = memchr (b64url, text[i], 64);
      if (p == NULL)
        return false;
      acc = acc << 6 | (uint32_t)(p - b64url);
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          o += (size_t)snprintf (id + o, 3, "%02x", (acc >> bits) & 0xff);
        }
    }
  return o == CONTAINER_ID_LEN;
}

static int
open_names (struct rl_store *st, rl_error_t *err)
{
  int fd;

  if (mkdirat (st->rootfd, "names", 0700) < 0 && errno != EEXIST)
    return rl_error (err, errno, "mkdir `%s/names`", st->root);
  fd = openat (st->rootfd, "names", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return rl_error (err, errno, "open `%s/names`", st->root);
  return fd;
}

static bool
container_dir_exists (struct rl_store *st, const char *id)
{
  char path[CONTAINER_ID_LEN + 32];
  struct stat sb;

  if (strlen (id) != CONTAINER_ID_LEN)
    return false;
  snprintf (path, sizeof path, "containers/%s", id);
  return fstatat (st->rootfd, path, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (sb.st_mode);
}

/* Reserve name for id; 0, or 1 when the name is taken (*owner set). */
static int
reserve_name (struct rl_store *st, int namesfd, const char *name, const char *id, char **owner,
              rl_error_t *err)
{
  for (int tries = 0; tries < 2; tries++)
    {
      char target[CONTAINER_ID_LEN + 1];

      if (container_name_link_create (namesfd, name, id) == 0)
        return 0;
      if (errno != EEXIST)
        return rl_error (err, errno, "reserve name `%s`", name);
      if (container_name_link_read (namesfd, name, target) && container_dir_exists (st, target))
        {
          *owner = xstrdup (target);
          return 1;
        }
      /* Left behind by a container removed by hand: take it over. */
      if (unlinkat (namesfd, name, 0) < 0 && errno != ENOENT)
        return rl_error (err, errno, "remove stale name `%s`", name);
    }
  return rl_error (err, 0, "reserve name `%s`: it keeps changing", name);
}

static char *
config_json (const struct rl_container *c, size_t *len)
{
  cleanup_gen yajl_gen g = json_gen_new (false);

  yajl_gen_map_open (g);
  jg_kstr (g, "Id", c->id);
  jg_kstr (g, "Name", c->name);
  jg_kstr (g, "ImageId", c->image_id);
  jg_kstr (g, "ImageName", c->image_name);
  jg_kstrv (g, "Command", c->command);
  jg_kint (g, "Created", c->created);
  jg_kstr (g, "Driver", c->driver);
  jg_kbool (g, "Rm", c->rm);
  jg_klabels (g, "Labels", c->labels);
  jg_kstrv (g, "Spec", c->spec);
  if (c->starter > 0)
    {
      jg_kint (g, "Starter", c->starter);
      jg_kint (g, "StarterStart", (int64_t)c->starter_start);
    }
  yajl_gen_map_close (g);
  return jg_finish (g, len);
}

int
container_create (struct rl_store *st, struct rl_container *c, rl_error_t *err)
{
  cleanup_close int namesfd = -1;
  cleanup_close int dirfd = -1;
  cleanup_free char *json = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *owner = NULL;
  char id[CONTAINER_ID_LEN + 1];
  size_t len;
  int r;

  if (c->id && strlen (c->id) == CONTAINER_ID_LEN)
    snprintf (id, sizeof id, "%s", c->id);
  else if (random_hex (id, CONTAINER_ID_LEN / 2) < 0)
    return rl_error (err, errno, "getrandom");
  free (c->id);
  c->id = xstrdup (id);
  c->created = now_ns ();
  if (c->starts_now && c->starter <= 0)
    {
      c->starter = getpid ();
      if (!proc_start_time (c->starter, &c->starter_start))
        c->starter = 0;
    }
  dir = xasprintf ("containers/%s", id);

  if (store_lock (st, err) < 0)
    return -1;
  namesfd = open_names (st, err);
  if (namesfd < 0)
    goto fail;
  if (c->name)
    {
      r = reserve_name (st, namesfd, c->name, id, &owner, err);
      if (r < 0)
        goto fail;
      if (r > 0)
        {
          rl_error (err, 0,
                    "the container name `%s` is already in use by container %.12s; remove "
                    "it or choose another name",
                    c->name, owner);
          goto fail;
        }
    }
  else
    for (int tries = 0;; tries++)
      {
        cleanup_free char *name = container_random_name ();
        if (tries >= 8)
          {
            /* The name space is small: make it unique with a suffix. */
            char sfx[5];
            cleanup_free char *base = container_random_name ();
            if (random_hex (sfx, 2) < 0)
              snprintf (sfx, sizeof sfx, "%04x", (unsigned)tries & 0xffff);
            free (name);
            name = xasprintf ("%s_%s", base, sfx);
          }
        r = reserve_name (st, namesfd, name, id, &owner, err);
        if (r < 0)
          goto fail;
        if (r == 0)
          {
            c->name = steal_pointer (&name);
            break;
          }
        free (steal_pointer (&owner));
      }
  if (mkdirat (st->rootfd, dir, 0700) < 0)
    {
      rl_error (err, errno, "mkdir `%s/%s`", st->root, dir);
      goto fail_name;
    }
  dirfd = openat (st->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      rl_error (err, errno, "open `%s/%s`", st->root, dir);
      goto fail_dir;
    }
  json = config_json (c, &len);
  if (write_file_atomic (dirfd, "config.json", json, len, 0600, err) < 0)
    {
      rl_error_wrap (err, "container `%s`", c->name);
      goto fail_dir;
    }
  if (!c->starts_now)
    {
      int fd = openat (dirfd, "created", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0)
        {
          rl_error (err, errno, "container `%s`: mark it created", c->name);
          goto fail_dir;
        }
      close (fd);
    }
  store_unlock (st);
  return steal_fd (&dirfd);

fail_dir:
  {
    rl_error_t e2 = NULL;
    rm_rf_at (st->rootfd, dir, &e2);
    rl_error_free (&e2);
  }
fail_name:
  unlinkat (namesfd, c->name, 0);
fail:
  store_unlock (st);
  return -1;
}

int
container_load (struct rl_store *st, const char *id, struct rl_container *c, rl_error_t *err)
{
  cleanup_json yajl_val v = NULL;
  cleanup_free char *path = xasprintf ("containers/%s/config.json", id);
  const char *s;

  memset (c, 0, sizeof *c);
  if (json_parse_file_at (st->rootfd, path, &v, err) < 0)
    return rl_error_wrap (err, "container %.12s", id);
  s = json_get_str (v, "Id");
  c->id = xstrdup (s ? s : id);
  s = json_get_str (v, "Name");
  c->name = xstrdup (s ? s : "");
  s = json_get_str (v, "ImageId");
  c->image_id = xstrdup (s ? s : "");
  s = json_get_str (v, "ImageName");
  c->image_name = s ? xstrdup (s) : NULL;
  c->command = json_get_strv (v, "Command");
  c->created = json_get_int (v, "Created", 0);
  s = json_get_str (v, "Driver");
  c->driver = xstrdup (s ? s : "auto");
  c->rm = json_get_bool (v, "Rm", false);
  {
    yajl_val l = json_get (v, "Labels");
    if (YAJL_IS_OBJECT (l))
      for (size_t i = 0; i < l->u.object.len; i++)
        {
          yajl_val lv = l->u.object.values[i];
          strv_add_take (&c->labels, xasprintf ("%s=%s", l->u.object.keys[i],
                                                YAJL_IS_STRING (lv) ? lv->u.string : ""));
        }
  }
  c->spec = json_get_strv (v, "Spec");
  c->starter = (pid_t)json_get_int (v, "Starter", 0);
  c->starter_start = (unsigned long long)json_get_int (v, "StarterStart", 0);
  return 0;
}

int
container_rename (struct rl_store *st, const char *id, const char *new_name, rl_error_t *err)
{
  cleanup_close int namesfd = -1;
  cleanup_close int dirfd = -1;
  cleanup_free char *owner = NULL;
  cleanup_free char *json = NULL;
  cleanup_free char *old_name = NULL;
  cleanup_free char *dir = xasprintf ("containers/%s", id);
  struct rl_container c;
  size_t len;
  int r = -1;

  if (store_lock (st, err) < 0)
    return -1;
  if (container_load (st, id, &c, err) < 0)
    goto out;
  if (strcmp (c.name, new_name) == 0)
    {
      rl_error (err, 0, "the container is already named `%s`", new_name);
      goto out_c;
    }
  namesfd = open_names (st, err);
  if (namesfd < 0)
    goto out_c;
  dirfd = openat (st->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      rl_error (err, errno, "open `%s/%s`", st->root, dir);
      goto out_c;
    }
  r = reserve_name (st, namesfd, new_name, id, &owner, err);
  if (r != 0)
    {
      if (r > 0)
        rl_error (err, 0,
                  "the container name `%s` is already in use by container %.12s; remove it or "
                  "choose another name",
                  new_name, owner);
      r = -1;
      goto out_c;
    }
  old_name = c.name;
  c.name = xstrdup (new_name);
  json = config_json (&c, &len);
  if (write_file_atomic (dirfd, "config.json", json, len, 0600, err) < 0)
    {
      unlinkat (namesfd, new_name, 0);
      r = -1;
      goto out_c;
    }
  /* The old name, unless it meanwhile names another container. */
  if (*old_name)
    {
      char target[CONTAINER_ID_LEN + 1];
      if (container_name_link_read (namesfd, old_name, target) && strcmp (target, id) == 0)
        unlinkat (namesfd, old_name, 0);
    }
  r = 0;
out_c:
  container_clear (&c);
out:
  store_unlock (st);
  return r;
}

void
container_started (int ctrfd)
{
  unlinkat (ctrfd, "created", 0);
  unlinkat (ctrfd, "state.json", 0);
}

/* The runroot's live file: "key=value" lines (cheap to write on the start
 * path, trivial to read). */
static void
parse_live (const char *text, struct container_state *s)
{
  cleanup_free char *copy = xstrdup (text);
  char *line, *save = NULL;

  for (line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *v = strchr (line, '=');
      if (v == NULL)
        continue;
      *v++ = '\0';
      if (strcmp (line, "pid") == 0)
        s->pid = atoi (v);
      else if (strcmp (line, "pid_start") == 0)
        s->pid_start = strtoull (v, NULL, 10);
      else if (strcmp (line, "monitor") == 0)
        s->monitor = atoi (v);
      else if (strcmp (line, "monitor_start") == 0)
        s->monitor_start = strtoull (v, NULL, 10);
      else if (strcmp (line, "started") == 0)
        s->started = strtoll (v, NULL, 10);
      else if (strcmp (line, "restarts") == 0)
        s->restarts = atoi (v);
      else if (strcmp (line, "driver") == 0)
        {
          free (s->driver);
          s->driver = xstrdup (v);
        }
    }
}

int
container_write_live (struct rl_store *st, const char *id, const struct container_state *s,
                      rl_error_t *err)
{
  cleanup_free char *path = xasprintf ("containers/%s/state", id);
  cleanup_free char *text
      = xasprintf ("pid=%d\npid_start=%llu\nmonitor=%d\nmonitor_start=%llu\nstarted=%lld\n"
                   "driver=%s\nrestarts=%d\n",
                   s->pid, s->pid_start, s->monitor, s->monitor_start, (long long)s->started,
                   s->driver ? s->driver : "", s->restarts);

  return write_file_atomic (st->runfd, path, text, strlen (text), 0600, err);
}

int
container_write_exit (struct rl_store *st, const char *id, const struct container_state *s,
                      rl_error_t *err)
{
  cleanup_gen yajl_gen g = json_gen_new (false);
  cleanup_free char *path = xasprintf ("containers/%s/state.json", id);
  cleanup_free char *live = xasprintf ("containers/%s/state", id);
  cleanup_free char *json = NULL;
  size_t len;

  yajl_gen_map_open (g);
  jg_kint (g, "ExitCode", s->exit_code);
  jg_kint (g, "StartedAt", s->started);
  jg_kint (g, "FinishedAt", s->finished);
  jg_kstr (g, "Driver", s->driver);
  jg_kint (g, "Restarts", s->restarts);
  if (s->restarting)
    jg_kbool (g, "Restarting", true);
  yajl_gen_map_close (g);
  json = jg_finish (g, &len);
  if (write_file_atomic (st->rootfd, path, json, len, 0600, err) < 0)
    return -1;
  /* Between restarts the monitor lives on: its live file says so. */
  if (!s->restarting)
    unlinkat (st->runfd, live, 0);
  return 0;
}

/* The exit recorded at exit_path into s: 1, or 0 when there is none. */
static int
read_exit (struct rl_store *st, const char *id, const char *exit_path, struct container_state *s,
           rl_error_t *err)
{
  cleanup_json yajl_val v = NULL;
  rl_error_t e2 = NULL;
  const char *d;

  if (json_parse_file_at (st->rootfd, exit_path, &v, &e2) < 0)
    {
      if (e2->errnum != ENOENT)
        {
          rl_error_free (err);
          *err = e2;
          return rl_error_wrap (err, "container %.12s", id);
        }
      rl_error_free (&e2);
      return 0;
    }
  d = json_get_str (v, "Driver");
  s->status = CTR_EXITED;
  s->exit_code = json_get_int (v, "ExitCode", 0);
  s->started = json_get_int (v, "StartedAt", s->started);
  s->finished = json_get_int (v, "FinishedAt", 0);
  s->restarts = (int)json_get_int (v, "Restarts", s->restarts);
  if (d && *d)
    {
      free (s->driver);
      s->driver = xstrdup (d);
    }
  s->pid = s->monitor = 0;
  return 1;
}

/* A record of `rl run` without its live state yet: is the rl that starts
 * it still there? */
static bool
starter_alive (struct rl_store *st, const char *id)
{
  cleanup_json yajl_val v = NULL;
  cleanup_free char *path = xasprintf ("containers/%s/config.json", id);
  rl_error_t e = NULL;
  pid_t pid;

  if (json_parse_file_at (st->rootfd, path, &v, &e) < 0)
    {
      rl_error_free (&e);
      return false;
    }
  pid = (pid_t)json_get_int (v, "Starter", 0);
  return pid > 0 && proc_alive (pid, (unsigned long long)json_get_int (v, "StarterStart", 0));
}

int
container_get_state (struct rl_store *st, const char *id, struct container_state *s,
                     rl_error_t *err)
{
  cleanup_free char *live_path = xasprintf ("containers/%s/state", id);
  cleanup_free char *exit_path = xasprintf ("containers/%s/state.json", id);
  cleanup_free char *live = NULL;
  cleanup_json yajl_val v = NULL;
  rl_error_t e2 = NULL;
  bool have_live;
  int r;

  memset (s, 0, sizeof *s);
  have_live = read_file_at (st->runfd, live_path, 4096, &live, NULL, &e2) == 0;
  rl_error_free (&e2);
  {
    cleanup_free char *stopping = xasprintf ("containers/%s/stopping", id);
    s->stopping = faccessat (st->runfd, stopping, F_OK, 0) == 0;
  }
  if (have_live)
    {
      parse_live (live, s);
      /* While the monitor lives it will record the exit: still running;
       * with PID 1 gone, it waits to restart it (the last exit recorded). */
      if (proc_alive (s->pid, s->pid_start))
        {
          s->status = CTR_RUNNING;
          return 0;
        }
      if (proc_alive (s->monitor, s->monitor_start))
        {
          /* PID 1 gone, its monitor not: until the monitor records this
           * run's exit, PID 1 is ending (still running); after, it waits
           * to restart it, or is about to remove the live state. */
          bool recorded = json_parse_file_at (st->rootfd, exit_path, &v, &e2) == 0
                          && json_get_int (v, "FinishedAt", 0) >= s->started;
          rl_error_free (&e2);
          if (!recorded || json_get_bool (v, "Restarting", false))
            {
              s->status = CTR_RUNNING;
              if (recorded)
                {
                  s->restarting = true;
                  s->exit_code = (int)json_get_int (v, "ExitCode", 0);
                  s->finished = json_get_int (v, "FinishedAt", 0);
                }
              return 0;
            }
        }
    }
  if ((r = read_exit (st, id, exit_path, s, err)) != 0)
    return r < 0 ? -1 : 0;
  {
    cleanup_free char *created = xasprintf ("containers/%s/created", id);
    if (!have_live && faccessat (st->rootfd, created, F_OK, 0) == 0)
      {
        s->status = CTR_CREATED;
        return 0;
      }
  }
  if (!have_live)
    {
      if (starter_alive (st, id))
        {
          /* Still starting: not yet running, not dead. */
          s->status = CTR_CREATED;
          s->starting = true;
          return 0;
        }
      /* Or it has run and ended since its exit was looked for. */
      if ((r = read_exit (st, id, exit_path, s, err)) != 0)
        return r < 0 ? -1 : 0;
    }
  {
    /* Monitor and PID 1 gone, nothing recorded: killed together, or the
     * machine rebooted (the runroot is gone with it). */
    s->status = CTR_EXITED;
    s->exit_code = 128 + SIGKILL;
    s->pid = s->monitor = 0;
    s->unrecorded = true;
    return 0;
  }
}

static bool
is_hex_id (const char *s)
{
  size_t n = strlen (s);

  if (n != CONTAINER_ID_LEN)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isxdigit ((unsigned char)s[i]) || isupper ((unsigned char)s[i]))
      return false;
  return true;
}

int
container_list (struct rl_store *st, char ***ids, rl_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd;

  *ids = xmalloc0 (sizeof (char *));
  fd = openat (st->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return rl_error (err, errno, "open `%s/containers`", st->root);
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return rl_error (err, errno, "open `%s/containers`", st->root);
    }
  while ((de = readdir (d)) != NULL)
    {
      char path[CONTAINER_ID_LEN + 16];
      struct stat sb;

      if (!is_hex_id (de->d_name))
        continue;
      snprintf (path, sizeof path, "%s/config.json", de->d_name);
      if (fstatat (dirfd (d), path, &sb, AT_SYMLINK_NOFOLLOW) == 0)
        strv_add (ids, de->d_name);
    }
  return 0;
}

int
container_resolve (struct rl_store *st, const char *ref, char **id, rl_error_t *err)
{
  cleanup_strv char **ids = NULL;
  cleanup_close int namesfd = -1;
  const char *found = NULL;
  char target[CONTAINER_ID_LEN + 1];
  size_t n = strlen (ref);

  if (*ref == '\0')
    return rl_error (err, 0, "empty container name");
  namesfd = openat (st->rootfd, "names", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (namesfd >= 0 && strchr (ref, '/') == NULL && container_name_link_read (namesfd, ref, target)
      && container_dir_exists (st, target))
    {
      *id = xstrdup (target);
      return 0;
    }
  if (container_list (st, &ids, err) < 0)
    return -1;
  for (size_t i = 0; ids[i]; i++)
    if (strncmp (ids[i], ref, n) == 0)
      {
        if (n == CONTAINER_ID_LEN)
          {
            found = ids[i];
            break;
          }
        if (found)
          return rl_error (err, 0, "container id prefix `%s` is ambiguous", ref);
        found = ids[i];
      }
  if (found == NULL)
    return rl_error (err, 0, "no container with name or ID `%s` found", ref);
  *id = xstrdup (found);
  return 0;
}

int
containers_using_image (struct rl_store *st, const char *image_id, char ***ids, rl_error_t *err)
{
  cleanup_strv char **all = NULL;

  *ids = xmalloc0 (sizeof (char *));
  if (container_list (st, &all, err) < 0)
    return -1;
  for (size_t i = 0; all[i]; i++)
    {
      struct rl_container c;
      rl_error_t e2 = NULL;

      /* One unreadable record must not let rmi delete a used image: count
       * it as using every image. */
      if (container_load (st, all[i], &c, &e2) < 0)
        {
          rl_error_free (&e2);
          strv_add (ids, all[i]);
          continue;
        }
      if (strcmp (c.image_id, image_id) == 0)
        strv_add (ids, all[i]);
      container_clear (&c);
    }
  return 0;
}

/* Wait until pid is gone (or no longer the process that started at start). */
static void
wait_gone (pid_t pid, unsigned long long start, int timeout_ms)
{
  int fd;

  if (pid <= 0 || !proc_alive (pid, start))
    return;
  fd = syscall (SYS_pidfd_open, pid, 0);
  if (fd >= 0)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      /* The pid may have been reused between the check and the open. */
      if (proc_alive (pid, start))
        while (poll (&p, 1, timeout_ms) < 0 && errno == EINTR)
          ;
      close (fd);
      return;
    }
  for (int waited = 0; waited < timeout_ms && proc_alive (pid, start); waited += 10)
    usleep (10000);
}

bool
proc_wait_gone (pid_t pid, unsigned long long start, int timeout_ms)
{
  wait_gone (pid, start, timeout_ms);
  return !proc_alive (pid, start);
}

int
container_signal (const struct container_state *s, int sig, rl_error_t *err)
{
  int fd;

  if (s->pid <= 0)
    return rl_error (err, ESRCH, "signal the container");
  fd = syscall (SYS_pidfd_open, s->pid, 0);
  if (fd < 0)
    {
      if (errno == ESRCH)
        return 0; /* gone meanwhile */
      if (!proc_alive (s->pid, s->pid_start))
        return 0;
      if (kill (s->pid, sig) < 0 && errno != ESRCH)
        return rl_error (err, errno, "signal the container");
      return 0;
    }
  /* The pid may have been reused between the state's check and the open. */
  if (proc_alive (s->pid, s->pid_start) && syscall (SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0
      && errno != ESRCH)
    {
      int e = errno;
      close (fd);
      return rl_error (err, e, "signal the container");
    }
  close (fd);
  return 0;
}

void
container_mark_stopping (struct rl_store *st, const char *id)
{
  cleanup_free char *dir = xasprintf ("containers/%s", id);
  cleanup_free char *path = xasprintf ("containers/%s/stopping", id);
  int fd;

  mkdirat (st->runfd, dir, 0700);
  fd = openat (st->runfd, path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0)
    close (fd);
}

struct rm_args
{
  struct rl_store *st;
  const char *dir;
};

static int
rm_in_userns (void *arg, rl_error_t *err)
{
  struct rm_args *a = arg;
  return rm_rf_at (a->st->rootfd, a->dir, err);
}

/* A removed container's name. */
static void
drop_name (struct rl_store *st, const char *id, const char *name)
{
  if (name && *name)
    {
      cleanup_close int namesfd = openat (st->rootfd, "names", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      char target[CONTAINER_ID_LEN + 1];

      if (namesfd >= 0 && container_name_link_read (namesfd, name, target)
          && strcmp (target, id) == 0)
        unlinkat (namesfd, name, 0);
    }
}

int
container_delete_files (struct rl_store *st, const char *id, const char *name, int userns_fd,
                        rl_error_t *err)
{
  cleanup_free char *dir = xasprintf ("containers/%s", id);
  rl_error_t e2 = NULL;

  if (rm_rf_at (st->rootfd, dir, &e2) < 0)
    {
      /* Files of subordinate ids (the error may name any symptom of that,
       * say ENOTDIR for a file in a directory we may not write): only root
       * of the user namespace may remove them. */
      struct rm_args a = { st, dir };

      if (getuid () == 0)
        {
          rl_error_free (err);
          *err = e2;
          return rl_error_wrap (err, "remove container %.12s", id);
        }
      rl_error_free (&e2);
      if (userns_fd >= 0)
        {
          if (userns_join_run (userns_fd, rm_in_userns, &a, err) < 0)
            return rl_error_wrap (err, "remove container %.12s", id);
        }
      else
        {
          struct idmap m;
          int r;

          if (idmap_detect (&m, err) < 0)
            return rl_error_wrap (err, "remove container %.12s", id);
          r = userns_run (&m, false, rm_in_userns, &a, err);
          idmap_clear (&m);
          if (r < 0)
            return rl_error_wrap (err, "remove container %.12s", id);
        }
    }
  if (rm_rf_at (st->runfd, dir, &e2) < 0)
    rl_error_free (&e2);
  drop_name (st, id, name);
  return 0;
}

/* The remover shares the caller's memory (clone with CLONE_VM: no page
 * tables copied, no page copied on write, and the caller's exit leaves
 * its memory to be freed by the remover, off the caller's path).  It
 * runs on a stack of its own, with what it needs copied above it, and
 * uses only system calls until the caller is gone: the caller goes on,
 * with malloc and errno, which are not made for two processes at once. */
#define REMOVER_STACK (1024 * 1024)
struct remover_arg
{
  struct rl_store st;
  int rd, hold;
  char id[CONTAINER_ID_LEN + 1];
  char root[PATH_MAX];
};

/* All fds closed but the store's, rd and hold, out of the caller's
 * session, every signal blocked: on a byte from rd it closes hold, then,
 * once the caller has exited, deletes tmp/rm-ID and the runroot's
 * directory; on end of file alone (the caller died, or removed
 * synchronously) nothing. */
static int
remover_main (void *arg)
{
  struct remover_arg *a = arg;
  const int keep[] = { a->st.rootfd, a->st.runfd, a->rd, a->hold };
  char c;

  setsid ();
  close_fds_except (keep, ARRAY_SIZE (keep));
  if (read (a->rd, &c, 1) != 1)
    _exit (0);
  /* The last hold on the container's mount namespace, say: its mounts
   * come down here, before the files under them go. */
  if (a->hold >= 0)
    close (a->hold);
  /* The caller keeps its end open to its exit, which closes it after
   * the caller's last use of the memory (the kernel releases a process's
   * memory before its files). */
  while (read (a->rd, &c, 1) > 0)
    ;
  {
    cleanup_free char *dir = xasprintf ("containers/%s", a->id);
    cleanup_free char *trash = xasprintf ("tmp/" STORE_TMP_REMOVED "%s", a->id);
    rl_error_t e = NULL;

    /* The runroot's directory too: without the record nothing reads it. */
    if (rm_rf_at (a->st.runfd, dir, &e) < 0)
      rl_error_free (&e);
    if (rm_rf_at (a->st.rootfd, trash, &e) == 0)
      store_tmp_gc_removed (&a->st);
  }
  _exit (0);
}

void
container_remover_start (struct rl_store *st, const char *id, int hold, struct container_remover *r)
{
  sigset_t all, mask;
  struct remover_arg *a;
  char *stack;
  int p[2];

  r->pid = -1;
  r->fd = -1;
  if (strlen (id) > CONTAINER_ID_LEN || strlen (st->root) >= sizeof a->root)
    return;
  stack = mmap (NULL, REMOVER_STACK, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (stack == MAP_FAILED)
    return;
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      munmap (stack, REMOVER_STACK);
      return;
    }
  a = (struct remover_arg *)(stack + REMOVER_STACK - sizeof *a);
  a->st = (struct rl_store){
    .root = a->root, .rootfd = st->rootfd, .runfd = st->runfd, .lockfd = -1
  };
  strcpy (a->root, st->root);
  strcpy (a->id, id);
  a->rd = p[0];
  a->hold = hold;
  /* No handler of ours may run on the remover's stack. */
  sigfillset (&all);
  sigprocmask (SIG_SETMASK, &all, &mask);
  r->pid = clone (remover_main, (char *)((uintptr_t)a & ~(uintptr_t)15), CLONE_VM | SIGCHLD, a);
  sigprocmask (SIG_SETMASK, &mask, NULL);
  close (p[0]);
  if (r->pid < 0)
    {
      close (p[1]);
      munmap (stack, REMOVER_STACK);
    }
  else
    r->fd = p[1];
}

int
container_delete_background (struct rl_store *st, const char *id, const char *name,
                             struct container_remover *r, rl_error_t *err)
{
  cleanup_free char *dir = xasprintf ("containers/%s", id);
  cleanup_free char *trash = xasprintf ("tmp/" STORE_TMP_REMOVED "%s", id);
  int ret = 0;

  if (renameat (st->rootfd, dir, st->rootfd, trash) < 0)
    ret = container_delete_files (st, id, name, -1, err);
  else
    {
      drop_name (st, id, name);
      /* None forked ahead: one now. */
      if (r->pid <= 0)
        container_remover_start (st, id, -1, r);
      if (r->pid <= 0 || write (r->fd, "x", 1) != 1)
        {
          rl_error_t e2 = NULL;
          if (rm_rf_at (st->runfd, dir, &e2) < 0)
            rl_error_free (&e2);
          if (rm_rf_at (st->rootfd, trash, err) < 0)
            ret = rl_error_wrap (err, "remove container %.12s", id);
        }
      else
        /* Open until our exit, which tells the remover that the memory
         * it shares is its alone (see remover_main). */
        r->fd = -1;
    }
  /* Without the byte the remover exits, doing nothing. */
  if (r->fd >= 0)
    close (r->fd);
  r->fd = -1;
  return ret;
}

/* The name the index gives id, or NULL. */
static char *
name_of (struct rl_store *st, const char *id)
{
  cleanup_close int namesfd = openat (st->rootfd, "names", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;
  struct dirent *de;
  char *found = NULL;

  if (namesfd < 0 || (d = fdopendir (namesfd)) == NULL)
    return NULL;
  namesfd = -1;
  while (found == NULL && (de = readdir (d)))
    {
      char target[CONTAINER_ID_LEN + 1];
      if (container_name_link_read (dirfd (d), de->d_name, target) && strcmp (target, id) == 0)
        found = xstrdup (de->d_name);
    }
  closedir (d);
  return found;
}

int
container_remove (struct rl_store *st, const char *id, bool force, rl_error_t *err)
{
  struct rl_container c;
  struct container_state s;
  int userns_fd = -1;
  int r;

  /* A damaged record (a truncated config.json or state.json) must not
   * keep its container from being removed: the name comes from the index,
   * and a state that cannot be read is not running (that part of the
   * state is read before state.json). */
  if (container_load (st, id, &c, err) < 0)
    {
      rl_error_free (err);
      memset (&c, 0, sizeof c);
      c.name = name_of (st, id);
    }
  /* The mark before the state: a starting rl looks for it once its live
   * state is written, so either it sees the mark or we see it running. */
  if (force)
    container_mark_stopping (st, id);
  for (int waited = 0;; waited += 10)
    {
      if (container_get_state (st, id, &s, err) < 0)
        {
          rl_error_free (err);
          memset (&s, 0, sizeof s);
          s.status = CTR_EXITED;
        }
      if (!s.starting || !force || waited >= REMOVE_WAIT_MS)
        break;
      /* Being started: its rl ends it on seeing the mark. */
      container_state_clear (&s);
      usleep (10000);
    }
  if (s.starting && !force)
    {
      rl_error (err, 0, "container `%s` is starting: use `rl rm -f`", c.name);
      container_clear (&c);
      container_state_clear (&s);
      return -1;
    }
  if (s.status == CTR_RUNNING)
    {
      if (!force)
        {
          rl_error (err, 0, "container `%s` is running: stop it first or use `rl rm -f`", c.name);
          container_clear (&c);
          container_state_clear (&s);
          return -1;
        }
      /* PID 1 dying takes the whole pid namespace with it; then let the
       * monitor record the exit (or remove it, with --rm) before we do;
       * the mark keeps a --restart policy from starting it again. */
      container_mark_stopping (st, id);
      /* Its user namespace outlives PID 1 while we hold it: removing files
       * of subordinate ids there spares the setuid helpers a new one needs. */
      if (getuid () != 0 && userns_fd < 0 && proc_alive (s.pid, s.pid_start))
        {
          char path[64];
          snprintf (path, sizeof path, "/proc/%d/ns/user", (int)s.pid);
          userns_fd = open (path, O_RDONLY | O_CLOEXEC);
          if (userns_fd >= 0 && !proc_alive (s.pid, s.pid_start))
            {
              close (userns_fd);
              userns_fd = -1;
            }
        }
      if (proc_alive (s.pid, s.pid_start))
        kill (s.pid, SIGKILL);
      wait_gone (s.pid, s.pid_start, REMOVE_WAIT_MS);
      wait_gone (s.monitor, s.monitor_start, REMOVE_WAIT_MS);
    }
  r = container_delete_files (st, id, c.name, userns_fd, err);
  if (userns_fd >= 0)
    close (userns_fd);
  container_clear (&c);
  container_state_clear (&s);
  return r;
}
