/*
 * runner_plan.c — the run's flat plan (ipclab_plan.h), copied out of the ring into private memory
 * and validated completely once, before any participant exists (docs/c-runner.md §4.2).
 *
 * Why a copy: every process of the run can write the ring, so the plan is read from it exactly
 * once (memcpy) and every check below is made on the copy, which no one else can change; the
 * participants inherit the copy (read-only) across fork and never read the ring's plan area.
 * Why complete: after this, participant code may index channels, processes, steps and strings
 * without a check of its own (runner_plan.h promises it).
 *
 * The copy is followed by one zero byte of its own: a string may end exactly at the end of the
 * plan and still be followed by a NUL (the pool's last), without reading past the copy.
 */
#include "runner_plan.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "ipclab_bench.h"

/* RunSchedule.maxJitterUs. */
#define PLAN_JITTER_US_MAX 100000

typedef struct plan_bounds {
    const char *pool;
    uint64_t pool_length;
} plan_bounds;

/* A string lies inside the pool and the byte after it (the pool's, or the copy's own final zero)
 * is a NUL: runner_plan_string can hand out pool + offset as a C string. An empty string only has
 * to point into the pool (FlatPlan writes it as offset 0, length 0): runner_plan_string gives "". */
static int valid_str(const plan_bounds *b, ipclab_plan_str s) {
    uint64_t end = (uint64_t)s.offset + s.length;
    if (s.length == 0) return end <= b->pool_length;
    return end <= b->pool_length && b->pool[end] == 0;
}

static int valid_nonempty_str(const plan_bounds *b, ipclab_plan_str s) { return s.length > 0 && valid_str(b, s); }

/* A section of `count` items of `size` bytes at `offset`: 8-aligned, after `after` (the previous
 * section's end: the sections are in the header's order and do not overlap), inside `length`. */
static int section(uint64_t offset, uint64_t count, uint64_t size, uint64_t after, uint64_t length, uint64_t *end) {
    if (offset % 8 != 0 || offset < after) return 0;
    *end = offset + count * size;
    return *end <= length;
}

/* The channel kinds an op may name, as bits (1 << kind); NEEDS_NONE: the op names no channel. */
#define KIND(k) (1u << IPCLAB_PLAN_CHANNEL_##k)
enum channel_need {
    NEEDS_NONE = 0,
    NEEDS_PIPE_OR_FIFO = KIND(PIPE) | KIND(FIFO),
    NEEDS_FIFO = KIND(FIFO),
    /* signals, sandbox probes and measurements */

    /* shared memory and semaphores */
    NEEDS_SHM = KIND(SHARED_MEMORY),
    NEEDS_SEM = KIND(SEMAPHORE),

    /* send, message queues and sockets */
    NEEDS_QUEUE = KIND(MESSAGE_QUEUE),
    NEEDS_SOCKET = KIND(SOCKET),
    NEEDS_QUEUE_OR_SOCKET = KIND(MESSAGE_QUEUE) | KIND(SOCKET),
};

/* shared memory and semaphores: runner_plan_shm.c */
int runner_plan_valid_shm_step(const runner_plan *plan, const ipclab_plan_step *st);
int runner_plan_valid_shm_channel(const ipclab_plan_channel *c, const char *pool);

typedef struct op_rule {
    uint16_t op;
    uint16_t channel;  /* enum channel_need: the kinds of channel it may name */
    uint8_t end;       /* 1: `end` must be a pipe end */
    uint8_t nonneg;    /* bit i: n[i] >= 0 */
    uint8_t text;      /* 1: `text` must not be empty */
    uint16_t flags;    /* the step flags it may carry (IPCLAB_PLAN_STEP_*: their meaning is the op's) */
} op_rule;

