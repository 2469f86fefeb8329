/*
 * ipclab.h — the small C shim under IPC Lab.
 *
 * What lives in C, because Swift cannot (or must not) do it:
 *  - the event ring: the fixed layout shared by every process of a run, and
 *    the async-signal-safe functions that record into it (a signal handler
 *    records its own delivery; a process killed mid-call keeps what it wrote);
 *  - wrappers for what Swift's Glibc import cannot call: clone with namespace
 *    flags, unshare/setns, prctl, the W* status macros, pipe2, errno names;
 *  - signal handlers and everything else that must be async-signal-safe;
 *  - one header per mechanism (ipclab_pipes.h, _signals.h, _shm.h, _sem.h,
 *    _mq.h, _sockets.h), the seccomp filter and probes (_seccomp.h), the
 *    resource limits (_limits.h) and the measurement loops (_bench.h).
 *
 * Every function is prefixed `ipclab_`.
 */
#ifndef IPCLAB_H
#define IPCLAB_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/* ---------------------------------------------------------------------------
 * The event ring
 *
 * One shared mapping per run (a memfd made by the server before the run's
 * processes exist):  [header | records[capacity] | plan bytes]
 * A record is claimed with an atomic fetch-add on `next`, filled, then
 * published by storing `state` with release order. A call that can block is
 * claimed when it starts (state BEGUN) and completed when it returns
 * (state DONE), so a process killed while blocked still shows the call.
 *
 * Every process of a run can write the whole mapping. Nothing in it bounds a
 * read: the records' offset is a constant, each recorder copies the capacity
 * when it binds (before any participant runs), and the server keeps its own
 * copy of the layout and checks the header and each record it copies out.
 * ------------------------------------------------------------------------- */

#define IPCLAB_RING_MAGIC 0x52435049u /* "IPCR" little-endian */
#define IPCLAB_RING_VERSION 1u
#define IPCLAB_CALL_MAX 24
#define IPCLAB_PAYLOAD_MAX 64
#define IPCLAB_ARGS_MAX 8
#define IPCLAB_PROCESSES_MAX 16
/* Records at the end of the ring that only the run's init may claim (reaps, the outcome). */
#define IPCLAB_INIT_RESERVE 256

/** What a record is. */
enum ipclab_record_kind {
    IPCLAB_REC_EVENT = 1,   /* a system call made by a participant */
    IPCLAB_REC_OBJECT = 2,  /* a snapshot of kernel-object state */
    IPCLAB_REC_START = 3,   /* a participant began: args[0]=ppid */
    IPCLAB_REC_REAP = 4,    /* a process was reaped: args = pid, status, utime_ns, stime_ns (the reaper is the record's process) */
    IPCLAB_REC_SETUP = 5,   /* one sandbox set-up operation, by init */
    IPCLAB_REC_SIGNAL = 6,  /* a signal delivered to a handler */
    IPCLAB_REC_NOTE = 7,    /* a message from the runner (e.g. a step it could not run) */
};

/** Record states. */
enum ipclab_record_state {
    IPCLAB_STATE_FREE = 0,
    IPCLAB_STATE_BEGUN = 1,
    IPCLAB_STATE_DONE = 2,
};

/** How the run ended, written by the run's init into the header. */
enum ipclab_outcome {
    IPCLAB_OUTCOME_RUNNING = 0,
    IPCLAB_OUTCOME_OK = 1,
    IPCLAB_OUTCOME_TIMEOUT = 2,
    IPCLAB_OUTCOME_LIMIT = 3,
    IPCLAB_OUTCOME_ERROR = 4,
};

