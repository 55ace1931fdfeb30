/* Terminal handling for `run -t`. */
#include "config.h"
#include "runtime/pty.h"
#include "util/fs.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
pty_make_raw (int fd, struct pty_saved *saved, rl_error_t *err)
{
  struct termios raw;

  saved->active = false;
  saved->fd = fd;
  if (tcgetattr (fd, &saved->tio) < 0)
    return rl_error (err, errno, "get terminal attributes");
  raw = saved->tio;
  cfmakeraw (&raw);
  if (tcsetattr (fd, TCSADRAIN, &raw) < 0)
    return rl_error (err, errno, "set terminal to raw mode");
  saved->active = true;
  return 0;
}

void
pty_restore (struct pty_saved *saved)
{
  if (!saved->active)
    return;
  saved->active = false;
  while (tcsetattr (saved->fd, TCSADRAIN, &saved->tio) < 0 && errno == EINTR)
    ;
}

int
pty_open (const char *ptmx_path, int *master, int *slave, rl_error_t *err)
{
  cleanup_close int m = -1;
  int unlock = 0;
  int s;

  m = open (ptmx_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    return rl_error (err, errno, "open `%s`", ptmx_path);
  if (ioctl (m, TIOCSPTLCK, &unlock) < 0)
    return rl_error (err, errno, "unlock pty");
  /* TIOCGPTPEER opens the slave of this very master, with no path lookup
   * that a process in the container could race. */
  s = ioctl (m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0)
    return rl_error (err, errno, "open pty slave");
  *master = steal_fd (&m);
  *slave = s;
  return 0;
}

int
pty_make_controlling (int slave, rl_error_t *err)
{
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return rl_error (err, errno, "set controlling terminal");
  for (int i = 0; i < 3; i++)
    if (dup2 (slave, i) < 0)
      return rl_error (err, errno, "dup2 pty");
  return 0;
}

int
fd_send (int sock, const void *data, size_t len, int fd)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  ssize_t r;

  if (fd >= 0)
    {
      struct cmsghdr *c;
      memset (&u, 0, sizeof u);
      msg.msg_control = u.buf;
      msg.msg_controllen = sizeof u.buf;
      c = CMSG_FIRSTHDR (&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (c), &fd, sizeof (int));
    }
  do
    r = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -1 : 0;
}

ssize_t
fd_recv (int sock, void *data, size_t len, int *fd)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = data, .iov_len = len };
  struct msghdr msg
      = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t r;

  *fd = -1;
  do
    r = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c; c = CMSG_NXTHDR (&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      memcpy (fd, CMSG_DATA (c), sizeof (int));
  return r;
}

void
pty_relay_init (struct pty_relay *r, int in_fd, int out_fd, int master)
{
  memset (r, 0, sizeof *r);
  r->in_fd = in_fd;
  r->out_fd = out_fd;
  r->master = master;
  r->in_eof = in_fd < 0;
  /* Never block on the master: the container may stop reading its input
   * while we still must copy its output. */
  fcntl (master, F_SETFL, fcntl (master, F_GETFL) | O_NONBLOCK);
}

size_t
pty_relay_pollfds (struct pty_relay *r, struct pollfd *p)
{
  size_t n = 0;

  if (!r->master_eof)
    p[n++] = (struct pollfd){ .fd = r->master,
                              .events = POLLIN | (r->in_len > r->in_off ? POLLOUT : 0) };
  if (!r->in_eof && r->in_len == r->in_off && !r->master_eof)
    p[n++] = (struct pollfd){ .fd = r->in_fd, .events = POLLIN };
  return n;
}

/* Copy the master's output; false when it has nothing more (EOF/EIO). */
static bool
copy_output (struct pty_relay *r)
{
  char buf[65536];

  for (;;)
    {
      ssize_t n = read (r->master, buf, sizeof buf);
      if (n > 0)
        {
          /* The caller went away: keep draining so the container is not
           * stuck on a full pty. */
          write_all (r->out_fd, buf, n);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return true;
      r->master_eof = true;
      return false;
    }
}

static void
copy_input (struct pty_relay *r)
{
  while (r->in_off < r->in_len)
    {
      ssize_t n = write (r->master, r->in_buf + r->in_off, r->in_len - r->in_off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          if (errno != EAGAIN)
            r->in_off = r->in_len;
          break;
        }
      r->in_off += n;
    }
  if (r->in_off == r->in_len)
    r->in_off = r->in_len = 0;
}

void
pty_relay_handle (struct pty_relay *r, struct pollfd *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      if (p[i].revents == 0)
        continue;
      if (p[i].fd == r->master)
        {
          if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
            copy_output (r);
          if ((p[i].revents & POLLOUT) && !r->master_eof)
            copy_input (r);
        }
      else if (p[i].fd == r->in_fd)
        {
          ssize_t got = read (r->in_fd, r->in_buf, sizeof r->in_buf);
          if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (got <= 0)
            {
              r->in_eof = true;
              continue;
            }
          r->in_len = got;
          r->in_off = 0;
          copy_input (r);
        }
    }
}

void
pty_relay_drain (struct pty_relay *r)
{
  if (!r->master_eof)
    copy_output (r);
}