static const op_rule rules[] = {
    {IPCLAB_OP_SLEEP, NEEDS_NONE, 0, 1, 0, 0},
    {IPCLAB_OP_WAIT, NEEDS_NONE, 0, 0, 0, 0},
    {IPCLAB_OP_EXIT, NEEDS_NONE, 0, 1, 0, 0},
    {IPCLAB_OP_SPIN, NEEDS_NONE, 0, 1, 0, 0},
    {IPCLAB_OP_ALLOCATE, NEEDS_NONE, 0, 1, 0, 0},
    {IPCLAB_OP_FORK_CHILDREN, NEEDS_NONE, 0, 3, 0, 0},
    {IPCLAB_OP_OPEN_FILES, NEEDS_NONE, 0, 1, 0, 0},
    {IPCLAB_OP_WRITE_FILE, NEEDS_NONE, 0, 1, 1, 0},
    {IPCLAB_OP_WRITE, NEEDS_PIPE_OR_FIFO, 0, 3, 0, IPCLAB_PLAN_STEP_DATA_SIZE},
    {IPCLAB_OP_READ, NEEDS_PIPE_OR_FIFO, 0, 3, 0, 0},
    {IPCLAB_OP_READ_ALL, NEEDS_PIPE_OR_FIFO, 0, 1, 0, 0},
    {IPCLAB_OP_FILL, NEEDS_PIPE_OR_FIFO, 0, 1, 0, 0},
    {IPCLAB_OP_CLOSE, NEEDS_PIPE_OR_FIFO, 1, 0, 0, 0},
    {IPCLAB_OP_FSTAT, NEEDS_PIPE_OR_FIFO, 1, 0, 0, 0},
    {IPCLAB_OP_MKFIFO, NEEDS_FIFO, 0, 0, 0, 0},
    {IPCLAB_OP_OPEN, NEEDS_FIFO, 1, 0, 0, IPCLAB_PLAN_STEP_NONBLOCKING},
    {IPCLAB_OP_SET_NONBLOCKING, NEEDS_PIPE_OR_FIFO, 1, 1, 0, 0},
    {IPCLAB_OP_SET_PIPE_SIZE, NEEDS_PIPE_OR_FIFO, 0, 1, 0, 0},
    {IPCLAB_OP_GET_PIPE_SIZE, NEEDS_PIPE_OR_FIFO, 0, 0, 0, 0},
    {IPCLAB_OP_DUP2, NEEDS_PIPE_OR_FIFO, 1, 1, 0, 0},
    {IPCLAB_OP_STAGE, NEEDS_NONE, 0, 3, 0, 0},
    /* signals, sandbox probes and measurements */
    {IPCLAB_OP_SIGACTION, NEEDS_NONE, 0, 3, 0, IPCLAB_PLAN_STEP_RESTART},
    {IPCLAB_OP_KILL, NEEDS_NONE, 0, 1, 0, 0},
    {IPCLAB_OP_SIGQUEUE, NEEDS_NONE, 0, 3, 0, 0},
    {IPCLAB_OP_SIGPROCMASK, NEEDS_NONE, 0, 1, 0, 0},
    {IPCLAB_OP_SIGPENDING, NEEDS_NONE, 0, 0, 0, 0},
    {IPCLAB_OP_WAIT_SIGNALS, NEEDS_NONE, 0, 3, 0, 0},
    {IPCLAB_OP_READ_POINTER, NEEDS_NONE, 0, 1, 0, 0},
    {IPCLAB_OP_FAULT, NEEDS_NONE, 0, 1, 0, 0},
    {IPCLAB_OP_PROC_STAT, NEEDS_NONE, 0, 0, 0, 0},
    {IPCLAB_OP_SETPGID, NEEDS_NONE, 0, 0, 0, 0},
    {IPCLAB_OP_KILL_GROUP, NEEDS_NONE, 0, 0, 0, 0},
    {IPCLAB_OP_SETRESGID, NEEDS_NONE, 0, 1, 0, 0},
    {IPCLAB_OP_SETRESUID, NEEDS_NONE, 0, 1, 0, 0},
    {IPCLAB_OP_TRY_SYSCALL, NEEDS_NONE, 0, 0, 1, 0},
    {IPCLAB_OP_BENCH_SEND, NEEDS_SHM, 0, 3, 0, 0},
    {IPCLAB_OP_BENCH_RECEIVE, NEEDS_SHM, 0, 3, 0, 0},
    {IPCLAB_OP_BENCH_PING, NEEDS_SHM, 0, 1, 0, 0},
    {IPCLAB_OP_BENCH_PONG, NEEDS_SHM, 0, 1, 0, 0},

    /* shared memory and semaphores; offsets and extents: runner_plan_valid_shm_step */
    {IPCLAB_OP_ATTACH, NEEDS_SHM, 0, 1, 0, 0},
    {IPCLAB_OP_DETACH, NEEDS_SHM, 0, 0, 0, 0},
    {IPCLAB_OP_STORE, NEEDS_SHM, 0, 1, 1, 0},
    {IPCLAB_OP_LOAD, NEEDS_SHM, 0, 3, 0, 0},
    {IPCLAB_OP_STORE_INT, NEEDS_SHM, 0, 1, 0, 0},
    {IPCLAB_OP_LOAD_INT, NEEDS_SHM, 0, 1, 0, 0},
    {IPCLAB_OP_STORE_POINTER, NEEDS_SHM, 0, 3, 0, 0},
    {IPCLAB_OP_LOAD_POINTER, NEEDS_SHM, 0, 3, 0, 0},
    {IPCLAB_OP_INCREMENT, NEEDS_SHM, 0, 11, 0, IPCLAB_PLAN_STEP_SYNC_ATOMIC | IPCLAB_PLAN_STEP_SYNC_SEMAPHORE},
    {IPCLAB_OP_BARRIER, NEEDS_SHM, 0, 3, 0, IPCLAB_PLAN_STEP_SPREAD},
    {IPCLAB_OP_LOOKUP, NEEDS_SHM, 0, 0, 0, 0},
    {IPCLAB_OP_SHM_REMOVE, NEEDS_SHM, 0, 0, 0, 0},
    {IPCLAB_OP_SHM_UNLINK, NEEDS_SHM, 0, 0, 0, 0},
    {IPCLAB_OP_SEM_WAIT, NEEDS_SEM, 0, 0, 0, 0},
    {IPCLAB_OP_SEM_TRYWAIT, NEEDS_SEM, 0, 0, 0, 0},
    {IPCLAB_OP_SEM_POST, NEEDS_SEM, 0, 0, 0, 0},
    {IPCLAB_OP_SEM_WAIT_ZERO, NEEDS_SEM, 0, 0, 0, 0},
    {IPCLAB_OP_SEM_CLOSE, NEEDS_SEM, 0, 0, 0, 0},
    {IPCLAB_OP_SEM_UNLINK, NEEDS_SEM, 0, 0, 0, 0},
    {IPCLAB_OP_SEM_REMOVE, NEEDS_SEM, 0, 0, 0, 0},

    /* send, message queues and sockets */
    {IPCLAB_OP_SEND, NEEDS_QUEUE_OR_SOCKET, 0, 7, 0,
     IPCLAB_PLAN_STEP_NONBLOCKING | IPCLAB_PLAN_STEP_DATA_SIZE | IPCLAB_PLAN_SEND_CALL_SEND | IPCLAB_PLAN_SEND_CALL_WRITE},
    {IPCLAB_OP_RECEIVE, NEEDS_QUEUE, 0, 3, 0, IPCLAB_PLAN_STEP_NONBLOCKING | IPCLAB_PLAN_RECEIVE_TRUNCATE | IPCLAB_PLAN_RECEIVE_TYPE},
    {IPCLAB_OP_MQ_NOTIFY, NEEDS_QUEUE, 0, 0, 0, 0},
    {IPCLAB_OP_OPEN_QUEUE, NEEDS_QUEUE, 0, 0, 0, 0},
    {IPCLAB_OP_REMOVE_QUEUE, NEEDS_QUEUE, 0, 0, 0, 0},
    {IPCLAB_OP_SOCKET, NEEDS_SOCKET, 0, 0, 0, 0},
    {IPCLAB_OP_SETSOCKOPT, NEEDS_SOCKET, 0, 3, 0, 0},
    {IPCLAB_OP_GETSOCKOPT, NEEDS_SOCKET, 0, 1, 0, 0},
    {IPCLAB_OP_BIND, NEEDS_SOCKET, 0, 0, 0, 0},
    {IPCLAB_OP_LISTEN, NEEDS_SOCKET, 0, 1, 0, 0},
    {IPCLAB_OP_ACCEPT, NEEDS_SOCKET, 0, 0, 0, 0},
    {IPCLAB_OP_CONNECT, NEEDS_SOCKET, 0, 0, 0, 0},
    {IPCLAB_OP_WAIT_READY, NEEDS_SOCKET, 0, 0, 0, 0},
    {IPCLAB_OP_RECV, NEEDS_SOCKET, 0, 3, 0, IPCLAB_PLAN_STEP_NONBLOCKING | IPCLAB_PLAN_RECV_UNTIL_EOF | IPCLAB_PLAN_RECV_CALL_READ},
    {IPCLAB_OP_SHUTDOWN, NEEDS_SOCKET, 0, 1, 0, 0},
    {IPCLAB_OP_SEND_UNTIL_FULL, NEEDS_SOCKET, 0, 1, 0, IPCLAB_PLAN_STEP_NONBLOCKING},
    {IPCLAB_OP_SEND_FD, NEEDS_SOCKET, 0, 0, 1, IPCLAB_PLAN_SEND_FD_ATTACH | IPCLAB_PLAN_SEND_FD_CLOSE},
    {IPCLAB_OP_RECV_FD, NEEDS_SOCKET, 0, 1, 0, 0},
};

