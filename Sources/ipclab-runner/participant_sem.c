/*
 * participant_sem.c — semaphore channels and steps, and the semaphore OBJECT snapshot. The C port of
 * Participant+Semaphores.swift, record for record and argument for argument (EventArguments+
 * Semaphores names them; the keys are those of Call+SharedMemory.swift's SemaphoreCall).
 *
 * A POSIX semaphore is a sem_t in memory every process shares (regions[c].address: the sem_open
 * mapping, or the anonymous shared page of an unnamed one); a SysV one is a set id (regions[c].handle).
 * The first process made them all before it forked. Event args start with the channel index
 * (ipclab_semaphore_waiters relies on it): sem_wait/sem_trywait/sem_post [channel, address, value
 * before]; semop [channel, semid, sem_op, sem_flg, value before].
 */
#include "participant_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>

#include "ipclab_sem.h"

static const ipclab_plan_channel *spec(int c) { return &participant_self.plan->channels[c]; }

static participant_region *region(int c) { return &participant_self.regions[c]; }

static int64_t addr(const void *p) { return (int64_t)(intptr_t)p; }

static int sysv(int c) { return spec(c)->sub == IPCLAB_PLAN_SEM_SYSV; }

/* SemaphoreChannel's semName / ftokPath: the channel's path for its own type, "" otherwise. */
static const char *sem_name(int c) {
    return spec(c)->sub == IPCLAB_PLAN_SEM_NAMED ? participant_string(spec(c)->path) : "";
}

/* The semaphore's value (sem_getvalue, or semctl GETVAL, GETNCNT, GETZCNT, GETPID) and which participants
 * are inside a wait on it at this moment (ipclab_semaphore_waiters: bounded by this process's own copy
 * of the ring's capacity), tied to record `slot`: after every operation, and as a wait begins. */
static void snapshot(int c, uint32_t slot) {
    int64_t after = slot == PARTICIPANT_NO_RECORD ? -1 : (int64_t)slot;
    int64_t waiting = ipclab_semaphore_waiters(participant_self.ring, c);
    if (sysv(c)) {
        int id = (int32_t)region(c)->handle;
        int v = ipclab_semctl_get(id, ipclab_GETVAL);
        int err = v < 0 ? errno : 0;
        int ncnt = ipclab_semctl_get(id, ipclab_GETNCNT);
        int zcnt = ipclab_semctl_get(id, ipclab_GETZCNT);
        int pid = ipclab_semctl_get(id, ipclab_GETPID);
        int64_t args[8] = { c, v, waiting, after, ncnt, zcnt, pid, err };
        (void)ipclab_record_now(IPCLAB_REC_OBJECT, "semaphore", -1, args, 8, v, 0, NULL, 0);
    } else {
        sem_t *p = region(c)->address;
        if (!p) return;
        int v = 0;
        int r = sem_getvalue(p, &v);
        int64_t args[8] = { c, v, waiting, after, 0, 0, 0, r == 0 ? 0 : errno };
        (void)ipclab_record_now(IPCLAB_REC_OBJECT, "semaphore", -1, args, 8, r, 0, NULL, 0);
    }
}

void participant_create_sem_channel(int c) {
    const ipclab_plan_channel *ch = spec(c);
    participant_region *rg = region(c);
    *rg = (participant_region){ -1, NULL, 0 };
    switch (ch->sub) {
    case IPCLAB_PLAN_SEM_NAMED: {
        void *p = ipclab_sem_open(sem_name(c), O_CREAT, 0600, (unsigned)ch->a);
        int64_t r = p ? addr(p) : -1;
        int err = r < 0 ? errno : 0;
        int64_t args[4] = { c, O_CREAT, 0600, ch->a };
        uint32_t slot = participant_instant("sem_open", -1, args, 4, r, err);
        if (!p || r == -1) return;
        rg->address = p;
        snapshot(c, slot);
        return;
    }
    case IPCLAB_PLAN_SEM_UNNAMED: {
        /* A process-shared semaphore must sit in memory the processes share: a page of its own. */
        uint32_t slot;
        void *page = participant_map(c, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, NULL, -1, &slot);
        if (!page) return;
        int r = sem_init(page, 1, (unsigned)ch->a);
        int err = r < 0 ? errno : 0;
        int64_t args[4] = { c, addr(page), 1, ch->a };
        slot = participant_instant("sem_init", -1, args, 4, r, err);
        if (r != 0) return;
        rg->address = page;
        rg->size = sizeof(sem_t);
        snapshot(c, slot);
        return;
    }
    default: {
        int32_t key;
        if (participant_make_key(c, participant_string(ch->path), ch->b, -1, &key) != 0) return;
        int flags = IPC_CREAT | 0600;
        int id = semget(key, 1, flags);
        int err = id < 0 ? errno : 0;
        int64_t args[4] = { key, 1, flags, c };
        (void)participant_instant("semget", -1, args, 4, id, err);
        if (id < 0) return;
        rg->handle = id;
        int r = ipclab_semctl_setval(id, (int)ch->a);
        err = r < 0 ? errno : 0;
        int64_t sargs[5] = { id, 0, ipclab_SETVAL, ch->a, c };
        snapshot(c, participant_instant("semctl", -1, sargs, 5, r, err));
        return;
    }
    }
}

