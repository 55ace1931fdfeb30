/* rl cp, rl export and rl commit: a container's files. */
#include "config.h"
#include "cmd/cmd.h"
#include "image/digest.h"
#include "image/image.h"
#include "image/imgconfig.h"
#include "image/layer.h"
#include "image/ref.h"
#include "registry/manifest.h"
#include "runtime/ctrfs.h"
#include "runtime/runspec.h"
#include "util/dl.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/opts.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MT_MANIFEST          "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG            "application/vnd.oci.image.config.v1+json"
#define MT_LAYER_GZIP        "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

static void
cleanup_ctrfsp (struct ctrfs *c)
{
  ctrfs_clear (c);
}
#define cleanup_ctrfs __attribute__ ((cleanup (cleanup_ctrfsp)))

/* ---- cp ---- */

enum
{
  CP_ARCHIVE = 1,
  CP_FOLLOW,
};

struct cp_opts
{
  bool archive, follow;
};

static int
cp_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct cp_opts *o = data;
  switch (id)
    {
    case CP_ARCHIVE:
      return opts_flag_value ("archive", arg, &o->archive, err);
    case CP_FOLLOW:
      return opts_flag_value ("follow-link", arg, &o->follow, err);
    }
  return 0;
}

static const struct rl_opt cp_opts_table[] = {
  { "archive", 'a', NULL,
    "keep the owners (uid/gid) of the files; without it, files copied in belong to the "
    "container's root and files copied out to you",
    CP_ARCHIVE },
  { "follow-link", 'L', NULL, "follow SRC when it is a symbolic link", CP_FOLLOW },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec cp_spec = {
  "cp",
  "[OPTIONS] CONTAINER:SRC DEST|-  or  [OPTIONS] SRC|- CONTAINER:DEST",
  "Copy files between a container (running or not) and the host.  SRC/. copies the contents of "
  "a directory; - is a tar stream on stdout or stdin.",
  cp_opts_table,
  "rl cp web:/etc/nginx/nginx.conf . && rl cp ./site/. web:/usr/share/nginx/html",
  true,
};

/* "CTR:PATH" -> the container part, or NULL for a host path (absolute or
 * ./relative paths are always host paths, as in Docker). */
static char *
split_container (const char *arg, const char **path)
{
  const char *colon = strchr (arg, ':');

  if (arg[0] == '/' || arg[0] == '.' || colon == NULL || colon == arg)
    return NULL;
  /* A path with a slash before the colon is a host path. */
  if (memchr (arg, '/', colon - arg))
    return NULL;
  *path = colon + 1;
  return xstrndup (arg, colon - arg);
}

/* A path as the user wrote it, taken apart the way Docker reads it. */
struct cp_path
{
  char *path;     /* without a trailing "/." or "/" (a lone "/" stays) */
  bool contents;  /* ended in "/.": the directory's contents */
  bool dir_slash; /* ended in "/": must be a directory */
};

static void
cp_path_parse (const char *s, bool in_container, struct cp_path *p)
{
  size_t n;

  if (in_container && s[0] != '/')
    p->path = xasprintf ("/%s", s);
  else
    p->path = xstrdup (*s ? s : ".");
  n = strlen (p->path);
  if (n >= 2 && strcmp (p->path + n - 2, "/.") == 0)
    {
      p->contents = true;
      p->path[n -= 2] = '\0';
    }
  else if (strcmp (p->path, ".") == 0)
    p->contents = true;
  while (n > 1 && p->path[n - 1] == '/')
    {
      p->dir_slash = true;
      p->path[--n] = '\0';
    }
  if (n == 0)
    {
      free (p->path);
      p->path = xstrdup ("/");
    }
}

static char *
base_name (const char *path)
{
  const char *s = strrchr (path, '/');
  s = s ? s + 1 : path;
  if (strcmp (s, ".") == 0 || strcmp (s, "..") == 0)
    return xstrdup ("");
  return xstrdup (s);
}

static char *
dir_name (const char *path)
{
  const char *s = strrchr (path, '/');
  if (s == NULL)
    return xstrdup (".");
  if (s == path)
    return xstrdup ("/");
  return xstrndup (path, s - path);
}

/* What a destination is: errnum 0 and its mode, else why it is not. */
struct where
{
  int errnum;
  mode_t mode;
};

/* Docker's rules: into an existing directory under SRC's name (or its
 * contents with SRC/.), else as DEST itself in DEST's parent.  Fills the
 * directory to unpack into and the name of SRC's top entry there. */
static int
cp_target (const struct cp_path *src, bool src_dir, const char *dest_arg, const struct where *dw,
           const struct where *parent, char **dir, char **name, rl_error_t *err)
{
  struct cp_path d = { 0 };
  cleanup_free char *dpath = NULL;

  cp_path_parse (dest_arg, false, &d);
  dpath = d.path;
  if (dw->errnum == 0 && S_ISDIR (dw->mode))
    {
      cleanup_free char *b = base_name (src->path);
      *dir = xstrdup (dest_arg);
      *name = src->contents || *b == '\0' ? xstrdup ("") : steal_pointer (&b);
      return 0;
    }
  if (dw->errnum == 0)
    {
      if (src_dir)
        return rl_error (err, 0, "cannot copy directory `%s` onto file `%s`", src->path, dest_arg);
      if (d.dir_slash)
        return rl_error (err, ENOTDIR, "`%s`", dest_arg);
    }
  else if (dw->errnum != ENOENT)
    return rl_error (err, dw->errnum, "`%s`", dest_arg);
  else
    {
      if (d.dir_slash && !src_dir)
        return rl_error (err, 0, "`%s` does not exist and is not a directory", dest_arg);
      if (parent->errnum != 0 || !S_ISDIR (parent->mode))
        return rl_error (err, parent->errnum ? parent->errnum : ENOTDIR, "`%s`: parent directory",
                         dest_arg);
    }
  *dir = dir_name (dpath);
  *name = base_name (dpath);
  if (**name == '\0')
    return rl_error (err, 0, "`%s`: not a name to copy to", dest_arg);
  return 0;
}

/* Docker's rule for what is already there: a directory is not replaced
 * by a file nor a file by a directory (the unpacker would replace it). */
static int
check_overwrite (const struct where *t, bool src_dir, const char *dir, const char *name,
                 rl_error_t *err)
{
  if (t->errnum != 0 || S_ISDIR (t->mode) == src_dir)
    return 0;
  return rl_error (err, 0, "cannot overwrite %s `%s/%s` with a %s",
                   src_dir ? "non-directory" : "directory", dir, name,
                   src_dir ? "directory" : "non-directory");
}

static void
host_where (const char *path, bool follow, struct where *w)
{
  struct stat sb;
  w->errnum = (follow ? stat (path, &sb) : lstat (path, &sb)) < 0 ? errno : 0;
  w->mode = w->errnum ? 0 : sb.st_mode;
}

static int
ctr_where (struct ctrfs *c, const char *path, bool follow, struct where *w, rl_error_t *err)
{
  struct ctrfs_stat s;
  if (ctrfs_stat (c, path, follow, &s, err) < 0)
    return -1;
  w->errnum = s.errnum;
  w->mode = s.mode;
  return 0;
}

/* Unpack a tar stream from fd into dir (an existing directory). */
struct unpack_ctx
{
  const char *dir; /* opened in the current root, or */
  int dirfd;       /* already open */
  int fd;
  struct layer_unpack_opts o;
};

static int
unpack_child (void *arg, rl_error_t *err)
{
  struct unpack_ctx *x = arg;
  cleanup_close int dfd = -1;
  struct layer_fd_reader fr = { x->fd, "the tar stream" };

  if (x->dirfd >= 0)
    dfd = dup (x->dirfd);
  else
    dfd = open (x->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return rl_error (err, errno, "open `%s`", x->dir);
  if (layer_unpack (dfd, layer_fd_read, &fr, &x->o, NULL, err) < 0)
    return rl_error_wrap (err, "copy into `%s`", x->dir);
  return 0;
}

struct tar_ctx
{
  struct ctrfs_tar_opts o;
  int fd;
};

static int
tar_child (void *arg, rl_error_t *err)
{
  struct tar_ctx *x = arg;
  return ctrfs_write_tar (x->fd, &x->o, err);
}

/* The child's error says more than the host side's broken pipe. */
static int
finish_job (struct ctrfs_job *j, int r, rl_error_t *err)
{
  rl_error_t jerr = NULL;

  if (ctrfs_wait (j, &jerr) < 0)
    {
      if (r < 0)
        rl_error_free (err);
      *err = jerr;
      return -1;
    }
  return r;
}

static int
cp_out (struct ctrfs *c, const struct cp_opts *o, const char *src_arg, const char *dest,
        rl_error_t *err)
{
  struct cp_path src = { 0 };
  cleanup_free char *srcpath = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *name = NULL;
  struct where sw, dw, pw = { ENOENT, 0 };
  struct tar_ctx tx;
  struct ctrfs_job j;
  int p[2], r;

  cp_path_parse (src_arg, true, &src);
  srcpath = src.path;
  if (ctr_where (c, src.path, o->follow || src.contents || src.dir_slash, &sw, err) < 0)
    return -1;
  if (sw.errnum == ENOENT)
    return rl_error (err, 0, "no such file or directory in container %s: `%s`", c->c.name,
                     src.path);
  if (sw.errnum)
    return rl_error (err, sw.errnum, "`%s` in container %s", src.path, c->c.name);
  if ((src.contents || src.dir_slash) && !S_ISDIR (sw.mode))
    return rl_error (err, ENOTDIR, "`%s` in container %s", src_arg, c->c.name);

  memset (&tx, 0, sizeof tx);
  tx.o.path = src.path;
  tx.o.follow = o->follow;
  if (strcmp (dest, "-") == 0)
    {
      if (isatty (STDOUT_FILENO))
        return rl_error (err, 0, "refusing to write a tar archive to a terminal");
      name = src.contents ? xstrdup ("") : base_name (src.path);
      tx.o.name = name;
      tx.fd = STDOUT_FILENO;
      return ctrfs_run (c, false, tar_child, &tx, err);
    }

  host_where (dest, true, &dw);
  if (dw.errnum == ENOENT)
    {
      struct cp_path d = { 0 };
      cleanup_free char *dpath = NULL;
      cleanup_free char *parent = NULL;
      cp_path_parse (dest, false, &d);
      dpath = d.path;
      parent = dir_name (dpath);
      host_where (parent, true, &pw);
    }
  if (cp_target (&src, S_ISDIR (sw.mode), dest, &dw, &pw, &dir, &name, err) < 0)
    return -1;
  if (*name)
    {
      cleanup_free char *t = xasprintf ("%s/%s", dir, name);
      struct where tw;
      host_where (t, false, &tw);
      if (check_overwrite (&tw, S_ISDIR (sw.mode), dir, name, err) < 0)
        return -1;
    }
  tx.o.name = name;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return rl_error (err, errno, "pipe");
  tx.fd = p[1];
  r = ctrfs_spawn (c, false, tar_child, &tx, p[0], &j, err);
  close (p[1]);
  if (r < 0)
    {
      close (p[0]);
      return -1;
    }
  {
    struct unpack_ctx ux = { dir, -1, p[0], { 0 } };
    if (o->archive)
      {
        /* The container's owners are ids of the store's map: unpack in a
         * user namespace with it, so they land as the same host ids. */
        layer_unpack_opts_for (&c->map, &ux.o);
        ux.dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ux.dirfd < 0)
          r = rl_error (err, errno, "open `%s`", dir);
        else if (c->map.mode == IDMAP_HOST)
          r = unpack_child (&ux, err);
        else
          r = userns_run (&c->map, false, unpack_child, &ux, err);
        if (ux.dirfd >= 0)
          close (ux.dirfd);
      }
    else
      r = unpack_child (&ux, err);
  }
  close (p[0]);
  return finish_job (&j, r, err);
}

static int
cp_in (struct ctrfs *c, const struct cp_opts *o, const char *src_arg, const char *dest_arg,
       rl_error_t *err)
{
  struct cp_path src = { 0 }, dest = { 0 };
  cleanup_free char *srcpath = NULL;
  cleanup_free char *destpath = NULL;
  cleanup_free char *dest_abs = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *name = NULL;
  struct where sw, dw, pw = { ENOENT, 0 };
  struct unpack_ctx ux;
  struct ctrfs_job j;
  int p[2], r;

  cp_path_parse (dest_arg, true, &dest);
  destpath = dest.path;
  /* As written, with the trailing slash that matters to cp_target. */
  dest_abs = dest_arg[0] == '/' ? xstrdup (dest_arg) : xasprintf ("/%s", dest_arg);
  memset (&ux, 0, sizeof ux);
  ux.dirfd = -1;
  if (o->archive)
    layer_unpack_opts_for (&c->map, &ux.o);
  if (ctr_where (c, dest.path, true, &dw, err) < 0)
    return -1;

  if (strcmp (src_arg, "-") == 0)
    {
      if (dw.errnum == ENOENT)
        return rl_error (err, 0, "no such directory in container %s: `%s`", c->c.name, dest.path);
      if (dw.errnum || !S_ISDIR (dw.mode))
        return rl_error (err, dw.errnum ? dw.errnum : ENOTDIR, "`%s` in container %s", dest.path,
                         c->c.name);
      if (isatty (STDIN_FILENO))
        return rl_error (err, 0, "refusing to read a tar archive from a terminal");
      ux.dir = dest.path;
      ux.fd = STDIN_FILENO;
      return ctrfs_run (c, true, unpack_child, &ux, err);
    }

  cp_path_parse (src_arg, false, &src);
  srcpath = src.path;
  host_where (src.path, o->follow || src.contents || src.dir_slash, &sw);
  if (sw.errnum)
    return rl_error (err, sw.errnum, "`%s`", src_arg);
  if ((src.contents || src.dir_slash) && !S_ISDIR (sw.mode))
    return rl_error (err, ENOTDIR, "`%s`", src_arg);
  if (dw.errnum == ENOENT)
    {
      cleanup_free char *parent = dir_name (dest.path);
      if (ctr_where (c, parent, true, &pw, err) < 0)
        return -1;
    }
  if (cp_target (&src, S_ISDIR (sw.mode), dest_abs, &dw, &pw, &dir, &name, err) < 0)
    return rl_error_wrap (err, "in container %s", c->c.name);
  if (*name)
    {
      cleanup_free char *t = xasprintf ("%s/%s", dir, name);
      struct where tw;
      if (ctr_where (c, t, false, &tw, err) < 0)
        return -1;
      if (check_overwrite (&tw, S_ISDIR (sw.mode), dir, name, err) < 0)
        return rl_error_wrap (err, "in container %s", c->c.name);
    }

  if (pipe2 (p, O_CLOEXEC) < 0)
    return rl_error (err, errno, "pipe");
  ux.dir = dir;
  ux.fd = p[0];
  r = ctrfs_spawn (c, true, unpack_child, &ux, p[1], &j, err);
  close (p[0]);
  if (r < 0)
    {
      close (p[1]);
      return -1;
    }
  {
    struct ctrfs_tar_opts to = { .path = src.path, .name = name, .follow = o->follow };
    r = ctrfs_write_tar (p[1], &to, err);
  }
  close (p[1]);
  return finish_job (&j, r, err);
}

static int
cp_run (struct rl_globals *g, const struct cp_opts *o, char **args, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_ctrfs struct ctrfs c = { 0 };
  cleanup_free char *sctr = NULL;
  cleanup_free char *dctr = NULL;
  const char *spath = NULL, *dpath = NULL;

  if (strv_len (args) != 2)
    return rl_error (err, 0,
                     "expected CONTAINER:SRC DEST or SRC CONTAINER:DEST (see `rl cp --help`)");
  sctr = split_container (args[0], &spath);
  dctr = split_container (args[1], &dpath);
  if (sctr && dctr)
    return rl_error (err, 0, "copying between containers is not supported");
  if (sctr == NULL && dctr == NULL)
    return rl_error (err, 0, "one of SRC and DEST must be CONTAINER:PATH");
  if ((sctr && *spath == '\0') || (dctr && *dpath == '\0'))
    return rl_error (err, 0, "`%s`: empty path in the container", sctr ? args[0] : args[1]);
  if (dl_need_archive (err) < 0)
    return -1;
  if (store_open (&st, g, err) < 0 || ctrfs_open (&st, sctr ? sctr : dctr, &c, err) < 0)
    return -1;
  /* A reader that went away is an error to report, not a signal to die of. */
  signal (SIGPIPE, SIG_IGN);
  if (sctr)
    return cp_out (&c, o, spath, args[1], err);
  return cp_in (&c, o, args[0], dpath, err);
}

int
cmd_cp (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_strv char **args = NULL;
  struct cp_opts o = { 0 };
  bool help;
  int r;

  r = opts_parse (&cp_spec, argc, argv, cp_opt, &o, &args, &help, err);
  if (r == 0 && !help)
    r = cp_run (g, &o, args, err);
  if (r < 0)
    rl_error_wrap (err, "cp");
  return r < 0 ? -1 : 0;
}

/* ---- export ---- */

enum
{
  EXPORT_OUTPUT = 1,
};

static int
export_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  char **out = data;
  (void)err;
  if (id == EXPORT_OUTPUT)
    {
      free (*out);
      *out = xstrdup (arg);
    }
  return 0;
}

