/* ipc_trace.c — System V and POSIX IPC in a traced program (sockets: sockets_trace.c). */
#include "trace_internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>

#define RESOLVE(name) ipclab_real.name = (typeof(ipclab_real.name))dlsym(RTLD_NEXT, #name)

void ipclab_resolve_ipc(void) {
    RESOLVE(shm_open); RESOLVE(shm_unlink); RESOLVE(ftruncate); RESOLVE(mmap); RESOLVE(munmap);
    RESOLVE(shmget); RESOLVE(shmat); RESOLVE(shmdt); RESOLVE(shmctl);
    RESOLVE(sem_open); RESOLVE(sem_init); RESOLVE(sem_wait); RESOLVE(sem_trywait); RESOLVE(sem_post);
    RESOLVE(sem_close); RESOLVE(sem_destroy); RESOLVE(sem_unlink); RESOLVE(semget); RESOLVE(semop);
    RESOLVE(msgget); RESOLVE(msgsnd); RESOLVE(msgrcv);
    RESOLVE(mq_open); RESOLVE(mq_send); RESOLVE(mq_receive); RESOLVE(mq_close); RESOLVE(mq_unlink);
    RESOLVE(socket); RESOLVE(socketpair); RESOLVE(bind); RESOLVE(listen); RESOLVE(accept); RESOLVE(connect);
    RESOLVE(send); RESOLVE(recv); RESOLVE(shutdown);
}

/* The argument layouts are the participants' (EventArguments+SharedMemory/Semaphores/MessageQueues/
 * Sockets.swift), with -1 for the scenario's channel: a program has none. A name (shm_open's,
 * sem_open's, mq_open's) or an address (bind's, connect's, accept's peer) goes in the payload, where
 * the server reads it back for the argument (TraceBuilder+Programs.swift). */

/* --- POSIX shared memory and mappings ----------------------------------------------------------- */

int shm_open(const char *name, int oflag, mode_t mode) {
    int r = REAL.shm_open(name, oflag, mode);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[3] = { NO_CHANNEL, oflag, mode };
        RECORD_NOW("shm_open", args, r, err, name, text_len(name));
    }
    RETURN_WITH(r, err);
}

int shm_unlink(const char *name) {
    int r = REAL.shm_unlink(name);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[1] = { NO_CHANNEL };
        RECORD_NOW("shm_unlink", args, r, err, name, text_len(name));
    }
    RETURN_WITH(r, err);
}

