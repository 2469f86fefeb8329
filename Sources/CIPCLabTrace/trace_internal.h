/* trace_internal.h — what the interposer's files share: the C library's own functions, resolved
 * once in the constructor, and the recorder (ring.c of CIPCLab, compiled into this library). */
#ifndef IPCLAB_TRACE_INTERNAL_H
#define IPCLAB_TRACE_INTERNAL_H

#include "ipclab.h"

#include <errno.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct ipclab_real {
    int (*pipe)(int[2]);
    int (*pipe2)(int[2], int);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    int (*close)(int);
    int (*dup2)(int, int);
    pid_t (*fork)(void);
    pid_t (*wait)(int *);
    pid_t (*waitpid)(pid_t, int *, int);
    pid_t (*wait4)(pid_t, int *, int, struct rusage *);
    int (*kill)(pid_t, int);
    int (*sigaction)(int, const struct sigaction *, struct sigaction *);
    sighandler_t (*signal)(int, sighandler_t);
    void (*exit)(int);
    void (*_exit)(int);
    unsigned (*sleep)(unsigned);
    int (*usleep)(useconds_t);
    int (*nanosleep)(const struct timespec *, struct timespec *);
    int (*mkfifo)(const char *, mode_t);
    int (*open)(const char *, int, ...);
    int (*sigqueue)(pid_t, int, const union sigval);
    int (*sigprocmask)(int, const sigset_t *, sigset_t *);
    int (*pause)(void);
    int (*sigsuspend)(const sigset_t *);
    int (*raise)(int);
    /* System V and POSIX IPC, sockets (ipc_trace.c) */
    int (*shm_open)(const char *, int, mode_t);
    int (*shm_unlink)(const char *);
    int (*ftruncate)(int, off_t);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
    int (*shmget)(key_t, size_t, int);
    void *(*shmat)(int, const void *, int);
    int (*shmdt)(const void *);
    int (*shmctl)(int, int, struct shmid_ds *);
    sem_t *(*sem_open)(const char *, int, ...);
    int (*sem_init)(sem_t *, int, unsigned);
    int (*sem_wait)(sem_t *);
    int (*sem_trywait)(sem_t *);
    int (*sem_post)(sem_t *);
    int (*sem_close)(sem_t *);
    int (*sem_destroy)(sem_t *);
    int (*sem_unlink)(const char *);
    int (*semget)(key_t, int, int);
    int (*semop)(int, struct sembuf *, size_t);
    int (*msgget)(key_t, int);
    int (*msgsnd)(int, const void *, size_t, int);
    ssize_t (*msgrcv)(int, void *, size_t, long, int);
    mqd_t (*mq_open)(const char *, int, ...);
    int (*mq_send)(mqd_t, const char *, size_t, unsigned);
    ssize_t (*mq_receive)(mqd_t, char *, size_t, unsigned *);
    int (*mq_close)(mqd_t);
    int (*mq_unlink)(const char *);
    int (*socket)(int, int, int);
    int (*socketpair)(int, int, int, int[2]);
    int (*bind)(int, const struct sockaddr *, socklen_t);
    int (*listen)(int, int);
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*recv)(int, void *, size_t, int);
    int (*shutdown)(int, int);
};

extern struct ipclab_real ipclab_real;
extern int ipclab_tracing;
extern int ipclab_resolved;

/** Resolves every real function (dlsym RTLD_NEXT) once. */
void ipclab_resolve_all(void);

/* The C library's functions, resolved on first use: another library's constructor (the loader runs
 * them before ours, in dependency order) may call a wrapper before this library's constructor ran. */
#define REAL (*(__builtin_expect(ipclab_resolved, 1) ? &ipclab_real : (ipclab_resolve_all(), &ipclab_real)))

/** Resolves the IPC functions (ipc_trace.c). */
void ipclab_resolve_ipc(void);

/** The record at `slot` of the ring this process bound, or NULL (ring_bound.c). */
ipclab_record *ipclab_ring_record_bound(uint32_t slot);

/** Records this process's start (a program's first process, and each fork's child). */
void ipclab_trace_started(void);

/* A program has no scenario channels: -1 where the participants record one. */
#define NO_CHANNEL (-1)

static inline size_t text_len(const char *s) { return s ? strnlen(s, IPCLAB_PAYLOAD_MAX) : 0; }

#define RECORD_NOW(key, args, r, err, payload, len) \
    ipclab_record_now(IPCLAB_REC_EVENT, key, -1, args, (int)(sizeof args / sizeof *args), r, err, payload, len)

#define RETURN_WITH(r, err) do { if (err) errno = err; return r; } while (0)

#endif