static const struct rl_opt export_opts_table[] = {
  { "output", 'o', "FILE", "write the tar archive to FILE instead of stdout", EXPORT_OUTPUT },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec export_spec = {
  "export",
  "[OPTIONS] CONTAINER",
  "Write a container's root file system (without /proc, /sys, /dev and volumes) as a tar "
  "archive.",
  export_opts_table,
  "rl export -o web.tar web",
  true,
};

static int
export_run (struct rl_globals *g, const char *output, char **args, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_ctrfs struct ctrfs c = { 0 };
  cleanup_close int fd = -1;
  struct tar_ctx tx;

  if (strv_len (args) != 1)
    return rl_error (err, 0, "expected one CONTAINER (see `rl export --help`)");
  if (output == NULL && isatty (STDOUT_FILENO))
    return rl_error (err, 0,
                     "refusing to write a tar archive to a terminal (use -o FILE or a "
                     "redirection)");
  if (dl_need_archive (err) < 0)
    return -1;
  if (store_open (&st, g, err) < 0 || ctrfs_open (&st, args[0], &c, err) < 0)
    return rl_error_wrap (err, "%s", args[0]);
  if (output)
    {
      fd = open (output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
      if (fd < 0)
        return rl_error (err, errno, "create `%s`", output);
    }
  signal (SIGPIPE, SIG_IGN);
  memset (&tx, 0, sizeof tx);
  tx.o.path = "/";
  tx.o.name = "";
  tx.o.one_fs = true;
  tx.fd = output ? fd : STDOUT_FILENO;
  if (ctrfs_run (&c, false, tar_child, &tx, err) < 0)
    return rl_error_wrap (err, "%s", args[0]);
  if (output && close (steal_fd (&fd)) < 0)
    return rl_error (err, errno, "write `%s`", output);
  return 0;
}

int
cmd_export (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_strv char **args = NULL;
  cleanup_free char *output = NULL;
  bool help;
  int r;

  r = opts_parse (&export_spec, argc, argv, export_opt, &output, &args, &help, err);
  if (r == 0 && !help)
    r = export_run (g, output, args, err);
  if (r < 0)
    rl_error_wrap (err, "export");
  return r < 0 ? -1 : 0;
}

/* ---- commit ---- */

enum
{
  COMMIT_MESSAGE = 1,
  COMMIT_AUTHOR,
  COMMIT_CHANGE,
};

struct commit_opts
{
  char *message, *author;
  char **changes;
};

static int
commit_opt (void *data, int id, const char *arg, rl_error_t *err)
{
  struct commit_opts *o = data;
  (void)err;
  switch (id)
    {
    case COMMIT_MESSAGE:
      free (o->message);
      o->message = xstrdup (arg);
      break;
    case COMMIT_AUTHOR:
      free (o->author);
      o->author = xstrdup (arg);
      break;
    case COMMIT_CHANGE:
      strv_add (&o->changes, arg);
      break;
    }
  return 0;
}

static const struct rl_opt commit_opts_table[] = {
  { "message", 'm', "TEXT", "comment recorded in the image's history", COMMIT_MESSAGE },
  { "author", 'a', "AUTHOR", "author recorded in the image (\"Name <email>\")", COMMIT_AUTHOR },
  { "change", 'c', "INSTRUCTION",
    "apply a Dockerfile instruction to the image config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
    "USER, VOLUME, WORKDIR, STOPSIGNAL); repeatable",
    COMMIT_CHANGE },
  { NULL, 0, NULL, NULL, 0 },
};

static const struct rl_cmd_spec commit_spec = {
  "commit",
  "[OPTIONS] CONTAINER [IMAGE[:TAG]]",
  "Make a new image from a container's changes: one layer on top of its image's layers, with "
  "the container's command and environment.  A short IMAGE is kept as localhost/IMAGE:latest.",
  commit_opts_table,
  "rl commit -c 'CMD [\"/app\"]' -m 'add app' web myapp:v2",
  true,
};

static void
strv_from_keys (yajl_val obj, char ***out)
{
  if (!YAJL_IS_OBJECT (obj))
    return;
  for (size_t i = 0; i < obj->u.object.len; i++)
    strv_add (out, obj->u.object.keys[i]);
}

/* The edit that reproduces the base image's config section. */
static void
edit_from_config (yajl_val cfg, struct rl_config_edit *e)
{
  const char *s;
  yajl_val v;

  memset (e, 0, sizeof *e);
  if (!YAJL_IS_OBJECT (cfg))
    return;
  e->env = json_get_strv (cfg, "Env");
  v = json_get (cfg, "Entrypoint");
  if (YAJL_IS_ARRAY (v))
    {
      e->entrypoint = json_get_strv (cfg, "Entrypoint");
      e->entrypoint_set = true;
    }
  v = json_get (cfg, "Cmd");
  if (YAJL_IS_ARRAY (v))
    {
      e->cmd = json_get_strv (cfg, "Cmd");
      e->cmd_set = true;
    }
  strv_from_keys (json_get (cfg, "ExposedPorts"), &e->exposed);
  strv_from_keys (json_get (cfg, "Volumes"), &e->volumes);
  v = json_get (cfg, "Labels");
  if (YAJL_IS_OBJECT (v))
    for (size_t i = 0; i < v->u.object.len; i++)
      if (YAJL_IS_STRING (v->u.object.values[i]))
        strv_add_take (&e->labels, xasprintf ("%s=%s", v->u.object.keys[i],
                                              YAJL_GET_STRING (v->u.object.values[i])));
  if ((s = json_get_str (cfg, "User")) && *s)
    e->user = xstrdup (s);
  if ((s = json_get_str (cfg, "WorkingDir")) && *s)
    e->workdir = xstrdup (s);
  if ((s = json_get_str (cfg, "StopSignal")) && *s)
    e->stop_signal = xstrdup (s);
}

/* What the container was run with goes into the image, as Docker does:
 * its command, environment, user and working directory. */
static int
edit_from_container (const struct rl_container *ctr, struct rl_config_edit *e, rl_error_t *err)
{
  struct run_spec s;
  int r;

  memset (&s, 0, sizeof s);
  if (ctr->spec == NULL)
    return 0;
  r = run_spec_from_record (&s, ctr->spec, err);
  if (r < 0)
    return rl_error_wrap (err, "the container's options");
  for (size_t i = 0; s.env && s.env[i]; i++)
    env_set (&e->env, s.env[i]);
  if (s.user)
    {
      free (e->user);
      e->user = xstrdup (s.user);
    }
  if (s.workdir)
    {
      free (e->workdir);
      e->workdir = xstrdup (s.workdir);
    }
  if (s.entrypoint_set)
    {
      strv_free (e->entrypoint);
      e->entrypoint = strv_dup (s.entrypoint);
      e->entrypoint_set = true;
      strv_free (e->cmd);
      e->cmd = NULL;
      e->cmd_set = false;
    }
  if (s.args && s.args[0])
    {
      strv_free (e->cmd);
      e->cmd = strv_dup (s.args);
      e->cmd_set = true;
    }
  run_spec_clear (&s);
  return 0;
}

static char *
commit_config (yajl_val base, const struct rl_config_edit *e, char *const *diff_ids,
               const char *diff_id, const char *created, const char *created_by,
               const struct commit_opts *o, rl_error_t *err)
{
  cleanup_gen yajl_gen g = json_gen_new (false);
  cleanup_free char *made = NULL;
  cleanup_json yajl_val mv = NULL;
  const char *arch = json_get_str (base, "architecture");
  yajl_val hist = json_get (base, "history");
  static const char *const own[]
      = { "created", "author", "architecture", "os", "config", "rootfs", "history" };

  made = config_edit_image_json (e, arch ? arch : platform_host_arch (), diff_id, created,
                                 created_by, o->message);
  if (json_parse (made, "the new config", &mv, err) < 0)
    return NULL;
  yajl_gen_map_open (g);
  jg_kstr (g, "created", created);
  if (o->author)
    jg_kstr (g, "author", o->author);
  jg_kstr (g, "architecture", arch ? arch : platform_host_arch ());
  jg_kstr (g, "os", json_get_str (base, "os") ? json_get_str (base, "os") : "linux");
  /* Keys rl does not know of (variant, os.version, ...) stay as they were. */
  for (size_t i = 0; i < base->u.object.len; i++)
    {
      bool skip = false;
      for (size_t k = 0; k < ARRAY_SIZE (own); k++)
        skip = skip || strcmp (base->u.object.keys[i], own[k]) == 0;
      if (skip)
        continue;
      jg_key (g, base->u.object.keys[i]);
      jg_value (g, base->u.object.values[i]);
    }
  jg_key (g, "config");
  jg_value (g, json_get (mv, "config"));
  jg_key (g, "rootfs");
  yajl_gen_map_open (g);
  jg_kstr (g, "type", "layers");
  jg_kstrv (g, "diff_ids", diff_ids);
  yajl_gen_map_close (g);
  jg_key (g, "history");
  yajl_gen_array_open (g);
  if (YAJL_IS_ARRAY (hist))
    for (size_t i = 0; i < hist->u.array.len; i++)
      jg_value (g, hist->u.array.values[i]);
  yajl_gen_map_open (g);
  jg_kstr (g, "created", created);
  jg_kstr (g, "created_by", created_by);
  if (o->author)
    jg_kstr (g, "author", o->author);
  if (o->message)
    jg_kstr (g, "comment", o->message);
  yajl_gen_map_close (g);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  return jg_finish (g, NULL);
}

/* A base layer's descriptor in the new OCI manifest: Docker's media type
 * for a gzip layer is the OCI one under another name (the same bytes). */
static void
gen_layer_descriptor (yajl_gen g, yajl_val d)
{
  const char *mt;
  bool docker_gzip;

  if (!YAJL_IS_OBJECT (d))
    {
      jg_value (g, d);
      return;
    }
  mt = json_get_str (d, "mediaType");
  docker_gzip = mt && strcmp (mt, MT_DOCKER_LAYER_GZIP) == 0;
  yajl_gen_map_open (g);
  for (size_t i = 0; i < d->u.object.len; i++)
    {
      const char *k = d->u.object.keys[i];
      yajl_val v = d->u.object.values[i];
      jg_key (g, k);
      if (strcmp (k, "mediaType") == 0 && docker_gzip)
        jg_str (g, MT_LAYER_GZIP);
      else
        jg_value (g, v);
    }
  yajl_gen_map_close (g);
}

static char *
commit_manifest (yajl_val base_manifest, const char *config_hex, size_t config_len,
                 const struct layer_blob *b)
{
  cleanup_gen yajl_gen g = json_gen_new (false);
  cleanup_free char *cd = xasprintf (DIGEST_PREFIX "%s", config_hex);
  yajl_val layers = json_get (base_manifest, "layers");

  yajl_gen_map_open (g);
  jg_kint (g, "schemaVersion", 2);
  jg_kstr (g, "mediaType", MT_MANIFEST);
  jg_key (g, "config");
  yajl_gen_map_open (g);
  jg_kstr (g, "mediaType", MT_CONFIG);
  jg_kstr (g, "digest", cd);
  jg_kint (g, "size", (long long)config_len);
  yajl_gen_map_close (g);
  jg_key (g, "layers");
  yajl_gen_array_open (g);
  if (YAJL_IS_ARRAY (layers))
    for (size_t i = 0; i < layers->u.array.len; i++)
      gen_layer_descriptor (g, layers->u.array.values[i]);
  yajl_gen_map_open (g);
  jg_kstr (g, "mediaType", MT_LAYER_GZIP);
  jg_kstr (g, "digest", b->digest);
  jg_kint (g, "size", (long long)b->size);
  yajl_gen_map_close (g);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  return jg_finish (g, NULL);
}

/* Blobs, the layer, then images.json, under the store lock (as import). */
static int
commit_store (struct rl_store *st, const struct idmap *m, const struct rl_image *base,
              struct layer_blob *b, struct layer_tmp *t, const char *config, const char *manifest,
              const char *name, int64_t created, char id[SHA256_HEX_LEN + 1], rl_error_t *err)
{
  cleanup_image_db struct rl_image_db db = { 0 };
  char mhex[SHA256_HEX_LEN + 1];
  struct rl_image *img;
  size_t n;
  int r = -1;

  img = xmalloc0 (sizeof *img);
  img->diff_ids = strv_dup (base->diff_ids);
  strv_add (&img->diff_ids, b->diff_id);
  image_compute_chain_ids (img);
  n = strv_len (img->chain_ids);
  if (store_lock (st, err) < 0)
    {
      image_free (img);
      return -1;
    }
  if (blob_commit (st, b->tmp.name, b->digest + strlen (DIGEST_PREFIX), err) < 0)
    goto out;
  free (b->tmp.name);
  b->tmp.name = NULL;
  if (layer_commit (st, m, t, img->chain_ids[n - 1], err) < 0)
    goto out;
  if (blob_put_bytes (st, config, strlen (config), id, err) < 0
      || blob_put_bytes (st, manifest, strlen (manifest), mhex, err) < 0)
    goto out;
  if (image_db_load (st, &db, err) < 0)
    goto out;
  img->id = xstrdup (id);
  img->manifest_digest = xasprintf (DIGEST_PREFIX "%s", mhex);
  img->names = xmalloc0 (sizeof (char *));
  if (name)
    strv_add (&img->names, name);
  img->created = created;
  img->size = base->size + b->tar_size;
  image_db_put (&db, img);
  img = NULL;
  r = image_db_save (st, &db, err);
out:
  store_unlock (st);
  if (img)
    image_free (img);
  return r;
}

static int
read_json_blob (struct rl_store *st, const char *hex, const char *what, yajl_val *out,
                rl_error_t *err)
{
  cleanup_free char *rel = xasprintf ("blobs/sha256/%s", hex);
  if (json_parse_file_at (st->rootfd, rel, out, err) < 0)
    return rl_error_wrap (err, "the image's %s", what);
  if (!YAJL_IS_OBJECT (*out))
    return rl_error (err, 0, "the image's %s is not a JSON object", what);
  return 0;
}

static int
commit_run (struct rl_globals *g, const struct commit_opts *o, char **args, rl_error_t *err)
{
  cleanup_store struct rl_store st = { .rootfd = -1, .runfd = -1, .lockfd = -1 };
  cleanup_ctrfs struct ctrfs c = { 0 };
  cleanup_free char *name = NULL;
  cleanup_free char *tarpath = NULL;
  cleanup_free char *config = NULL;
  cleanup_free char *manifest = NULL;
  cleanup_free char *created = NULL;
  cleanup_free char *created_by = NULL;
  cleanup_json yajl_val base_cfg = NULL;
  cleanup_json yajl_val base_man = NULL;
  cleanup_strv char **diff_ids = NULL;
  struct rl_config_edit e;
  struct rl_image *base = NULL;
  struct store_tmp tt = { NULL, NULL, -1 };
  struct layer_blob b = { 0 };
  struct layer_tmp t = { 0 };
  char id[SHA256_HEX_LEN + 1];
  int64_t now = now_ns ();
  size_t nargs = strv_len (args);
  int fd, r = -1;

  memset (&e, 0, sizeof e);
  if (nargs < 1 || nargs > 2)
    return rl_error (err, 0, "expected CONTAINER [IMAGE[:TAG]] (see `rl commit --help`)");
  if (nargs == 2 && ref_local_name (args[1], &name, err) < 0)
    return -1;
  if (dl_need_archive (err) < 0 || dl_need_crypto (err) < 0)
    return -1;
  if (store_open (&st, g, err) < 0 || ctrfs_open (&st, args[0], &c, err) < 0)
    return rl_error_wrap (err, "%s", args[0]);
  if (image_lookup (&st, c.c.image_id, &base, err) < 0)
    return rl_error_wrap (err, "%s: its image", args[0]);
  if (base->manifest_digest == NULL)
    {
      image_free (base);
      return rl_error (err, 0, "%s: its image has no manifest", args[0]);
    }
  if (read_json_blob (&st, base->id, "config", &base_cfg, err) < 0
      || read_json_blob (&st, base->manifest_digest + strlen (DIGEST_PREFIX), "manifest", &base_man,
                         err)
             < 0)
    goto out;
  edit_from_config (json_get (base_cfg, "config"), &e);
  if (edit_from_container (&c.c, &e, err) < 0)
    goto out;
  for (size_t i = 0; o->changes && o->changes[i]; i++)
    if (config_edit_apply (&e, o->changes[i], err) < 0)
      goto out;

  /* The diff as a plain tar in tmp/, then a gzip blob and a layer of it. */
  store_tmp_gc (&st, &c.map);
  if (store_tmp_new (&st, "commit", &tt, err) < 0)
    goto out;
  fd = openat (st.rootfd, tt.name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      rl_error (err, errno, "create `%s/%s`", st.root, tt.name);
      goto out;
    }
  r = ctrfs_diff_tar (&c, fd, err);
  if (close (fd) < 0 && r == 0)
    r = rl_error (err, errno, "write `%s/%s`", st.root, tt.name);
  if (r < 0)
    goto out;
  r = -1;
  tarpath = xasprintf ("%s/%s", st.root, tt.name);
  if (layer_blob_create (&st, tarpath, &b, err) < 0)
    goto out;
  if (layer_unpack_file_tmp (&st, &c.map, b.tmp.name, b.diff_id, &t, err) < 0)
    goto out;

  created = rfc3339_time (now);
  created_by = xasprintf ("rl commit %s", c.c.name ? c.c.name : c.c.id);
  diff_ids = strv_dup (base->diff_ids);
  strv_add (&diff_ids, b.diff_id);
  config = commit_config (base_cfg, &e, diff_ids, b.diff_id, created, created_by, o, err);
  if (config == NULL)
    goto out;
  {
    char chex[SHA256_HEX_LEN + 1];
    sha256_hex (config, strlen (config), chex);
    manifest = commit_manifest (base_man, chex, strlen (config), &b);
  }
  if (commit_store (&st, &c.map, base, &b, &t, config, manifest, name, now, id, err) < 0)
    goto out;
  printf ("%s\n", id);
  r = 0;
out:
  if (t.tmp.name || t.tmp.lockname)
    layer_tmp_discard (&st, &c.map, &t);
  if (b.tmp.name || b.tmp.lockname)
    layer_blob_clear (&st, &b);
  if (tt.lockname)
    store_tmp_release (&st, NULL, &tt);
  config_edit_clear (&e);
  image_free (base);
  if (r < 0)
    return rl_error_wrap (err, "%s", args[0]);
  return 0;
}

int
cmd_commit (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  cleanup_strv char **args = NULL;
  struct commit_opts o = { 0 };
  bool help;
  int r;

  r = opts_parse (&commit_spec, argc, argv, commit_opt, &o, &args, &help, err);
  if (r == 0 && !help)
    r = commit_run (g, &o, args, err);
  free (o.message);
  free (o.author);
  strv_free (o.changes);
  if (r < 0)
    rl_error_wrap (err, "commit");
  return r < 0 ? -1 : 0;
}
