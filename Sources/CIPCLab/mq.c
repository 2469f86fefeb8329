/* mq.c — System V and POSIX message queues (see ipclab_mq.h). */
#include "ipclab_mq.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>

const int ipclab_IPC_CREAT = IPC_CREAT;
const int ipclab_IPC_NOWAIT = IPC_NOWAIT;
const int ipclab_MSG_NOERROR = MSG_NOERROR;
const int ipclab_O_NONBLOCK = O_NONBLOCK;

/* A struct msgbuf with room for `len` bytes of text. */
struct lab_msgbuf {
    long mtype;
    char mtext[];
};

int ipclab_msgget(int32_t key, int flags) { return msgget((key_t)key, flags); }

int ipclab_msgsnd(int id, int64_t type, const void *text, size_t len, int flags) {
    struct lab_msgbuf *buf = malloc(sizeof *buf + len);
    if (!buf) return -1;
    buf->mtype = (long)type;
    memcpy(buf->mtext, text, len);
    int r = msgsnd(id, buf, len, flags);
    int saved = errno;
    free(buf);
    errno = saved;
    return r;
}

ssize_t ipclab_msgrcv(int id, int64_t msgtyp, int flags, void *text, size_t cap, int64_t *type) {
    struct lab_msgbuf *buf = malloc(sizeof *buf + cap);
    if (!buf) return -1;
    buf->mtype = 0;
    ssize_t n = msgrcv(id, buf, cap, (long)msgtyp, flags);
    int saved = errno;
    if (n >= 0) {
        memcpy(text, buf->mtext, (size_t)n);
        *type = buf->mtype;
    }
    free(buf);
    errno = saved;
    return n;
}

int ipclab_msgctl_stat(int id, ipclab_msq_status *status) {
    struct msqid_ds ds;
    memset(&ds, 0, sizeof ds);
    int r = msgctl(id, IPC_STAT, &ds);
    if (r == 0) {
        status->qnum = (int64_t)ds.msg_qnum;
        status->qbytes = (int64_t)ds.msg_qbytes;
        status->cbytes = (int64_t)ds.__msg_cbytes;
        status->lspid = ds.msg_lspid;
        status->lrpid = ds.msg_lrpid;
    }
    return r;
}

int ipclab_msgctl_rmid(int id) { return msgctl(id, IPC_RMID, NULL); }

int ipclab_mq_open(const char *name, int oflag, long maxmsg, long msgsize) {
    if (maxmsg > 0) {
        struct mq_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.mq_maxmsg = maxmsg;
        attr.mq_msgsize = msgsize;
        return (int)mq_open(name, oflag, 0600, &attr);
    }
    return (int)mq_open(name, oflag, 0600, NULL);
}

int ipclab_mq_send(int mqd, const void *text, size_t len, unsigned int priority) {
    return mq_send((mqd_t)mqd, text, len, priority);
}

ssize_t ipclab_mq_receive(int mqd, void *text, size_t cap, unsigned int *priority) {
    return mq_receive((mqd_t)mqd, text, cap, priority);
}

int ipclab_mq_getattr(int mqd, ipclab_mq_status *status) {
    struct mq_attr attr;
    int r = mq_getattr((mqd_t)mqd, &attr);
    if (r == 0) {
        status->flags = attr.mq_flags;
        status->maxmsg = attr.mq_maxmsg;
        status->msgsize = attr.mq_msgsize;
        status->curmsgs = attr.mq_curmsgs;
    }
    return r;
}

int ipclab_mq_set_nonblocking(int mqd, int nonblocking) {
    struct mq_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.mq_flags = nonblocking ? O_NONBLOCK : 0;
    return mq_setattr((mqd_t)mqd, &attr, NULL);
}

int ipclab_mq_notify_signal(int mqd, int sig, int value) {
    if (sig == 0) return mq_notify((mqd_t)mqd, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_int = value;
    return mq_notify((mqd_t)mqd, &ev);
}

int ipclab_mq_unlink(const char *name) { return mq_unlink(name); }

int ipclab_mq_close(int mqd) { return mq_close((mqd_t)mqd); }

int ipclab_set_msgqueue_limit(uint64_t bytes) {
    struct rlimit rl = { .rlim_cur = bytes, .rlim_max = bytes };
    return setrlimit(RLIMIT_MSGQUEUE, &rl);
}
