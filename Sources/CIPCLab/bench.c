/* bench.c — the measured loops of bench.throughput and bench.latency (see ipclab_bench.h). */
#define _GNU_SOURCE
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

/* ---------------------------------------------------------------------------
 * The sync region's control block
 * ------------------------------------------------------------------------- */

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

/* Barriers this process has passed (each phase's two processes pass the same ones). */
static uint32_t barriers_passed;

static long futex(uint32_t *word, int op, uint32_t value) {
    /* Shared (not private) futexes: the words live in a MAP_SHARED page of two processes. */
    return syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* Spins before sleeping on a futex: on two idle CPUs the other side usually answers within
 * a few microseconds, and a sleep and wake-up cost more than that. */
#define SPINS 200

/* Waits while *word == value: spins (unless the other side last ran on this CPU: then spinning
 * only keeps it from running), then sleeps, announcing the sleep in *waiting. The announcer stores
 * its word then reads *waiting, this side stores *waiting then reads the word (both sequentially
 * consistent), so one of them always sees the other: no lost wake-up. */
static void wait_while(bench_control *c, int me, uint32_t *word, uint32_t *waiting, uint32_t value) {
    int cpu = sched_getcpu();
    __atomic_store_n(&c->running_on[me], cpu, __ATOMIC_RELAXED);
    int spins = __atomic_load_n(&c->running_on[1 - me], __ATOMIC_RELAXED) == cpu ? 0 : SPINS;
    for (int i = 0; i < spins; i++) {
        if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != value) return;
        cpu_relax();
    }
    for (;;) {
        __atomic_store_n(waiting, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != value) break;
        futex(word, FUTEX_WAIT, value);
    }
    __atomic_store_n(waiting, 0, __ATOMIC_RELAXED);
}

/* Publishes a new value of a futex word and wakes the other side if it sleeps on it. */
static void announce(uint32_t *word, uint32_t *waiting, uint32_t value) {
    __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(waiting, __ATOMIC_SEQ_CST)) futex(word, FUTEX_WAKE, 1);
}

/* Both processes arrive, then both go on. */
static void barrier(bench_control *c) {
    uint32_t target = 2 * ++barriers_passed;
    uint32_t now = __atomic_add_fetch(&c->arrived, 1, __ATOMIC_SEQ_CST);
    if (now >= target) {
        futex(&c->arrived, FUTEX_WAKE, 1);
        return;
    }
    while ((now = __atomic_load_n(&c->arrived, __ATOMIC_SEQ_CST)) < target) futex(&c->arrived, FUTEX_WAIT, now);
}

/* Pins this process to the n-th CPU its affinity mask allows (n modulo how many); records a failure. */
static void pin(const ipclab_bench_spec *s) {
    cpu_set_t allowed, one;
    if (s->cpu < 0) return;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        int count = CPU_COUNT(&allowed), want = s->cpu % (count ? count : 1);
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
            if (!CPU_ISSET(cpu, &allowed) || want-- > 0) continue;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            if (sched_setaffinity(0, sizeof one, &one) == 0) return;
            break;
        }
    }
    int err = errno;
    int64_t args[2] = { s->mechanism, s->cpu };
    ipclab_record_now(IPCLAB_REC_EVENT, "sched_setaffinity", s->step, args, 2, -1, err, NULL, 0);
}

/* ---------------------------------------------------------------------------
 * Time, CPU time and records
 * ------------------------------------------------------------------------- */

static int64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct cpu_times { int64_t user_ns, system_ns; } cpu_times;

static cpu_times cpu_now(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cpu_times t = {
        (int64_t)ru.ru_utime.tv_sec * 1000000000 + (int64_t)ru.ru_utime.tv_usec * 1000,
        (int64_t)ru.ru_stime.tv_sec * 1000000000 + (int64_t)ru.ru_stime.tv_usec * 1000,
    };
    return t;
}

/* Records a call that failed (its errno) and returns -1. */
static int failed(const ipclab_bench_spec *s, const char *call) {
    int err = errno;
    int64_t args[1] = { s->mechanism };
    ipclab_record_now(IPCLAB_REC_EVENT, call, s->step, args, 1, -1, err, NULL, 0);
    return -1;
}

