/* rl logs: a detached container's output from its CRI log (ctrlog.h).
 *
 * The log is ctr.log in the container's store directory, with ctr.log.1,
 * .2, ... (older first the higher the number) after rotations.  Records are
 * streamed through a small buffer, never read whole: a --tail first counts
 * the lines of all files, then reads again from the file the wanted lines
 * begin in.  A line is the records of one stream up to an F record; the
 * bytes of P records are printed as they come (a follower sees a prompt
 * without its newline), the timestamp and the filters go by the record
 * that begins the line. */
#include "config.h"
#include "cmd/cmd.h"
#include "runtime/container.h"
#include "runtime/ctrlog.h"
#include "util/opts.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* Rotated files looked for (ctr.log.1 ... ctr.log.MAX). */
#define MAX_ROTATED 1000
/* How often a follower looks at the container's state when nothing in its
 * directory changed (a monitor killed with -9 writes no exit record). */
#define FOLLOW_CHECK_MS 1000

struct logs_opts
{
  bool follow, timestamps;
  int64_t tail; /* -1: all */
  int64_t since, until;
  bool has_until;
};

enum
{
  LOGS_FOLLOW = 1,
  LOGS_TAIL,
  LOGS_SINCE,
  LOGS_UNTIL,
  LOGS_TIMESTAMPS,
};

static const struct rl_opt logs_opts_table[] = {
  { "follow", 'f', NULL, "follow the log until the container has exited", LOGS_FOLLOW },
  { "tail", 'n', "N", "print only the last N lines (a number or \"all\", the default)", LOGS_TAIL },
  { "since", 0, "TIME", "lines from TIME on (RFC 3339, unix seconds, or a duration: 10m)",
    LOGS_SINCE },
  { "until", 0, "TIME", "lines up to TIME (RFC 3339, unix seconds, or a duration: 10m)",
    LOGS_UNTIL },
  { "timestamps", 't', NULL, "begin each line with its time (RFC 3339)", LOGS_TIMESTAMPS },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec logs_cmd = {
  .name = "logs",
  .usage = "[OPTIONS] CONTAINER",
  .summary = "Print the output of a detached container",
  .opts = logs_opts_table,
  .example = "rl logs -f --tail 20 web",
  .interspersed = true,
};

static int
time_value (const char *name, const char *arg, int64_t *out, rl_error_t *err)
{
  if (!ctrlog_parse_time_arg (arg, now_ns (), out))
    return rl_error (err, 0,
                     "logs: invalid --%s `%s` (an RFC 3339 time, unix seconds or a duration "
                     "such as 10m)",
                     name, arg);
  return 0;
}

static int
logs_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct logs_opts *o = data;
  long long n;

  switch (id)
    {
    case LOGS_FOLLOW:
      return opts_flag_value ("follow", arg, &o->follow, err);
    case LOGS_TIMESTAMPS:
      return opts_flag_value ("timestamps", arg, &o->timestamps, err);
    case LOGS_TAIL:
      if (strcmp (arg, "all") == 0)
        o->tail = -1;
      else if (parse_long (arg, -1, LLONG_MAX, &n))
        o->tail = n; /* -1 is Podman's way to say all */
      else
        return rl_error (err, 0, "logs: invalid --tail `%s` (a number of lines or \"all\")", arg);
      return 0;
    case LOGS_SINCE:
      return time_value ("since", arg, &o->since, err);
    case LOGS_UNTIL:
      o->has_until = true;
      return time_value ("until", arg, &o->until, err);
    }
  return 0;
}

/* ---- from records to lines ---- */

struct printer
{
  const struct logs_opts *o;
  bool count_only; /* only count the lines (the first pass of a --tail) */
  int64_t skip;    /* lines to leave out before printing (--tail) */
  int64_t starts;  /* lines begun so far */
  bool mid[2];     /* the stream's last record was a P: its line goes on */
  bool show[2];    /* the stream's current line is printed */
  FILE *last;      /* the stream written to last */
  int write_error; /* errno of a failed write to stdout or stderr, or 0 */
};