typedef struct ipclab_record {
    uint32_t state;                    /* enum ipclab_record_state, atomic */
    uint16_t kind;                     /* enum ipclab_record_kind */
    int16_t process;                   /* participant index; -1 for init */
    int32_t pid;                       /* pid inside the run's PID namespace */
    int32_t step;                      /* step index in the process, -1 if none */
    int64_t t_begin;                   /* ns since the run's t0 (CLOCK_MONOTONIC) */
    int64_t t_end;                     /* ns since t0; equal to t_begin for instants */
    int64_t result;                    /* what the kernel returned */
    int32_t err;                       /* errno, 0 if none */
    uint32_t payload_len;              /* bytes the call moved (may exceed the preview) */
    int64_t args[IPCLAB_ARGS_MAX];     /* call-specific; named by the Swift side */
    char call[IPCLAB_CALL_MAX];        /* NUL-terminated call name */
    uint8_t payload[IPCLAB_PAYLOAD_MAX]; /* first bytes of the payload */
} ipclab_record;

/** The resource limits a run is under (server → spawner → init, through the ring header). */
typedef struct ipclab_run_limits {
    int64_t wall_ms;
    int64_t cpu_ms;        /* CPU time each process may use */
    int64_t memory_bytes;  /* memory cgroup limit of the whole run */
    int64_t processes;     /* processes at once, the run's init not counted */
    int64_t open_files;    /* RLIMIT_NOFILE */
    int64_t file_bytes;    /* RLIMIT_FSIZE */
} ipclab_run_limits;

/** Bits of ipclab_run_evidence.cgroups. */
#define IPCLAB_CGROUP_PIDS 1
#define IPCLAB_CGROUP_MEMORY 2
#define IPCLAB_CGROUP_COLLECTED 4

/** The kernel's accounting of a run, read by the spawner from the run's cgroups after its init is reaped. */
typedef struct ipclab_run_evidence {
    int32_t cgroups;           /* IPCLAB_CGROUP_* bits: which cgroups held the run; COLLECTED once read */
    int32_t reserved;
    int64_t pids_max_events;   /* forks the pids cgroup refused at pids.max (the "max" of pids.events) */
    int64_t memory_failcnt;    /* charges that hit the memory limit (memory.failcnt) */
    int64_t memory_oom_kills;  /* processes the OOM killer ended (oom_kill of memory.oom_control) */
    int64_t memory_peak;       /* the run's peak memory charge (memory.max_usage_in_bytes) */
    int64_t attach_ns;         /* what attaching the run to its cgroups cost the spawner */
} ipclab_run_evidence;

typedef struct ipclab_ring_header {
    uint32_t magic;
    uint32_t version;
    uint32_t capacity;        /* number of records */
    uint32_t records_offset;  /* byte offset of records[0]: always ipclab_ring_records_offset(), checked, never followed */
    uint64_t next;            /* atomic: next record index to claim */
    uint64_t dropped;         /* atomic: records lost because the ring was full */
    int64_t t0;               /* CLOCK_MONOTONIC ns at run start, set by init */
    int64_t t_end;            /* ns since t0 when init finished */
    int32_t outcome;          /* enum ipclab_outcome, set by init */
    int32_t failed_errno;     /* errno of a set-up step that failed */
    uint32_t plan_offset;     /* byte offset of the plan (scenario JSON) */
    uint32_t plan_length;
    uint64_t plan_capacity;
    int32_t participants;     /* how many processes the plan has */
    int32_t reserved0;
    char failure[128];        /* what failed, when outcome is ERROR */
    int32_t pids[IPCLAB_PROCESSES_MAX]; /* atomic: each participant's pid, by index, once started */
    ipclab_run_limits limits;     /* written by the server before the run (see ipclab_limits.h) */
    ipclab_run_evidence evidence; /* written by the spawner once the run's init is reaped */
} ipclab_ring_header;

/** Size in bytes of a ring of `capacity` records with room for a plan of `plan_capacity` bytes. */
size_t ipclab_ring_size(uint32_t capacity, uint32_t plan_capacity);

/** Initialises a ring header in a zeroed mapping. Not async-signal-safe; call before the run. */
void ipclab_ring_init(void *base, uint32_t capacity, uint32_t plan_capacity);

