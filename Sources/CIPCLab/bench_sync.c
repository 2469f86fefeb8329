/* bench_sync.c — the meeting place of a measurement's two processes (the sync region's barrier and
 * futex waits), CPU placement, time, records and TCP connections; shared by bench.c and bench_latency.c. */
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

/* Barriers this process has passed (each phase's two processes pass the same ones). */
static uint32_t barriers_passed;

long ipclab_bench_futex(uint32_t *word, int op, uint32_t value) {
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
void ipclab_bench_wait_while(bench_control *c, int me, uint32_t *word, uint32_t *waiting, uint32_t value) {
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
        ipclab_bench_futex(word, FUTEX_WAIT, value);
    }
    __atomic_store_n(waiting, 0, __ATOMIC_RELAXED);
}

/* Publishes a new value of a futex word and wakes the other side if it sleeps on it. */
void ipclab_bench_announce(uint32_t *word, uint32_t *waiting, uint32_t value) {
    __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(waiting, __ATOMIC_SEQ_CST)) ipclab_bench_futex(word, FUTEX_WAKE, 1);
}

/* Both processes arrive, then both go on. */
void ipclab_bench_barrier(bench_control *c) {
    uint32_t target = 2 * ++barriers_passed;
    uint32_t now = __atomic_add_fetch(&c->arrived, 1, __ATOMIC_SEQ_CST);
    if (now >= target) {
        ipclab_bench_futex(&c->arrived, FUTEX_WAKE, 1);
        return;
    }
    while ((now = __atomic_load_n(&c->arrived, __ATOMIC_SEQ_CST)) < target) ipclab_bench_futex(&c->arrived, FUTEX_WAIT, now);
}

/* The CPUs this process could run on before its first pin (a later phase's `cpu` counts among them). */
static cpu_set_t allowed;
static int allowed_known;

/* Pins this process to the n-th CPU its affinity mask allows (n modulo how many); records a failure. */
void ipclab_bench_pin(const ipclab_bench_spec *s) {
    cpu_set_t one;
    if (s->cpu < 0) return;
    if (allowed_known || sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        allowed_known = 1;
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

int64_t ipclab_bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

cpu_times ipclab_bench_cpu_now(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cpu_times t = {
        (int64_t)ru.ru_utime.tv_sec * 1000000000 + (int64_t)ru.ru_utime.tv_usec * 1000,
        (int64_t)ru.ru_stime.tv_sec * 1000000000 + (int64_t)ru.ru_stime.tv_usec * 1000,
    };
    return t;
}

/* Records a call that failed (its errno) and returns -1. */
int ipclab_bench_failed(const ipclab_bench_spec *s, const char *call) {
    int err = errno;
    int64_t args[1] = { s->mechanism };
    ipclab_record_now(IPCLAB_REC_EVENT, call, s->step, args, 1, -1, err, NULL, 0);
    return -1;
}

/* Records progress when `done` crossed the next tenth of `total`; *next is the next mark. */
void ipclab_bench_progress(const ipclab_bench_spec *s, int64_t done, int64_t total, int64_t *next) {
    if (done < *next) return;
    int64_t args[2] = { done, total };
    ipclab_record_now(IPCLAB_REC_EVENT, "progress", s->step, args, 2, total ? done * 100 / total : 100, 0, NULL, 0);
    int64_t tenth = total / IPCLAB_BENCH_PROGRESS;
    *next = done - done % (tenth ? tenth : 1) + (tenth ? tenth : 1);
    if (*next > total) *next = total;
    if (done >= total) *next = INT64_MAX;
}

/* ---------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------- */

int ipclab_bench_tcp_listen(const ipclab_bench_spec *s) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ipclab_bench_failed(s, "socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->tcp_port),
                             .sin_addr.s_addr = htonl(s->tcp_address) };
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) { ipclab_bench_failed(s, "bind"); close(fd); return -1; }
    if (listen(fd, 1) != 0) { ipclab_bench_failed(s, "listen"); close(fd); return -1; }
    return fd;
}

int ipclab_bench_tcp_accept(const ipclab_bench_spec *s, int listener) {
    int fd;
    do fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC); while (fd < 0 && errno == EINTR);
    close(listener);
    if (fd < 0) return ipclab_bench_failed(s, "accept");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int ipclab_bench_tcp_connect(const ipclab_bench_spec *s) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ipclab_bench_failed(s, "socket");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->tcp_port),
                             .sin_addr.s_addr = htonl(s->tcp_address) };
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { ipclab_bench_failed(s, "connect"); close(fd); return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