static void
take_record (struct printer *p, const struct ctrlog_record *r)
{
  int s = r->stream == CTRLOG_STDERR;
  FILE *f = s ? stderr : stdout;
  bool begins = !p->mid[s];

  p->mid[s] = r->partial;
  if (begins)
    {
      const struct logs_opts *o = p->o;
      p->show[s]
          = p->starts++ >= p->skip && r->time >= o->since && (!o->has_until || r->time <= o->until);
    }
  if (p->count_only || !p->show[s])
    return;
  /* Keep the order of the two streams where they meet (2>&1, a terminal). */
  if (p->last && p->last != f)
    fflush (p->last);
  p->last = f;
  if (begins && p->o->timestamps)
    {
      char stamp[40];
      size_t n = ctrlog_format_time (r->time, stamp);
      stamp[n++] = ' ';
      fwrite (stamp, 1, n, f);
    }
  fwrite (r->msg, 1, r->len, f);
  if (!r->partial)
    putc ('\n', f);
}

/* Every whole record the file has now; lines that are not records (a torn
 * write, a file edited by hand) are skipped. */
static int
drain (struct printer *p, struct ctrlog_reader *rd, rl_error_t *err)
{
  const char *line;
  size_t n;
  int ret;

  while ((ret = ctrlog_reader_next (rd, &line, &n, err)) > 0)
    {
      struct ctrlog_record rec;
      if (ctrlog_parse (line, n, &rec))
        take_record (p, &rec);
      /* Nobody reads what is printed any more (SIGPIPE ignored, a full disk). */
      if (!p->count_only && (ferror (stdout) || ferror (stderr)))
        return 0;
    }
  return ret;
}

static int
flush_out (struct printer *p)
{
  if ((fflush (stdout) != 0 || ferror (stdout)) && !p->write_error)
    p->write_error = errno ? errno : EIO;
  if ((fflush (stderr) != 0 || ferror (stderr)) && !p->write_error)
    p->write_error = errno ? errno : EIO;
  return p->write_error ? -1 : 0;
}

/* ---- the files ---- */

struct logfile
{
  struct ctrlog_reader rd;
  dev_t dev;
  ino_t ino;
};

static void
logfiles_free (struct logfile *f, size_t n)
{
  for (size_t i = 0; i < n; i++)
    ctrlog_reader_close (&f[i].rd);
  free (f);
}

static int
open_log (int dirfd, const char *name, struct logfile *f, rl_error_t *err)
{
  struct stat sb;
  int fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    {
      if (errno == ENOENT)
        return 0;
      return rl_error (err, errno, "open the container's log `%s`", name);
    }
  if (fstat (fd, &sb) < 0 || !S_ISREG (sb.st_mode))
    {
      close (fd);
      return rl_error (err, 0, "the container's log `%s` is not a file", name);
    }
  ctrlog_reader_init (&f->rd, fd);
  f->dev = sb.st_dev;
  f->ino = sb.st_ino;
  return 1;
}

/* The log files newer than the one identified by (dev, ino), oldest first;
 * all of them when cur is false or that file is gone.  ctr.log is opened
 * first, the rotated ones after it: a rotation meanwhile shows up as the
 * same file twice (dropped here) and leaves a new ctr.log the caller finds
 * when it looks again. */
static int
open_newer (int dirfd, bool cur, dev_t dev, ino_t ino, struct logfile **out, size_t *n_out,
            rl_error_t *err)
{
  struct logfile *f = xmalloc0 (sizeof *f);
  size_t n = 0, keep;
  int r;

  *out = NULL;
  *n_out = 0;
  for (int i = 0; i <= MAX_ROTATED; i++)
    {
      char name[32];
      bool dup = false;

      if (i == 0)
        snprintf (name, sizeof name, "%s", CTRLOG_NAME);
      else
        snprintf (name, sizeof name, "%s.%d", CTRLOG_NAME, i);
      f = xrealloc (f, (n + 1) * sizeof *f);
      r = open_log (dirfd, name, &f[n], err);
      if (r < 0)
        {
          logfiles_free (f, n);
          return -1;
        }
      if (r == 0)
        {
          if (i == 0)
            continue; /* rotated away this instant, or no log yet */
          break;
        }
      for (size_t j = 0; j < n && !dup; j++)
        dup = f[j].dev == f[n].dev && f[j].ino == f[n].ino;
      if (dup)
        {
          ctrlog_reader_close (&f[n].rd);
          continue;
        }
      n++;
    }
  /* Newest first now: keep those before the current file. */
  keep = n;
  for (size_t j = 0; cur && j < n; j++)
    if (f[j].dev == dev && f[j].ino == ino)
      {
        keep = j;
        break;
      }
  for (size_t j = keep; j < n; j++)
    ctrlog_reader_close (&f[j].rd);
  for (size_t j = 0; j < keep / 2; j++)
    {
      struct logfile t = f[j];
      f[j] = f[keep - 1 - j];
      f[keep - 1 - j] = t;
    }
  if (keep == 0)
    {
      free (f);
      return 0;
    }
  *out = f;
  *n_out = keep;
  return 0;
}