/** Byte offset of records[0] in every ring (a constant: the header's `records_offset` is not read back). */
size_t ipclab_ring_records_offset(void);

/** Returns record `index` of a ring. No bounds check: the caller checks `index` against a capacity it owns. */
ipclab_record *ipclab_ring_record(void *base, uint32_t index);

/** Number of records claimed so far (the header's `next`), capped at `capacity`, which the caller owns. */
uint32_t ipclab_ring_claimed(const void *base, uint32_t capacity);

/** Atomically loads a record's state (acquire). */
uint32_t ipclab_record_state(const ipclab_record *record);

/* --- recording, from inside a run (all async-signal-safe) ----------------- */

/**
 * Binds this process's recorder to a ring mapped at `base` for `size` bytes; `process` is its
 * participant index (-1 for init). The ring's capacity is copied here, once, and checked against
 * `size`: the header is shared with the whole run, which may overwrite it. Binding again to the
 * same mapping (a forked participant) keeps the copy made first. Returns -1 (and records nothing
 * from then on) when the header does not describe a ring that fits the mapping.
 */
int ipclab_recorder_bind(void *base, size_t size, int process);

/** The capacity copied when this process bound its ring (0 when unbound). */
uint32_t ipclab_recorder_capacity(void);

/** Sets the ring's t0 to now. Called once, by the run's init. */
void ipclab_recorder_start_clock(void);

/** Nanoseconds since the run's t0. */
int64_t ipclab_now_ns(void);

/** Claims a record and marks it begun; returns its index or UINT32_MAX when the ring is full. */
uint32_t ipclab_begin(uint16_t kind, const char *call, int32_t step,
                      const int64_t *args, int nargs);

/** Completes a begun record with the kernel's answer and an optional payload. */
void ipclab_end(uint32_t index, int64_t result, int32_t err,
                const void *payload, size_t payload_len);

/** Records an instantaneous record (begin and end at once). */
uint32_t ipclab_record_now(uint16_t kind, const char *call, int32_t step,
                           const int64_t *args, int nargs,
                           int64_t result, int32_t err,
                           const void *payload, size_t payload_len);

/** The call name of the one set-up record (kind IPCLAB_REC_SETUP) that stands for the operations a ready
 *  init did ahead, each named by ipclab_setup_ahead_name: args[0] has a bit per operation done (bit i:
 *  name i; they are done in that order), args[1] the bits of those that failed (result -1), and
 *  args[2…] the errno of each that failed, in order. The server expands it into one operation each
 *  (TraceBuilder); an init with another operation or result records them one by one as before. */
#define IPCLAB_SETUP_AHEAD_CALL "set-up done ahead"

/** The name of operation `index` a ready init may do ahead (setup.c), NULL past the last. */
const char *ipclab_setup_ahead_name(int index);

/** Publishes this process's pid under its participant index (called by each participant at start). */
void ipclab_publish_pid(int index, int32_t pid);

/** The pid of participant `index` (inside the run's PID namespace), or 0 if it has not started yet. */
int32_t ipclab_participant_pid(int index);

/** Writes the run's outcome (and, for errors, what failed) into the header. */
void ipclab_ring_finish(int32_t outcome, int32_t err, const char *failure);

/* ---------------------------------------------------------------------------
 * Processes and namespaces
 * ------------------------------------------------------------------------- */

/** The CLONE_* flags Swift cannot see. */
extern const int ipclab_CLONE_NEWUSER;
extern const int ipclab_CLONE_NEWPID;
extern const int ipclab_CLONE_NEWIPC;
extern const int ipclab_CLONE_NEWNS;
extern const int ipclab_CLONE_NEWUTS;
extern const int ipclab_CLONE_NEWNET;
/** The new process's parent is the caller's parent (a slot's forker cloning the spawner's run inits). */
extern const int ipclab_CLONE_PARENT;

