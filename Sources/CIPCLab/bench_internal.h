/* bench_internal.h — what bench.c (throughput) and bench_latency.c share: the sync region's control
 * block, its barrier and futex waits, time and CPU time, records, and TCP connections. Not exported. */
#ifndef IPCLAB_BENCH_INTERNAL_H
#define IPCLAB_BENCH_INTERNAL_H

#include <semaphore.h>
#include <stdint.h>

#include "ipclab_bench.h"

#define HIDDEN __attribute__((visibility("hidden")))

/* The sync region's control block. */
typedef struct bench_control {
    uint32_t arrived;               /* barrier: arrivals so far (a futex word) */
    uint32_t reserved0;
    int32_t pid[2];                 /* by role */
    int32_t cpu[2];                 /* sched_getcpu at the end of the phase, by role */
    int64_t user_ns[2];             /* CPU time in the phase, by role */
    int64_t system_ns[2];
    int32_t running_on[2];          /* the CPU each side last saw itself on, before it waited */
    /* The ring: the writer's position (bytes published) and the reader's (bytes consumed).
     * Each has a 32-bit copy of its low bits as the futex word the other side sleeps on. */
    _Alignas(64) uint64_t head;
    uint32_t head_word;
    uint32_t reader_waiting;
    _Alignas(64) uint64_t tail;
    uint32_t tail_word;
    uint32_t writer_waiting;
    /* Latency over shared memory: a sequence number per direction and a message slot each. */
    _Alignas(64) uint32_t ping_seq;
    uint32_t ponger_waiting;
    uint8_t ping_message[IPCLAB_BENCH_MESSAGE_BYTES];
    _Alignas(64) uint32_t pong_seq;
    uint32_t pinger_waiting;
    uint8_t pong_message[IPCLAB_BENCH_MESSAGE_BYTES];
    _Alignas(64) sem_t ping_sem;
    sem_t pong_sem;
} bench_control;

_Static_assert(sizeof(bench_control) <= IPCLAB_BENCH_CONTROL_BYTES, "the control block fits its page");

typedef struct cpu_times { int64_t user_ns, system_ns; } cpu_times;

/* futex(2) on a word of the shared page (FUTEX_WAIT or FUTEX_WAKE). */
HIDDEN long ipclab_bench_futex(uint32_t *word, int op, uint32_t value);
/* Waits while *word == value (spins first unless the other side last ran on this CPU). */
HIDDEN void ipclab_bench_wait_while(bench_control *c, int me, uint32_t *word, uint32_t *waiting, uint32_t value);
/* Publishes a new value of a futex word; wakes the other side if it sleeps on it. */
HIDDEN void ipclab_bench_announce(uint32_t *word, uint32_t *waiting, uint32_t value);
/* Both processes arrive, then both go on. */
HIDDEN void ipclab_bench_barrier(bench_control *c);
/* Pins this process as spec->cpu asks (nothing when it is negative); records a failure. */
HIDDEN void ipclab_bench_pin(const ipclab_bench_spec *s);
HIDDEN int64_t ipclab_bench_now_ns(void);
HIDDEN cpu_times ipclab_bench_cpu_now(void);
/* Records a call that failed (its errno) and returns -1. */
HIDDEN int ipclab_bench_failed(const ipclab_bench_spec *s, const char *call);
/* Records progress when `done` crossed the next tenth of `total`; *next is the next mark. */
HIDDEN void ipclab_bench_progress(const ipclab_bench_spec *s, int64_t done, int64_t total, int64_t *next);
HIDDEN int ipclab_bench_tcp_listen(const ipclab_bench_spec *s);
HIDDEN int ipclab_bench_tcp_accept(const ipclab_bench_spec *s, int listener);
HIDDEN int ipclab_bench_tcp_connect(const ipclab_bench_spec *s);

#endif /* IPCLAB_BENCH_INTERNAL_H */