/* ---- following ---- */

struct follower
{
  struct rl_store *st;
  const char *id;
  int dirfd;
  int inotify; /* -1: poll the state every FOLLOW_CHECK_MS/4 */
  struct logfile cur;
  bool have_cur;
};

/* Was the file emptied and written again (max-file=1) since it was read?
 * Shorter than what was read, or no newline before the line to read next. */
static bool
truncated (struct ctrlog_reader *rd)
{
  uint64_t boundary = rd->pos - (rd->len - rd->start);
  struct stat sb;
  char c;

  if (fstat (rd->fd, &sb) == 0 && (uint64_t)sb.st_size < rd->pos)
    return true;
  /* (Inside an overlong line, skipped, the byte before is not a newline.) */
  return !rd->skipping && boundary > 0 && pread (rd->fd, &c, 1, (off_t)boundary - 1) == 1
         && c != '\n';
}

/* Has ctr.log been replaced (rotated) since cur was opened?  Reads what the
 * new files hold; true if it moved on. */
static int
catch_up (struct follower *fw, struct printer *p, rl_error_t *err)
{
  struct stat sb;
  struct logfile *newer = NULL;
  size_t n = 0;

  if (fw->have_cur)
    {
      if (fstatat (fw->dirfd, CTRLOG_NAME, &sb, AT_SYMLINK_NOFOLLOW) == 0
          && sb.st_dev == fw->cur.dev && sb.st_ino == fw->cur.ino)
        return 0;
      /* The writer renames the file only after its last write to it. */
      if (drain (p, &fw->cur.rd, err) < 0)
        return -1;
    }
  if (open_newer (fw->dirfd, fw->have_cur, fw->cur.dev, fw->cur.ino, &newer, &n, err) < 0)
    return -1;
  if (n == 0)
    return 0;
  for (size_t i = 0; i + 1 < n; i++)
    if (drain (p, &newer[i].rd, err) < 0)
      {
        logfiles_free (newer, n);
        return -1;
      }
  if (fw->have_cur)
    ctrlog_reader_close (&fw->cur.rd);
  fw->cur = newer[n - 1];
  fw->have_cur = true;
  newer[n - 1].rd.fd = -1;
  newer[n - 1].rd.buf = NULL;
  logfiles_free (newer, n);
  return 1;
}

/* Wait for a change in the container's directory (a write to the log, a
 * rotation, the exit record) or the time to look at the state again. */
static void
follow_wait (struct follower *fw)
{
  char buf[4096] __attribute__ ((aligned (__alignof__(struct inotify_event))));
  struct pollfd pfd = { .fd = fw->inotify, .events = POLLIN };

  if (fw->inotify < 0)
    {
      poll (NULL, 0, FOLLOW_CHECK_MS / 4);
      return;
    }
  if (poll (&pfd, 1, FOLLOW_CHECK_MS) > 0)
    while (read (fw->inotify, buf, sizeof buf) > 0)
      ;
}

static bool
still_running (struct follower *fw, const struct logs_opts *o)
{
  struct container_state s;
  rl_error_t e = NULL;
  bool running;

  if (o->has_until && now_ns () > o->until)
    return false;
  /* A container removed meanwhile has nothing more to say. */
  if (container_get_state (fw->st, fw->id, &s, &e) < 0)
    {
      rl_error_free (&e);
      return false;
    }
  running = s.status == CTR_RUNNING;
  container_state_clear (&s);
  return running;
}

static int
follow (struct follower *fw, struct printer *p, const struct logs_opts *o, rl_error_t *err)
{
  bool finishing = false;
  int r;

  for (;;)
    {
      if (fw->have_cur && truncated (&fw->cur.rd))
        ctrlog_reader_rewind (&fw->cur.rd);
      if (fw->have_cur && drain (p, &fw->cur.rd, err) < 0)
        return -1;
      r = catch_up (fw, p, err);
      if (r < 0)
        return -1;
      if (r > 0)
        continue;
      if (finishing)
        return 0;
      if (!still_running (fw, o))
        {
          /* What was written before the exit record: one more round. */
          finishing = true;
          continue;
        }
      if (flush_out (p) < 0)
        return 0;
      follow_wait (fw);
    }
}

