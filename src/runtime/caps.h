/* Capabilities of the container's processes.  Today: the bounding set,
 * limited to Podman's default set, which the command receives at exec as
 * root (a non-root user gets none, as with Docker).  --cap-add/--cap-drop
 * and the other sets build on this. */
#ifndef RL_CAPS_H
#define RL_CAPS_H

#include <linux/capability.h>
#include <stdint.h>

#include "util/error.h"

#define CAP_BIT(c) (UINT64_C (1) << (c))
/* CHOWN DAC_OVERRIDE FOWNER FSETID KILL NET_BIND_SERVICE SETFCAP SETGID
 * SETPCAP SETUID SYS_CHROOT: Podman's default. */
#define CAPS_DEFAULT                                                                               \
  (CAP_BIT (CAP_CHOWN) | CAP_BIT (CAP_DAC_OVERRIDE) | CAP_BIT (CAP_FOWNER) | CAP_BIT (CAP_FSETID)  \
   | CAP_BIT (CAP_KILL) | CAP_BIT (CAP_NET_BIND_SERVICE) | CAP_BIT (CAP_SETFCAP)                   \
   | CAP_BIT (CAP_SETGID) | CAP_BIT (CAP_SETPCAP) | CAP_BIT (CAP_SETUID)                           \
   | CAP_BIT (CAP_SYS_CHROOT))

/* Drop every capability not in keep from the bounding set (needs
 * CAP_SETPCAP, so call it while still root of the namespace). */
int caps_drop_bounding (uint64_t keep, rl_error_t *err);

#endif
