/* bench.c — the measured loops of bench.throughput (see ipclab_bench.h); bench_latency.c has bench.latency's. */
#include "ipclab_bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ipclab.h"
#include "bench_internal.h"

/* ---------------------------------------------------------------------------
 * The bytes moved, and the receiver's check of them
 *
 * The sender sends the same chunk of pattern bytes over and over, so the byte at stream
 * offset o is pattern(o % chunk). The receiver checks one byte per 64-byte cache line (it
 * touches every line it received, cheaply) and counts mismatches.
 * ------------------------------------------------------------------------- */

static inline uint8_t pattern(int64_t i) { return (uint8_t)(i * 31 + (i >> 8) + 1); }

static uint8_t *pattern_chunk(int64_t chunk) {
    uint8_t *p = malloc((size_t)chunk);
    if (p) for (int64_t i = 0; i < chunk; i++) p[i] = pattern(i);
    return p;
}

/* Checks `n` received bytes at `p` that start at stream offset `offset`. */
static int64_t check_bytes(const uint8_t *p, int64_t n, int64_t offset, int64_t chunk, const uint8_t *expected) {
    int64_t bad = 0;
    int64_t first = (64 - offset % 64) % 64;   /* the first cache-line-aligned stream offset in the piece */
    int64_t in_chunk = (offset + first) % chunk;
    for (int64_t i = first; i < n; i += 64) {
        bad += p[i] != expected[in_chunk];
        in_chunk += 64;
        while (in_chunk >= chunk) in_chunk -= chunk;
    }
    return bad;
}

/* ---------------------------------------------------------------------------
 * Throughput
 * ------------------------------------------------------------------------- */

/* Sends every byte through a byte stream or a queue. */
static int send_all(const ipclab_bench_spec *s, int fd, const uint8_t *src) {
    int64_t sent = 0, total = s->total_bytes, chunk = s->chunk_bytes;
    while (sent < total) {
        int64_t at = sent % chunk;
        size_t n = (size_t)(chunk - at < total - sent ? chunk - at : total - sent);
        if (s->mechanism == IPCLAB_BENCH_POSIX_MQ) {
            if (mq_send((mqd_t)fd, (const char *)src + at, n, 0) != 0) {
                if (errno == EINTR) continue;
                return ipclab_bench_failed(s, "mq_send");
            }
            sent += (int64_t)n;
        } else {
            ssize_t w = write(fd, src + at, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                return ipclab_bench_failed(s, s->mechanism == IPCLAB_BENCH_PIPE ? "write" : "send");
            }
            sent += w;
        }
    }
    return 0;
}

/* Receives every byte; counts the bytes and the mismatches. */
static int receive_all(const ipclab_bench_spec *s, int fd, const uint8_t *expected, int64_t *got, int64_t *bad) {
    int64_t total = s->total_bytes, chunk = s->chunk_bytes, next = total / IPCLAB_BENCH_PROGRESS;
    size_t size = (size_t)chunk;
    if (s->mechanism == IPCLAB_BENCH_POSIX_MQ) {
        struct mq_attr attr;
        if (mq_getattr((mqd_t)fd, &attr) != 0) return ipclab_bench_failed(s, "mq_getattr");
        size = (size_t)attr.mq_msgsize;
    }
    uint8_t *buf = malloc(size);
    if (!buf) return ipclab_bench_failed(s, "malloc");
    while (*got < total) {
        ssize_t r = s->mechanism == IPCLAB_BENCH_POSIX_MQ ? mq_receive((mqd_t)fd, (char *)buf, size, NULL) : read(fd, buf, size);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0) errno = 0;
            free(buf);
            return ipclab_bench_failed(s, s->mechanism == IPCLAB_BENCH_POSIX_MQ ? "mq_receive" : s->mechanism == IPCLAB_BENCH_PIPE ? "read" : "recv");
        }
        *bad += check_bytes(buf, r, *got, chunk, expected);
        *got += r;
        ipclab_bench_progress(s, *got, total, &next);
    }
    free(buf);
    return 0;
}

/* The ring's data: after the control block, `capacity` bytes. */
typedef struct ring { bench_control *c; uint8_t *data; int64_t capacity; } ring;

