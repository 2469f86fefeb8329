/*
 * runner.h — what the files of the C runner (ipclab-runner) share with one another; not a
 * contract with anything outside this directory (those are ipclab.h's wire structs, which this
 * file restates where Swift declares them, runner_plan.h and participant.h).
 *
 *   main.c        argv: `ipclab-runner runner --reexec-every N` (and `check-plan`, for tests)
 *   slot.c        the runner's loop: clone run inits on the spawner's requests (docs/c-runner.md §2.1)
 *   ready.c       a cloned init until its run arrives: the control socket, go/mapped (§2.2)
 *   setup.c       the set-up operations, as data, with the Swift init's names (§3.1, §3.2 step 6-8)
 *   init.c        the run's init once the run arrived: ring, plan, limits, lockdown, first fork (§3.2)
 *   supervise.c   reaping, the wall-clock limit, the outcome and "done" (§3.2 steps 10, 12)
 *   deadlock.c    the deadlock watch (§3.2 step 11, DeadlockWatch.swift)
 *   runner_plan.c the flat plan's private copy and validation (§4.2)
 *   text.c        numbers into names and paths, without stdio
 *
 * Every path after the clone ends in _exit, never exit: a static glibc's atexit handlers and
 * stdio buffers are the parent's copies.
 */
#ifndef IPCLAB_RUNNER_RUNNER_H
#define IPCLAB_RUNNER_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>
#include "ipclab.h"
#include "runner_plan.h"

/* --- the wire (Sources/IPCLabSandbox/Spawner/SlotForker.swift, SpawnMessage.swift) ---------- */

/** SlotForker.Request: what the spawner asks of a runner (32 bytes). */
typedef struct runner_request {
    int32_t flags;          /* CLONE_NEW* flags; the runner adds CLONE_PARENT */
    int32_t user_namespace; /* the flags include CLONE_NEWUSER */
    int32_t namespaces;     /* the PID/IPC/mount/UTS flags the run has */
    int32_t network;        /* the run has a network namespace of its own */
    uint32_t uid, gid;      /* the run's host ids (0: root) */
    int32_t attached;       /* which fds follow the control socket: 1 netns, 2 pids procs, 4 memory procs */
    int32_t reexec;         /* 1: exec a fresh image, no clone */
} runner_request;

/** SlotForker.Reply (8 bytes): the init's pid, or -1 and the clone's errno; pid 0 is the hello. */
typedef struct runner_reply {
    int32_t pid;
    int32_t err;
} runner_reply;

/** GoMessage (16 bytes), on the init's control socket. */
typedef struct runner_go {
    int32_t go;             /* RUNNER_GO_* */
    int32_t pids_errno;     /* 0: the run is in its pids cgroup */
    int32_t memory_errno;   /* 0: the run is in its memory cgroup */
    uint32_t uid;
} runner_go;

/* MAPPED: the id maps are written; the init sets up what depends on no run, the last seccomp filter
 * included. MAPPED_FILTER_AT_GO: the same, but the last filter waits for go (GoMessage.mappedFilterAtGo):
 * the run's set-up after go needs what that filter refuses. */
enum { RUNNER_GO_GO = 1, RUNNER_GO_MAPPED = 2, RUNNER_GO_DONE = 3, RUNNER_GO_MAPPED_FILTER_AT_GO = 4 };

_Static_assert(sizeof(runner_request) == 32, "SlotForker.Request is 32 bytes");
_Static_assert(sizeof(runner_reply) == 8, "SlotForker.Reply is 8 bytes");
_Static_assert(sizeof(runner_go) == 16, "GoMessage is 16 bytes");

/** Fixed descriptors: the runner's request socket and home netns (SlotForker), its own
 *  executable (kept across its re-execs), the spawner's code file of its text (SlotForker.Image.codeFile,
 *  kept likewise; closed in every init), the init's control socket (RunInit.controlFD), and the
 *  eventfd on which the init tells the server that it finished (given with the go; the init's alone). */
enum {
    RUNNER_SOCKET_FD = 3, RUNNER_HOME_FD = 4, RUNNER_EXE_FD = 5, RUNNER_CODE_FD = 6,
    RUNNER_FINISH_FD = 98, RUNNER_CONTROL_FD = 99
};

/* --- the run's init --------------------------------------------------------------------------- */

/** A set-up operation done ahead of time (SetupOperation.Done): recorded once the ring is mapped. */
typedef struct setup_done {
    char name[48];
    int ahead;      /* its index among ipclab_setup_ahead_name's, -1 if none (a name with a number in it) */
    int required;
    int result;
    int err;
} setup_done;

#define RUNNER_EARLY_MAX 16