/**
 * `clone(flags | SIGCHLD)` with no new stack: returns twice like fork().
 * Only for a single-threaded caller. Returns the child's pid, 0 in the child, -1 on error.
 */
pid_t ipclab_fork_into(int flags);

/**
 * ipclab_fork_into(flags) with the effective uid and gid set to `euid`/`egid` for the clone only
 * (the real and saved ids stay root, so the caller gets root back at once): a user namespace made by
 * the clone is then owned by `euid`, and the kernel charges what the run holds under per-user
 * limits (RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE, RLIMIT_NPROC) to `euid` on the host, not to root.
 * The caller is dumpable again afterwards and its parent-death signal is set to `deathsig` again
 * (a change of credentials clears both). -1 and errno when the ids could not be taken or the clone
 * failed. Only for a single-threaded caller that is root.
 */
pid_t ipclab_fork_into_as(int flags, uid_t euid, gid_t egid, int deathsig);

/** unshare(2). */
int ipclab_unshare(int flags);

/** setns(2). */
int ipclab_setns(int fd, int nstype);

/** setresuid(id, id, id) and setresgid(id, id, id) (GNU extensions). */
int ipclab_setresuid(uid_t id);
int ipclab_setresgid(gid_t id);

/** prctl(PR_SET_PDEATHSIG, sig). */
int ipclab_set_parent_death_signal(int sig);

/** getpriority(PRIO_PROCESS, pid) into `nice`: 0, or -1 with errno. */
int ipclab_get_nice(pid_t pid, int *nice);

/** setpriority(PRIO_PROCESS, pid, nice): 0, or -1 with errno. */
int ipclab_set_nice(pid_t pid, int nice);

/** Whether the caller may raise a process's priority again (CAP_SYS_NICE in its effective set). */
int ipclab_can_raise_priority(void);

/** The CPUs the caller may run on now (sched_getaffinity), kept as the set ipclab_leave_run_core puts
 *  a runner back to; answers the last of them, or -1 when there are fewer than two (or on error). */
int ipclab_choose_run_core(void);

/** sched_setaffinity(pid) to CPU `core` alone. */
int ipclab_keep_to_core(pid_t pid, int core);

/** Keeps the CPUs the caller may run on now (a ready init, before the spawner may keep it to the run
 *  core at its go), for ipclab_restore_cores in the run's first process. */
int ipclab_save_cores(void);

/** The caller back to the CPUs ipclab_save_cores kept (nothing if it kept none): a run's processes have
 *  the cores the server gave the sandbox, whichever its init keeps to. */
int ipclab_restore_cores(void);

/** Makes the kernel forget the other cores this process ran on (a ready init, kept to the run core after
 *  its first steps elsewhere), so that its fork at its go interrupts none of them to flush its TLB: one
 *  such interrupt now, while it waits, off the run's path. Nothing for a caller not kept to one core of
 *  the several ipclab_save_cores kept (nothing either before that call). 0, or -1 with errno. */
int ipclab_forget_other_cores(void);

/** Process `pid` (0: the caller) back to the set ipclab_choose_run_core kept, if it chose a core (a
 *  runner between its fork from the spawner and its exec; an init kept to the core that runs beside
 *  others); else nothing. Async-signal-safe. */
void ipclab_leave_run_core(pid_t pid);

/** prctl(PR_SET_CHILD_SUBREAPER, 1). */
int ipclab_set_child_subreaper(void);

/** prctl(PR_SET_DUMPABLE, 1). */
int ipclab_set_dumpable(void);

/** prctl(PR_SET_NAME, name). */
int ipclab_set_process_name(const char *name);

/** pipe2(fds, flags). */
int ipclab_pipe2(int fds[2], int flags);
/** A close-on-exec, non-blocking semaphore eventfd counting from 0 (eventfd(2)): what a run's init
 *  says its finish on, one unit to each reader (the server and the spawner). */
int ipclab_eventfd(void);

/** memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING). */
int ipclab_memfd(const char *name);

