/*
 * participant_bench.c — measurement steps: one side of a throughput or latency phase, run by the C
 * loops of bench.c (which record their own events) with the descriptors and the sync region this
 * process holds. The C port of Participant+Bench.swift, field for field of ipclab_bench_spec.
 */
#include "participant_internal.h"

#include <errno.h>

#include "ipclab_bench.h"

static const char *op_name(uint16_t op) {
    switch (op) {
    case IPCLAB_OP_BENCH_SEND: return "bench_send";
    case IPCLAB_OP_BENCH_RECEIVE: return "bench_receive";
    case IPCLAB_OP_BENCH_PING: return "bench_ping";
    default: return "bench_pong";
    }
}

void participant_run_bench_step(const ipclab_plan_step *s, int step) {
    participant *p = &participant_self;
    const participant_region *sync = &p->regions[s->channel];
    int64_t mechanism = s->n[2];
    if (!sync->address) {
        /* The region's mmap failed when the first process created it (that failure is in the trace). */
        int64_t args[1] = { mechanism };
        (void)ipclab_record_now(IPCLAB_REC_EVENT, op_name(s->op), step, args, 1, -1, EFAULT, NULL, 0);
        return;
    }
    int initiates = s->op == IPCLAB_OP_BENCH_SEND || s->op == IPCLAB_OP_BENCH_PING;
    ipclab_bench_spec spec = {0};
    spec.mechanism = (int32_t)mechanism;
    spec.role = initiates ? 0 : 1;
    spec.step = step;
    spec.fd = -1;
    spec.fd2 = -1;
    spec.sync = sync->address;
    spec.sync_size = sync->size;
    spec.cpu = (int32_t)s->n[3];
    /* The data channel and the reply (a pipe or FIFO: the validator): this side's end of each. */
    int data = s->reserved[0], reply = s->reserved[1];
    if (data >= 0) spec.fd = initiates ? p->ends[data].write : p->ends[data].read;
    if (reply >= 0) spec.fd2 = initiates ? p->ends[reply].read : p->ends[reply].write;
    if (s->op == IPCLAB_OP_BENCH_SEND || s->op == IPCLAB_OP_BENCH_RECEIVE) {
        spec.total_bytes = s->n[0];
        spec.chunk_bytes = s->n[1];
        (void)ipclab_bench_throughput(&spec);
    } else {
        spec.round_trips = s->n[0];
        (void)ipclab_bench_latency(&spec);
    }
}
