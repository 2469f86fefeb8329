/*
 * ipclab_mq.h — message queues for IPC Lab: System V (msgget, msgsnd, msgrcv, msgctl) and
 * POSIX (mq_open, mq_send, mq_receive, mq_getattr, mq_setattr, mq_notify, mq_unlink).
 *
 * mq_open is variadic and `struct msgbuf` has a flexible text, so Swift cannot call these
 * as they are. Each wrapper makes exactly the one call its name says and leaves errno as
 * that call set it. A POSIX queue descriptor (mqd_t) is an int on Linux.
 *
 * Every function is prefixed `ipclab_`.
 */
#ifndef IPCLAB_MQ_H
#define IPCLAB_MQ_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

extern const int ipclab_IPC_CREAT;
extern const int ipclab_IPC_NOWAIT;
extern const int ipclab_MSG_NOERROR;

/* ---------------------------------------------------------------- System V */

/** msgget(key, flags). */
int ipclab_msgget(int32_t key, int flags);

/** msgsnd(id, {type, text[len]}, len, flags). Returns 0 or -1. */
int ipclab_msgsnd(int id, int64_t type, const void *text, size_t len, int flags);

/** msgrcv(id, buf, cap, msgtyp, flags): the message's text goes to `text`, its type to `*type`. Returns the text's length or -1. */
ssize_t ipclab_msgrcv(int id, int64_t msgtyp, int flags, void *text, size_t cap, int64_t *type);

/** What msgctl(IPC_STAT) tells about a queue. */
typedef struct ipclab_msq_status {
    int64_t qnum;    /* msg_qnum: messages in the queue */
    int64_t qbytes;  /* msg_qbytes: the most bytes the queue may hold */
    int64_t cbytes;  /* msg_cbytes: bytes in the queue now */
    int64_t lspid;   /* msg_lspid: the last sender */
    int64_t lrpid;   /* msg_lrpid: the last receiver */
} ipclab_msq_status;

/** msgctl(id, IPC_STAT). */
int ipclab_msgctl_stat(int id, ipclab_msq_status *status);

/** msgctl(id, IPC_RMID). */
int ipclab_msgctl_rmid(int id);

/* ------------------------------------------------------------------ POSIX */

/** mq_open(name, oflag, 0600, attr) with attr {maxmsg, msgsize} when maxmsg > 0, else NULL. */
int ipclab_mq_open(const char *name, int oflag, long maxmsg, long msgsize);

/** mq_send(mqd, text, len, priority). */
int ipclab_mq_send(int mqd, const void *text, size_t len, unsigned int priority);

/** mq_receive(mqd, text, cap, &priority). */
ssize_t ipclab_mq_receive(int mqd, void *text, size_t cap, unsigned int *priority);

/** What mq_getattr tells about a queue. */
typedef struct ipclab_mq_status {
    int64_t flags;    /* mq_flags: 0 or O_NONBLOCK (of this descriptor) */
    int64_t maxmsg;   /* mq_maxmsg */
    int64_t msgsize;  /* mq_msgsize */
    int64_t curmsgs;  /* mq_curmsgs: messages in the queue now */
} ipclab_mq_status;

/** mq_getattr(mqd). */
int ipclab_mq_getattr(int mqd, ipclab_mq_status *status);

/** mq_setattr(mqd, {mq_flags = nonblocking ? O_NONBLOCK : 0}, NULL). */
int ipclab_mq_set_nonblocking(int mqd, int nonblocking);

/** mq_notify(mqd, {SIGEV_SIGNAL, sig, sival_int = value}); with sig 0, mq_notify(mqd, NULL) (unregister). */
int ipclab_mq_notify_signal(int mqd, int sig, int value);

/** mq_unlink(name). */
int ipclab_mq_unlink(const char *name);

/** mq_close(mqd). */
int ipclab_mq_close(int mqd);

/**
 * setrlimit(RLIMIT_MSGQUEUE, {bytes, bytes}): the bytes of POSIX queues this process's user may
 * hold. A user namespace made by this process also caps, at this value, what all of its users
 * hold together (the kernel charges each queue to every user namespace level up to the host's).
 */
int ipclab_set_msgqueue_limit(uint64_t bytes);

/** The O_NONBLOCK bit, as mq_flags reports it. */
extern const int ipclab_O_NONBLOCK;

#endif /* IPCLAB_MQ_H */
