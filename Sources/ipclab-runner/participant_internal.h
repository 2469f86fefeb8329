/*
 * participant_internal.h — what the participant's files share (participant*.c): the process's own
 * state (which participant it is, its descriptors for each channel, the pids of the processes it
 * forked) and the recording helpers, the C faces of IPCLabSandbox/Ring/Recorder.swift.
 *
 * One participant per process: the state is a single global, copied by fork into each child, which
 * then resets what is not its own (participant.c). Nothing here allocates or uses stdio: a signal
 * handler (signals.c) may interrupt any of it and record from inside.
 */
#ifndef IPCLAB_RUNNER_PARTICIPANT_INTERNAL_H
#define IPCLAB_RUNNER_PARTICIPANT_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>
#include "ipclab.h"
#include "ipclab_plan.h"
#include "runner_plan.h"

/** A record index that names no record (the ring was full): Recorder.none. */
#define PARTICIPANT_NO_RECORD UINT32_MAX

/** Upper bound on iterations of `read_all` and `fill` (Participant.loopLimit). */
#define PARTICIPANT_LOOP_LIMIT 65536

/** What one process holds for one pipe or FIFO channel (ChannelEnds): -1 closed, or never opened. */
typedef struct participant_ends {
    int read;
    int write;
} participant_ends;

/* shared memory and semaphores */
/** What one process holds for a shared-memory or semaphore channel (ChannelEnds' handle, address,
 *  size): the SysV id or POSIX descriptor (-1: none), and where the region or semaphore is mapped here
 *  (NULL: not mapped, or closed). Set by the channel's creation (participant_create_shm_channel). */
typedef struct participant_region {
    int64_t handle;
    void *address;
    int64_t size;
} participant_region;

typedef struct participant {
    const runner_plan *plan;
    int index;
    int confine_each;       /* participant_start's: each process stacks its own process_vm filter */
    /* This process's descriptors, by channel index. */
    participant_ends ends[IPCLAB_PLAN_CHANNELS_MAX];
    /* Pids of the processes this one forked, by process index (0 where it forked none). */
    pid_t children[IPCLAB_PLAN_PROCESSES_MAX];
    /* signals, sandbox probes, measurements */

    /* shared memory and semaphores */
    participant_region regions[IPCLAB_PLAN_CHANNELS_MAX];

    /* send, message queues and sockets */
    /* Per message-queue or socket channel (ChannelEnds.handle and .size): a queue's System V id or POSIX
     * descriptor, or the socket this process made; `msg_flag` is a POSIX descriptor's O_NONBLOCK as last
     * set, or 1 once a socket is connected. A socket's accepted connection is ends[c].read, a socketpair's
     * second end ends[c].write. */
    int64_t msg_handle[IPCLAB_PLAN_CHANNELS_MAX];
    int msg_flag[IPCLAB_PLAN_CHANNELS_MAX];
    /* One word per channel that bind/listen set and wait_ready waits on (a shared page, NULL: none). */
    uint32_t *socket_ready;

    /* The ring as the init mapped it (ipclab_ring_record of an own record, to amend its args). */
    void *ring;
    size_t ring_size;
    int64_t cpu_ms;
} participant;

/** This process's participant. */
extern participant participant_self;

/* --- recording (Recorder.swift); `step` -1: none ---------------------------------------------- */

/** Recorder.call's outcome: what the call returned, the errno it left (0 unless it failed), its record. */
typedef struct participant_outcome {
    int64_t result;
    int err;
    uint32_t slot;
} participant_outcome;

/** Claims an EVENT record for a call that is starting (Recorder.begin). */
uint32_t participant_begin(const char *call, int step, const int64_t *args, int nargs);

/** Completes it; `payload` is the buffer the call moved bytes through, of which `moved` are kept
 *  (none when the call failed: Recorder.shown). */
void participant_end(uint32_t slot, int64_t result, int err, const void *payload, int64_t moved);

/** An EVENT recorded once the call returned (Recorder.returned / instant). */
uint32_t participant_instant(const char *call, int step, const int64_t *args, int nargs,
                             int64_t result, int err);

/** Record `slot` of the ring, to amend its arguments in place; NULL for PARTICIPANT_NO_RECORD. */
ipclab_record *participant_record(uint32_t slot);

/** The NUL-terminated text of a plan's string; "" for an empty one (its offset may name any string). */
static inline const char *participant_string(ipclab_plan_str s) {
    return s.length ? runner_plan_string(participant_self.plan, s) : "";
}

/* --- the participant ---------------------------------------------------------------------------- */

/** The pid of participant `process`, waiting in 50 µs sleeps until it has started (-1: no such process). */
pid_t participant_pid_of(int process);

/** `_exit(2)`: recorded as begun and never completed, because it never returns. */
_Noreturn void participant_exit(int code, int step);

/* --- the families (participant_process.c, participant_pipes.c, participant_stage.c) ------------- */

void participant_run_process_step(const ipclab_plan_step *s, int step);
void participant_run_pipe_step(const ipclab_plan_step *s, int step);
/* signals, sandbox probes, measurements */
void participant_run_signal_step(const ipclab_plan_step *s, int step);
void participant_run_sandbox_step(const ipclab_plan_step *s, int step);
void participant_run_bench_step(const ipclab_plan_step *s, int step);

