/* sem.c — wrappers for the variadic semaphore calls, and who waits on a semaphore. */
#include "ipclab_sem.h"
#include "ipclab.h"

#include <fcntl.h>
#include <semaphore.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

const int ipclab_GETVAL = GETVAL;
const int ipclab_SETVAL = SETVAL;
const int ipclab_GETNCNT = GETNCNT;
const int ipclab_GETZCNT = GETZCNT;
const int ipclab_GETPID = GETPID;

/* The caller defines union semun (semctl(2)). */
union ipclab_semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

void *ipclab_sem_open(const char *name, int oflag, unsigned mode, unsigned value) {
    sem_t *s = sem_open(name, oflag, (mode_t)mode, value);
    return s == SEM_FAILED ? NULL : s;
}

void *ipclab_sem_open_existing(const char *name) {
    sem_t *s = sem_open(name, 0);
    return s == SEM_FAILED ? NULL : s;
}

int ipclab_semctl_setval(int semid, int value) {
    union ipclab_semun arg = { .val = value };
    return semctl(semid, 0, SETVAL, arg);
}

int ipclab_semctl_get(int semid, int cmd) { return semctl(semid, 0, cmd); }

int ipclab_semctl_remove(int semid) { return semctl(semid, 0, IPC_RMID); }

int ipclab_semop(int semid, int op, int flags) {
    struct sembuf b = { .sem_num = 0, .sem_op = (short)op, .sem_flg = (short)flags };
    return semop(semid, &b, 1);
}

uint32_t ipclab_semaphore_waiters(void *ring, int64_t channel) {
    uint32_t mask = 0;
    /* The ring is shared with the whole run: its bound is the capacity this process copied when it
     * bound the ring, and each record is copied before it is looked at. */
    uint32_t n = ipclab_ring_claimed(ring, ipclab_recorder_capacity());
    for (uint32_t i = 0; i < n; i++) {
        const ipclab_record *shared = ipclab_ring_record(ring, i);
        if (ipclab_record_state(shared) != IPCLAB_STATE_BEGUN) continue;
        ipclab_record r;
        memcpy(&r, shared, sizeof r);
        r.call[IPCLAB_CALL_MAX - 1] = 0;
        if (r.kind != IPCLAB_REC_EVENT || r.args[0] != channel) continue;
        if (r.process < 0 || r.process >= 32) continue;
        int waits = strcmp(r.call, "sem_wait") == 0
            || (strcmp(r.call, "semop") == 0 && r.args[2] <= 0 && (r.args[3] & IPC_NOWAIT) == 0);
        if (waits) mask |= 1u << r.process;
    }
    return mask;
}