/* Records progress when `done` crossed the next tenth of `total`; *next is the next mark. */
static void progress(const ipclab_bench_spec *s, int64_t done, int64_t total, int64_t *next) {
    if (done < *next) return;
    int64_t args[2] = { done, total };
    ipclab_record_now(IPCLAB_REC_EVENT, "progress", s->step, args, 2, total ? done * 100 / total : 100, 0, NULL, 0);
    int64_t tenth = total / IPCLAB_BENCH_PROGRESS;
    *next = done - done % (tenth ? tenth : 1) + (tenth ? tenth : 1);
    if (*next > total) *next = total;
    if (done >= total) *next = INT64_MAX;
}

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
 * Connections
 * ------------------------------------------------------------------------- */

static int tcp_listen(const ipclab_bench_spec *s) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return failed(s, "socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->tcp_port),
                             .sin_addr.s_addr = htonl(s->tcp_address) };
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) { failed(s, "bind"); close(fd); return -1; }
    if (listen(fd, 1) != 0) { failed(s, "listen"); close(fd); return -1; }
    return fd;
}

static int tcp_accept(const ipclab_bench_spec *s, int listener) {
    int fd;
    do fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC); while (fd < 0 && errno == EINTR);
    close(listener);
    if (fd < 0) return failed(s, "accept");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int tcp_connect(const ipclab_bench_spec *s) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return failed(s, "socket");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->tcp_port),
                             .sin_addr.s_addr = htonl(s->tcp_address) };
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { failed(s, "connect"); close(fd); return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
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
                return failed(s, "mq_send");
            }
            sent += (int64_t)n;
        } else {
            ssize_t w = write(fd, src + at, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                return failed(s, s->mechanism == IPCLAB_BENCH_PIPE ? "write" : "send");
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
        if (mq_getattr((mqd_t)fd, &attr) != 0) return failed(s, "mq_getattr");
        size = (size_t)attr.mq_msgsize;
    }
    uint8_t *buf = malloc(size);
    if (!buf) return failed(s, "malloc");
    while (*got < total) {
        ssize_t r = s->mechanism == IPCLAB_BENCH_POSIX_MQ ? mq_receive((mqd_t)fd, (char *)buf, size, NULL) : read(fd, buf, size);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0) errno = 0;
            free(buf);
            return failed(s, s->mechanism == IPCLAB_BENCH_POSIX_MQ ? "mq_receive" : s->mechanism == IPCLAB_BENCH_PIPE ? "read" : "recv");
        }
        *bad += check_bytes(buf, r, *got, chunk, expected);
        *got += r;
        progress(s, *got, total, &next);
    }
    free(buf);
    return 0;
}

/* The ring's data: after the control block, `capacity` bytes. */
typedef struct ring { bench_control *c; uint8_t *data; int64_t capacity; } ring;

