/* --network slirp: libslirp in the monitor, a tap in the container (see
 * net.h).  Everything runs in the monitor's one thread, driven by its
 * poll() loop: the tap and libslirp's sockets are polled with the loop's
 * own fds, and the stack's timers become poll()'s timeout.  Idle, libslirp
 * asks to be woken once a second at most; nothing else runs. */
#include "config.h"
#include "runtime/net.h"
#include "runtime/container.h"
#include "util/dl.h"
#include "util/fs.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <slirp/libslirp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A frame: the MTU and an Ethernet header, with room to spare. */
#define FRAME_MAX (NET_MTU + 64)
/* Frames taken from the tap per wake-up, so that the host side gets its
 * turn under a flood. */
#define FRAMES_PER_ROUND 64

struct net_timer
{
  SlirpTimerId id;
  void *cb_opaque;
  int64_t expire_ms; /* -1: not armed */
};

/* A UDP exchange a published port started: the host's client as the
 * container sees it (10.0.2.2:peer) and the container's port. */
struct udp_flow
{
  uint16_t peer, port;
};

#define UDP_FLOWS 128

struct rl_net
{
  Slirp *slirp;
  int tap;
  /* Host loopback off: see guard_frame(). */
  bool guard;
  struct udp_flow flows[UDP_FLOWS];
  size_t next_flow;
  struct net_port *ports;
  size_t n_ports;
  struct net_timer **timers;
  size_t n_timers;
  /* While slirp_pollfds_fill / _poll run: the loop's array. */
  struct pollfd **pv;
  size_t *np, *cap;
  const struct pollfd *polled;
  size_t at; /* the tap's entry, or where the stack's start when no tap */
  bool tap_polled;
  uint8_t frame[FRAME_MAX];
};

static int64_t
clock_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the host's loopback, kept out of reach ---------------------------
 *
 * libslirp's own switch (disable_host_loopback) also drops what the
 * container answers to a client of a published UDP port on the host's
 * loopback (that client appears as 10.0.2.2, the host's alias, which the
 * switch closes), so UDP publishing would not work for local clients.
 * Instead the stack keeps the host's loopback open and rl filters what the
 * container sends to the alias: no new TCP connection (a SYN without ACK:
 * the connections of published TCP ports are opened from the host side),
 * UDP only back to a client that wrote to a published port first, ICMP
 * (and ICMPv6, for neighbour discovery) but nothing else. */

enum
{
  ETH_HLEN_ = 14,
  PROTO_ICMP = 1,
  PROTO_TCP = 6,
  PROTO_UDP = 17,
  PROTO_ICMP6 = 58,
};

static const uint8_t alias4[4] = { 10, 0, 2, 2 };
static const uint8_t alias6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

static uint16_t
be16 (const uint8_t *p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}

/* The transport header of an IPv4 or IPv6 frame whose source (from_alias)
 * or destination is the host's alias; NULL for anything else. */
static const uint8_t *
alias_l4 (const uint8_t *f, size_t len, bool from_alias, int *proto, size_t *l4len)
{
  uint16_t type;

  if (len < ETH_HLEN_ + 20)
    return NULL;
  type = be16 (f + 12);
  f += ETH_HLEN_;
  len -= ETH_HLEN_;
  if (type == 0x0800)
    {
      size_t ihl = (size_t)(f[0] & 0x0f) * 4;
      if ((f[0] >> 4) != 4 || ihl < 20 || len < ihl
          || memcmp (f + (from_alias ? 12 : 16), alias4, 4) != 0)
        return NULL;
      /* A fragment (more to come, or an offset): its flags or ports may be
       * anywhere, and the reassembly's choice among overlapping pieces is
       * not ours to predict; no fragment to the alias passes. */
      *proto = (f[6] & 0x3f) || f[7] ? -1 : f[9];
      *l4len = len - ihl;
      return f + ihl;
    }
  if (type == 0x86dd)
    {
      if (len < 40 || memcmp (f + (from_alias ? 8 : 24), alias6, 16) != 0)
        return NULL;
      /* An extension header (a fragment among them) is not a protocol
       * the guard lets through. */
      *proto = f[6];
      *l4len = len - 40;
      return f + 40;
    }
  return NULL;
}

