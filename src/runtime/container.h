/* Container records: what `rl run` created, where its files are, and its
 * state derived from the truth (is PID 1 alive, what did the monitor record).
 *
 * Files (store root, runroot):
 *   containers/ID/config.json   the creation record, written once before
 *                               start: Id, Name, ImageId, ImageName, Command,
 *                               Created (unix ns), Driver (as asked: "auto",
 *                               "overlay", ...), Rm, Labels {K: V}, Spec (the
 *                               run options, runspec.h's canon)
 *   containers/ID/created       present from creation until the first start
 *   containers/ID/ctr.log       the log of a detached container (CRI format,
 *                               ctrlog.h), ctr.log.1 ... when rotated
 *   containers/ID/state.json    the exit record, written by the monitor when
 *                               the container ended: ExitCode, StartedAt,
 *                               FinishedAt (unix ns), Driver (the one used)
 *   containers/ID/upper, work, merged   overlay / fuse-overlayfs
 *   containers/ID/rootfs        vfs: the container's own copy of the layers
 *   names/NAME -> ID            the name index (a symlink; created with
 *                               symlinkat, so a name is taken atomically)
 *   runroot containers/ID/state      live state while it runs, "key=value"
 *                               lines: pid, pid_start (field 22 of
 *                               /proc/PID/stat: tells a reused pid apart),
 *                               monitor, monitor_start, driver, started
 *   runroot containers/ID/hostname, hosts, resolv.conf   bind-mounted in
 */
#ifndef RL_CONTAINER_H
#define RL_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"
#include "util/error.h"

#define CONTAINER_ID_LEN 64

struct rl_container
{
  char *id;
  char *name;
  char *image_id;   /* hex */
  char *image_name; /* normalized name the image was found by, or NULL */
  char **command;
  int64_t created; /* unix ns */
  char *driver;    /* as asked */
  bool rm;
  char **labels;   /* "KEY=VALUE" */
  char **spec;     /* the run options (struct run_spec's canon) */
  bool starts_now; /* made by `rl run`: no `created` mark (a file less to make and remove) */
  /* With starts_now, the rl that starts it (set by container_create):
   * until its monitor writes the live state, the record has no mark, and
   * only this tells a container starting from one killed while it started. */
  pid_t starter;
  unsigned long long starter_start;
};

void container_clear (struct rl_container *c);

enum container_status
{
  CTR_CREATED,
  CTR_RUNNING,
  CTR_EXITED,
};

struct container_state
{
  enum container_status status;
  pid_t pid; /* PID 1 on the host while running, else 0 */
  unsigned long long pid_start;
  pid_t monitor;
  unsigned long long monitor_start;
  int exit_code;    /* CTR_EXITED */
  int64_t started;  /* unix ns, 0 if unknown */
  int64_t finished; /* unix ns, 0 if unknown */
  char *driver;     /* the one used, NULL if unknown */
  bool unrecorded;  /* exited, but killed with its monitor: no state.json */
  bool starting;    /* CTR_CREATED: `rl run` is starting it (no live state yet) */
  bool stopping;    /* `rl stop`, `rl kill` or `rl rm -f` asked it to end: no restart */
  bool restarting;  /* running: PID 1 ended, its monitor is about to start it again
                       (exit_code and finished are the last run's) */
  int restarts;     /* how often the monitor restarted it */
};

void container_state_clear (struct container_state *s);
const char *container_status_name (enum container_status s);

/* Start time of a process (field 22 of /proc/PID/stat); false if gone. */
bool proc_start_time (pid_t pid, unsigned long long *out);
/* Is pid alive and still the process that started at start? */
bool proc_alive (pid_t pid, unsigned long long start);

/* Wait up to timeout_ms for the process to end; true if it is gone. */
bool proc_wait_gone (pid_t pid, unsigned long long start, int timeout_ms);
/* Send sig to the container's PID 1 (through a pidfd, checked against
 * its start time); a PID 1 that is already gone is not an error. */
int container_signal (const struct container_state *s, int sig, rl_error_t *err);
/* The runroot's mark `stopping`: the container was asked to stop (rl stop,
 * rl kill, rl rm -f), so its monitor does not restart it; rl start removes
 * it. */
void container_mark_stopping (struct rl_store *st, const char *id);

/* A random "adjective_noun" name as Docker makes them. */
char *container_random_name (void);

