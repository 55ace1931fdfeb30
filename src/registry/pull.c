/* rl pull: resolve the name, fetch and check the manifest and config, then
 * download and unpack the missing layers in parallel, and commit it all
 * under the store lock once every digest and size matched.
 *
 * Each missing layer gets two processes, forked from here after libcurl,
 * libcrypto and libarchive were loaded:
 *
 *   fetcher   GET the blob (its own connection), every byte through the
 *             sha256 of the blob, into WORK/blob-N, and down a pipe; never
 *             more bytes than the descriptor's size
 *   unpacker  from the pipe: gzip/zstd/plain decompression, sha256 of the
 *             tar (the diff_id), the safe unpacker into WORK/layer-N; in a
 *             user namespace with the store's map when there is a range,
 *             so files get their owners
 *
 * Both report into a shared mapping; this process only schedules, draws the
 * progress and commits.  WORK is tmp/pull-RAND, whose lock file
 * tmp/pull-RAND.lock is held (flock) by this process and its children for
 * the whole pull: a pull killed at any moment leaves an unlocked pair that
 * the next command writing to the store removes (store/tmp.h).
 *
 * A layer the store has already is not downloaded again; but when the blob
 * this manifest names for it is missing (the layer came from an import, a
 * load, or an image whose registry compressed it otherwise), that blob
 * alone is fetched and checked, so that save and push find every blob of
 * the image. */
#include "config.h"
#include "registry/pull.h"
#include "config/config.h"
#include "image/image.h"
#include "image/layer.h"
#include "image/ref.h"
#include "registry/manifest.h"
#include "registry/registry.h"
#include "runtime/idmap.h"
#include "util/dl.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ERR_MAX        1024
#define TAG_PAGES_MAX  1000
#define PROGRESS_WIDTH 30 /* characters of a layer's progress bar */

/* What the two processes of one layer report (in a shared mapping). */
struct layer_report
{
  volatile uint64_t fetched; /* bytes of the blob so far (progress) */
  int fetch_failed;
  int fetch_pipe_closed; /* the fetcher failed only because the unpacker stopped */
  char fetch_err[ERR_MAX];
  int unpack_failed;
  char unpack_err[ERR_MAX];
  char diff_id[DIGEST_LEN + 1];
  uint64_t tar_size;
  struct layer_unpack_stats stats;
};

enum job_state
{
  JOB_EXISTS, /* the store has the layer: nothing to do */
  JOB_WAITING,
  JOB_RUNNING,
  JOB_DONE,
  JOB_FAILED,
};

struct layer_job
{
  size_t index;
  const struct rl_descriptor *desc;
  const char *diff_id;
  char chain[SHA256_HEX_LEN + 1];
  enum job_state state;
  /* The store has the layer but not the blob this manifest names (the
   * layer came from an import, a load or an image compressed otherwise):
   * only the blob is fetched, and checked, not unpacked. */
  bool blob_only;
  pid_t fetch_pid, unpack_pid;
  struct layer_report *rep;
};

struct pull
{
  struct rl_store *st;
  const struct idmap *m;
  struct reg_client *client;
  char *name;            /* the normalized reference pulled */
  struct store_tmp work; /* "tmp/pull-RAND", held by this process and its workers */
  struct layer_job *jobs;
  size_t n_jobs;
  struct layer_report *reports; /* n_jobs of them, shared */
  bool tty;
  bool quiet;
  int drawn; /* lines of progress on the screen */
};

/* ---- the work directory ---- */

static int
work_create (struct pull *p, rl_error_t *err)
{
  if (store_tmp_new (p->st, "pull", &p->work, err) < 0)
    return -1;
  if (mkdirat (p->st->rootfd, p->work.name, 0700) < 0)
    return rl_error (err, errno, "mkdir `%s/%s`", p->st->root, p->work.name);
  return 0;
}

static void
work_remove (struct pull *p)
{
  store_tmp_release (p->st, p->m, &p->work);
}

/* ---- the layer processes ---- */

static void
report_text (char *dst, rl_error_t *e)
{
  snprintf (dst, ERR_MAX, "%s", *e ? (*e)->msg : "failed");
  rl_error_free (e);
}

struct fetch_sink
{
  int blobfd, pipefd;
  struct rl_sha256 h;
  uint64_t n, limit;
  struct layer_report *rep;
  bool pipe_closed;
};

static int
fetch_sink (void *arg, const void *buf, size_t len, rl_error_t *err)
{
  struct fetch_sink *s = arg;

  /* Never read past what the descriptor promised. */
  if (s->n + len > s->limit)
    return rl_error (err, 0, "the registry sent more than the %llu bytes the manifest declares",
                     (unsigned long long)s->limit);
  sha256_update (&s->h, buf, len);
  s->n += len;
  s->rep->fetched = s->n;
  if (write_all (s->blobfd, buf, len) < 0)
    return rl_error (err, errno, "write the blob");
  if (s->pipefd >= 0 && write_all (s->pipefd, buf, len) < 0)
    {
      s->pipe_closed = errno == EPIPE;
      return rl_error (err, errno, "hand the blob to the unpacker");
    }
  return 0;
}