/* A frame from the container: may it go to the stack? */
static bool
guard_frame (struct rl_net *n, const uint8_t *f, size_t len)
{
  size_t l4len;
  int proto;
  const uint8_t *l4 = alias_l4 (f, len, false, &proto, &l4len);

  if (l4 == NULL)
    return true;
  switch (proto)
    {
    case PROTO_ICMP:
    case PROTO_ICMP6:
      return true;
    case PROTO_TCP:
      /* flags: SYN 0x02, ACK 0x10 */
      return l4len >= 20 && !((l4[13] & 0x02) && !(l4[13] & 0x10));
    case PROTO_UDP:
      if (l4len < 8)
        return false;
      for (size_t i = 0; i < UDP_FLOWS; i++)
        if (n->flows[i].port == be16 (l4) && n->flows[i].peer == be16 (l4 + 2)
            && n->flows[i].port != 0)
          return true;
      return false;
    }
  return false;
}

/* A frame to the container: a datagram of a published UDP port's client
 * opens the way back. */
static void
note_flow (struct rl_net *n, const uint8_t *f, size_t len)
{
  size_t l4len;
  int proto;
  const uint8_t *l4 = alias_l4 (f, len, true, &proto, &l4len);
  struct udp_flow fl;

  if (l4 == NULL || proto != PROTO_UDP || l4len < 8)
    return;
  fl = (struct udp_flow){ .peer = be16 (l4), .port = be16 (l4 + 2) };
  for (size_t i = 0; i < UDP_FLOWS; i++)
    if (n->flows[i].peer == fl.peer && n->flows[i].port == fl.port)
      return;
  n->flows[n->next_flow] = fl;
  n->next_flow = (n->next_flow + 1) % UDP_FLOWS;
}

/* ---- libslirp's callbacks --------------------------------------------- */

static ssize_t
cb_send_packet (const void *buf, size_t len, void *opaque)
{
  struct rl_net *n = opaque;
  ssize_t w;

  /* No tap yet (the container is starting), or it is full: TCP sends
   * again, as over a lossy link. */
  if (n->tap < 0)
    return (ssize_t)len;
  if (n->guard)
    note_flow (n, buf, len);
  do
    w = write (n->tap, buf, len);
  while (w < 0 && errno == EINTR);
  return w < 0 ? (ssize_t)len : w;
}

static void
cb_guest_error (const char *msg, void *opaque)
{
  /* The container's packets are its own business. */
  (void)msg;
  (void)opaque;
}

static int64_t
cb_clock_get_ns (void *opaque)
{
  struct timespec ts;
  (void)opaque;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *
cb_timer_new_opaque (SlirpTimerId id, void *cb_opaque, void *opaque)
{
  struct rl_net *n = opaque;
  struct net_timer *t = xmalloc0 (sizeof *t);

  t->id = id;
  t->cb_opaque = cb_opaque;
  t->expire_ms = -1;
  n->timers = xrealloc (n->timers, (n->n_timers + 1) * sizeof *n->timers);
  n->timers[n->n_timers++] = t;
  return t;
}

static void
cb_timer_free (void *timer, void *opaque)
{
  struct rl_net *n = opaque;

  for (size_t i = 0; i < n->n_timers; i++)
    if (n->timers[i] == timer)
      {
        n->timers[i] = n->timers[--n->n_timers];
        break;
      }
  free (timer);
}

static void
cb_timer_mod (void *timer, int64_t expire_ms, void *opaque)
{
  (void)opaque;
  ((struct net_timer *)timer)->expire_ms = expire_ms;
}

static void
cb_no_fd (int fd, void *opaque)
{
  /* Polling is by slirp_pollfds_fill() at each round. */
  (void)fd;
  (void)opaque;
}

static void
cb_notify (void *opaque)
{
  /* One thread: the next round sees what changed. */
  (void)opaque;
}

static const SlirpCb callbacks = {
  .send_packet = cb_send_packet,
  .guest_error = cb_guest_error,
  .clock_get_ns = cb_clock_get_ns,
  .timer_free = cb_timer_free,
  .timer_mod = cb_timer_mod,
  .register_poll_fd = cb_no_fd,
  .unregister_poll_fd = cb_no_fd,
  .notify = cb_notify,
  .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- the monitor's side ----------------------------------------------- */

bool
net_parse_exposed (const char *s, unsigned *port, bool *udp)
{
  char *end;
  unsigned long p;

  errno = 0;
  p = strtoul (s, &end, 10);
  if (errno || end == s || p < 1 || p > 65535)
    return false;
  if (*end == '\0' || strcmp (end, "/tcp") == 0)
    *udp = false;
  else if (strcmp (end, "/udp") == 0)
    *udp = true;
  else
    return false; /* sctp, or a range: not published */
  *port = (unsigned)p;
  return true;
}

/* A free host port for -P (the kernel's choice, then let go: slirp binds
 * it at once after). */
static int
free_port (bool udp, struct in_addr ip, unsigned *port, rl_error_t *err)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = ip };
  socklen_t len = sizeof sa;
  int fd = socket (AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);

  if (fd < 0 || bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0
      || getsockname (fd, (struct sockaddr *)&sa, &len) < 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      return rl_error (err, e, "find a free host port");
    }
  close (fd);
  *port = ntohs (sa.sin_port);
  return 0;
}

