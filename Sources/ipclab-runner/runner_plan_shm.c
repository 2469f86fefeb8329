/*
 * runner_plan_shm.c — the validator's checks of shared-memory and semaphore channels and steps
 * (runner_plan.c calls them; ipclab_plan.h states the fields). After these, a participant may touch
 * base + offset ... base + offset + extent of a region it has mapped without a check of its own: every
 * offset and its extent lie inside the channel's size, the size the participant maps (the bounds of
 * IPCLabCore's Scenario.Bounds+SharedMemory and SharedMemoryStep.check, enforced again here because
 * the plan came through the ring).
 */
#include "runner_plan.h"

#include <stdint.h>

/* Scenario.Bounds (Bounds+SharedMemory.swift). */
#define SHM_SIZE_MAX 1048576
#define ACCESS_BYTES_MAX 4096
#define INCREMENTS_MAX 10000000
#define DETAIL_MAX 16
#define BARRIER_COUNT_MAX 64
#define SEM_VALUE_MAX 32767
#define ATTACH_ADDRESS_MIN 0x10000
#define ATTACH_ADDRESS_MAX 0x7FFFFFFF0000

static int named(const ipclab_plan_channel *c, const char *pool) {
    return c->path.length > 0 && pool[c->path.offset] == '/';
}

static int ftok_id(int64_t id) { return id >= 1 && id <= 127; }

int runner_plan_valid_shm_channel(const ipclab_plan_channel *c, const char *pool) {
    if (c->kind == IPCLAB_PLAN_CHANNEL_SHARED_MEMORY) {
        if (c->flags & ~IPCLAB_PLAN_SHM_PRIVATE) return 0;
        if (c->a < 1 || c->a > SHM_SIZE_MAX || c->text.length > (uint64_t)c->a) return 0;
        switch (c->sub) {
        case IPCLAB_PLAN_SHM_ANONYMOUS: return c->path.length == 0 && c->b == 0;
        case IPCLAB_PLAN_SHM_SYSV: return named(c, pool) && ftok_id(c->b) && c->text.length == 0 && c->flags == 0;
        case IPCLAB_PLAN_SHM_POSIX: return named(c, pool) && c->b == 0 && c->text.length == 0;
        default: return 0;
        }
    }
    if (c->flags != 0 || c->text.length != 0 || c->a < 0 || c->a > SEM_VALUE_MAX) return 0;
    switch (c->sub) {
    case IPCLAB_PLAN_SEM_NAMED: return named(c, pool) && c->b == 0;
    case IPCLAB_PLAN_SEM_UNNAMED: return c->path.length == 0 && c->b == 0;
    case IPCLAB_PLAN_SEM_SYSV: return named(c, pool) && ftok_id(c->b);
    default: return 0;
    }
}

/* `bytes` at `offset` inside a region of `size` bytes (all three already non-negative and bounded). */
static int inside(int64_t offset, int64_t bytes, int64_t size, int aligned) {
    if (aligned && offset % 8 != 0) return 0;
    return offset <= size && bytes <= size - offset;
}

int runner_plan_valid_shm_step(const runner_plan *plan, const ipclab_plan_step *st) {
    const ipclab_plan_channel *c = &plan->channels[st->channel];
    const int64_t *n = st->n;
    if (st->process != -1 || st->process2 != -1 || st->end != -1 || st->sig != 0) return 0;
    if (st->op >> 8 == 0x05) return n[0] == 0 && n[1] == 0 && n[2] == 0 && n[3] == 0 && st->text.length == 0;
    int64_t size = c->a;
    switch (st->op) {
    case IPCLAB_OP_ATTACH:
        return (n[0] == 0 || (n[0] >= ATTACH_ADDRESS_MIN && n[0] <= ATTACH_ADDRESS_MAX && n[0] % 4096 == 0))
            && n[1] == 0 && n[2] == 0 && n[3] == 0 && st->text.length == 0;
    case IPCLAB_OP_STORE:
        return st->text.length <= ACCESS_BYTES_MAX && inside(n[0], st->text.length, size, 0)
            && n[1] == 0 && n[2] == 0 && n[3] == 0;
    case IPCLAB_OP_LOAD:
    case IPCLAB_OP_LOAD_POINTER:
        if (n[1] < 1 || n[1] > ACCESS_BYTES_MAX || n[2] != 0 || n[3] != 0 || st->text.length) return 0;
        return st->op == IPCLAB_OP_LOAD ? inside(n[0], n[1], size, 0) : inside(n[0], 8, size, 1);
    case IPCLAB_OP_STORE_INT:
        return inside(n[0], 8, size, 1) && n[2] == 0 && n[3] == 0 && st->text.length == 0;
    case IPCLAB_OP_LOAD_INT:
        return inside(n[0], 8, size, 1) && n[1] == 0 && n[2] == 0 && n[3] == 0 && st->text.length == 0;
    case IPCLAB_OP_STORE_POINTER:
        return inside(n[0], 8, size, 1) && n[1] < size && n[2] == 0 && n[3] == 0 && st->text.length == 0;
    case IPCLAB_OP_INCREMENT: {
        if (!inside(n[0], 8, size, 1) || n[1] < 1 || n[1] > INCREMENTS_MAX || n[3] > DETAIL_MAX || st->text.length) return 0;
        unsigned sync = st->flags & (IPCLAB_PLAN_STEP_SYNC_ATOMIC | IPCLAB_PLAN_STEP_SYNC_SEMAPHORE);
        if (sync == (IPCLAB_PLAN_STEP_SYNC_ATOMIC | IPCLAB_PLAN_STEP_SYNC_SEMAPHORE)) return 0;
        if (sync != IPCLAB_PLAN_STEP_SYNC_SEMAPHORE) return n[2] == -1;
        return n[2] >= 0 && n[2] < plan->header->nchannels
            && plan->channels[n[2]].kind == IPCLAB_PLAN_CHANNEL_SEMAPHORE;
    }
    case IPCLAB_OP_BARRIER:
        /* [arrived, go, stamp 1 ... stamp count]: 8 × (count + 2) bytes. */
        return n[1] >= 1 && n[1] <= BARRIER_COUNT_MAX && inside(n[0], 8 * (n[1] + 2), size, 1)
            && n[2] == 0 && n[3] == 0 && st->text.length == 0;
    case IPCLAB_OP_DETACH:
    case IPCLAB_OP_LOOKUP:
    case IPCLAB_OP_SHM_REMOVE:
    case IPCLAB_OP_SHM_UNLINK:
        return n[0] == 0 && n[1] == 0 && n[2] == 0 && n[3] == 0 && st->text.length == 0;
    default:
        return 0;
    }
}