/* ---- the command ---- */

static int
print_logs (struct rl_store *st, const char *id, const struct logs_opts *o, rl_error_t *err)
{
  cleanup_free char *rel = xasprintf ("containers/%s", id);
  cleanup_close int dirfd = -1;
  struct printer p = { .o = o };
  struct follower fw = { .st = st, .id = id, .inotify = -1 };
  struct logfile *files = NULL;
  size_t n = 0, first = 0;
  int ret = -1;

  dirfd = openat (st->rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return rl_error (err, errno, "open the container's directory");
  fw.dirfd = dirfd;
  if (o->follow)
    {
      /* Watch before the first read, so that no change goes unnoticed. */
      cleanup_free char *path = store_path (st, rel);
      fw.inotify = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
      if (fw.inotify >= 0
          && inotify_add_watch (fw.inotify, path,
                                IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE
                                    | IN_DELETE_SELF)
                 < 0)
        {
          close (fw.inotify);
          fw.inotify = -1;
        }
    }
  if (open_newer (dirfd, false, 0, 0, &files, &n, err) < 0)
    goto out;

  if (o->tail >= 0 && n > 0)
    {
      /* First pass: count the lines, and where each file begins. */
      int64_t *starts = xmalloc0 ((n + 1) * sizeof *starts);
      bool (*mid)[2] = xmalloc0 ((n + 1) * sizeof *mid);

      p.count_only = true;
      for (size_t i = 0; i < n; i++)
        {
          starts[i] = p.starts;
          mid[i][0] = p.mid[0];
          mid[i][1] = p.mid[1];
          if (drain (&p, &files[i].rd, err) < 0)
            {
              free (starts);
              free (mid);
              goto out;
            }
        }
      starts[n] = p.starts;
      p.skip = p.starts > o->tail ? p.starts - o->tail : 0;
      /* The file the first wanted line begins in (the last one for 0). */
      while (first + 1 < n && starts[first + 1] <= p.skip)
        first++;
      p.count_only = false;
      p.starts = starts[first];
      p.mid[0] = mid[first][0];
      p.mid[1] = mid[first][1];
      p.show[0] = p.show[1] = false;
      free (starts);
      free (mid);
      for (size_t i = first; i < n; i++)
        ctrlog_reader_rewind (&files[i].rd);
    }
  for (size_t i = first; i < n; i++)
    if (drain (&p, &files[i].rd, err) < 0)
      goto out;

  if (o->follow)
    {
      if (n > 0)
        {
          fw.cur = files[n - 1];
          fw.have_cur = true;
          n--;
        }
      if (follow (&fw, &p, o, err) < 0)
        goto out;
    }
  ret = 0;
out:
  logfiles_free (files, n);
  if (fw.have_cur)
    ctrlog_reader_close (&fw.cur.rd);
  if (fw.inotify >= 0)
    close (fw.inotify);
  if (flush_out (&p) < 0 && ret == 0)
    ret = rl_error (err, p.write_error, "write the output");
  return ret;
}

int
cmd_logs (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  struct logs_opts o = { .tail = -1, .since = INT64_MIN };
  cleanup_strv char **args = NULL;
  cleanup_free char *id = NULL;
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  static char outbuf[64 << 10], errbuf[64 << 10];
  bool help;

  if (opts_parse (&logs_cmd, argc, argv, logs_opt, &o, &args, &help, err) < 0)
    return -1;
  if (help)
    return 0;
  if (args[0] == NULL)
    return rl_error (err, 0, "logs: a container name or id is needed");
  if (args[1])
    return rl_error (err, 0, "logs: one container only (`%s` is one too many)", args[1]);
  if (store_open (&st, g, err) < 0)
    return -1;
  if (container_resolve (&st, args[0], &id, err) < 0)
    return rl_error_wrap (err, "logs");
  /* stderr too is written in blocks (flushed where the streams meet). */
  setvbuf (stdout, outbuf, _IOFBF, sizeof outbuf);
  setvbuf (stderr, errbuf, _IOFBF, sizeof errbuf);
  if (print_logs (&st, id, &o, err) < 0)
    {
      /* The error line itself must not wait in the buffer. */
      setvbuf (stderr, NULL, _IONBF, 0);
      return rl_error_wrap (err, "logs %s", args[0]);
    }
  return 0;
}
