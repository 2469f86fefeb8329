/*
 * participant_increment.c — the counter incremented in a loop and the barrier in a region: the C port
 * of Participant+SharedMemory.swift's `increment` and `barrier`, record for record. The loops themselves
 * are CIPCLab's shm.c (ipclab_add_*, ipclab_barrier_*), linked unchanged, with their clamps: the
 * barrier's arrival is read from shared memory any process of the run may overwrite, and a value
 * outside 1 ... count fails the step with EPROTO (args[4] keeps it) instead of choosing where the
 * barrier writes (issue #12 item 2).
 */
#include "participant_internal.h"

#include <errno.h>

#include "ipclab_shm.h"

static int64_t addr(const void *p) { return (int64_t)(intptr_t)p; }

/* The first `detail` iterations one access at a time, then the rest in C as one `increment` event
 * whose args say how many, with which synchronisation, and the first and last values. */
void participant_increment(const ipclab_plan_step *s, int step) {
    int c = s->channel;
    char *base = participant_shm_mapped(c, step);
    if (!base) return;
    int64_t offset = s->n[0], times = s->n[1];
    int sem = (s->flags & IPCLAB_PLAN_STEP_SYNC_SEMAPHORE) ? (int)s->n[2] : -1;
    int64_t code = (s->flags & IPCLAB_PLAN_STEP_SYNC_ATOMIC) ? 1 : sem >= 0 ? 2 : 0;
    char *counter = base + offset;
    int64_t detailed = s->n[3] < times ? s->n[3] : times;
    for (int64_t i = 0; i < detailed; i++) {
        /* v comes from shared memory any process may write: v + 1 wraps (Swift's `+` traps at INT64_MAX). */
        int64_t v;
        if (code == 0) {
            if (participant_shm_load_int(c, offset, step, &v) != 0) return;
            participant_shm_store_int(c, offset, (int64_t)((uint64_t)v + 1), step);
        } else if (code == 1) {
            int64_t old = ipclab_atomic_fetch_add_i64(counter, 1);
            int64_t args[4] = { addr(base), offset, old, c };
            (void)participant_instant("atomic_fetch_add", step, args, 4, 8, 0);
        } else {
            if (participant_sem_wait(sem, 0, step) != 0) return;
            if (participant_shm_load_int(c, offset, step, &v) != 0) return;
            participant_shm_store_int(c, offset, (int64_t)((uint64_t)v + 1), step);
            if (participant_sem_post(sem, step) != 0) return;
        }
    }
    int64_t rest = times - detailed;
    int64_t args[8] = { addr(base), offset, rest, code, c, sem, 0, 0 };
    uint32_t slot = participant_begin("increment", step, args, 8);
    int64_t first = 0, last = 0, done;
    errno = 0;
    if (code == 0) {
        done = ipclab_add_unsynchronised(counter, rest, &first, &last);
    } else if (code == 1) {
        done = ipclab_add_atomic(counter, rest, &first, &last);
    } else {
        /* A POSIX semaphore's sem_t, or (no pointer) a SysV set id (Participant.semaphoreRef). */
        const participant_region *r = &participant_self.regions[sem];
        int sysv = participant_self.plan->channels[sem].sub == IPCLAB_PLAN_SEM_SYSV;
        done = ipclab_add_with_semaphore(counter, rest, sysv ? NULL : r->address, sysv ? (int)r->handle : -1, &first, &last);
    }
    int err = done < rest ? errno : 0;
    ipclab_record *record = participant_record(slot);
    if (record) {
        record->args[6] = first;
        record->args[7] = last;
    }
    participant_end(slot, done, err, NULL, 0);
}

/* Each process adds 1 to the arrival count at `offset` and spins until all `count` have arrived and
 * run at the same moment; with SPREAD the n-th arrival first pins itself to the n-th CPU. */
void participant_barrier(const ipclab_plan_step *s, int step) {
    int c = s->channel;
    char *base = participant_shm_mapped(c, step);
    if (!base) return;
    int64_t offset = s->n[0], count = s->n[1];
    int64_t args[4] = { addr(base), offset, count, c };
    uint32_t slot = participant_begin("barrier", step, args, 4);
    int64_t arrival = ipclab_barrier_arrive(base + offset);
    if (s->flags & IPCLAB_PLAN_STEP_SPREAD) {
        /* The arrival may have been overwritten: arrival - 1 wraps instead of overflowing; a CPU index
         * that is negative or past the CPUs is refused by ipclab_pin_to_nth_cpu (EINVAL). */
        int cpu = ipclab_pin_to_nth_cpu((int64_t)((uint64_t)arrival - 1));
        int r = cpu < 0 ? -1 : 0;
        int err = r < 0 ? errno : 0;
        int64_t pargs[3] = { 0, cpu, arrival };
        (void)participant_instant("sched_setaffinity", step, pargs, 3, r, err);
    }
    if (ipclab_barrier_wait(base + offset, count, arrival) != 0) {
        int err = errno;
        ipclab_record *record = participant_record(slot);
        if (record) record->args[4] = arrival;
        participant_end(slot, -1, err, NULL, 0);
    } else {
        participant_end(slot, arrival, 0, NULL, 0);
    }
}
