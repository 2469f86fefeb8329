/*
 * participant_bench.c — measurement steps: one side of a throughput or latency phase, run by the C
 * loops of bench.c (which record their own events) with the descriptors and the sync region this
 * process holds. The C port of Participant+Bench.swift, field for field of ipclab_bench_spec, over
 * every mechanism: pipes, a socketpair (unix_stream), TCP, POSIX queues, and the sync region's own.
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
    /* The data channel and the reply (of the mechanism's kind: the validator), as the Swift side picks
     * this process's descriptor of each: a pipe's end by role; a TCP channel's address and port (the
     * loops make the connection); a socketpair's sv[0] in the first process, sv[1] in the others; a
     * queue's descriptor. */
    int data = s->reserved[0], reply = s->reserved[1];
    if (data >= 0) {
        const ipclab_plan_channel *ch = &p->plan->channels[data];
        if (ch->kind == IPCLAB_PLAN_CHANNEL_PIPE || ch->kind == IPCLAB_PLAN_CHANNEL_FIFO) {
            spec.fd = initiates ? p->ends[data].write : p->ends[data].read;
        } else if (ch->kind == IPCLAB_PLAN_CHANNEL_SOCKET && ch->sub == IPCLAB_PLAN_SOCKET_TCP) {
            spec.tcp_address = (uint32_t)ch->a;
            spec.tcp_port = (int32_t)ch->b;
        } else if (ch->kind == IPCLAB_PLAN_CHANNEL_SOCKET) {
            spec.fd = p->index == 0 ? (int)p->msg_handle[data] : p->ends[data].write;
        } else {
            spec.fd = (int)p->msg_handle[data];
        }
    }
    if (reply >= 0) {
        if (mechanism == IPCLAB_BENCH_PIPE) spec.fd2 = initiates ? p->ends[reply].read : p->ends[reply].write;
        else spec.fd2 = (int)p->msg_handle[reply];
    }
    if (s->op == IPCLAB_OP_BENCH_SEND || s->op == IPCLAB_OP_BENCH_RECEIVE) {
        spec.total_bytes = s->n[0];
        spec.chunk_bytes = s->n[1];
        (void)ipclab_bench_throughput(&spec);
    } else {
        spec.round_trips = s->n[0];
        (void)ipclab_bench_latency(&spec);
    }
}