/** Seals a memfd's size (F_SEAL_SHRINK, F_SEAL_GROW) and its seals (F_SEAL_SEAL): no process holding
 *  it can truncate it under another's mapping (a read past its end would be SIGBUS). */
int ipclab_memfd_seal_size(int fd);

/** fcntl(fd, cmd, arg) with an int argument (F_SETPIPE_SZ, F_SETFL, ...). */
int ipclab_fcntl_int(int fd, int cmd, int arg);

/** fcntl(fd, cmd) with no argument (F_GETPIPE_SZ, F_GETFL, ...). */
int ipclab_fcntl(int fd, int cmd);

/** ioctl(fd, FIONREAD): bytes waiting to be read, or -1. */
int ipclab_bytes_readable(int fd);

extern const int ipclab_F_GETPIPE_SZ;
extern const int ipclab_F_SETPIPE_SZ;

/** close_range(first, last, 0): closes every descriptor in the range. */
int ipclab_close_range(unsigned int first, unsigned int last);

/** mount(2). */
int ipclab_mount(const char *source, const char *target, const char *fstype,
                 unsigned long flags, const char *data);

extern const unsigned long ipclab_MS_REC;
extern const unsigned long ipclab_MS_PRIVATE;
extern const unsigned long ipclab_MS_NOSUID;
extern const unsigned long ipclab_MS_NODEV;
extern const unsigned long ipclab_MS_NOEXEC;
extern const unsigned long ipclab_MS_REMOUNT;

/** mount_setattr(path, AT_RECURSIVE, MOUNT_ATTR_RDONLY): every mount under `path` read-only. */
int ipclab_make_readonly_recursive(const char *path);

/** Blocks (how=SIG_BLOCK) or unblocks one signal in this thread's mask. */
int ipclab_sigmask_one(int how, int sig);

/** Empties this thread's signal mask. */
int ipclab_sigmask_clear(void);

/** sigtimedwait for `sig` with a timeout in nanoseconds; returns the signal, or -1 (EAGAIN on timeout). */
int ipclab_sigwait_timeout(int sig, int64_t timeout_ns);

/** Blocks `sig` and returns a non-blocking, close-on-exec signalfd that reports it (-1 on error). */
int ipclab_signalfd_for(int sig);

/** Reads and discards whatever a non-blocking signalfd holds. */
void ipclab_signalfd_drain(int fd);

/** Restores the default action of every catchable signal. */
void ipclab_reset_signal_dispositions(void);

/* --- wait status decoding (the W* macros) --------------------------------- */
int ipclab_wifexited(int status);
int ipclab_wexitstatus(int status);
int ipclab_wifsignaled(int status);
int ipclab_wtermsig(int status);
int ipclab_wcoredump(int status);
int ipclab_wifstopped(int status);
int ipclab_wstopsig(int status);
int ipclab_wifcontinued(int status);

/* --- names ---------------------------------------------------------------- */

/** "EAGAIN" for EAGAIN; NULL when the number has no name. */
const char *ipclab_errno_name(int err);

/** "SIGPIPE" for SIGPIPE, "SIGRTMIN+2" for real-time signals; NULL when unknown. Writes into buf. */
const char *ipclab_signal_name(int sig, char *buf, size_t len);

/** SIGRTMIN and SIGRTMAX as this libc defines them at run time. */
int ipclab_sigrtmin(void);
int ipclab_sigrtmax(void);

/* --- descriptor passing over a Unix socket -------------------------------- */

/** sendmsg with `nfds` descriptors as SCM_RIGHTS. Retries EINTR. */
ssize_t ipclab_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);

/** recvmsg receiving up to `maxfds` descriptors (CLOEXEC); *nfds gets how many. Retries EINTR. */
ssize_t ipclab_recv_with_fds(int sock, void *buf, size_t len, int *fds, int maxfds, int *nfds);

#endif /* IPCLAB_H */