/* A blob fetched for a layer the store has must be that layer once
 * decompressed, or the image's manifest and its layers would disagree. */
static int
blob_check_diff_id (struct pull *p, const char *blobname, const char *want, rl_error_t *err)
{
  cleanup_free char *what = xasprintf ("`%s/%s`", p->st->root, blobname);
  cleanup_close int fd = openat (p->st->rootfd, blobname, O_RDONLY | O_CLOEXEC);
  struct layer_fd_reader fr = { fd, what };
  struct layer_hash_reader hr;
  struct layer_decomp *d;
  char got[DIGEST_LEN + 1];
  char buf[64 * 1024];
  ssize_t n;

  if (fd < 0)
    return rl_error (err, errno, "open %s", what);
  d = layer_decomp_new (layer_fd_read, &fr);
  layer_hash_reader_init (&hr, layer_decomp_read, d, 0);
  while ((n = layer_hash_read (&hr, buf, sizeof buf, err)) > 0)
    ;
  layer_decomp_free (d);
  if (n < 0)
    {
      sha256_clear (&hr.h);
      return -1;
    }
  layer_hash_reader_digest (&hr, got);
  if (strcmp (got, want) != 0)
    return rl_error (err, 0, "diff_id mismatch: the config says `%s`, the layer is `%s`", want,
                     got);
  return 0;
}