static int
publish (struct rl_net *n, const struct net_port *want, rl_error_t *err)
{
  struct net_port p = *want;
  struct in_addr host, guest;

  if (inet_pton (AF_INET, p.host_ip, &host) != 1)
    return rl_error (err, 0, "publish: bad address `%s`", p.host_ip);
  inet_pton (AF_INET, NET_CTR_ADDR, &guest);
  if (p.host_port == 0 && free_port (p.udp, host, &p.host_port, err) < 0)
    return -1;
  errno = 0;
  if (slirp_add_hostfwd (n->slirp, p.udp, host, (int)p.host_port, guest, (int)p.ctr_port) < 0)
    return rl_error (err, errno ? errno : EADDRINUSE, "publish port %s:%u/%s", p.host_ip,
                     p.host_port, p.udp ? "udp" : "tcp");
  n->ports = xrealloc (n->ports, (n->n_ports + 1) * sizeof p);
  n->ports[n->n_ports++] = p;
  return 0;
}

int
net_start (const struct run_spec *s, char *const *exposed, struct rl_net **out, rl_error_t *err)
{
  struct rl_net *n = xmalloc0 (sizeof *n);
  unsigned mtu = s->net_mtu ? s->net_mtu : NET_MTU;
  SlirpConfig cfg;

  if (dl_need_slirp (err) < 0)
    {
      free (n);
      return -1;
    }
  cfg = (SlirpConfig){
    .version = 4,
    .in_enabled = true,
    .in6_enabled = s->net_ipv6,
    .vprefix_len = 64,
    .if_mtu = mtu,
    .if_mru = mtu,
    /* rl's own filter instead: guard_frame() */
    .disable_host_loopback = false,
    .disable_dhcp = true,
  };

  n->tap = -1;
  n->guard = !s->net_host_loopback;
  inet_pton (AF_INET, "10.0.2.0", &cfg.vnetwork);
  inet_pton (AF_INET, "255.255.255.0", &cfg.vnetmask);
  inet_pton (AF_INET, NET_GATEWAY, &cfg.vhost);
  inet_pton (AF_INET, NET_DNS, &cfg.vnameserver);
  inet_pton (AF_INET, "10.0.2.15", &cfg.vdhcp_start);
  inet_pton (AF_INET6, "fd00::", &cfg.vprefix_addr6);
  inet_pton (AF_INET6, "fd00::2", &cfg.vhost6);
  inet_pton (AF_INET6, "fd00::3", &cfg.vnameserver6);
  n->slirp = slirp_new (&cfg, &callbacks, n);
  if (n->slirp == NULL)
    {
      free (n);
      return rl_error (err, 0, "start the slirp network");
    }
  for (size_t i = 0; i < s->n_publish; i++)
    {
      struct net_port p = { .udp = s->publish[i].udp,
                            .host_port = s->publish[i].host_port,
                            .ctr_port = s->publish[i].ctr_port };
      memcpy (p.host_ip, s->publish[i].host_ip, sizeof p.host_ip);
      if (publish (n, &p, err) < 0)
        goto fail;
    }
  for (size_t i = 0; s->publish_all && exposed && exposed[i]; i++)
    {
      struct net_port p = { .host_ip = "0.0.0.0" };
      bool dup = false;
      if (!net_parse_exposed (exposed[i], &p.ctr_port, &p.udp))
        continue;
      /* An exposed port already published with -p keeps that. */
      for (size_t j = 0; j < n->n_ports; j++)
        dup |= n->ports[j].ctr_port == p.ctr_port && n->ports[j].udp == p.udp;
      if (!dup && publish (n, &p, err) < 0)
        goto fail;
    }
  *out = n;
  return 0;
fail:
  net_free (n);
  return -1;
}

void
net_free (struct rl_net *n)
{
  if (n == NULL)
    return;
  if (n->slirp)
    slirp_cleanup (n->slirp);
  for (size_t i = 0; i < n->n_timers; i++)
    free (n->timers[i]);
  free (n->timers);
  if (n->tap >= 0)
    close (n->tap);
  free (n->ports);
  free (n);
}

