/* Capabilities of the container's processes: the set a container gets
 * (Podman's default, changed by --cap-add and --cap-drop), and its
 * application to the five sets of PID 1 before it executes the command. */
#ifndef RL_CAPS_H
#define RL_CAPS_H

#include <linux/capability.h>
#include <stdbool.h>
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

/* Every capability the running kernel knows. */
uint64_t caps_all (void);
/* One --cap-add/--cap-drop name: CHOWN, cap_chown, Cap_Chown, or ALL (every
 * capability of the kernel).  Unknown names are an error naming them. */
int caps_from_name (const char *name, uint64_t *out, rl_error_t *err);
/* The container's set: Podman's default, then --cap-add ALL, --cap-drop
 * ALL, the other drops and the other adds (so `--cap-drop ALL --cap-add
 * CHOWN` is CHOWN alone).  *added gets what --cap-add named, which a
 * non-root user receives (as with Podman). */
int caps_compute (char *const *add, char *const *drop, uint64_t *set, uint64_t *added,
                  rl_error_t *err);

/* Called as root of the user namespace, before the switch of user: cut the
 * bounding set to set, empty the inheritable and ambient sets, and for a
 * user that will not be root make the caps named in keep survive the
 * switch (PR_SET_KEEPCAPS). */
int caps_apply_before_user (uint64_t set, uint64_t keep, rl_error_t *err);
/* After the switch: root gets set as effective and permitted; another user
 * only keep, in every set including ambient so that it survives execve.
 * still_uid0 is for the single-id map, where the switch did not happen:
 * the kernel would give uid 0 the whole bounding set again at execve, so
 * SECBIT_NOROOT stops that. */
int caps_apply_after_user (uint64_t set, uint64_t keep, bool root_user, bool still_uid0,
                           rl_error_t *err);

#endif
