/* Terminals for `run -t`: the caller's terminal in raw mode (and restored),
 * the container's pty (opened from its own devpts), passing its master to
 * the monitor over a unix socket, and the monitor's relay between the
 * caller's stdin/stdout and the master. */
#ifndef RL_PTY_H
#define RL_PTY_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <termios.h>

#include "util/error.h"

struct pty_saved
{
  int fd;
  bool active;
  struct termios tio;
};

/* Put the terminal fd in raw mode, saving its state for pty_restore(). */
int pty_make_raw (int fd, struct pty_saved *saved, rl_error_t *err);
/* Restore the saved state; safe to call more than once. */
void pty_restore (struct pty_saved *saved);

/* Open a new pty through ptmx_path (resolved by the caller's root) and
 * return its master in *master and its slave in *slave (both CLOEXEC). */
int pty_open (const char *ptmx_path, int *master, int *slave, rl_error_t *err);
/* Make slave the controlling terminal (the caller has called setsid())
 * and stdin, stdout and stderr. */
int pty_make_controlling (int slave, rl_error_t *err);

/* Send data with an fd (SCM_RIGHTS), or receive such a message: *fd is -1
 * when no fd came.  Returns the bytes received, 0 on EOF. */
int fd_send (int sock, const void *data, size_t len, int fd);
ssize_t fd_recv (int sock, void *data, size_t len, int *fd);

/* The monitor's relay between the caller and the master. */
struct pty_relay
{
  int in_fd;  /* the caller's stdin, -1 when input is not relayed */
  int out_fd; /* the caller's stdout */
  int master;
  char in_buf[4096];
  size_t in_len, in_off;
  bool in_eof, master_eof;
};

void pty_relay_init (struct pty_relay *r, int in_fd, int out_fd, int master);
/* Add the relay's fds to p (room for 2); returns how many were added. */
size_t pty_relay_pollfds (struct pty_relay *r, struct pollfd *p);
/* Handle the poll results of the entries pty_relay_pollfds() added. */
void pty_relay_handle (struct pty_relay *r, struct pollfd *p, size_t n);
/* After the container exited: copy what the master still holds. */
void pty_relay_drain (struct pty_relay *r);

#endif