/* send, message queues and sockets: the bounds the participant's buffers rely on
 * (Scenario.Bounds.bytes: 1 MiB; MessageQueueStep.Bounds.size: 64 KiB; an option index of
 * enum ipclab_socket_option; shutdown's how; send_fd's data a second string of the pool). */
#define MSG_BYTES_MAX (1 << 20)
static int valid_msg_step(const plan_bounds *b, const ipclab_plan_step *st) {
    switch (st->op) {
    case IPCLAB_OP_SEND:
        if ((st->flags & IPCLAB_PLAN_STEP_DATA_SIZE) ? st->n[0] > MSG_BYTES_MAX : st->text.length > MSG_BYTES_MAX) return 0;
        if (st->n[2] > INT32_MAX || st->n[3] < -1 || st->n[3] > 32767) return 0;
        return (st->flags & IPCLAB_PLAN_SEND_CALL_SEND) == 0 || (st->flags & IPCLAB_PLAN_SEND_CALL_WRITE) == 0;
    case IPCLAB_OP_RECEIVE:
        return st->n[0] <= 65536 && st->n[2] >= INT32_MIN && st->n[2] <= INT32_MAX;
    case IPCLAB_OP_MQ_NOTIFY:
        return st->sig > 0;
    case IPCLAB_OP_SETSOCKOPT:
    case IPCLAB_OP_GETSOCKOPT:
        return st->n[0] <= 9 && st->n[1] <= INT32_MAX;
    case IPCLAB_OP_LISTEN:
        return st->n[0] <= INT32_MAX;
    case IPCLAB_OP_RECV:
    case IPCLAB_OP_SEND_UNTIL_FULL:
    case IPCLAB_OP_RECV_FD:
        return st->n[0] <= MSG_BYTES_MAX;
    case IPCLAB_OP_SHUTDOWN:
        return st->n[0] <= 2;
    case IPCLAB_OP_SEND_FD: {
        if (st->n[2] < 0 || st->n[2] > UINT32_MAX || st->n[3] < 0 || st->n[3] > UINT32_MAX) return 0;
        ipclab_plan_str data = { (uint32_t)st->n[2], (uint32_t)st->n[3] };
        return valid_str(b, data);
    }
    default:
        return 1;
    }
}