/* semop(2) on semaphore 0 of a SysV set: -1 waits, +1 posts, 0 waits for zero. */
static int semop_step(int c, int op, int flags, int step) {
    int id = (int32_t)region(c)->handle;
    int64_t before = ipclab_semctl_get(id, ipclab_GETVAL);
    int64_t args[5] = { c, id, op, flags, before };
    uint32_t slot = participant_begin("semop", step, args, 5);
    if (op <= 0 && (flags & IPC_NOWAIT) == 0) snapshot(c, slot);
    int r = ipclab_semop(id, op, flags);
    int err = r < 0 ? errno : 0;
    participant_end(slot, r, err, NULL, 0);
    snapshot(c, slot);
    return r;
}

static int64_t value(sem_t *p) {
    int v = 0;
    return sem_getvalue(p, &v) == 0 ? v : -1;
}

/* A POSIX semaphore this process no longer has (closed or destroyed, or never opened): a note, no call. */
static int not_open(int c, int step) {
    int64_t args[1] = { c };
    (void)ipclab_record_now(IPCLAB_REC_NOTE, "not open", step, args, 1, -1, EINVAL, NULL, 0);
    return -1;
}

int participant_sem_wait(int c, int nowait, int step) {
    if (sysv(c)) return semop_step(c, -1, nowait ? IPC_NOWAIT : 0, step);
    sem_t *p = region(c)->address;
    if (!p) return not_open(c, step);
    int64_t args[3] = { c, addr(p), value(p) };
    uint32_t slot;
    int r;
    if (nowait) {
        r = sem_trywait(p);
        int err = r < 0 ? errno : 0;
        slot = participant_instant("sem_trywait", step, args, 3, r, err);
    } else {
        slot = participant_begin("sem_wait", step, args, 3);
        /* The state as the wait begins: the value it finds, and everyone inside a wait, this process included. */
        snapshot(c, slot);
        r = sem_wait(p);
        int err = r < 0 ? errno : 0;
        participant_end(slot, r, err, NULL, 0);
    }
    snapshot(c, slot);
    return r;
}

int participant_sem_post(int c, int step) {
    if (sysv(c)) return semop_step(c, 1, 0, step);
    sem_t *p = region(c)->address;
    if (!p) return not_open(c, step);
    int64_t args[3] = { c, addr(p), value(p) };
    /* Begun before the call and ended after it, so that the post brackets the moment a waiter woke. */
    uint32_t slot = participant_begin("sem_post", step, args, 3);
    int r = sem_post(p);
    int err = r < 0 ? errno : 0;
    participant_end(slot, r, err, NULL, 0);
    snapshot(c, slot);
    return r;
}

void participant_run_sem_step(const ipclab_plan_step *s, int step) {
    int c = s->channel;
    participant_region *rg = region(c);
    switch (s->op) {
    case IPCLAB_OP_SEM_WAIT: (void)participant_sem_wait(c, 0, step); break;
    case IPCLAB_OP_SEM_TRYWAIT: (void)participant_sem_wait(c, 1, step); break;
    case IPCLAB_OP_SEM_POST: (void)participant_sem_post(c, step); break;
    case IPCLAB_OP_SEM_WAIT_ZERO: (void)semop_step(c, 0, 0, step); break;
    case IPCLAB_OP_SEM_CLOSE: {
        sem_t *p = rg->address;
        if (!p) return;
        int r = sem_close(p);
        int err = r < 0 ? errno : 0;
        int64_t args[2] = { c, addr(p) };
        (void)participant_instant("sem_close", step, args, 2, r, err);
        if (r == 0) rg->address = NULL;
        break;
    }
    case IPCLAB_OP_SEM_UNLINK: {
        int r = sem_unlink(sem_name(c));
        int err = r < 0 ? errno : 0;
        int64_t args[1] = { c };
        snapshot(c, participant_instant("sem_unlink", step, args, 1, r, err));
        break;
    }
    case IPCLAB_OP_SEM_REMOVE:
        if (sysv(c)) {
            int id = (int32_t)rg->handle;
            int r = ipclab_semctl_remove(id);
            int err = r < 0 ? errno : 0;
            int64_t args[5] = { id, 0, IPC_RMID, 0, c };
            snapshot(c, participant_instant("semctl", step, args, 5, r, err));
        } else if (rg->address) {
            sem_t *p = rg->address;
            int r = sem_destroy(p);
            int err = r < 0 ? errno : 0;
            int64_t args[2] = { c, addr(p) };
            (void)participant_instant("sem_destroy", step, args, 2, r, err);
            /* A destroyed semaphore may not be used again, not even by sem_getvalue: no snapshot. */
            if (r == 0) rg->address = NULL;
        }
        break;
    default: break;
    }
}