/** Everything the init knows about its run; one per init process, never shared. */
typedef struct init_state {
    int user_namespace;
    int namespaces;         /* CLONE_NEWPID | NEWIPC | NEWNS | NEWUTS, as the run has them */
    int network_namespace;
    uint32_t uid;
    runner_go go;
    setup_done early[RUNNER_EARLY_MAX];
    int nearly;
    int base_filter;        /* the seccomp base went in while the init waited */
    int late_ahead;         /* the last filter went in while the init waited (setup_prepare_ahead) */
    int late_result;        /* what installing it returned, and its errno */
    int late_errno;
    int seccomp_mode;       /* the kernel's word once the last filter is in (-1: unknown; setup.c) */
    int seccomp_filters;
    int filters_stacked;    /* filters this init attached itself (each a seccomp() that returned 0) */
    int confine_each;       /* each participant stacks its own process_vm filter (setup_lockdown) */
    void *ring;
    size_t ring_size;
    ipclab_run_limits limits; /* the init's own copy: the header is the run's to write */
    runner_plan plan;
    pid_t first;            /* participant 0 */
} init_state;

/** slot.c: the runner's loop; never returns. */
_Noreturn void runner_serve(int reexec_every, int base_filter_held);

/** Whether this process (the runner, or a ready init it cloned) holds the seccomp base, installed
 *  once per runner image (slot.c): a ready init then installs only the late filter. */
extern int runner_base_filter;

/** The `Seccomp_filters:` line of this runner image's /proc/self/status, read once at its start
 *  (after its base), or -1 when it could not be read: every init cloned from here starts with that
 *  many filters (slot.c, setup.c). */
extern int runner_seccomp_filters;

/** ready.c: a just-cloned init (fds as the runner left them); never returns. */
_Noreturn void ready_wait_for_run(int control, int pids_procs, int memory_procs, const runner_request *request);

/** setup.c: the run-independent set-up (RunInit.prepareAhead), filling `s->early`; with
 *  `filter_ahead`, the last seccomp filter too (it refuses every process process_vm_readv/writev and
 *  any mount: only for a run that needs neither, which the spawner sees to). */
void setup_prepare_ahead(init_state *s, int filter_ahead);
/** setup.c: records `s->early` in order; ends the run at a failed required one. */
void setup_record_early(init_state *s);
/** setup.c: the run's limits (SetupOperation.limits), each performed and recorded. */
void setup_limits(init_state *s);
/** setup.c: the child subreaper (without a PID namespace only). */
void setup_reaper(init_state *s);
/** setup.c: no_new_privs, dumpable off, the seccomp filter, the `seccomp` record, SIGCHLD blocked. */
void setup_lockdown(init_state *s);

/** init.c: the run's init once go arrived with the ring on `ring_fd`; never returns. */
_Noreturn void init_run(init_state *s, int ring_fd);
/** init.c: whether the run has a PID namespace of its own. */
int init_has_pid_namespace(const init_state *s);
/** init.c: ns since the run's clock started, by the init's own t0. */

/** supervise.c */
_Noreturn void supervise_until_done(init_state *s);
_Noreturn void init_finish(init_state *s, int outcome);
_Noreturn void init_fail(init_state *s, const char *what, int err);
_Noreturn void init_say_done(void);
/** Reaps what has exited (a REAP record each); 1 once no child is left. */
int init_reap(int blocking);
void init_kill_run(const init_state *s);

/** deadlock.c: DeadlockWatch. */
#define DEADLOCK_QUIET_NS 20000000LL
#define DEADLOCK_CONFIRM_NS 10000000LL
#define DEADLOCK_TICK_NS 10000000LL

typedef struct deadlock_watch {
    void *ring;
    int participants;
    int enabled;
    uint32_t last_count;
    int64_t quiet_since;
    int has_candidate;
    int64_t candidate[IPCLAB_PROCESSES_MAX]; /* record index per process, -1: not blocked */
    int64_t candidate_at;
} deadlock_watch;

void deadlock_init(deadlock_watch *w, void *ring, const runner_plan *plan);
/** 1 when a deadlock is confirmed: `blocked` (record index per process, -1 none) filled. */
int deadlock_check(deadlock_watch *w, int64_t now, int64_t blocked[IPCLAB_PROCESSES_MAX]);

/* --- small helpers (no stdio: the init never uses it) --------------------------------------- */

/** Appends the decimal `value` to the NUL-terminated `buf` of `size` bytes (truncating). */
void runner_append_u64(char *buf, size_t size, uint64_t value);
/** Appends the decimal `value`, signed. */
void runner_append_i64(char *buf, size_t size, int64_t value);
/** Appends `text` to the NUL-terminated `buf` of `size` bytes (truncating). */
void runner_append(char *buf, size_t size, const char *text);

#endif