static const op_rule *rule_of(uint16_t op) {
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) if (rules[i].op == op) return &rules[i];
    return NULL;
}

/* signals, sandbox probes and measurements: the bounds the participant's buffers and
 * conversions rely on (SignalStep.Bounds and the language's, which the compiler's input met). */
static int valid_signal_step(const ipclab_plan_step *st) {
    const int64_t *n = st->n;
    switch (st->op) {
    case IPCLAB_OP_SIGACTION:
        return st->sig > 0 && n[0] <= 2 && n[1] <= 64 && n[2] >= -1 && n[2] <= 255;
    case IPCLAB_OP_KILL:
        return st->sig > 0;
    case IPCLAB_OP_SIGQUEUE:
        /* sival_int is an int: the last send's value (n[2] + repeat - 1) too; a text fits the 4 KiB buffer with its NUL. */
        if (st->sig <= 0 || n[1] > IPCLAB_PLAN_SIGVAL_STATIC || n[0] > INT32_MAX) return 0;
        if (n[1] == IPCLAB_PLAN_SIGVAL_INT) return n[2] >= INT32_MIN && n[2] + (n[0] > 0 ? n[0] - 1 : 0) <= INT32_MAX;
        return st->text.length > 0 && st->text.length < 4096;
    case IPCLAB_OP_SIGPROCMASK:
        return n[0] <= 2;
    case IPCLAB_OP_WAIT_SIGNALS:
        return n[1] <= 10000;
    case IPCLAB_OP_READ_POINTER:
        return n[0] >= 1 && n[0] <= 4096 && st->text.length < 4096;
    case IPCLAB_OP_FAULT:
        return n[0] <= 1;
    case IPCLAB_OP_KILL_GROUP:
        return st->sig > 0;
    case IPCLAB_OP_SETRESGID:
    case IPCLAB_OP_SETRESUID:
        return n[0] <= 65534;
    default:
        return 1;
    }
}