/* Create the record: a new id (or c->id, when the caller chose it), the name reserved (c->name
 * NULL: a random one), containers/ID/ and its config.json.  Fills c->id (and c->name) and returns
 * an O_DIRECTORY fd on the container's store directory. */
int container_create (struct rl_store *st, struct rl_container *c, rl_error_t *err);
/* A new container has the file `created` until it first runs (except one
 * that `rl run` starts at once: killed before its start, it shows exited):
 * container_started() removes it and an old exit record, once the live
 * state says it runs. */
void container_started (int ctrfd);
int container_load (struct rl_store *st, const char *id, struct rl_container *c, rl_error_t *err);
/* The state from the runroot's live file, state.json and /proc.  A container
 * whose monitor and PID 1 are both gone without an exit record was killed
 * with its monitor (SIGKILL through PR_SET_PDEATHSIG): it is exited, 137. */
int container_get_state (struct rl_store *st, const char *id, struct container_state *s,
                         rl_error_t *err);
/* Write the runroot's live file (atomically). */
int container_write_live (struct rl_store *st, const char *id, const struct container_state *s,
                          rl_error_t *err);
/* Write state.json (atomically) and drop the runroot's live file (kept
 * when s->restarting: the monitor is about to start it again). */
int container_write_exit (struct rl_store *st, const char *id, const struct container_state *s,
                          rl_error_t *err);

/* Full ids of all containers (with a config.json), sorted by creation. */
int container_list (struct rl_store *st, char ***ids, rl_error_t *err);
/* A name, full id or unambiguous id prefix -> full id. */
int container_resolve (struct rl_store *st, const char *ref, char **id, rl_error_t *err);

/* Give container id (full) the name new_name: the new name is reserved in
 * names/ first (refused when taken), then config.json rewritten, then the
 * old name dropped, all under the store lock.  The caller checks that the
 * name is well-formed. */
int container_rename (struct rl_store *st, const char *id, const char *new_name, rl_error_t *err);

/* Ids of the containers (any state) created from image_id (hex). */
int containers_using_image (struct rl_store *st, const char *image_id, char ***ids,
                            rl_error_t *err);
/* Remove a container by full id: refuses a running one unless force (which
 * kills it first); unmounts and deletes its files. */
int container_remove (struct rl_store *st, const char *id, bool force, rl_error_t *err);
/* Delete containers/ID of the store, its runroot directory and its name.
 * When files of subordinate ids deny a plain removal, it is retried inside
 * the user namespace: in a child that joins userns_fd (an fd on the
 * container's /proc/PID/ns/user, held by the monitor of a --rm container
 * or by rm -f from before the kill: no setuid helper needed), or when that
 * is -1, in a new one through userns_run(). */
int container_delete_files (struct rl_store *st, const char *id, const char *name, int userns_fd,
                            rl_error_t *err);
/* The name index (the store's names/, open as namesfd): make name a link
 * to id (symlinkat's result), and read the id a name gives (false when
 * there is none). */
int container_name_link_create (int namesfd, const char *name, const char *id);
bool container_name_link_read (int namesfd, const char *name, char id[CONTAINER_ID_LEN + 1]);
/* The child that removes a --rm container's files: cloned ahead (while
 * the container sets itself up, when rl has time), it waits for
 * container_delete_background's word, and without it does nothing.  hold
 * (or -1) is an fd it keeps until that word and closes first: given the
 * container's mount namespace, the remover takes down its mounts rather
 * than the exit of the container's PID 1, for which rl waits. */
struct container_remover
{
  pid_t pid; /* -1: none yet */
  int fd;
};
void container_remover_start (struct rl_store *st, const char *id, int hold,
                              struct container_remover *r);
/* The same as container_delete_files for a --rm container in the
 * foreground, whose rl must return the command's status without waiting
 * out the removal (on a file system mounted with discard each directory
 * removed waits for the disk): the record and the name go at once, the
 * record moving to the store's tmp/ (see store/tmp.h), and r's child
 * (cloned now if none was) removes the files and the runroot directory
 * (nothing reads it without the record).  The caller must be able to
 * remove every one of them (root of the container's user namespace, or
 * real root). */
int container_delete_background (struct rl_store *st, const char *id, const char *name,
                                 struct container_remover *r, rl_error_t *err);

#endif