/* The other side's position is shared memory that any process of the run may overwrite. Every
 * copy and check below is bounded by it, so a position that cannot be (ahead of this side, or more
 * than a ring behind) ends the phase with EPROTO, recorded with the value read, before it is used. */
static int ring_position_refused(const ipclab_bench_spec *s, ring r, int64_t read, int64_t own) {
    int64_t args[3] = { s->mechanism, read, own };
    ipclab_record_now(IPCLAB_REC_EVENT, "ring_position", s->step, args, 3, -1, EPROTO, NULL, 0);
    /* The other side may be asleep waiting for this one: give it an impossible position of its own
     * (and wake it), so it stops too and the phase ends now rather than at the wall-clock limit. */
    uint64_t *mine = s->role == 0 ? &r.c->head : &r.c->tail;
    uint32_t *word = s->role == 0 ? &r.c->head_word : &r.c->tail_word;
    __atomic_store_n(mine, UINT64_MAX, __ATOMIC_RELEASE);
    __atomic_store_n(word, (uint32_t)own + 1, __ATOMIC_SEQ_CST);
    ipclab_bench_futex(word, FUTEX_WAKE, 1);
    return -1;
}

static int ring_send(const ipclab_bench_spec *s, ring r, const uint8_t *src) {
    int64_t sent = 0, total = s->total_bytes, chunk = s->chunk_bytes;
    while (sent < total) {
        int64_t consumed = (int64_t)__atomic_load_n(&r.c->tail, __ATOMIC_ACQUIRE);
        /* The reader consumes only what was sent, and the writer never gets a ring ahead: 0 <= room <= capacity. */
        if (consumed > sent || consumed < sent - r.capacity) return ring_position_refused(s, r, consumed, sent);
        int64_t room = r.capacity - (sent - consumed);
        if (room == 0) {
            /* Full: sleep while the reader's position is still exactly one ring behind. */
            ipclab_bench_wait_while(r.c, 0, &r.c->tail_word, &r.c->writer_waiting, (uint32_t)(sent - r.capacity));
            continue;
        }
        int64_t at = sent % chunk, n = chunk - at;
        if (n > total - sent) n = total - sent;
        if (n > room) n = room;
        int64_t pos = sent % r.capacity, first = r.capacity - pos < n ? r.capacity - pos : n;
        memcpy(r.data + pos, src + at, (size_t)first);
        if (first < n) memcpy(r.data, src + at + first, (size_t)(n - first));
        sent += n;
        __atomic_store_n(&r.c->head, (uint64_t)sent, __ATOMIC_RELEASE);
        /* A sleeping reader found the ring empty: wake it once half a ring is waiting (or all is
         * sent), so that on one CPU the two sides take turns by half rings, not by chunks. */
        __atomic_store_n(&r.c->head_word, (uint32_t)sent, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&r.c->reader_waiting, __ATOMIC_SEQ_CST)
            && (sent - (int64_t)__atomic_load_n(&r.c->tail, __ATOMIC_ACQUIRE) >= r.capacity / 2 || sent == total))
            ipclab_bench_futex(&r.c->head_word, FUTEX_WAKE, 1);
    }
    return 0;
}

static int ring_receive(const ipclab_bench_spec *s, ring r, const uint8_t *expected, int64_t *got, int64_t *bad) {
    int64_t total = s->total_bytes, chunk = s->chunk_bytes, next = total / IPCLAB_BENCH_PROGRESS;
    while (*got < total) {
        int64_t published = (int64_t)__atomic_load_n(&r.c->head, __ATOMIC_ACQUIRE);
        /* The writer publishes no more than it sends, and at most a ring ahead of what was read. */
        if (published < *got || published - *got > r.capacity || published > total)
            return ring_position_refused(s, r, published, *got);
        if (published == *got) {
            ipclab_bench_wait_while(r.c, 1, &r.c->head_word, &r.c->reader_waiting, (uint32_t)*got);
            continue;
        }
        int64_t n = published - *got;
        if (n > chunk) n = chunk;
        int64_t pos = *got % r.capacity, first = r.capacity - pos < n ? r.capacity - pos : n;
        /* The bytes are read in place: the ring is the receiver's buffer. */
        *bad += check_bytes(r.data + pos, first, *got, chunk, expected);
        if (first < n) *bad += check_bytes(r.data, n - first, *got + first, chunk, expected);
        *got += n;
        __atomic_store_n(&r.c->tail, (uint64_t)*got, __ATOMIC_RELEASE);
        /* A sleeping writer found the ring full: wake it once half the ring is free again. */
        __atomic_store_n(&r.c->tail_word, (uint32_t)*got, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&r.c->writer_waiting, __ATOMIC_SEQ_CST) && published - *got <= r.capacity / 2)
            ipclab_bench_futex(&r.c->tail_word, FUTEX_WAKE, 1);
        ipclab_bench_progress(s, *got, total, &next);
    }
    return 0;
}