/* A measurement's channels: the data channel (reserved[0]) is of the kind its mechanism moves
 * data through (BenchMechanism.accepts: a pipe or FIFO, a stream socketpair, a TCP socket, a POSIX queue),
 * and none for shm_ring, signal and semaphore; a latency phase over a pipe or a queue has a reply channel
 * (reserved[1]) of that kind too, another one, and no other phase has one; throughput only over the
 * mechanisms BenchMechanism.throughput names; a queue's messages hold a chunk, or a 64-byte ping; the sync
 * region holds at least the control block bench.c reads; sizes and counts within BenchStep.Bounds. */
static int bench_channel_fits(const runner_plan *plan, int32_t c, int64_t mechanism) {
    if (c < 0 || c >= plan->header->nchannels) return 0;
    const ipclab_plan_channel *ch = &plan->channels[c];
    switch (mechanism) {
    case IPCLAB_BENCH_PIPE: return ch->kind == IPCLAB_PLAN_CHANNEL_PIPE || ch->kind == IPCLAB_PLAN_CHANNEL_FIFO;
    case IPCLAB_BENCH_UNIX_STREAM: return ch->kind == IPCLAB_PLAN_CHANNEL_SOCKET && ch->sub == IPCLAB_PLAN_SOCKET_PAIR_STREAM;
    case IPCLAB_BENCH_TCP: return ch->kind == IPCLAB_PLAN_CHANNEL_SOCKET && ch->sub == IPCLAB_PLAN_SOCKET_TCP;
    case IPCLAB_BENCH_POSIX_MQ: return ch->kind == IPCLAB_PLAN_CHANNEL_MESSAGE_QUEUE && ch->sub == IPCLAB_PLAN_MQ_POSIX;
    default: return 0;
    }
}

static int valid_bench_step(const runner_plan *plan, const ipclab_plan_step *st) {
    const int64_t *n = st->n;
    int64_t mechanism = n[2];
    int throughput = st->op == IPCLAB_OP_BENCH_SEND || st->op == IPCLAB_OP_BENCH_RECEIVE;
    if (mechanism < IPCLAB_BENCH_PIPE || mechanism > IPCLAB_BENCH_SEMAPHORE) return 0;
    if (throughput && mechanism > IPCLAB_BENCH_SHM_RING) return 0;
    if (n[3] < -1 || n[3] > 1023) return 0;
    int32_t data = st->reserved[0], reply = st->reserved[1];
    if (mechanism <= IPCLAB_BENCH_POSIX_MQ ? !bench_channel_fits(plan, data, mechanism) : data != -1) return 0;
    int replies = !throughput && (mechanism == IPCLAB_BENCH_PIPE || mechanism == IPCLAB_BENCH_POSIX_MQ);
    if (replies ? !bench_channel_fits(plan, reply, mechanism) || reply == data : reply != -1) return 0;
    if (mechanism == IPCLAB_BENCH_POSIX_MQ) {
        int64_t size = plan->channels[data].b;
        if (throughput ? n[1] > size : size < IPCLAB_BENCH_MESSAGE_BYTES || plan->channels[reply].b < IPCLAB_BENCH_MESSAGE_BYTES) return 0;
    }
    if (plan->channels[st->channel].a < IPCLAB_BENCH_CONTROL_BYTES) return 0;
    if (throughput) return n[0] >= 1 && n[0] <= (1 << 30) && n[1] >= 1 && n[1] <= (1 << 20);
    return n[0] >= 1 && n[0] <= 1000000 && n[1] == 0;
}

static int valid_process_ref(int16_t p, uint16_t nprocesses) { return p == -1 || (p >= 0 && p < nprocesses); }

