/* The container's seccomp filter: rl's default profile (an allow-list,
 * src/runtime/seccomp.c), a Docker-format JSON profile (--security-opt
 * seccomp=FILE) or none (seccomp=unconfined), with root emulation on top
 * for the single-id map (chown and the setuid family succeed without
 * effect).  rl's profile is written as compact BPF by rl itself (a binary
 * search over runs of syscall numbers, names resolved by libseccomp); JSON
 * profiles are compiled by libseccomp.  Either is made once per profile,
 * mode and capability set and cached as BPF under ${XDG_CACHE_HOME:-
 * ~/.cache}/rl/seccomp/, so a container start only reads it and hands it to
 * the kernel. */
#ifndef RL_SECCOMP_H
#define RL_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/seccomp.h>

#include "util/error.h"

enum seccomp_profile
{
  SECCOMP_PROFILE_DEFAULT,    /* rl's built-in allow-list */
  SECCOMP_PROFILE_FILE,       /* a Docker-format JSON file */
  SECCOMP_PROFILE_UNCONFINED, /* no filter but root emulation */
};

struct seccomp_opts
{
  enum seccomp_profile profile;
  const char *file;    /* SECCOMP_PROFILE_FILE */
  bool root_emulation; /* single-id map: fake chown/setuid family */
  uint64_t caps;       /* the container's capability set (CAP_SYS_ADMIN opens mount, ...) */
};

/* A compiled filter: classic BPF instructions (struct sock_filter). */
struct seccomp_prog
{
  void *insns;
  size_t n_insns; /* 0: no filter */
};

/* Make the filter for o: from the cache, else compiled (and cached).
 * Called by rl before the container's processes exist, so a bad profile
 * is an error of `rl run` itself. */
int seccomp_prepare (const struct seccomp_opts *o, struct seccomp_prog *out, rl_error_t *err);
void seccomp_prog_clear (struct seccomp_prog *p);
/* Load p into the calling thread (before execve; the caller holds
 * CAP_SYS_ADMIN in its user namespace or set no_new_privs). */
int seccomp_load_prog (const struct seccomp_prog *p, rl_error_t *err);

/* For the unit tests: the filter without the cache; and the default
 * profile as libseccomp compiles it, which the compact program rl loads
 * must match verdict for verdict. */
int seccomp_compile (const struct seccomp_opts *o, const char *profile_text,
                     struct seccomp_prog *out, rl_error_t *err);
int seccomp_compile_reference (const struct seccomp_opts *o, const char *profile_text,
                               struct seccomp_prog *out, rl_error_t *err);
/* p run as the kernel runs a seccomp filter (the instructions libseccomp
 * and rl emit): its verdict for d, or SECCOMP_EVAL_BAD for an instruction
 * it does not know. */
#define SECCOMP_EVAL_BAD 0xffffffffU
uint32_t seccomp_prog_eval (const struct seccomp_prog *p, const struct seccomp_data *d);

#endif