int ipclab_bench_throughput(const ipclab_bench_spec *s) {
    bench_control *c = s->sync;
    int me = s->role, peer = 1 - s->role;
    ipclab_bench_pin(s);
    c->pid[me] = getpid();
    int listener = -1;
    if (s->mechanism == IPCLAB_BENCH_TCP && me == 1 && (listener = ipclab_bench_tcp_listen(s)) < 0) return -1;
    uint8_t *chunk = pattern_chunk(s->chunk_bytes);
    if (!chunk) return ipclab_bench_failed(s, "malloc");

    ipclab_bench_barrier(c);
    if (me == 0) {
        c->head = c->tail = 0;
        c->running_on[0] = c->running_on[1] = -1;
        c->head_word = c->tail_word = c->reader_waiting = c->writer_waiting = 0;
    }
    ipclab_bench_barrier(c);

    int rc = 0, fd = s->fd;
    int64_t got = 0, bad = 0;
    cpu_times cpu0 = ipclab_bench_cpu_now();
    int64_t t0 = ipclab_bench_now_ns();
    ring r = { c, (uint8_t *)s->sync + IPCLAB_BENCH_CONTROL_BYTES, s->sync_size - IPCLAB_BENCH_CONTROL_BYTES };
    if (s->mechanism == IPCLAB_BENCH_SHM_RING && r.capacity <= 0) {
        errno = EINVAL;
        rc = ipclab_bench_failed(s, "shm_ring");
    }
    if (s->mechanism == IPCLAB_BENCH_TCP) {
        fd = me == 1 ? ipclab_bench_tcp_accept(s, listener) : ipclab_bench_tcp_connect(s);
        t0 = ipclab_bench_now_ns();
        if (fd < 0) rc = -1;
    }
    if (rc == 0) {
        if (s->mechanism == IPCLAB_BENCH_SHM_RING) {
            rc = me == 0 ? ring_send(s, r, chunk) : ring_receive(s, r, chunk, &got, &bad);
        } else {
            rc = me == 0 ? send_all(s, fd, chunk) : receive_all(s, fd, chunk, &got, &bad);
        }
    }
    int64_t t1 = ipclab_bench_now_ns();
    cpu_times cpu1 = ipclab_bench_cpu_now();
    if (s->mechanism == IPCLAB_BENCH_TCP && fd >= 0) close(fd);
    c->cpu[me] = sched_getcpu();
    c->user_ns[me] = cpu1.user_ns - cpu0.user_ns;
    c->system_ns[me] = cpu1.system_ns - cpu0.system_ns;
    ipclab_bench_barrier(c);
    free(chunk);

    if (me == 1 && rc == 0) {
        if (bad) {
            int64_t args[2] = { s->mechanism, bad };
            ipclab_record_now(IPCLAB_REC_EVENT, "bench_mismatch", s->step, args, 2, bad, 0, NULL, 0);
        }
        int64_t args[8] = { got, t1 - t0, c->user_ns[me], c->system_ns[me], c->user_ns[peer], c->system_ns[peer],
                            c->cpu[me], c->cpu[peer] };
        ipclab_record_now(IPCLAB_REC_EVENT, "bench_throughput", s->step, args, 8, got, 0, NULL, 0);
    }
    return rc;
}