const struct net_port *
net_ports (const struct rl_net *n, size_t *count)
{
  *count = n->n_ports;
  return n->ports;
}

void
net_attach_tap (struct rl_net *n, int fd)
{
  if (n->tap >= 0)
    close (n->tap);
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
  n->tap = fd;
}

static void
push_pollfd (struct rl_net *n, int fd, short events)
{
  if (*n->np == *n->cap)
    {
      *n->cap = *n->cap ? *n->cap * 2 : 16;
      *n->pv = xrealloc (*n->pv, *n->cap * sizeof **n->pv);
    }
  (*n->pv)[(*n->np)++] = (struct pollfd){ .fd = fd, .events = events };
}

static int
cb_add_poll (int fd, int events, void *opaque)
{
  struct rl_net *n = opaque;
  short ev = 0;

  if (events & SLIRP_POLL_IN)
    ev |= POLLIN;
  if (events & SLIRP_POLL_OUT)
    ev |= POLLOUT;
  if (events & SLIRP_POLL_PRI)
    ev |= POLLPRI;
  push_pollfd (n, fd, ev);
  return (int)(*n->np - 1);
}

static int
cb_get_revents (int idx, void *opaque)
{
  struct rl_net *n = opaque;
  short rev = n->polled[idx].revents;
  int r = 0;

  if (rev & POLLIN)
    r |= SLIRP_POLL_IN;
  if (rev & POLLOUT)
    r |= SLIRP_POLL_OUT;
  if (rev & POLLPRI)
    r |= SLIRP_POLL_PRI;
  if (rev & (POLLERR | POLLNVAL))
    r |= SLIRP_POLL_ERR;
  if (rev & POLLHUP)
    r |= SLIRP_POLL_HUP;
  return r;
}

void
net_poll_add (struct rl_net *n, struct pollfd **p, size_t *np, size_t *cap, int *timeout_ms)
{
  uint32_t t = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
  int64_t now = clock_ms ();

  n->pv = p;
  n->np = np;
  n->cap = cap;
  n->at = *np;
  n->tap_polled = n->tap >= 0;
  if (n->tap_polled)
    push_pollfd (n, n->tap, POLLIN);
  slirp_pollfds_fill (n->slirp, &t, cb_add_poll, n);
  for (size_t i = 0; i < n->n_timers; i++)
    if (n->timers[i]->expire_ms >= 0)
      {
        int64_t left = n->timers[i]->expire_ms - now;
        t = left <= 0 ? 0 : (uint64_t)left < t ? (uint32_t)left : t;
      }
  *timeout_ms = t == UINT32_MAX || t > INT32_MAX ? -1 : (int)t;
  n->pv = NULL;
  n->np = n->cap = NULL;
}

static void
read_tap (struct rl_net *n)
{
  for (int i = 0; i < FRAMES_PER_ROUND; i++)
    {
      ssize_t r = read (n->tap, n->frame, sizeof n->frame);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          /* EAGAIN: all read.  Anything else: the namespace is gone (the
           * container exited); a restart brings a new tap. */
          if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            {
              close (n->tap);
              n->tap = -1;
            }
          return;
        }
      if (!n->guard || guard_frame (n, n->frame, (size_t)r))
        slirp_input (n->slirp, n->frame, (int)r);
    }
}

void
net_poll_handle (struct rl_net *n, const struct pollfd *p, bool poll_failed)
{
  int64_t now = clock_ms ();

  n->polled = p;
  /* The tap first: what the container sent may be what the host side
   * waits for. */
  if (n->tap_polled && n->tap >= 0 && !poll_failed
      && (p[n->at].revents & (POLLIN | POLLERR | POLLHUP)))
    read_tap (n);
  slirp_pollfds_poll (n->slirp, poll_failed, cb_get_revents, n);
  for (size_t i = 0; i < n->n_timers; i++)
    {
      struct net_timer *t = n->timers[i];
      if (t->expire_ms >= 0 && t->expire_ms <= now)
        {
          t->expire_ms = -1;
          slirp_handle_timer (n->slirp, t->id, t->cb_opaque);
        }
    }
  n->polled = NULL;
}

/* ---- what `rl port` and `rl inspect` show ------------------------------ */