static int valid_step(const runner_plan *plan, const plan_bounds *b, const ipclab_plan_step *st) {
    const ipclab_plan_header *h = plan->header;
    const op_rule *rule = rule_of(st->op);
    if (!rule) return 0;
    if (st->flags & ~rule->flags) return 0;
    if (rule->channel == NEEDS_NONE) {
        if (st->channel != -1) return 0;
    } else {
        if (st->channel < 0 || st->channel >= h->nchannels) return 0;
        if (!(rule->channel >> plan->channels[st->channel].kind & 1)) return 0;
    }
    if (!valid_process_ref(st->process, h->nprocesses) || !valid_process_ref(st->process2, h->nprocesses)) return 0;
    if (st->end != -1 && st->end != IPCLAB_PLAN_END_READ && st->end != IPCLAB_PLAN_END_WRITE) return 0;
    if (rule->end && st->end == -1) return 0;
    if (st->sig < 0 || st->sig > 64) return 0;
    for (int i = 0; i < 4; i++) if ((rule->nonneg >> i & 1) && st->n[i] < 0) return 0;
    if (st->op == IPCLAB_OP_EXIT && st->n[0] > 255) return 0;
    if (st->op == IPCLAB_OP_SET_NONBLOCKING && st->n[0] > 1) return 0;
    if (st->op == IPCLAB_OP_STAGE && st->n[0] > 2) return 0;
    /* Byte counts are what the participant's 1 MiB buffers hold (Scenario.Bounds.bytes): a sized write's
     * data, a read's size, read_all's and fill's chunks. */
    if (((st->op == IPCLAB_OP_WRITE && (st->flags & IPCLAB_PLAN_STEP_DATA_SIZE)) || st->op == IPCLAB_OP_READ
         || st->op == IPCLAB_OP_READ_ALL || st->op == IPCLAB_OP_FILL) && st->n[0] > (1 << 20)) return 0;
    if ((st->op >> 8) >= 0x06 && (st->op >> 8) <= 0x08 && !valid_msg_step(b, st)) return 0;
    /* signals, sandbox probes and measurements */
    if (!valid_signal_step(st)) return 0;
    if (st->op >> 8 == 0x0A && !valid_bench_step(plan, st)) return 0;
    /* shared memory and semaphores */
    if ((st->op >> 8 == 0x04 || st->op >> 8 == 0x05) && !runner_plan_valid_shm_step(plan, st)) return 0;
    return rule->text ? valid_nonempty_str(b, st->text) : valid_str(b, st->text);
}

static int valid_channel(const plan_bounds *b, const ipclab_plan_channel *c) {
    if (c->kind < IPCLAB_PLAN_CHANNEL_PIPE || c->kind > IPCLAB_PLAN_CHANNEL_SOCKET) return 0;
    if (!valid_str(b, c->name) || !valid_str(b, c->path) || !valid_str(b, c->text)) return 0;
    if (c->kind == IPCLAB_PLAN_CHANNEL_PIPE && c->flags != 0) return 0;
    if (c->kind == IPCLAB_PLAN_CHANNEL_FIFO) {
        if (c->flags & ~IPCLAB_PLAN_FIFO_BEFORE_FORK) return 0;
        if (!valid_nonempty_str(b, c->path) || b->pool[c->path.offset] != '/') return 0;
    }
    /* shared memory and semaphores */
    if ((c->kind == IPCLAB_PLAN_CHANNEL_SHARED_MEMORY || c->kind == IPCLAB_PLAN_CHANNEL_SEMAPHORE)
        && !runner_plan_valid_shm_channel(c, b->pool)) return 0;

    /* send, message queues and sockets */
    if (c->kind == IPCLAB_PLAN_CHANNEL_MESSAGE_QUEUE) {
        if (c->sub == IPCLAB_PLAN_MQ_SYSV) {
            if (c->flags != 0 || c->a < 1 || c->a > INT32_MAX) return 0;
        } else if (c->sub == IPCLAB_PLAN_MQ_POSIX) {
            /* MessageQueueChannel.Bounds: 1…1000 messages of 1…8192 bytes; a name "/…". */
            if (c->flags & ~IPCLAB_PLAN_MQ_RAISE_MSG_MAX) return 0;
            if (c->a < 1 || c->a > 1000 || c->b < 1 || c->b > 8192) return 0;
            if (!valid_nonempty_str(b, c->path) || b->pool[c->path.offset] != '/') return 0;
        } else {
            return 0;
        }
    }
    if (c->kind == IPCLAB_PLAN_CHANNEL_SOCKET) {
        if (c->flags != 0 || c->sub > IPCLAB_PLAN_SOCKET_PAIR_SEQPACKET) return 0;
        if (c->sub == IPCLAB_PLAN_SOCKET_TCP || c->sub == IPCLAB_PLAN_SOCKET_UDP) {
            if (c->a < 0 || c->a > UINT32_MAX || c->b < 1 || c->b > 65535) return 0;
        }
        if (c->sub == IPCLAB_PLAN_SOCKET_UNIX_STREAM || c->sub == IPCLAB_PLAN_SOCKET_UNIX_DGRAM) {
            if (!valid_nonempty_str(b, c->path) || b->pool[c->path.offset] != '/') return 0;
        }
    }

    return 1;
}

