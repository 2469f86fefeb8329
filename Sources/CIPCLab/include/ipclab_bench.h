/*
 * ipclab_bench.h — the data loops of the measurements (bench.throughput, bench.latency).
 *
 * Two participant processes run one phase per mechanism: a sender and a receiver move
 * `total_bytes` in `chunk_bytes` pieces (throughput), or a pinger and a ponger exchange a
 * small message `round_trips` times (latency). The loops are C because every iteration is a
 * system call or a memory access whose cost is what is measured.
 *
 * The two processes meet in a shared-memory region, the "sync" region (a MAP_SHARED mapping
 * both inherited): its first 4 KiB hold a barrier, each side's pid, CPU and CPU time, the
 * shared-memory ring's indices and futex words, a semaphore pair and two message slots; the
 * rest is the ring's data. Every phase starts with two barriers (the initiator resets the
 * shared state between them) and ends with one (after which the recorder reads its peer's
 * CPU figures).
 *
 * Only aggregates are recorded: one `bench_throughput` event by the receiver, one
 * `bench_latency` event by the pinger, and at most IPCLAB_BENCH_PROGRESS `progress` events
 * by that same process during the phase. A call that fails is recorded under its own name
 * with its errno, and the phase stops.
 */
#ifndef IPCLAB_BENCH_H
#define IPCLAB_BENCH_H

#include <stddef.h>
#include <stdint.h>

/** The mechanisms, as the Swift side numbers them. */
enum ipclab_bench_mechanism {
    IPCLAB_BENCH_PIPE = 0,
    IPCLAB_BENCH_UNIX_STREAM = 1,
    IPCLAB_BENCH_TCP = 2,
    IPCLAB_BENCH_POSIX_MQ = 3,
    IPCLAB_BENCH_SHM_RING = 4,
    IPCLAB_BENCH_SIGNAL = 5,
    IPCLAB_BENCH_SEMAPHORE = 6,
};

/** Bytes of the sync region's control block; the ring's data follows it. */
#define IPCLAB_BENCH_CONTROL_BYTES 4096
/** Bytes of one latency message. */
#define IPCLAB_BENCH_MESSAGE_BYTES 64
/** Progress events per phase, at most. */
#define IPCLAB_BENCH_PROGRESS 10
/** Unmeasured round trips before the measured ones (caches, page faults, wake-up paths). */
#define IPCLAB_BENCH_WARMUP 16

/** One side of one phase. */
typedef struct ipclab_bench_spec {
    int32_t mechanism;     /* enum ipclab_bench_mechanism */
    int32_t role;          /* 0: sender / pinger (initiator); 1: receiver / ponger */
    int32_t step;          /* the step index, for the records */
    int32_t fd;            /* pipe end, socketpair end or queue this side uses first (-1: none) */
    int32_t fd2;           /* latency over a pipe or queue: the reply channel's end (-1: none) */
    uint32_t tcp_address;  /* host byte order */
    int32_t tcp_port;
    int32_t cpu;           /* >= 0: first pin this process to the cpu-th CPU it may run on (modulo their count) */
    void *sync;            /* the sync region */
    int64_t sync_size;
    int64_t total_bytes;   /* throughput */
    int64_t chunk_bytes;   /* throughput */
    int64_t round_trips;   /* latency */
} ipclab_bench_spec;

/** Runs one side of a throughput phase. Returns 0, or -1 when a call failed (it is recorded). */
int ipclab_bench_throughput(const ipclab_bench_spec *spec);

/** Runs one side of a latency phase. Returns 0, or -1 when a call failed (it is recorded). */
int ipclab_bench_latency(const ipclab_bench_spec *spec);

#endif /* IPCLAB_BENCH_H */