char *
net_published_ports (struct rl_store *st, const char *id, rl_error_t *err)
{
  struct container_state state = { 0 };
  struct rl_container c = { 0 };
  struct run_spec spec = { 0 };
  char *text = NULL;

  if (container_get_state (st, id, &state, err) < 0)
    return NULL;
  if (state.status == CTR_RUNNING)
    {
      cleanup_free char *path = xasprintf ("containers/%s/ports", id);
      rl_error_t e = NULL;
      if (read_file_at (st->runfd, path, 1 << 20, &text, NULL, &e) < 0)
        rl_error_free (&e);
    }
  container_state_clear (&state);
  if (text)
    return text;
  if (container_load (st, id, &c, err) < 0 || run_spec_from_record (&spec, c.spec, err) < 0)
    goto out;
  text = xstrdup ("");
  for (size_t i = 0; i < spec.n_publish; i++)
    if (spec.publish[i].host_port)
      {
        char *t = xasprintf ("%s%u/%s %s %u\n", text, spec.publish[i].ctr_port,
                             spec.publish[i].udp ? "udp" : "tcp", spec.publish[i].host_ip,
                             spec.publish[i].host_port);
        free (text);
        text = t;
      }
out:
  run_spec_clear (&spec);
  container_clear (&c);
  return text;
}

/* ---- the container's side --------------------------------------------- */

int
net_loopback_up (rl_error_t *err)
{
  cleanup_close int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = { .ifr_name = "lo" };

  if (s < 0)
    return rl_error (err, errno, "socket");
  if (ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    return rl_error (err, errno, "get flags of `lo`");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
    return rl_error (err, errno, "bring `lo` up");
  return 0;
}

static void
set_sin (struct sockaddr *sa, const char *addr)
{
  struct sockaddr_in *sin = (struct sockaddr_in *)sa;

  memset (sin, 0, sizeof *sin);
  sin->sin_family = AF_INET;
  inet_pton (AF_INET, addr, &sin->sin_addr);
}

int
net_child_setup (unsigned mtu, rl_error_t *err)
{
  cleanup_close int tap = -1;
  cleanup_close int s = -1;
  struct ifreq ifr = { .ifr_name = NET_TAP_NAME };
  struct rtentry rt = { 0 };
  const char *what;

  tap = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (tap < 0)
    return rl_error (err, errno, "slirp network: open `/dev/net/tun`");
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl (tap, TUNSETIFF, &ifr) < 0)
    return rl_error (err, errno, "slirp network: create the tap device");
  /* Persistent: the monitor's close of the last fd then only detaches it,
   * instead of unregistering the device there and then (which waits for
   * RCU grace periods, ~10 ms at each exit); the device goes with the
   * namespace, whose cleanup the kernel does in the background. */
  if (ioctl (tap, TUNSETPERSIST, 1) < 0)
    return rl_error (err, errno, "slirp network: make the tap device persistent");
  s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return rl_error (err, errno, "socket");
  what = "set the mtu";
  ifr = (struct ifreq){ .ifr_name = NET_TAP_NAME };
  ifr.ifr_mtu = (int)(mtu ? mtu : NET_MTU);
  if (ioctl (s, SIOCSIFMTU, &ifr) < 0)
    goto fail;
  /* A fixed MAC address: libslirp remembers the container's from its ARP
   * table, and a restarted container (a new tap) must still be reached. */
  what = "set the MAC address";
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy (ifr.ifr_hwaddr.sa_data, (const char[]){ 0x02, 0x00, 0x0a, 0x00, 0x02, 0x64 }, 6);
  if (ioctl (s, SIOCSIFHWADDR, &ifr) < 0)
    goto fail;
  what = "set the address";
  set_sin (&ifr.ifr_addr, NET_CTR_ADDR);
  if (ioctl (s, SIOCSIFADDR, &ifr) < 0)
    goto fail;
  what = "set the netmask";
  set_sin (&ifr.ifr_netmask, "255.255.255.0");
  if (ioctl (s, SIOCSIFNETMASK, &ifr) < 0)
    goto fail;
  what = "bring it up";
  if (ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    goto fail;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
    goto fail;
  what = "add the default route";
  set_sin (&rt.rt_dst, "0.0.0.0");
  set_sin (&rt.rt_genmask, "0.0.0.0");
  set_sin (&rt.rt_gateway, NET_GATEWAY);
  rt.rt_flags = RTF_UP | RTF_GATEWAY;
  rt.rt_dev = (char *)NET_TAP_NAME;
  if (ioctl (s, SIOCADDRT, &rt) < 0)
    goto fail;
  return steal_fd (&tap);
fail:
  return rl_error (err, errno, "slirp network: %s of `%s`", what, NET_TAP_NAME);
}