/* pipefd is -1 for a blob_only job: nobody unpacks. */
static _Noreturn void
fetcher (struct pull *p, struct layer_job *j, int pipefd)
{
  static const long ok[] = { 200, 0 };
  cleanup_free char *blobname = xasprintf ("%s/blob-%zu", p->work.name, j->index);
  cleanup_free char *path = xasprintf ("/blobs/%s", j->desc->digest);
  struct fetch_sink s = { .pipefd = pipefd, .limit = j->desc->size, .rep = j->rep };
  struct reg_client *c = reg_client_fork (p->client);
  struct reg_request rq = {
    .method = "GET", .path = path, .body_fd = -1, .sink = fetch_sink, .sink_arg = &s, .expect = ok
  };
  struct reg_response rs = { 0 };
  char hex[SHA256_HEX_LEN + 1];
  rl_error_t e = NULL;

  signal (SIGPIPE, SIG_IGN);
  s.blobfd = openat (p->st->rootfd, blobname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (s.blobfd < 0)
    {
      rl_error (&e, errno, "create `%s/%s`", p->st->root, blobname);
      goto fail;
    }
  sha256_init (&s.h);
  if (reg_request (c, &rq, &rs, &e) < 0)
    {
      j->rep->fetch_pipe_closed = s.pipe_closed;
      goto fail;
    }
  reg_response_clear (&rs);
  sha256_final_hex (&s.h, hex);
  if (s.n != j->desc->size)
    {
      rl_error (&e, 0, "truncated: got %llu of %llu bytes", (unsigned long long)s.n,
                (unsigned long long)j->desc->size);
      goto fail;
    }
  if (strcmp (hex, j->desc->digest + strlen (DIGEST_PREFIX)) != 0)
    {
      rl_error (&e, 0, "digest mismatch: the registry sent sha256:%s", hex);
      goto fail;
    }
  if (j->blob_only && blob_check_diff_id (p, blobname, j->diff_id, &e) < 0)
    goto fail;
  _exit (0);
fail:
  j->rep->fetch_failed = 1;
  report_text (j->rep->fetch_err, &e);
  _exit (1);
}

struct unpack_job
{
  pid_t parent; /* the unpacker, when this runs in its user namespace child */
  int dirfd;
  int pipefd;
  const char *want;
  const struct idmap *m;
  struct layer_report *rep;
};

static int
unpack_fn (void *arg, rl_error_t *err)
{
  struct unpack_job *u = arg;
  struct layer_fd_reader fr = { u->pipefd, "the layer stream" };
  struct layer_decomp *d;
  struct layer_hash_reader hr;
  struct layer_unpack_opts o;
  int r;

  /* In a user namespace child: die with the unpacker, as it dies with
   * the pull. */
  if (u->parent > 0 && (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != u->parent))
    return rl_error (err, 0, "the unpacker is gone");
  d = layer_decomp_new (layer_fd_read, &fr);

  layer_unpack_opts_for (u->m, &o);
  layer_hash_reader_init (&hr, layer_decomp_read, d, 0);
  r = layer_unpack (u->dirfd, layer_hash_read, &hr, &o, &u->rep->stats, err);
  layer_decomp_free (d);
  if (r < 0)
    {
      sha256_clear (&hr.h);
      return -1;
    }
  layer_hash_reader_digest (&hr, u->rep->diff_id);
  u->rep->tar_size = hr.n;
  if (strcmp (u->want, u->rep->diff_id) != 0)
    return rl_error (err, 0, "diff_id mismatch: the config says `%s`, the layer is `%s`", u->want,
                     u->rep->diff_id);
  return 0;
}

static _Noreturn void
unpacker (struct pull *p, struct layer_job *j, int pipefd)
{
  cleanup_free char *dir = xasprintf ("%s/layer-%zu", p->work.name, j->index);
  struct unpack_job u = { .pipefd = pipefd, .want = j->diff_id, .m = p->m, .rep = j->rep };
  rl_error_t e = NULL;
  int r;

  if (mkdirat (p->st->rootfd, dir, 0700) < 0
      || (u.dirfd = openat (p->st->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
      || fchmod (u.dirfd, 0755) < 0)
    {
      rl_error (&e, errno, "create `%s/%s`", p->st->root, dir);
      goto fail;
    }
  if (p->m->mode == IDMAP_SUBID)
    {
      u.parent = getpid ();
      r = userns_run (p->m, false, unpack_fn, &u, &e);
    }
  else
    r = unpack_fn (&u, &e);
  if (r < 0)
    goto fail;
  _exit (0);
fail:
  j->rep->unpack_failed = 1;
  report_text (j->rep->unpack_err, &e);
  _exit (1);
}

static pid_t
fork_child (struct pull *p, struct layer_job *j, int keep, int drop,
            void (*fn) (struct pull *, struct layer_job *, int))
{
  pid_t parent = getpid ();
  pid_t pid;

  fflush (NULL);
  pid = fork ();
  if (pid != 0)
    return pid;
  /* Die with the pull: a killed pull must leave no worker writing into its
   * work directory (they also hold its lock, inherited). */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (1);
  if (drop >= 0)
    close (drop);
  fn (p, j, keep);
  _exit (1);
}

static int
job_start (struct pull *p, struct layer_job *j, rl_error_t *err)
{
  int fds[2];

  if (j->blob_only)
    {
      j->fetch_pid = fork_child (p, j, -1, -1, fetcher);
      if (j->fetch_pid < 0)
        return rl_error (err, errno, "fork");
      j->state = JOB_RUNNING;
      return 0;
    }
  if (pipe2 (fds, O_CLOEXEC) < 0)
    return rl_error (err, errno, "pipe");
  j->fetch_pid = fork_child (p, j, fds[1], fds[0], fetcher);
  if (j->fetch_pid < 0)
    {
      int e = errno;
      close (fds[0]);
      close (fds[1]);
      return rl_error (err, e, "fork");
    }
  j->unpack_pid = fork_child (p, j, fds[0], fds[1], unpacker);
  close (fds[0]);
  close (fds[1]);
  if (j->unpack_pid < 0)
    {
      int e = errno;
      kill (j->fetch_pid, SIGKILL);
      return rl_error (err, e, "fork");
    }
  j->state = JOB_RUNNING;
  return 0;
}

/* ---- progress ---- */

static void
progress_draw (struct pull *p, bool final)
{
  if (!p->tty || p->quiet)
    return;
  if (p->drawn)
    fprintf (stderr, "\033[%dA", p->drawn);
  p->drawn = 0;
  for (size_t i = 0; i < p->n_jobs; i++)
    {
      struct layer_job *j = &p->jobs[i];
      const char *hex = j->desc->digest + strlen (DIGEST_PREFIX);
      cleanup_free char *have = NULL;
      cleanup_free char *total = NULL;

      fprintf (stderr, "\r\033[K%.12s: ", hex);
      switch (j->state)
        {
        case JOB_EXISTS:
          fputs ("Already exists", stderr);
          break;
        case JOB_WAITING:
          fputs ("Waiting", stderr);
          break;
        case JOB_RUNNING:
          {
            /* The fetcher's count: once all is fetched, the unpacker is
             * what still runs. */
            uint64_t f = j->rep->fetched;
            size_t fill = j->desc->size ? f * PROGRESS_WIDTH / j->desc->size : PROGRESS_WIDTH;
            char bar[PROGRESS_WIDTH + 1];

            memset (bar, ' ', PROGRESS_WIDTH);
            memset (bar, '=', fill);
            if (fill > 0)
              bar[fill - 1] = '>';
            bar[PROGRESS_WIDTH] = '\0';
            have = human_size (f);
            total = human_size (j->desc->size);
            fprintf (stderr, "%s [%s] %s/%s",
                     f < j->desc->size ? "Downloading"
                     : j->blob_only    ? "Verifying  "
                                       : "Extracting ",
                     bar, have, total);
          }
          break;
        case JOB_DONE:
          fputs ("Pull complete", stderr);
          break;
        case JOB_FAILED:
          fputs ("Failed", stderr);
          break;
        }
      fputc ('\n', stderr);
      p->drawn++;
    }
  if (final)
    p->drawn = 0;
  fflush (stderr);
}

/* ---- running the jobs ---- */

static void
jobs_kill (struct pull *p)
{
  for (size_t i = 0; i < p->n_jobs; i++)
    {
      struct layer_job *j = &p->jobs[i];
      if (j->fetch_pid > 0)
        kill (j->fetch_pid, SIGKILL);
      if (j->unpack_pid > 0)
        kill (j->unpack_pid, SIGKILL);
    }
  for (size_t i = 0; i < p->n_jobs; i++)
    {
      struct layer_job *j = &p->jobs[i];
      if (j->fetch_pid > 0)
        waitpid (j->fetch_pid, NULL, 0);
      if (j->unpack_pid > 0)
        waitpid (j->unpack_pid, NULL, 0);
      j->fetch_pid = j->unpack_pid = 0;
    }
  /* A killed unpacker's user namespace child (which PR_SET_PDEATHSIG
   * kills) came to this process, the subreaper: wait for it too, so that
   * nothing writes into the work directory while it is removed. */
  while (waitpid (-1, NULL, 0) > 0 || errno == EINTR)
    ;
}

/* One line for a failed layer: the fetcher's error unless it only failed
 * because the unpacker had stopped (then the unpacker's says why). */
static int
job_error (struct pull *p, struct layer_job *j, rl_error_t *err)
{
  const char *why;

  if (j->rep->fetch_failed && !(j->rep->fetch_pipe_closed && j->rep->unpack_failed))
    why = j->rep->fetch_err;
  else if (j->rep->unpack_failed)
    why = j->rep->unpack_err;
  else
    why = "worker process died";
  return rl_error (err, 0, "layer %s (%zu of %zu): %s", j->desc->digest, j->index + 1, p->n_jobs,
                   why);
}

/* Reap pid within ms milliseconds, else kill it (and reap it). */
static void
wait_bounded (pid_t pid, int ms)
{
  struct timespec ts = { 0, 10 * 1000000L };

  for (int waited = 0; waited < ms; waited += 10)
    {
      if (waitpid (pid, NULL, WNOHANG) != 0)
        return;
      nanosleep (&ts, NULL);
    }
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
}

static int
jobs_run (struct pull *p, rl_error_t *err)
{
  size_t running = 0, next = 0;

  for (;;)
    {
      int status;
      pid_t pid;

      while (running < PULL_PARALLEL && next < p->n_jobs)
        {
          struct layer_job *j = &p->jobs[next++];
          if (j->state != JOB_WAITING)
            continue;
          if (job_start (p, j, err) < 0)
            {
              jobs_kill (p);
              return -1;
            }
          running++;
        }
      if (running == 0)
        break;
      progress_draw (p, false);
      pid = waitpid (-1, &status, p->tty ? WNOHANG : 0);
      if (pid == 0)
        {
          struct timespec ts = { 0, 100 * 1000000L };
          nanosleep (&ts, NULL);
          continue;
        }
      if (pid < 0)
        {
          if (errno == EINTR)
            continue;
          jobs_kill (p);
          return rl_error (err, errno, "wait");
        }
      for (size_t i = 0; i < p->n_jobs; i++)
        {
          struct layer_job *j = &p->jobs[i];
          bool ok = WIFEXITED (status) && WEXITSTATUS (status) == 0;
          if (j->state != JOB_RUNNING || (pid != j->fetch_pid && pid != j->unpack_pid))
            continue;
          if (pid == j->fetch_pid)
            j->fetch_pid = 0;
          else
            j->unpack_pid = 0;
          if (!ok)
            {
              j->state = JOB_FAILED;
              /* Give the sibling a moment to report (an unpacker that
               * failed on a cut stream is explained by its fetcher), but
               * no more: a fetcher may be waiting on a slow network. */
              if (j->fetch_pid > 0)
                wait_bounded (j->fetch_pid, 2000);
              if (j->unpack_pid > 0)
                wait_bounded (j->unpack_pid, 2000);
              j->fetch_pid = j->unpack_pid = 0;
              progress_draw (p, true);
              jobs_kill (p);
              return job_error (p, j, err);
            }
          if (j->fetch_pid == 0 && j->unpack_pid == 0)
            {
              j->state = JOB_DONE;
              running--;
            }
        }
    }
  progress_draw (p, true);
  return 0;
}

/* ---- registry access ---- */

static int
get_small (struct reg_client *c, const char *path, const char *accept, uint64_t max,
           struct reg_response *rs, rl_error_t *err)
{
  static const long ok[] = { 200, 0 };
  const char *hdrs[] = { accept, NULL };
  struct reg_request rq = { .method = "GET",
                            .path = path,
                            .headers = accept ? hdrs : NULL,
                            .body_fd = -1,
                            .max_body = max,
                            .expect = ok };
  return reg_request (c, &rq, rs, err);
}

/* Fetch the image manifest of r (through an index when there is one) into
 * *text, and its digest. */
static int
fetch_manifest (struct reg_client *c, const struct rl_ref *r, const char *os, const char *arch,
                const char *variant, char **text, size_t *len, char digest[DIGEST_LEN + 1],
                struct rl_manifest *m, rl_error_t *err)
{
  cleanup_free char *path = xasprintf ("/manifests/%s", r->digest ? r->digest : r->tag);
  const char *want = r->digest;
  cleanup_free char *want_copy = NULL;
  char hex[SHA256_HEX_LEN + 1];

  for (int depth = 0;; depth++)
    {
      struct reg_response rs = { 0 };
      const struct rl_descriptor *d;

      if (get_small (c, path, MANIFEST_ACCEPT, JSON_MAX_SIZE, &rs, err) < 0)
        return -1;
      if (rs.body == NULL)
        {
          reg_response_clear (&rs);
          return rl_error (err, 0, "GET %s: empty manifest", path);
        }
      sha256_hex (rs.body, rs.body_len, hex);
      snprintf (digest, DIGEST_LEN + 1, DIGEST_PREFIX "%s", hex);
      if (want && strcmp (want, digest) != 0)
        {
          reg_response_clear (&rs);
          return rl_error (err, 0, "manifest digest mismatch: asked for `%s`, got `%s`", want,
                           digest);
        }
      if (manifest_parse (rs.body, rs.body_len, reg_response_header (&rs, "content-type"),
                          "manifest", m, err)
          < 0)
        {
          reg_response_clear (&rs);
          return -1;
        }
      if (m->kind == MANIFEST_IMAGE)
        {
          *text = steal_pointer (&rs.body);
          *len = rs.body_len;
          reg_response_clear (&rs);
          return 0;
        }
      reg_response_clear (&rs);
      if (depth > 0)
        return rl_error (err, 0, "an index that points at an index is not supported");
      if (manifest_select (m, os, arch, variant, &d, err) < 0)
        return -1;
      want_copy = xstrdup (d->digest);
      want = want_copy;
      free (path);
      path = xasprintf ("/manifests/%s", want);
      manifest_clear (m);
    }
}

/* ---- commit ---- */

/* Unix ns of an RFC 3339 time ("2024-01-02T03:04:05.123Z"); 0 when absent. */
static int64_t
parse_created (const char *s)
{
  struct tm tm = { 0 };
  const char *rest;
  int64_t ns = 0;

  if (s == NULL || (rest = strptime (s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
    return 0;
  if (*rest == '.')
    {
      int64_t scale = 100000000;
      for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
        ns += (*rest - '0') * scale;
    }
  return (int64_t)timegm (&tm) * 1000000000LL + ns;
}

static int
commit (struct pull *p, const char *manifest, size_t manifest_len, const char *config,
        size_t config_len, char **diff_ids, char **chains, const char *name,
        char id[SHA256_HEX_LEN + 1], rl_error_t *err)
{
  cleanup_image_db struct rl_image_db db = { 0 };
  cleanup_json yajl_val cfg = NULL;
  char mhex[SHA256_HEX_LEN + 1];
  struct rl_image *img;
  uint64_t size = 0;
  int r = -1;

  if (store_lock (p->st, err) < 0)
    return -1;
  for (size_t i = 0; i < p->n_jobs; i++)
    {
      struct layer_job *j = &p->jobs[i];
      cleanup_free char *blob = NULL;
      struct layer_tmp t = { 0 };

      if (j->state != JOB_DONE)
        continue;
      blob = xasprintf ("%s/blob-%zu", p->work.name, i);
      if (blob_commit (p->st, blob, j->desc->digest + strlen (DIGEST_PREFIX), err) < 0)
        goto out;
      if (j->blob_only)
        continue;
      t.tmp.name = xasprintf ("%s/layer-%zu", p->work.name, i);
      memcpy (t.diff_id, j->rep->diff_id, sizeof t.diff_id);
      t.size = j->rep->tar_size;
      t.idmap_key = idmap_key (p->m);
      t.stats = j->rep->stats;
      if (layer_commit (p->st, p->m, &t, chains[i], err) < 0)
        {
          layer_tmp_discard (p->st, p->m, &t);
          goto out;
        }
      layer_tmp_discard (p->st, p->m, &t);
    }
  for (size_t i = 0; chains[i]; i++)
    size += layer_tar_size (p->st, chains[i]);
  if (blob_put_bytes (p->st, config, config_len, id, err) < 0
      || blob_put_bytes (p->st, manifest, manifest_len, mhex, err) < 0)
    goto out;
  if (image_db_load (p->st, &db, err) < 0)
    goto out;
  img = xmalloc0 (sizeof *img);
  img->id = xstrdup (id);
  img->manifest_digest = xasprintf (DIGEST_PREFIX "%s", mhex);
  img->names = xmalloc0 (sizeof (char *));
  strv_add (&img->names, name);
  img->diff_ids = strv_dup (diff_ids);
  img->chain_ids = strv_dup (chains);
  {
    rl_error_t e = NULL;
    if (json_parse (config, "config", &cfg, &e) < 0)
      rl_error_free (&e);
  }
  img->created = parse_created (json_get_str (cfg, "created"));
  if (img->created == 0)
    img->created = now_ns ();
  img->size = size;
  image_db_put (&db, img);
  r = image_db_save (p->st, &db, err);
out:
  store_unlock (p->st);
  return r;
}

/* ---- the whole pull ---- */

struct platform
{
  char *os, *arch, *variant;
};

static void
platform_clear (struct platform *pf)
{
  free (pf->os);
  free (pf->arch);
  free (pf->variant);
}

static int
platform_choose (const struct rl_config *conf, const char *given, struct platform *pf,
                 rl_error_t *err)
{
  const char *s = given ? given : conf->platform;
  const char *v;

  memset (pf, 0, sizeof *pf);
  if (s)
    return platform_parse (s, &pf->os, &pf->arch, &pf->variant, err);
  pf->os = xstrdup ("linux");
  pf->arch = xstrdup (platform_host_arch ());
  v = platform_host_variant ();
  pf->variant = v ? xstrdup (v) : NULL;
  return 0;
}

/* Open a client for one candidate source and get the manifest there. */
static int
try_source (const char *host, const struct rl_ref *r, const struct pull_opts *o,
            const char *config_path, const struct platform *pf, struct reg_client **client,
            char **text, size_t *len, char digest[DIGEST_LEN + 1], struct rl_manifest *m,
            rl_error_t *err)
{
  struct reg_client_opts co = { .tls_verify = o->tls_verify, .config_path = config_path };

  if (reg_client_open (host, r->path, &co, client, err) < 0)
    return -1;
  if (fetch_manifest (*client, r, pf->os, pf->arch, pf->variant, text, len, digest, m, err) < 0)
    {
      reg_client_free (*client);
      *client = NULL;
      return -1;
    }
  return 0;
}

/* Everything after the manifest: config, layers, commit. */
static int
pull_from (struct pull *p, const char *manifest, size_t mlen, const struct rl_manifest *m,
           const struct platform *pf, char id[SHA256_HEX_LEN + 1], rl_error_t *err)
{
  cleanup_free char *cpath = xasprintf ("/blobs/%s", m->config.digest);
  cleanup_strv char **diff_ids = NULL;
  cleanup_strv char **chains = NULL;
  cleanup_free char *cos = NULL;
  cleanup_free char *carch = NULL;
  struct reg_response rs = { 0 };
  char hex[SHA256_HEX_LEN + 1];
  int64_t t0 = now_ns ();
  uint64_t bytes = 0;
  size_t nfetch = 0;
  int r;

  /* The config: exactly the size and digest the manifest says. */
  if (get_small (p->client, cpath, NULL, m->config.size ? m->config.size : 1, &rs, err) < 0)
    return rl_error_wrap (err, "config %s", m->config.digest);
  if (rs.body_len != m->config.size || rs.body == NULL)
    {
      reg_response_clear (&rs);
      return rl_error (err, 0, "config %s: truncated", m->config.digest);
    }
  sha256_hex (rs.body, rs.body_len, hex);
  if (strcmp (hex, m->config.digest + strlen (DIGEST_PREFIX)) != 0)
    {
      reg_response_clear (&rs);
      return rl_error (err, 0, "config %s: digest mismatch: the registry sent sha256:%s",
                       m->config.digest, hex);
    }
  if (image_config_diff_ids (rs.body, "image config", &diff_ids, &cos, &carch, err) < 0)
    {
      reg_response_clear (&rs);
      return -1;
    }
  if (strv_len (diff_ids) != m->n_layers)
    {
      reg_response_clear (&rs);
      return rl_error (err, 0, "the manifest lists %zu layers but the config %zu diff_ids",
                       m->n_layers, strv_len (diff_ids));
    }
  if (!p->quiet && cos && carch && (strcmp (cos, pf->os) != 0 || strcmp (carch, pf->arch) != 0))
    rl_warn ("the image is for %s/%s, not %s/%s", cos, carch, pf->os, pf->arch);

  /* Chain ids decide what the store already has. */
  p->n_jobs = m->n_layers;
  p->jobs = xmalloc0 ((p->n_jobs + 1) * sizeof *p->jobs);
  chains = xmalloc0 ((p->n_jobs + 1) * sizeof (char *));
  for (size_t i = 0; i < p->n_jobs; i++)
    {
      struct layer_job *j = &p->jobs[i];
      j->index = i;
      j->desc = &m->layers[i];
      j->diff_id = diff_ids[i];
      if (i == 0)
        memcpy (j->chain, diff_ids[0] + strlen (DIGEST_PREFIX), SHA256_HEX_LEN + 1);
      else
        {
          cleanup_free char *parent = xasprintf (DIGEST_PREFIX "%s", p->jobs[i - 1].chain);
          chain_id_next (parent, diff_ids[i], j->chain);
        }
      chains[i] = xstrdup (j->chain);
      j->state = JOB_WAITING;
      if (layer_exists (p->st, j->chain, NULL))
        {
          /* Every blob the image's manifest names must be in the store,
           * for save and push. */
          j->blob_only = !blob_exists (p->st, j->desc->digest);
          if (!j->blob_only)
            j->state = JOB_EXISTS;
        }
      if (j->state == JOB_WAITING)
        {
          nfetch++;
          bytes += j->desc->size;
        }
    }

  if (nfetch > 0)
    {
      p->reports = mmap (NULL, p->n_jobs * sizeof *p->reports, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      if (p->reports == MAP_FAILED)
        {
          p->reports = NULL;
          reg_response_clear (&rs);
          return rl_error (err, errno, "mmap");
        }
      for (size_t i = 0; i < p->n_jobs; i++)
        p->jobs[i].rep = &p->reports[i];
      if (work_create (p, err) < 0)
        {
          reg_response_clear (&rs);
          work_remove (p);
          return -1;
        }
      if (p->tty && !p->quiet)
        fprintf (stderr, "Pulling %s\n", p->name);
      /* Orphaned grandchildren (see jobs_kill) come here while jobs run. */
      prctl (PR_SET_CHILD_SUBREAPER, 1);
      r = jobs_run (p, err);
      prctl (PR_SET_CHILD_SUBREAPER, 0);
      if (r < 0)
        {
          reg_response_clear (&rs);
          work_remove (p);
          return -1;
        }
    }
  r = commit (p, manifest, mlen, rs.body, rs.body_len, diff_ids, chains, p->name, id, err);
  reg_response_clear (&rs);
  if (nfetch > 0)
    work_remove (p);
  if (r < 0)
    return -1;
  if (!p->quiet)
    {
      cleanup_free char *hs = human_size (bytes);
      fprintf (stderr, "Pulled %s: %zu layer%s (%zu fetched, %s) in %.1fs\n", p->name, p->n_jobs,
               p->n_jobs == 1 ? "" : "s", nfetch, hs, (now_ns () - t0) / 1e9);
    }
  return 0;
}

static void
pull_clear (struct pull *p)
{
  reg_client_free (p->client);
  free (p->name);
  /* Only on a path that did not remove it (it then holds nothing). */
  store_tmp_release (p->st, p->m, &p->work);
  free (p->jobs);
  if (p->reports)
    munmap (p->reports, p->n_jobs * sizeof *p->reports);
  memset (p, 0, sizeof *p);
  p->work.lockfd = -1;
}

/* Find the image: each candidate name in turn (a short name may have
 * several), each through its registry's mirrors then the registry. */
static int
resolve (const struct rl_config *conf, const char *config_path, char **cands,
         const struct pull_opts *o, const struct platform *pf, struct pull *p, char **manifest,
         size_t *mlen, struct rl_manifest *m, rl_error_t *err)
{
  cleanup_strv char **tried = NULL;
  rl_error_t last = NULL;
  char digest[DIGEST_LEN + 1];

  for (size_t i = 0; cands[i]; i++)
    {
      cleanup_ref struct rl_ref r = { 0 };
      const struct rl_registry_conf *rc;
      cleanup_strv char **sources = NULL;

      if (ref_parse (cands[i], &r, err) < 0)
        return -1;
      rc = config_registry (conf, r.domain);
      for (size_t k = 0; rc && rc->mirrors && rc->mirrors[k]; k++)
        strv_add (&sources, rc->mirrors[k]);
      strv_add (&sources, r.domain);
      for (size_t k = 0; sources[k]; k++)
        {
          rl_error_free (&last);
          if (try_source (sources[k], &r, o, config_path, pf, &p->client, manifest, mlen, digest, m,
                          &last)
              == 0)
            {
              /* By digest, the tag says nothing (Docker ignores it too). */
              if (r.digest && r.tag)
                {
                  free (r.tag);
                  r.tag = NULL;
                }
              p->name = ref_format (&r);
              return 0;
            }
          strv_add_take (&tried, xasprintf ("%s/%s", sources[k], r.path));
        }
    }
  if (strv_len (tried) <= 1)
    {
      *err = last;
      return -1;
    }
  {
    /* Say where rl looked; the last error says why the last one failed. */
    cleanup_free char *list = xstrdup (tried[0]);
    for (size_t i = 1; tried[i]; i++)
      {
        char *n = xasprintf ("%s, %s", list, tried[i]);
        free (list);
        list = n;
      }
    *err = last;
    return rl_error_wrap (err, "tried %s", list);
  }
}

int
pull_image (struct rl_globals *g, const char *ref, const struct pull_opts *o,
            char id[SHA256_HEX_LEN + 1], rl_error_t *err)
{
  cleanup_config struct rl_config conf = { 0 };
  cleanup_strv char **cands = NULL;
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_idmap struct idmap m = { 0 };
  cleanup_free char *manifest = NULL;
  cleanup_manifest struct rl_manifest man = { 0 };
  struct platform pf = { 0 };
  struct pull p = { .work.lockfd = -1 };
  size_t mlen = 0;
  int r;

  /* Everything that can be checked without the network, first. */
  if (config_load (g->config, &conf, err) < 0)
    return -1;
  if (config_resolve_name (&conf, ref, &cands, err) < 0)
    return -1;
  if (platform_choose (&conf, o->platform, &pf, err) < 0)
    return -1;
  /* Before any fork: the children use all three. */
  if (dl_need_curl (err) < 0 || dl_need_crypto (err) < 0 || dl_need_archive (err) < 0)
    {
      platform_clear (&pf);
      return -1;
    }
  if (idmap_detect (&m, err) < 0 || store_open (&st, g, err) < 0)
    {
      platform_clear (&pf);
      return -1;
    }
  idmap_note_once (&st, &m);
  store_tmp_gc (&st, &m);

  p.st = &st;
  p.m = &m;
  p.quiet = o->quiet;
  p.tty = isatty (STDERR_FILENO);
  r = resolve (&conf, g->config, cands, o, &pf, &p, &manifest, &mlen, &man, err);
  if (r == 0)
    r = pull_from (&p, manifest, mlen, &man, &pf, id, err);
  platform_clear (&pf);
  pull_clear (&p);
  /* Leftovers of a pull killed just before this one: its workers have
   * died by now. */
  store_tmp_gc (&st, &m);
  return r;
}

int
pull_list_tags (struct rl_globals *g, const char *ref, const struct pull_opts *o, char ***refs,
                rl_error_t *err)
{
  static const long ok[] = { 200, 0 };
  cleanup_config struct rl_config conf = { 0 };
  cleanup_strv char **cands = NULL;
  cleanup_ref struct rl_ref r = { 0 };
  cleanup_reg_client struct reg_client *c = NULL;
  cleanup_strv char **out = xmalloc0 (sizeof (char *));
  struct reg_client_opts co = { .tls_verify = o->tls_verify, .config_path = g->config };
  cleanup_free char *path = xstrdup ("/tags/list");
  struct reg_request rq = { .method = "GET", .path = path, .body_fd = -1, .expect = ok };
  struct reg_response rs = { 0 };
  cleanup_free char *repo = NULL;

  if (config_load (g->config, &conf, err) < 0 || config_resolve_name (&conf, ref, &cands, err) < 0)
    return -1;
  {
    /* `-a` with a tag or digest is a contradiction Podman refuses too. */
    cleanup_ref struct rl_ref given = { 0 };
    if (ref_parse (ref, &given, err) < 0)
      return -1;
    if (given.tag || given.digest)
      return rl_error (err, 0, "`--all-tags` takes a repository without tag or digest, not `%s`",
                       ref);
  }
  if (ref_parse (cands[0], &r, err) < 0)
    return -1;
  if (reg_client_open (r.domain, r.path, &co, &c, err) < 0)
    return -1;
  repo = ref_repository (&r);
  /* Registries may answer in pages, each pointing at the next with a
   * Link header; a bound keeps a looping registry from holding rl. */
  for (int page = 0; page < TAG_PAGES_MAX; page++)
    {
      cleanup_json yajl_val root = NULL;
      cleanup_free char *next = NULL;
      const char *link;
      yajl_val tags;

      if (reg_request (c, &rq, &rs, err) < 0)
        return -1;
      if (json_parse (rs.body ? rs.body : "", "tag list", &root, err) < 0)
        {
          reg_response_clear (&rs);
          return -1;
        }
      link = reg_response_header (&rs, "link");
      if (link && strstr (link, "rel=\"next\"") && link[0] == '<' && strchr (link, '>'))
        next = xstrndup (link + 1, strchr (link, '>') - link - 1);
      reg_response_clear (&rs);
      tags = json_get (root, "tags");
      for (size_t i = 0; YAJL_IS_ARRAY (tags) && i < tags->u.array.len; i++)
        {
          yajl_val t = tags->u.array.values[i];
          if (YAJL_IS_STRING (t) && ref_tag_valid (YAJL_GET_STRING (t)))
            strv_add_take (&out, xasprintf ("%s:%s", repo, YAJL_GET_STRING (t)));
        }
      if (next == NULL)
        break;
      /* A relative Link is relative to the registry, not the repository. */
      free (path);
      path = next[0] == '/' ? xstrdup (next) : steal_pointer (&next);
      rq.path = path;
    }
  *refs = steal_pointer (&out);
  return 0;
}
