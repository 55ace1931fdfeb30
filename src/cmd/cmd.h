/* The commands: one function per verb, called from main.c's table with argv
 * starting at the verb.  Each returns an exit status, or -1 with err set. */
#ifndef RL_CMD_H
#define RL_CMD_H

#include <stdio.h>
#include <yajl/yajl_gen.h>

#include "store/store.h"
#include "util/error.h"

typedef int (*rl_cmd_fn) (struct rl_globals *g, int argc, char **argv, rl_error_t *err);

int cmd_import (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_images (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_rmi (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_image (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
struct rl_image;
/* One image as `rl image inspect` shows it, into g (images.c; also used by
 * `rl inspect`). */
int image_inspect_json (struct rl_store *st, const struct rl_image *img, yajl_gen g,
                        rl_error_t *err);
int cmd_run (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_ps (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_rm (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_pull (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_login (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_logout (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_tag (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_untag (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_system (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_save (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_load (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_complete (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_info (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
/* rl system info and rl system check (in info.c). */
int system_info (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int system_check (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_push (struct rl_globals *g, int argc, char **argv, rl_error_t *err);

/* Container lifecycle (lifecycle.c): create, start, stop, kill, restart,
 * wait, pause, unpause, attach, port and the `rl container` group. */
int cmd_create (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_start (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_stop (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_kill (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_restart (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_wait (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_pause (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_unpause (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_attach (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_port (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_container (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
/* container prune (ps.c) */
int cmd_container_prune (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
/* logs.c */
int cmd_logs (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
/* inspect.c: inspect (containers, then images), rename */
int cmd_inspect (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_rename (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
/* exec.c: exec, top */
int cmd_exec (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_top (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
/* cp.c: cp, export, commit */
int cmd_cp (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_export (struct rl_globals *g, int argc, char **argv, rl_error_t *err);
int cmd_commit (struct rl_globals *g, int argc, char **argv, rl_error_t *err);

/* From main.c: the command table, for `rl __complete`. */
rl_cmd_fn rl_find_command (const char *name);
void rl_print_usage (FILE *out);

#endif