/* Checks the copy at `p` (length bytes, a zero byte after them). */
static int validate(const char *p, uint64_t length, runner_plan *out) {
    if (length < sizeof(ipclab_plan_header)) return 0;
    const ipclab_plan_header *h = (const ipclab_plan_header *)p;
    if (h->magic != IPCLAB_PLAN_MAGIC || h->version != IPCLAB_PLAN_VERSION || h->length != length) return 0;
    if (h->flags & ~IPCLAB_PLAN_HAS_SOCKET) return 0;
    if (h->nprocesses < 1 || h->nprocesses > IPCLAB_PLAN_PROCESSES_MAX) return 0;
    if (h->nchannels > IPCLAB_PLAN_CHANNELS_MAX || h->nsteps > IPCLAB_PLAN_STEPS_MAX) return 0;
    if (h->cpus > IPCLAB_PLAN_CPUS_SPREAD || h->jitter_us > PLAN_JITTER_US_MAX) return 0;
    uint64_t end = sizeof(ipclab_plan_header);
    if (!section(h->off_channels, h->nchannels, sizeof(ipclab_plan_channel), end, length, &end)) return 0;
    if (!section(h->off_processes, h->nprocesses, sizeof(ipclab_plan_process), end, length, &end)) return 0;
    if (!section(h->off_steps, h->nsteps, sizeof(ipclab_plan_step), end, length, &end)) return 0;
    if (!section(h->off_strings, h->strings_length, 1, end, length, &end)) return 0;

    out->header = h;
    out->channels = (const ipclab_plan_channel *)(p + h->off_channels);
    out->processes = (const ipclab_plan_process *)(p + h->off_processes);
    out->steps = (const ipclab_plan_step *)(p + h->off_steps);
    out->strings = p + h->off_strings;
    plan_bounds b = {out->strings, h->strings_length};

    for (uint32_t i = 0; i < h->nchannels; i++) if (!valid_channel(&b, &out->channels[i])) return 0;
    for (uint32_t i = 0; i < h->nprocesses; i++) {
        const ipclab_plan_process *pr = &out->processes[i];
        if (!valid_str(&b, pr->name)) return 0;
        if ((uint64_t)pr->first_step + pr->nsteps > h->nsteps) return 0;
    }
    for (uint32_t i = 0; i < h->nsteps; i++) if (!valid_step(out, &b, &out->steps[i])) return 0;
    return 1;
}

int runner_plan_load(const void *bytes, size_t length, runner_plan *out) {
    /* A plan's length is a u32 in both headers; anything larger is not one. */
    if (!bytes || length < sizeof(ipclab_plan_header) || length > UINT32_MAX) {
        errno = EINVAL;
        return -1;
    }
    size_t size = length + 1;
    void *copy = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (copy == MAP_FAILED) {
        errno = EINVAL;
        return -1;
    }
    memcpy(copy, bytes, length); /* the one read of the ring's plan area; the zero after it is the mapping's */
    runner_plan plan;
    if (!validate(copy, length, &plan)) {
        munmap(copy, size);
        errno = EINVAL;
        return -1;
    }
    /* Nothing of the run writes its plan: a stray write faults instead of changing a later step. */
    mprotect(copy, size, PROT_READ);
    *out = plan;
    return 0;
}

int runner_plan_reads_own_memory(const runner_plan *plan) {
    for (uint32_t i = 0; i < plan->header->nsteps; i++) {
        uint16_t op = plan->steps[i].op;
        if (op == IPCLAB_OP_LOAD_POINTER || op == IPCLAB_OP_READ_POINTER) return 1;
    }
    return 0;
}
