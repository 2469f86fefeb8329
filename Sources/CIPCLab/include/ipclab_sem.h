/*
 * ipclab_sem.h — semaphores for IPC Lab: sem_open(3) and semctl(2) are variadic, so Swift
 * cannot call them; and the question "who is blocked on this semaphore right now", answered
 * from the run's event ring.
 *
 * Every function is prefixed `ipclab_`.
 */
#ifndef IPCLAB_SEM_H
#define IPCLAB_SEM_H

#include <stdint.h>

/** sem_open(name, oflag, mode, value); NULL (not SEM_FAILED) with errno on failure. */
void *ipclab_sem_open(const char *name, int oflag, unsigned mode, unsigned value);

/** sem_open(name, 0): an existing named semaphore; NULL with errno when there is none. */
void *ipclab_sem_open_existing(const char *name);

/** semctl(id, 0, SETVAL, value). */
int ipclab_semctl_setval(int semid, int value);

/** semctl(id, 0, cmd) for GETVAL, GETNCNT, GETZCNT, GETPID. */
int ipclab_semctl_get(int semid, int cmd);

/** semctl(id, 0, IPC_RMID). */
int ipclab_semctl_remove(int semid);

/** semop(id, {0, op, flags}, 1). */
int ipclab_semop(int semid, int op, int flags);

extern const int ipclab_GETVAL;
extern const int ipclab_SETVAL;
extern const int ipclab_GETNCNT;
extern const int ipclab_GETZCNT;
extern const int ipclab_GETPID;

/**
 * The participants inside a semaphore wait on `channel` at this moment: a bit per participant
 * index for every event record of the ring that has begun and not ended whose call is
 * `sem_wait`, or `semop` with sem_op <= 0 and no IPC_NOWAIT, and whose args[0] is `channel`.
 * (A waiter is counted from just before its call until just after it returns.)
 */
uint32_t ipclab_semaphore_waiters(void *ring, int64_t channel);

#endif /* IPCLAB_SEM_H */
