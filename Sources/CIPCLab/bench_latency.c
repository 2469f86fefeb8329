/* bench_latency.c — the measured ping-pong of bench.latency (see ipclab_bench.h). */
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

/* One message (or signal, or post) out when `sending`, else in, through the phase's mechanism. */
static int message(const ipclab_bench_spec *s, bench_control *c, pid_t peer_pid, int out_fd, int in_fd, uint8_t *msg,
                   uint32_t seq, int sending) {
    int me = s->role;
    switch (s->mechanism) {
    case IPCLAB_BENCH_PIPE:
    case IPCLAB_BENCH_UNIX_STREAM:
    case IPCLAB_BENCH_TCP:
        if (stream_all(sending ? out_fd : in_fd, msg, IPCLAB_BENCH_MESSAGE_BYTES, sending) != 0)
            return ipclab_bench_failed(s, sending ? (s->mechanism == IPCLAB_BENCH_PIPE ? "write" : "send") : (s->mechanism == IPCLAB_BENCH_PIPE ? "read" : "recv"));
        return 0;
    case IPCLAB_BENCH_POSIX_MQ:
        if (sending) {
            while (mq_send((mqd_t)out_fd, (const char *)msg, IPCLAB_BENCH_MESSAGE_BYTES, 0) != 0)
                if (errno != EINTR) return ipclab_bench_failed(s, "mq_send");
        } else {
            char buf[8192];
            while (mq_receive((mqd_t)in_fd, buf, sizeof buf, NULL) < 0)
                if (errno != EINTR) return ipclab_bench_failed(s, "mq_receive");
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
            ipclab_bench_announce(word, waiting, seq);
        } else {
            ipclab_bench_wait_while(c, me, word, waiting, seq - 1);
            memcpy(msg, slot, IPCLAB_BENCH_MESSAGE_BYTES);
        }
        return 0;
    }
    case IPCLAB_BENCH_SIGNAL:
        if (sending) {
            if (kill(peer_pid, SIGUSR1) != 0) return ipclab_bench_failed(s, "kill");
        } else {
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGUSR1);
            while (sigwaitinfo(&set, NULL) < 0)
                if (errno != EINTR) return ipclab_bench_failed(s, "sigwaitinfo");
        }
        return 0;
    case IPCLAB_BENCH_SEMAPHORE: {
        sem_t *sem = (me == 0) == sending ? &c->ping_sem : &c->pong_sem;
        if (sending) {
            if (sem_post(sem) != 0) return ipclab_bench_failed(s, "sem_post");
        } else {
            while (sem_wait(sem) != 0)
                if (errno != EINTR) return ipclab_bench_failed(s, "sem_wait");
        }
        return 0;
    }
    }
    errno = EINVAL;
    return ipclab_bench_failed(s, "bench_latency");
}

int ipclab_bench_latency(const ipclab_bench_spec *s) {
    bench_control *c = s->sync;
    int me = s->role, peer = 1 - s->role;
    int64_t n = s->round_trips, total = n + IPCLAB_BENCH_WARMUP;
    ipclab_bench_pin(s);
    c->pid[me] = getpid();
    int listener = -1;
    if (s->mechanism == IPCLAB_BENCH_TCP && me == 1 && (listener = ipclab_bench_tcp_listen(s)) < 0) return -1;
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    if (s->mechanism == IPCLAB_BENCH_SIGNAL) sigprocmask(SIG_BLOCK, &usr1, &old); /* before the barrier: no signal kills */
    int64_t *samples = me == 0 ? malloc((size_t)n * sizeof *samples) : NULL;
    if (me == 0 && !samples) return ipclab_bench_failed(s, "malloc");

    ipclab_bench_barrier(c);
    if (me == 0) {
        c->ping_seq = c->pong_seq = c->ponger_waiting = c->pinger_waiting = 0;
        c->running_on[0] = c->running_on[1] = -1;
        if (s->mechanism == IPCLAB_BENCH_SEMAPHORE) {
            sem_init(&c->ping_sem, 1, 0);
            sem_init(&c->pong_sem, 1, 0);
        }
    }
    ipclab_bench_barrier(c);

    int rc = 0, out_fd = s->fd, in_fd = s->fd2;
    /* The peer's pid, copied once from the shared page (which the run may overwrite): a signal goes
     * to a process of this run (pid 1 is its init, 0 and below are groups), or the phase fails. */
    pid_t peer_pid = __atomic_load_n(&c->pid[peer], __ATOMIC_ACQUIRE);
    if (s->mechanism == IPCLAB_BENCH_SIGNAL && peer_pid <= 1) {
        errno = EPROTO;
        rc = ipclab_bench_failed(s, "kill");
    }
    if (s->mechanism == IPCLAB_BENCH_TCP) {
        out_fd = in_fd = me == 1 ? ipclab_bench_tcp_accept(s, listener) : ipclab_bench_tcp_connect(s);
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
            int64_t t0 = ipclab_bench_now_ns();
            rc = message(s, c, peer_pid, out_fd, in_fd, msg, seq, 1);
            if (rc == 0) rc = message(s, c, peer_pid, out_fd, in_fd, msg, seq, 0);
            int64_t t1 = ipclab_bench_now_ns();
            if (rc == 0 && i >= IPCLAB_BENCH_WARMUP) {
                samples[done++] = t1 - t0;
                ipclab_bench_progress(s, done, n, &next);
            }
        } else {
            rc = message(s, c, peer_pid, out_fd, in_fd, msg, seq, 0);
            if (rc == 0) rc = message(s, c, peer_pid, out_fd, in_fd, msg, seq, 1);
        }
    }
    if (s->mechanism == IPCLAB_BENCH_TCP && out_fd >= 0) close(out_fd);
    c->cpu[me] = sched_getcpu();
    ipclab_bench_barrier(c);
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