static int ring_send(const ipclab_bench_spec *s, ring r, const uint8_t *src) {
    int64_t sent = 0, total = s->total_bytes, chunk = s->chunk_bytes;
    while (sent < total) {
        int64_t consumed = (int64_t)__atomic_load_n(&r.c->tail, __ATOMIC_ACQUIRE);
        int64_t room = r.capacity - (sent - consumed);
        if (room == 0) {
            /* Full: sleep while the reader's position is still exactly one ring behind. */
            wait_while(r.c, 0, &r.c->tail_word, &r.c->writer_waiting, (uint32_t)(sent - r.capacity));
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
            futex(&r.c->head_word, FUTEX_WAKE, 1);
    }
    return 0;
}

static int ring_receive(const ipclab_bench_spec *s, ring r, const uint8_t *expected, int64_t *got, int64_t *bad) {
    int64_t total = s->total_bytes, chunk = s->chunk_bytes, next = total / IPCLAB_BENCH_PROGRESS;
    while (*got < total) {
        int64_t published = (int64_t)__atomic_load_n(&r.c->head, __ATOMIC_ACQUIRE);
        if (published == *got) {
            wait_while(r.c, 1, &r.c->head_word, &r.c->reader_waiting, (uint32_t)*got);
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
            futex(&r.c->tail_word, FUTEX_WAKE, 1);
        progress(s, *got, total, &next);
    }
    return 0;
}

int ipclab_bench_throughput(const ipclab_bench_spec *s) {
    bench_control *c = s->sync;
    int me = s->role, peer = 1 - s->role;
    pin(s);
    c->pid[me] = getpid();
    int listener = -1;
    if (s->mechanism == IPCLAB_BENCH_TCP && me == 1 && (listener = tcp_listen(s)) < 0) return -1;
    uint8_t *chunk = pattern_chunk(s->chunk_bytes);
    if (!chunk) return failed(s, "malloc");

    barrier(c);
    if (me == 0) {
        c->head = c->tail = 0;
        c->running_on[0] = c->running_on[1] = -1;
        c->head_word = c->tail_word = c->reader_waiting = c->writer_waiting = 0;
    }
    barrier(c);

    int rc = 0, fd = s->fd;
    int64_t got = 0, bad = 0;
    cpu_times cpu0 = cpu_now();
    int64_t t0 = monotonic_ns();
    ring r = { c, (uint8_t *)s->sync + IPCLAB_BENCH_CONTROL_BYTES, s->sync_size - IPCLAB_BENCH_CONTROL_BYTES };
    if (s->mechanism == IPCLAB_BENCH_TCP) {
        fd = me == 1 ? tcp_accept(s, listener) : tcp_connect(s);
        t0 = monotonic_ns();
        if (fd < 0) rc = -1;
    }
    if (rc == 0) {
        if (s->mechanism == IPCLAB_BENCH_SHM_RING) {
            rc = me == 0 ? ring_send(s, r, chunk) : ring_receive(s, r, chunk, &got, &bad);
        } else {
            rc = me == 0 ? send_all(s, fd, chunk) : receive_all(s, fd, chunk, &got, &bad);
        }
    }
    int64_t t1 = monotonic_ns();
    cpu_times cpu1 = cpu_now();
    if (s->mechanism == IPCLAB_BENCH_TCP && fd >= 0) close(fd);
    c->cpu[me] = sched_getcpu();
    c->user_ns[me] = cpu1.user_ns - cpu0.user_ns;
    c->system_ns[me] = cpu1.system_ns - cpu0.system_ns;
    barrier(c);
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

/* ---------------------------------------------------------------------------
 * Latency
 * ------------------------------------------------------------------------- */

static int compare_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Moves exactly `n` bytes over a byte stream (read or write). */
static int stream_all(int fd, uint8_t *p, size_t n, int writing) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = writing ? write(fd, p + done, n - done) : read(fd, p + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { if (r == 0) errno = 0; return -1; }
        done += (size_t)r;
    }
    return 0;
}

/* One message out (to = 1) or in (to = 0) for the mechanisms that carry one. */
static int message(const ipclab_bench_spec *s, bench_control *c, int out_fd, int in_fd, uint8_t *msg, uint32_t seq, int sending) {
    int me = s->role;
    switch (s->mechanism) {
    case IPCLAB_BENCH_PIPE:
    case IPCLAB_BENCH_UNIX_STREAM:
    case IPCLAB_BENCH_TCP:
        if (stream_all(sending ? out_fd : in_fd, msg, IPCLAB_BENCH_MESSAGE_BYTES, sending) != 0)
            return failed(s, sending ? (s->mechanism == IPCLAB_BENCH_PIPE ? "write" : "send") : (s->mechanism == IPCLAB_BENCH_PIPE ? "read" : "recv"));
        return 0;
    case IPCLAB_BENCH_POSIX_MQ:
        if (sending) {
            while (mq_send((mqd_t)out_fd, (const char *)msg, IPCLAB_BENCH_MESSAGE_BYTES, 0) != 0)
                if (errno != EINTR) return failed(s, "mq_send");
        } else {
            char buf[8192];
            while (mq_receive((mqd_t)in_fd, buf, sizeof buf, NULL) < 0)
                if (errno != EINTR) return failed(s, "mq_receive");
            msg[0] = (uint8_t)buf[0];
        }
        return 0;
    case IPCLAB_BENCH_SHM_RING: {
        /* The pinger writes ping_message and bumps ping_seq; the ponger answers in pong_message. */
        uint32_t *word = (me == 0) == sending ? &c->ping_seq : &c->pong_seq;
        uint32_t *waiting = (me == 0) == sending ? &c->ponger_waiting : &c->pinger_waiting;
        uint8_t *slot = (me == 0) == sending ? c->ping_message : c->pong_message;
        if (sending) {
            memcpy(slot, msg, IPCLAB_BENCH_MESSAGE_BYTES);
            announce(word, waiting, seq);
        } else {
            wait_while(c, me, word, waiting, seq - 1);
            memcpy(msg, slot, IPCLAB_BENCH_MESSAGE_BYTES);
        }
        return 0;
    }
    case IPCLAB_BENCH_SIGNAL:
        if (sending) {
            if (kill(c->pid[1 - me], SIGUSR1) != 0) return failed(s, "kill");
        } else {
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGUSR1);
            while (sigwaitinfo(&set, NULL) < 0)
                if (errno != EINTR) return failed(s, "sigwaitinfo");
        }
        return 0;
    case IPCLAB_BENCH_SEMAPHORE: {
        sem_t *sem = (me == 0) == sending ? &c->ping_sem : &c->pong_sem;
        if (sending) {
            if (sem_post(sem) != 0) return failed(s, "sem_post");
        } else {
            while (sem_wait(sem) != 0)
                if (errno != EINTR) return failed(s, "sem_wait");
        }
        return 0;
    }
    }
    errno = EINVAL;
    return failed(s, "bench_latency");
}

int ipclab_bench_latency(const ipclab_bench_spec *s) {
    bench_control *c = s->sync;
    int me = s->role, peer = 1 - s->role;
    int64_t n = s->round_trips, total = n + IPCLAB_BENCH_WARMUP;
    pin(s);
    c->pid[me] = getpid();
    int listener = -1;
    if (s->mechanism == IPCLAB_BENCH_TCP && me == 1 && (listener = tcp_listen(s)) < 0) return -1;
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    if (s->mechanism == IPCLAB_BENCH_SIGNAL) sigprocmask(SIG_BLOCK, &usr1, &old); /* before the barrier: no signal kills */
    int64_t *samples = me == 0 ? malloc((size_t)n * sizeof *samples) : NULL;
    if (me == 0 && !samples) return failed(s, "malloc");

    barrier(c);
    if (me == 0) {
        c->ping_seq = c->pong_seq = c->ponger_waiting = c->pinger_waiting = 0;
        c->running_on[0] = c->running_on[1] = -1;
        if (s->mechanism == IPCLAB_BENCH_SEMAPHORE) {
            sem_init(&c->ping_sem, 1, 0);
            sem_init(&c->pong_sem, 1, 0);
        }
    }
    barrier(c);

    int rc = 0, out_fd = s->fd, in_fd = s->fd2;
    if (s->mechanism == IPCLAB_BENCH_TCP) {
        out_fd = in_fd = me == 1 ? tcp_accept(s, listener) : tcp_connect(s);
        if (out_fd < 0) rc = -1;
    } else if (s->mechanism == IPCLAB_BENCH_UNIX_STREAM) {
        in_fd = s->fd;
    }
    /* The ponger receives on the channel and answers on the reply channel: swap the pinger's view. */
    if (me == 1 && (s->mechanism == IPCLAB_BENCH_PIPE || s->mechanism == IPCLAB_BENCH_POSIX_MQ)) {
        int t = out_fd; out_fd = in_fd; in_fd = t;
    }
    uint8_t msg[IPCLAB_BENCH_MESSAGE_BYTES];
    memset(msg, 0x5a, sizeof msg);
    int64_t next = n / IPCLAB_BENCH_PROGRESS, done = 0;
    for (int64_t i = 0; rc == 0 && i < total; i++) {
        uint32_t seq = (uint32_t)(i + 1);
        if (me == 0) {
            msg[0] = (uint8_t)i;
            int64_t t0 = monotonic_ns();
            rc = message(s, c, out_fd, in_fd, msg, seq, 1);
            if (rc == 0) rc = message(s, c, out_fd, in_fd, msg, seq, 0);
            int64_t t1 = monotonic_ns();
            if (rc == 0 && i >= IPCLAB_BENCH_WARMUP) {
                samples[done++] = t1 - t0;
                progress(s, done, n, &next);
            }
        } else {
            rc = message(s, c, out_fd, in_fd, msg, seq, 0);
            if (rc == 0) rc = message(s, c, out_fd, in_fd, msg, seq, 1);
        }
    }
    if (s->mechanism == IPCLAB_BENCH_TCP && out_fd >= 0) close(out_fd);
    c->cpu[me] = sched_getcpu();
    barrier(c);
    if (s->mechanism == IPCLAB_BENCH_SIGNAL) sigprocmask(SIG_SETMASK, &old, NULL);
    if (me == 0 && s->mechanism == IPCLAB_BENCH_SEMAPHORE) {
        sem_destroy(&c->ping_sem);
        sem_destroy(&c->pong_sem);
    }

    if (me == 0 && rc == 0 && done > 0) {
        qsort(samples, (size_t)done, sizeof *samples, compare_i64);
        /* Nearest rank: the smallest sample with at least p% of the samples at or below it. */
        int64_t p50 = samples[(done * 50 + 99) / 100 - 1], p99 = samples[(done * 99 + 99) / 100 - 1];
        int64_t args[7] = { done, samples[0], p50, p99, samples[done - 1], c->cpu[me], c->cpu[peer] };
        ipclab_record_now(IPCLAB_REC_EVENT, "bench_latency", s->step, args, 7, done, 0, NULL, 0);
    }
    free(samples);
    return rc;
}
