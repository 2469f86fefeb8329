/* ring.c — the shared event ring. Everything called from inside a run is
 * async-signal-safe: no locks, no allocation, only atomics and memcpy. */
#include "ipclab.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static ipclab_ring_header *bound_ring;
static int bound_process = -1;
/* The ring's size in records, copied once when this process bound the ring: the header's copy is
 * shared with every process of the run, and a run may overwrite it (a recorder that believed it
 * would claim records past the mapping). */
static uint32_t bound_capacity;

/* Byte offset of records[0]: the header, rounded up to a cache line. A constant, never read back. */
#define RECORDS_OFFSET ((sizeof(ipclab_ring_header) + 63) & ~(size_t)63)

static int64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

size_t ipclab_ring_size(uint32_t capacity, uint32_t plan_capacity) {
    return RECORDS_OFFSET + (size_t)capacity * sizeof(ipclab_record) + plan_capacity;
}

size_t ipclab_ring_records_offset(void) { return RECORDS_OFFSET; }

void ipclab_ring_init(void *base, uint32_t capacity, uint32_t plan_capacity) {
    ipclab_ring_header *h = base;
    size_t records = RECORDS_OFFSET;
    h->magic = IPCLAB_RING_MAGIC;
    h->version = IPCLAB_RING_VERSION;
    h->capacity = capacity;
    h->records_offset = (uint32_t)records;
    h->plan_offset = (uint32_t)(records + (size_t)capacity * sizeof(ipclab_record));
    h->plan_capacity = plan_capacity;
    h->plan_length = 0;
    __atomic_store_n(&h->next, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&h->dropped, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&h->outcome, IPCLAB_OUTCOME_RUNNING, __ATOMIC_RELEASE);
}

ipclab_record *ipclab_ring_record(void *base, uint32_t index) {
    return (ipclab_record *)((char *)base + RECORDS_OFFSET) + index;
}

uint32_t ipclab_ring_claimed(const void *base, uint32_t capacity) {
    const ipclab_ring_header *h = base;
    uint64_t next = __atomic_load_n(&h->next, __ATOMIC_ACQUIRE);
    return next > capacity ? capacity : (uint32_t)next;
}

uint32_t ipclab_recorder_capacity(void) { return bound_ring ? bound_capacity : 0; }

uint32_t ipclab_record_state(const ipclab_record *record) {
    return __atomic_load_n(&record->state, __ATOMIC_ACQUIRE);
}

int ipclab_recorder_bind(void *base, size_t size, int process) {
    bound_process = process;
    if (base && base == (void *)bound_ring) return 0; /* inherited: the bounds copied then still hold */
    bound_ring = NULL;
    bound_capacity = 0;
    if (!base || size < RECORDS_OFFSET) return -1;
    const ipclab_ring_header *h = base;
    uint32_t capacity = h->capacity;
    if (h->magic != IPCLAB_RING_MAGIC || h->records_offset != RECORDS_OFFSET
        || ipclab_ring_size(capacity, 0) > size) return -1;
    bound_capacity = capacity;
    bound_ring = base;
    return 0;
}

/* The run's t0 as this process knows it: set by the init's start_clock, inherited by every participant
 * (forked after it). The header's t0 is for the server; a run can write it, so no deadline or timestamp
 * here reads it back (a t0 written an hour ahead would stop the init's wall-clock limit). 0: not started
 * in this process's memory (an exec'd program's tracer), then the header's. */
static int64_t private_t0;

void ipclab_recorder_start_clock(void) {
    if (!bound_ring) return;
    private_t0 = monotonic_ns();
    __atomic_store_n(&bound_ring->t0, private_t0, __ATOMIC_RELEASE);
}

int64_t ipclab_now_ns(void) {
    if (!bound_ring) return 0;
    int64_t t0 = private_t0 ? private_t0 : __atomic_load_n(&bound_ring->t0, __ATOMIC_ACQUIRE);
    return monotonic_ns() - t0;
}

static void copy_call(char *dst, const char *call) {
    size_t i = 0;
    if (call) {
        for (; i + 1 < IPCLAB_CALL_MAX && call[i]; i++) dst[i] = call[i];
    }
    dst[i] = 0;
}