int ftruncate(int fd, off_t length) {
    int r = REAL.ftruncate(fd, length);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[3] = { fd, length, NO_CHANNEL };
        RECORD_NOW("ftruncate", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

/* Only shared mappings: they are IPC; a private one is a program's own memory. */
void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
    void *r = REAL.mmap(addr, length, prot, flags, fd, offset);
    int err = r == MAP_FAILED ? errno : 0;
    if (ipclab_tracing && (flags & MAP_SHARED)) {
        int64_t args[7] = { (int64_t)(intptr_t)addr, (int64_t)length, prot, flags, fd, offset, NO_CHANNEL };
        RECORD_NOW("mmap", args, r == MAP_FAILED ? -1 : (int64_t)(intptr_t)r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

int munmap(void *addr, size_t length) {
    int r = REAL.munmap(addr, length);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[3] = { (int64_t)(intptr_t)addr, (int64_t)length, NO_CHANNEL };
        RECORD_NOW("munmap", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

/* --- System V shared memory --------------------------------------------------------------------- */

int shmget(key_t key, size_t size, int flags) {
    int r = REAL.shmget(key, size, flags);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[4] = { key, (int64_t)size, flags, NO_CHANNEL };
        RECORD_NOW("shmget", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

void *shmat(int shmid, const void *addr, int flags) {
    void *r = REAL.shmat(shmid, addr, flags);
    int err = r == (void *)-1 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[4] = { shmid, (int64_t)(intptr_t)addr, flags, NO_CHANNEL };
        RECORD_NOW("shmat", args, r == (void *)-1 ? -1 : (int64_t)(intptr_t)r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

int shmdt(const void *addr) {
    int r = REAL.shmdt(addr);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[2] = { (int64_t)(intptr_t)addr, NO_CHANNEL };
        RECORD_NOW("shmdt", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

int shmctl(int shmid, int cmd, struct shmid_ds *buf) {
    int r = REAL.shmctl(shmid, cmd, buf);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[3] = { shmid, cmd, NO_CHANNEL };
        RECORD_NOW("shmctl", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

/* --- semaphores --------------------------------------------------------------------------------- */

sem_t *sem_open(const char *name, int oflag, ...) {
    mode_t mode = 0;
    unsigned value = 0;
    if (oflag & O_CREAT) {
        va_list ap;
        va_start(ap, oflag);
        mode = (mode_t)va_arg(ap, int);
        value = va_arg(ap, unsigned);
        va_end(ap);
    }
    sem_t *r = REAL.sem_open(name, oflag, mode, value);
    int err = r == SEM_FAILED ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[4] = { NO_CHANNEL, oflag, mode, value };
        RECORD_NOW("sem_open", args, r == SEM_FAILED ? -1 : (int64_t)(intptr_t)r, err, name, text_len(name));
    }
    RETURN_WITH(r, err);
}

int sem_init(sem_t *sem, int pshared, unsigned value) {
    int r = REAL.sem_init(sem, pshared, value);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[4] = { NO_CHANNEL, (int64_t)(intptr_t)sem, pshared, value };
        RECORD_NOW("sem_init", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

static int value_of(sem_t *sem) {
    int v = -1;
    return sem_getvalue(sem, &v) == 0 ? v : -1;
}

/* sem_wait, sem_trywait and sem_post: the value as the call began (sem_getvalue, racy by nature). */
static int traced_sem(const char *key, int (*real)(sem_t *), sem_t *sem) {
    int64_t args[3] = { NO_CHANNEL, (int64_t)(intptr_t)sem, value_of(sem) };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, key, -1, args, 3);
    int r = real(sem);
    int err = r < 0 ? errno : 0;
    ipclab_end(slot, r, err, NULL, 0);
    RETURN_WITH(r, err);
}

int sem_wait(sem_t *sem) {
    if (!ipclab_tracing) return REAL.sem_wait(sem);
    return traced_sem("sem_wait", REAL.sem_wait, sem);
}

int sem_trywait(sem_t *sem) {
    if (!ipclab_tracing) return REAL.sem_trywait(sem);
    return traced_sem("sem_trywait", REAL.sem_trywait, sem);
}

int sem_post(sem_t *sem) {
    if (!ipclab_tracing) return REAL.sem_post(sem);
    return traced_sem("sem_post", REAL.sem_post, sem);
}

int sem_close(sem_t *sem) {
    int r = REAL.sem_close(sem);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[2] = { NO_CHANNEL, (int64_t)(intptr_t)sem };
        RECORD_NOW("sem_close", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

int sem_destroy(sem_t *sem) {
    int r = REAL.sem_destroy(sem);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[2] = { NO_CHANNEL, (int64_t)(intptr_t)sem };
        RECORD_NOW("sem_destroy", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

int sem_unlink(const char *name) {
    int r = REAL.sem_unlink(name);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[1] = { NO_CHANNEL };
        RECORD_NOW("sem_unlink", args, r, err, name, text_len(name));
    }
    RETURN_WITH(r, err);
}

int semget(key_t key, int nsems, int flags) {
    int r = REAL.semget(key, nsems, flags);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[4] = { key, nsems, flags, NO_CHANNEL };
        RECORD_NOW("semget", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

/* semop: the first operation of the array (the lab's semop steps make one). */
int semop(int semid, struct sembuf *sops, size_t nsops) {
    if (!ipclab_tracing || !sops || nsops == 0) return REAL.semop(semid, sops, nsops);
    int before = semctl(semid, sops[0].sem_num, GETVAL);
    int64_t args[5] = { NO_CHANNEL, semid, sops[0].sem_op, sops[0].sem_flg, before };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "semop", -1, args, 5);
    int r = REAL.semop(semid, sops, nsops);
    int err = r < 0 ? errno : 0;
    ipclab_end(slot, r, err, NULL, 0);
    RETURN_WITH(r, err);
}

/* --- message queues ----------------------------------------------------------------------------- */

int msgget(key_t key, int flags) {
    int r = REAL.msgget(key, flags);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[3] = { key, flags, NO_CHANNEL };
        RECORD_NOW("msgget", args, r, err, NULL, 0);
    }
    RETURN_WITH(r, err);
}

int msgsnd(int msqid, const void *msgp, size_t msgsz, int flags) {
    if (!ipclab_tracing || !msgp) return REAL.msgsnd(msqid, msgp, msgsz, flags);
    const long *type = msgp;
    int64_t args[5] = { msqid, (int64_t)msgsz, *type, flags, NO_CHANNEL };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "msgsnd", -1, args, 5);
    int r = REAL.msgsnd(msqid, msgp, msgsz, flags);
    int err = r < 0 ? errno : 0;
    ipclab_end(slot, r, err, r == 0 ? (const char *)msgp + sizeof(long) : NULL, r == 0 ? msgsz : 0);
    RETURN_WITH(r, err);
}

ssize_t msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int flags) {
    if (!ipclab_tracing || !msgp) return REAL.msgrcv(msqid, msgp, msgsz, msgtyp, flags);
    int64_t args[6] = { msqid, (int64_t)msgsz, msgtyp, flags, NO_CHANNEL, 0 };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "msgrcv", -1, args, 6);
    ssize_t r = REAL.msgrcv(msqid, msgp, msgsz, msgtyp, flags);
    int err = r < 0 ? errno : 0;
    ipclab_record *rec = ipclab_ring_record_bound(slot);
    if (rec && r >= 0) rec->args[5] = *(const long *)msgp;
    ipclab_end(slot, r, err, r > 0 ? (const char *)msgp + sizeof(long) : NULL, r > 0 ? (size_t)r : 0);
    RETURN_WITH(r, err);
}

mqd_t mq_open(const char *name, int oflag, ...) {
    mode_t mode = 0;
    struct mq_attr *attr = NULL;
    if (oflag & O_CREAT) {
        va_list ap;
        va_start(ap, oflag);
        mode = (mode_t)va_arg(ap, int);
        attr = va_arg(ap, struct mq_attr *);
        va_end(ap);
    }
    mqd_t r = REAL.mq_open(name, oflag, mode, attr);
    int err = r == (mqd_t)-1 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[4] = { oflag, attr ? attr->mq_maxmsg : 0, attr ? attr->mq_msgsize : 0, NO_CHANNEL };
        RECORD_NOW("mq_open", args, r, err, name, text_len(name));
    }
    RETURN_WITH(r, err);
}

int mq_send(mqd_t mq, const char *msg, size_t len, unsigned prio) {
    if (!ipclab_tracing) return REAL.mq_send(mq, msg, len, prio);
    int64_t args[4] = { mq, (int64_t)len, prio, NO_CHANNEL };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "mq_send", -1, args, 4);
    int r = REAL.mq_send(mq, msg, len, prio);
    int err = r < 0 ? errno : 0;
    ipclab_end(slot, r, err, r == 0 ? msg : NULL, r == 0 ? len : 0);
    RETURN_WITH(r, err);
}

ssize_t mq_receive(mqd_t mq, char *msg, size_t len, unsigned *prio) {
    if (!ipclab_tracing) return REAL.mq_receive(mq, msg, len, prio);
    int64_t args[4] = { mq, (int64_t)len, NO_CHANNEL, 0 };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "mq_receive", -1, args, 4);
    unsigned own = 0;
    ssize_t r = REAL.mq_receive(mq, msg, len, prio ? prio : &own);
    int err = r < 0 ? errno : 0;
    ipclab_record *rec = ipclab_ring_record_bound(slot);
    if (rec && r >= 0) rec->args[3] = prio ? *prio : own;
    ipclab_end(slot, r, err, r > 0 ? msg : NULL, r > 0 ? (size_t)r : 0);
    RETURN_WITH(r, err);
}

int mq_unlink(const char *name) {
    int r = REAL.mq_unlink(name);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[1] = { NO_CHANNEL };
        RECORD_NOW("mq_unlink", args, r, err, name, text_len(name));
    }
    RETURN_WITH(r, err);
}
