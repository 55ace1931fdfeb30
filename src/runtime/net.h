/* The container's network with --network slirp: a user-mode TCP/IP stack
 * (libslirp) that runs inside rl's monitor, no extra process.  The
 * container's PID 1 makes a tap device in its new network namespace and
 * sends its fd to the monitor (an 'N' message); the monitor moves frames
 * between that fd and libslirp, whose sockets on the host carry the
 * connections out, and whose listening sockets publish ports (-p).
 *
 * The addresses are slirp4netns's: the container 10.0.2.100/24, the gateway
 * (and, with allow_host_loopback, the host's 127.0.0.1) 10.0.2.2, the DNS
 * forwarder 10.0.2.3 (it asks the host's resolvers, including one on the
 * host's loopback), IPv6 fd00::/64 by router advertisement. */
#ifndef RL_NET_H
#define RL_NET_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/runspec.h"
#include "store/store.h"
#include "util/error.h"

#define NET_CTR_ADDR "10.0.2.100"
#define NET_GATEWAY  "10.0.2.2"
#define NET_DNS      "10.0.2.3"
#define NET_MTU      65520
#define NET_TAP_NAME "tap0"

struct rl_net;

/* One published port as bound: host_port is the real one (-P chooses). */
struct net_port
{
  bool udp;
  char host_ip[16];
  unsigned host_port, ctr_port;
};

/* Monitor side.  Make the stack and bind every published port (spec's -p,
 * and with -P the exposed ports, "80/tcp", on free host ports): a port the
 * host has taken fails here, naming it, before any container exists. */
int net_start (const struct run_spec *s, char *const *exposed, struct rl_net **out,
               rl_error_t *err);
void net_free (struct rl_net *n);
/* The ports as bound (for `rl port`): an array of *count, owned by n. */
const struct net_port *net_ports (const struct rl_net *n, size_t *count);
/* The tap of a (re)started container; the previous one is closed. */
void net_attach_tap (struct rl_net *n, int fd);
/* Before the loop's poll(): append the stack's fds to *p (of *np entries,
 * room for *cap; grown as needed) and lower *timeout_ms (-1: none) to the
 * stack's next timer.  After it: net_poll_handle() with the same array
 * (its start, as *p was then), whatever poll() returned (error:
 * poll_failed). */
void net_poll_add (struct rl_net *n, struct pollfd **p, size_t *np, size_t *cap, int *timeout_ms);
void net_poll_handle (struct rl_net *n, const struct pollfd *p, bool poll_failed);

/* Child side, in the container's new network namespace while it can still
 * see the host's /dev (its loopback already up: net_loopback_up): the tap
 * made and configured (address, route, mtu).  Returns the tap's fd, or -1
 * with err. */
int net_child_setup (unsigned mtu, rl_error_t *err);
/* Loopback up (every new network namespace). */
int net_loopback_up (rl_error_t *err);

/* A container's published ports, "80/tcp 0.0.0.0 8080" a line: those its
 * running monitor bound (-P's free ports too: the runroot's
 * containers/ID/ports), else the fixed ones of its record's -p options.
 * NULL with err. */
char *net_published_ports (struct rl_store *st, const char *id, rl_error_t *err);

/* Parse "80/tcp", "53/udp", "8080" (tcp) of an image's EXPOSE list. */
bool net_parse_exposed (const char *s, unsigned *port, bool *udp);

#endif