uint32_t ipclab_begin(uint16_t kind, const char *call, int32_t step,
                      const int64_t *args, int nargs) {
    ipclab_ring_header *h = bound_ring;
    if (!h) return UINT32_MAX;
    /* Participants may fill the ring only up to a reserve kept for the run's init,
     * so that how every process ended is recorded even when a run floods the ring.
     * A participant's start and the reaps it makes (wait) may use the reserve too: without
     * them the trace would not know a process that started after the flood. */
    int reserved = bound_process >= 0 && kind != IPCLAB_REC_START && kind != IPCLAB_REC_REAP;
    uint64_t limit = bound_capacity;
    if (reserved) limit = limit > IPCLAB_INIT_RESERVE ? limit - IPCLAB_INIT_RESERVE : 0;
    uint64_t index = __atomic_load_n(&h->next, __ATOMIC_ACQUIRE);
    do {
        if (index >= limit) {
            __atomic_fetch_add(&h->dropped, 1, __ATOMIC_RELAXED);
            return UINT32_MAX;
        }
    } while (!__atomic_compare_exchange_n(&h->next, &index, index + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    ipclab_record *r = ipclab_ring_record(h, (uint32_t)index);
    r->kind = kind;
    r->process = (int16_t)bound_process;
    r->pid = (int32_t)getpid();
    r->step = step;
    r->t_begin = ipclab_now_ns();
    r->t_end = -1;
    r->result = 0;
    r->err = 0;
    r->payload_len = 0;
    for (int i = 0; i < IPCLAB_ARGS_MAX; i++) r->args[i] = (args && i < nargs) ? args[i] : 0;
    copy_call(r->call, call);
    __atomic_store_n(&r->state, IPCLAB_STATE_BEGUN, __ATOMIC_RELEASE);
    return (uint32_t)index;
}

/* Fills in how a call ended and publishes the record (DONE, release): a reader that sees
 * DONE sees every field final, also while the run goes on. */
static void finish_record(ipclab_record *r, int64_t t_end, int64_t result, int32_t err,
                          const void *payload, size_t payload_len) {
    r->t_end = t_end;
    r->result = result;
    r->err = err;
    r->payload_len = (uint32_t)payload_len;
    if (payload && payload_len) {
        size_t n = payload_len < IPCLAB_PAYLOAD_MAX ? payload_len : IPCLAB_PAYLOAD_MAX;
        memcpy(r->payload, payload, n);
    }
    __atomic_store_n(&r->state, IPCLAB_STATE_DONE, __ATOMIC_RELEASE);
}

void ipclab_end(uint32_t index, int64_t result, int32_t err,
                const void *payload, size_t payload_len) {
    ipclab_ring_header *h = bound_ring;
    if (!h || index >= bound_capacity) return;
    finish_record(ipclab_ring_record(h, index), ipclab_now_ns(), result, err, payload, payload_len);
}

uint32_t ipclab_record_now(uint16_t kind, const char *call, int32_t step,
                           const int64_t *args, int nargs,
                           int64_t result, int32_t err,
                           const void *payload, size_t payload_len) {
    uint32_t index = ipclab_begin(kind, call, step, args, nargs);
    if (index != UINT32_MAX) {
        ipclab_record *r = ipclab_ring_record(bound_ring, index);
        finish_record(r, r->t_begin, result, err, payload, payload_len);
    }
    return index;
}

void ipclab_ring_finish(int32_t outcome, int32_t err, const char *failure) {
    ipclab_ring_header *h = bound_ring;
    if (!h) return;
    h->t_end = ipclab_now_ns();
    h->failed_errno = err;
    if (failure) {
        size_t i = 0;
        for (; i + 1 < sizeof h->failure && failure[i]; i++) h->failure[i] = failure[i];
        h->failure[i] = 0;
    }
    __atomic_store_n(&h->outcome, outcome, __ATOMIC_RELEASE);
}

void ipclab_publish_pid(int index, int32_t pid) {
    if (!bound_ring || index < 0 || index >= IPCLAB_PROCESSES_MAX) return;
    __atomic_store_n(&bound_ring->pids[index], pid, __ATOMIC_RELEASE);
}

int32_t ipclab_participant_pid(int index) {
    if (!bound_ring || index < 0 || index >= IPCLAB_PROCESSES_MAX) return 0;
    return __atomic_load_n(&bound_ring->pids[index], __ATOMIC_ACQUIRE);
}