/* shared memory and semaphores: participant_shm.c, participant_increment.c, participant_sem.c */
void participant_create_shm_channel(int c);
void participant_run_shm_step(const ipclab_plan_step *s, int step);
void participant_create_sem_channel(int c);
void participant_run_sem_step(const ipclab_plan_step *s, int step);
/** An address as the records carry it (Swift's Int64(Int(bitPattern:))). */
static inline int64_t participant_address(const void *p) { return (int64_t)(intptr_t)p; }
/** The region's base in this process, or NULL and a NOTE `not mapped` (EFAULT). */
void *participant_shm_mapped(int c, int step);
/** One recorded 8-byte load (`load_int`) at `offset`; 0 and `*value`, or -1 when not mapped. */
int participant_shm_load_int(int c, int64_t offset, int step, int64_t *value);
/** One recorded 8-byte store (`store_int`) at `offset`. */
void participant_shm_store_int(int c, int64_t offset, int64_t value, int step);
/** `mknod` (if missing) and `ftok` of `path`, recorded; 0 and `*key`, or -1. */
int participant_make_key(int c, const char *path, int64_t id, int step, int32_t *key);
/** `mmap(2)` recorded under channel `c`: the mapping or NULL, and its record in `*slot`. */
void *participant_map(int c, int64_t length, int prot, int flags, int fd, void *address, int step, uint32_t *slot);
/** P and V on semaphore channel `c` (sem_wait / semop -1, sem_post / semop +1); the call's result. */
int participant_sem_wait(int c, int nowait, int step);
int participant_sem_post(int c, int step);
void participant_increment(const ipclab_plan_step *s, int step);
void participant_barrier(const ipclab_plan_step *s, int step);

/* send, message queues and sockets */
void participant_run_send_step(const ipclab_plan_step *s, int step);
void participant_run_mq_step(const ipclab_plan_step *s, int step);
void participant_run_socket_step(const ipclab_plan_step *s, int step);
/** `msgget(2)` or `mq_open(3)` of channel `c` before anyone forks (step -1). */
void participant_create_mq_channel(int c);
/** `socketpair(2)` of channel `c` before anyone forks; the shared page wait_ready uses, once. */
void participant_create_socket_channel(int c);
/** `send` on a queue (participant_mq.c) or a socket (participant_sockets.c): `bytes`, `len`, as the step says. */
void participant_send_to_queue(const ipclab_plan_step *s, const void *bytes, int64_t len, int step);
void participant_send_to_socket(const ipclab_plan_step *s, const void *bytes, int64_t len, int step);


/** `pipe(2)` or, made before fork, `mkfifo(3)` of channel `c` (step -1). */
void participant_create_pipe_channel(int c);

/** `mkfifo(3)` of FIFO channel `c`'s path, mode 0600. */
void participant_make_fifo(int c, int step);

/** One `write(2)` of `len` bytes at `bytes` to `fd`, recorded under channel `c` (-1 none), with the
 *  pipe's snapshot after it when `c` names one. */
participant_outcome participant_write_fd(int fd, int c, const void *bytes, int64_t len, int step);

/** One `read(2)` of up to `size` bytes from `fd` into `buffer`, recorded as participant_write_fd is. */
participant_outcome participant_read_fd(int fd, int c, void *buffer, int64_t size, int step);

/** `close(2)` of one end of channel `c`, which then holds -1 there. */
void participant_close_end(int c, int end, int step);

/** Records the bytes waiting in a pipe (FIONREAD) and its capacity, after record `slot`. */
void participant_snapshot(int c, uint32_t slot);

/** A pipeline's built-in program on fds 0 and 1 (Participant+Stages.swift). */
void participant_run_stage(const ipclab_plan_step *s, int step);

/** `dup2(2)` of an end of channel `c` onto `fd`, then `close(2)` of the original. */
void participant_dup2(int c, int end, int fd, int step);

/** A buffer of `n` bytes 'a' + i % 26 (PipeStep.Data.size), n ≤ 1 MiB; valid until the next call. */
const uint8_t *participant_size_data(int64_t n);

/** The scratch buffer reads land in, PARTICIPANT_BUFFER_BYTES long, mapped on first use (NULL if that failed). */
#define PARTICIPANT_BUFFER_BYTES (1 << 20)
uint8_t *participant_buffer(void);

/* --- the jitter of a perturbed schedule ---------------------------------------------------------- */

/** IPCLabCore/Grading/JitterGenerator.swift, exactly: SplitMix64 seeded by (seed, process index), so
 *  that a run's `schedule` replays the same delays under either runner. */
typedef struct participant_jitter {
    uint64_t state;
    uint64_t bound;
} participant_jitter;

/** Delays in [0, jitter_us] µs for process `process` of a run with `seed`. */
static inline participant_jitter participant_jitter_make(int64_t seed, int process, int64_t jitter_us) {
    participant_jitter j;
    j.state = ((uint64_t)seed * 0x9E3779B97F4A7C15ull) ^ (((uint64_t)process + 1) * 0xD1B54A32D192ED03ull);
    j.bound = (uint64_t)(jitter_us > 0 ? jitter_us : 0) + 1;
    return j;
}

/** The next delay in microseconds. */
static inline uint64_t participant_jitter_next(participant_jitter *j) {
    j->state += 0x9E3779B97F4A7C15ull;
    uint64_t z = j->state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z % j->bound;
}

#endif
