/* User and group lookup in the image's passwd and group files.  The files
 * are parsed by hand: glibc's getpwnam() would read the host's databases. */
#include "config.h"
#include "runtime/userdb.h"
#include "util/fs.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest passwd or group file rl reads from an image. */
#define USERDB_MAX_SIZE (4 * 1024 * 1024)

void
rl_user_clear (struct rl_user *u)
{
  free (u->groups);
  free (u->home);
  memset (u, 0, sizeof *u);
}

static bool
parse_id (const char *s, unsigned *out)
{
  long long v;

  /* (uid_t) -1 means "no change" to the kernel: never a valid id. */
  if (!parse_long (s, 0, 4294967294LL, &v))
    return false;
  *out = v;
  return true;
}

/* Split line into at most n ':'-separated fields, in place. */
static size_t
split_fields (char *line, char **fields, size_t n)
{
  size_t i = 0;

  fields[i++] = line;
  for (char *p = line; *p && i < n; p++)
    if (*p == ':')
      {
        *p = '\0';
        fields[i++] = p + 1;
      }
  return i;
}

/* Call fn on each entry of a passwd/group style text; stop when it returns
 * true.  Comments and malformed lines are skipped as libc does. */
typedef bool (*entry_fn) (char **fields, size_t n, void *data);

static void
for_each_entry (const char *text, size_t min_fields, entry_fn fn, void *data)
{
  cleanup_free char *copy = NULL;
  char *line, *save = NULL;

  if (text == NULL)
    return;
  copy = xstrdup (text);
  for (line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *fields[7];
      size_t n;

      if (*line == '#' || *line == '+' || *line == '-')
        continue;
      n = split_fields (line, fields, ARRAY_SIZE (fields));
      if (n >= min_fields && fn (fields, n, data))
        return;
    }
}

struct pw_query
{
  const char *name; /* match by name, or */
  unsigned uid;     /* by uid when name is NULL */
  bool found;
  char *pw_name;
  unsigned pw_uid, pw_gid;
  char *pw_home;
};

static bool
pw_match (char **f, size_t n, void *data)
{
  struct pw_query *q = data;
  unsigned uid, gid;

  if (!parse_id (f[2], &uid) || !parse_id (f[3], &gid))
    return false;
  if (q->name ? strcmp (f[0], q->name) != 0 : uid != q->uid)
    return false;
  q->found = true;
  q->pw_name = xstrdup (f[0]);
  q->pw_uid = uid;
  q->pw_gid = gid;
  q->pw_home = n > 5 && f[5][0] ? xstrdup (f[5]) : NULL;
  return true;
}

struct gr_query
{
  const char *name; /* the group to find, or NULL */
  bool found;
  unsigned gid;
  const char *member; /* collect groups listing this user, or NULL */
  gid_t *groups;
  size_t n_groups;
};

static bool
gr_match (char **f, size_t n, void *data)
{
  struct gr_query *q = data;
  unsigned gid;

  if (!parse_id (f[2], &gid))
    return false;
  if (q->name)
    {
      if (strcmp (f[0], q->name) != 0)
        return false;
      q->found = true;
      q->gid = gid;
      return true;
    }
  if (q->member && n > 3)
    {
      cleanup_free char *members = xstrdup (f[3]);
      char *m, *save = NULL;

      for (m = strtok_r (members, ",", &save); m; m = strtok_r (NULL, ",", &save))
        if (strcmp (m, q->member) == 0)
          {
            bool dup = false;
            for (size_t i = 0; i < q->n_groups; i++)
              dup |= q->groups[i] == gid;
            if (!dup)
              {
                q->groups = xrealloc (q->groups, (q->n_groups + 1) * sizeof (gid_t));
                q->groups[q->n_groups++] = gid;
              }
            break;
          }
    }
  return false;
}

int
userdb_resolve (const char *spec, const char *passwd, const char *group, struct rl_user *out,
                rl_error_t *err)
{
  cleanup_free char *user = xstrdup (spec && *spec ? spec : "0");
  struct pw_query pq = { 0 };
  struct gr_query members = { 0 };
  char *grp = strchr (user, ':');
  unsigned id;

  memset (out, 0, sizeof *out);
  if (grp)
    *grp++ = '\0';
  if (*user == '\0')
    return rl_error (err, 0, "invalid user `%s`: empty user name", spec);
  if (parse_id (user, &id))
    {
      pq.uid = id;
      for_each_entry (passwd, 4, pw_match, &pq);
      out->uid = id;
      out->gid = pq.found ? pq.pw_gid : 0;
    }
  else
    {
      pq.name = user;
      for_each_entry (passwd, 4, pw_match, &pq);
      if (!pq.found)
        return rl_error (err, 0, "unable to find user `%s`: no matching entries in passwd file",
                         user);
      out->uid = pq.pw_uid;
      out->gid = pq.pw_gid;
    }
  out->home = steal_pointer (&pq.pw_home);

  if (grp && *grp == '\0')
    {
      free (pq.pw_name);
      rl_user_clear (out);
      return rl_error (err, 0, "invalid user `%s`: empty group name", spec);
    }
  if (grp && parse_id (grp, &id))
    out->gid = id;
  else if (grp)
    {
      struct gr_query gq = { .name = grp };
      for_each_entry (group, 3, gr_match, &gq);
      if (!gq.found)
        {
          free (pq.pw_name);
          rl_user_clear (out);
          return rl_error (err, 0, "unable to find group `%s`: no matching entries in group file",
                           grp);
        }
      out->gid = gq.gid;
    }

  /* Supplementary groups come from the user's name, as initgroups() does. */
  if (pq.pw_name)
    {
      members.member = pq.pw_name;
      for_each_entry (group, 3, gr_match, &members);
      out->groups = members.groups;
      out->n_groups = members.n_groups;
    }
  free (pq.pw_name);
  return 0;
}

/* A missing file is no error (many images have no /etc/group). */
static int
read_in_root (int rootfd, const char *path, char **out, rl_error_t *err)
{
  cleanup_close int fd = open_in_root (rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
  cleanup_free char *buf = NULL;
  struct stat st;
  ssize_t n;

  *out = NULL;
  if (fd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return 0;
      return rl_error (err, errno, "open `%s` of the image", path);
    }
  if (fstat (fd, &st) < 0)
    return rl_error (err, errno, "stat `%s` of the image", path);
  /* A FIFO or device planted by the image would block or never end. */
  if (!S_ISREG (st.st_mode))
    return 0;
  if (st.st_size > USERDB_MAX_SIZE)
    return rl_error (err, 0, "read `%s` of the image: file larger than %d bytes", path,
                     USERDB_MAX_SIZE);
  buf = xmalloc (st.st_size + 1);
  n = read_all (fd, buf, st.st_size);
  if (n < 0)
    return rl_error (err, errno, "read `%s` of the image", path);
  buf[n] = '\0';
  *out = steal_pointer (&buf);
  return 0;
}

int
userdb_resolve_in_root (int rootfd, const char *spec, struct rl_user *out, rl_error_t *err)
{
  cleanup_free char *passwd = NULL;
  cleanup_free char *group = NULL;

  if (read_in_root (rootfd, "/etc/passwd", &passwd, err) < 0
      || read_in_root (rootfd, "/etc/group", &group, err) < 0)
    return -1;
  return userdb_resolve (spec, passwd, group, out, err);
}
