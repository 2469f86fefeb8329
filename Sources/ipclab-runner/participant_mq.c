/*
 * participant_mq.c — message-queue steps (System V and POSIX), `send` on a queue, and the queue's
 * OBJECT snapshot after each send and receive. The C port of Participant+MessageQueues.swift, record
 * for record and argument for argument (EventArguments+MessageQueues.swift names them; the keys are
 * those of Call+MessageQueues.swift).
 *
 * Per process, msg_handle[c] is the queue's System V id or POSIX descriptor, msg_flag[c] the POSIX
 * descriptor's O_NONBLOCK as last set (ChannelEnds.handle and .size in Swift).
 */
#include "participant_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <unistd.h>

#include "ipclab_mq.h"
#include "runner.h"

/* MessageQueueStep.Bounds.defaultSysVSize and .untilLimit. */
#define DEFAULT_SYSV_SIZE 8192
#define UNTIL_LIMIT 4096

static const ipclab_plan_channel *channel(int c) { return &participant_self.plan->channels[c]; }

static int handle(int c) { return (int)participant_self.msg_handle[c]; }

/* A System V message (a long type, then its text) without malloc (CIPCLab's ipclab_msgsnd allocates):
 * one mapping, made on first use, with room for the longest text a step can send. */
static struct lab_msgbuf {
    long mtype;
    char mtext[];
} *message;

static struct lab_msgbuf *message_buffer(void) {
    if (!message) {
        void *p = mmap(NULL, sizeof(long) + PARTICIPANT_BUFFER_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) message = p;
    }
    return message;
}

/* The queue's depth after record `slot`: msgctl(IPC_STAT) or mq_getattr(3); args[7] the errno when the
 * kernel answered one (the queue was removed meanwhile). */
static void snapshot(int c, uint32_t slot) {
    participant *p = &participant_self;
    if (p->msg_handle[c] < 0) return;
    int64_t after = slot == PARTICIPANT_NO_RECORD ? -1 : (int64_t)slot;
    int64_t args[8];
    if (channel(c)->sub == IPCLAB_PLAN_MQ_SYSV) {
        ipclab_msq_status st;
        memset(&st, 0, sizeof st);
        int r = ipclab_msgctl_stat(handle(c), &st);
        int64_t err = r == 0 ? 0 : errno;
        int64_t a[8] = { c, st.qnum, st.qbytes, after, st.cbytes, st.lspid, st.lrpid, err };
        memcpy(args, a, sizeof args);
    } else {
        ipclab_mq_status st;
        memset(&st, 0, sizeof st);
        int r = ipclab_mq_getattr(handle(c), &st);
        int64_t err = r == 0 ? 0 : errno;
        int64_t a[8] = { c, st.curmsgs, st.maxmsg, after, st.msgsize, st.flags, 0, err };
        memcpy(args, a, sizeof args);
    }
    (void)ipclab_record_now(IPCLAB_REC_OBJECT, "message_queue", -1, args, 8, 0, 0, NULL, 0);
}

/* The number at the start of a /proc/sys file, or -1 (Participant.readNumber). */
static int64_t read_number(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buffer[32];
    ssize_t n = read(fd, buffer, sizeof buffer);
    close(fd);
    if (n <= 0) return -1;
    int64_t v = 0;
    ssize_t i = 0;
    for (; i < n && buffer[i] >= '0' && buffer[i] <= '9'; i++) {
        if (v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (buffer[i] - '0');
    }
    return i == 0 ? -1 : v;
}

/* Writes fs.mqueue.msg_max when `wanted` is above it: the file of the run's own IPC namespace. */
static void raise_msg_max(int64_t wanted, int c) {
    static const char path[] = "/proc/sys/fs/mqueue/msg_max";
    int64_t current = read_number(path);
    if (current < 0 || wanted <= current) return;
    int r = -1, err = 0;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        char text[24];
        text[0] = 0;
        runner_append_u64(text, sizeof text, (uint64_t)wanted);
        size_t len = strlen(text);
        text[len++] = '\n';
        ssize_t w = write(fd, text, len);
        r = (int)w;
        err = w < 0 ? errno : 0;
        close(fd);
    } else {
        err = errno;
    }
    int64_t args[4] = { current, wanted, c, read_number(path) };
    (void)participant_instant("sysctl", -1, args, 4, r, err);
}

static const char *queue_name(int c) { return participant_string(channel(c)->path); }

void participant_create_mq_channel(int c) {
    participant *p = &participant_self;
    const ipclab_plan_channel *ch = channel(c);
    p->msg_handle[c] = -1;
    p->msg_flag[c] = 0;
    uint32_t slot;
    if (ch->sub == IPCLAB_PLAN_MQ_SYSV) {
        int flags = 0666 | ipclab_IPC_CREAT;
        int id = ipclab_msgget((int32_t)ch->a, flags);
        int err = id < 0 ? errno : 0;
        int64_t args[3] = { ch->a, flags, c };
        slot = participant_instant("msgget", -1, args, 3, id, err);
        if (id >= 0) p->msg_handle[c] = id;
    } else {
        if (ch->flags & IPCLAB_PLAN_MQ_RAISE_MSG_MAX) raise_msg_max(ch->a, c);
        int oflag = O_CREAT | O_RDWR;
        int q = ipclab_mq_open(queue_name(c), oflag, (long)ch->a, (long)ch->b);
        int err = q < 0 ? errno : 0;
        int64_t args[4] = { oflag, ch->a, ch->b, c };
        slot = participant_instant("mq_open", -1, args, 4, q, err);
        if (q >= 0) p->msg_handle[c] = q;
    }
    snapshot(c, slot);
}

/* mq_setattr(3) when this descriptor's O_NONBLOCK must change. */
static void set_nonblocking(int c, int nonblocking, int step) {
    participant *p = &participant_self;
    int want = nonblocking ? ipclab_O_NONBLOCK : 0;
    if (p->msg_flag[c] == want) return;
    int r = ipclab_mq_set_nonblocking(handle(c), nonblocking ? 1 : 0);
    int64_t args[3] = { handle(c), want, c };
    (void)participant_instant("mq_setattr", step, args, 3, r, r < 0 ? errno : 0);
    if (r == 0) p->msg_flag[c] = want;
}

void participant_send_to_queue(const ipclab_plan_step *s, const void *bytes, int64_t len, int step) {
    int c = s->channel;
    int q = handle(c);
    if (channel(c)->sub == IPCLAB_PLAN_MQ_SYSV) {
        int64_t type = s->n[2] > 0 ? s->n[2] : 1;
        int flags = (s->flags & IPCLAB_PLAN_STEP_NONBLOCKING) ? ipclab_IPC_NOWAIT : 0;
        struct lab_msgbuf *m = message_buffer();
        if (m && len > 0) memcpy(m->mtext, bytes, (size_t)len);
        for (int64_t k = 0; k < s->n[1]; k++) {
            int64_t args[5] = { q, len, type, flags, c };
            uint32_t slot = participant_begin("msgsnd", step, args, 5);
            int r;
            if (m) {
                m->mtype = (long)type;
                r = msgsnd(q, m, (size_t)len, flags);
            } else {
                r = -1;
                errno = ENOMEM;
            }
            int err = r < 0 ? errno : 0;
            /* A send returns 0, not a count: its payload is the whole message when it succeeded. */
            participant_end(slot, r, err, bytes, r == 0 ? len : 0);
            snapshot(c, slot);
            if (r < 0) return;
        }
    } else {
        set_nonblocking(c, (s->flags & IPCLAB_PLAN_STEP_NONBLOCKING) != 0, step);
        int64_t priority = s->n[3] > 0 ? s->n[3] : 0;
        for (int64_t k = 0; k < s->n[1]; k++) {
            int64_t args[4] = { q, len, priority, c };
            uint32_t slot = participant_begin("mq_send", step, args, 4);
            int r = ipclab_mq_send(q, bytes, (size_t)len, (unsigned)priority);
            int err = r < 0 ? errno : 0;
            participant_end(slot, r, err, bytes, r == 0 ? len : 0);
            snapshot(c, slot);
            if (r < 0) return;
        }
    }
}

/* One msgrcv(2) or mq_receive(3) of up to `cap` bytes: what it returned; the text at *text. */
static int64_t receive_one(int c, int64_t cap, int64_t msgtyp, int nonblocking, int truncate, int step, const uint8_t **text) {
    int q = handle(c);
    int64_t r;
    uint32_t slot;
    *text = NULL;
    if (channel(c)->sub == IPCLAB_PLAN_MQ_SYSV) {
        int flags = (nonblocking ? ipclab_IPC_NOWAIT : 0) | (truncate ? ipclab_MSG_NOERROR : 0);
        /* args[5] gets the type of the message received, once it is known. */
        int64_t args[6] = { q, cap, msgtyp, flags, c, 0 };
        slot = participant_begin("msgrcv", step, args, 6);
        struct lab_msgbuf *m = message_buffer();
        if (m) {
            m->mtype = 0;
            r = msgrcv(q, m, (size_t)cap, (long)msgtyp, flags);
        } else {
            r = -1;
            errno = ENOMEM;
        }
        int err = r < 0 ? errno : 0;
        ipclab_record *rec = participant_record(slot);
        if (rec && r >= 0) rec->args[5] = m->mtype;
        participant_end(slot, r, err, m ? m->mtext : NULL, r);
        if (r >= 0) *text = (const uint8_t *)m->mtext;
    } else {
        set_nonblocking(c, nonblocking, step);
        /* args[3] gets the priority of the message received. */
        int64_t args[4] = { q, cap, c, 0 };
        slot = participant_begin("mq_receive", step, args, 4);
        uint8_t *buffer = participant_buffer();
        unsigned priority = 0;
        if (buffer) {
            r = ipclab_mq_receive(q, buffer, (size_t)cap, &priority);
        } else {
            r = -1;
            errno = ENOMEM;
        }
        int err = r < 0 ? errno : 0;
        ipclab_record *rec = participant_record(slot);
        if (rec) rec->args[3] = priority;
        participant_end(slot, r, err, buffer, r);
        if (r >= 0) *text = buffer;
    }
    snapshot(c, slot);
    return r;
}

static void receive(const ipclab_plan_step *s, int step) {
    int c = s->channel;
    const ipclab_plan_channel *ch = channel(c);
    int64_t cap = s->n[0] > 0 ? s->n[0] : ch->sub == IPCLAB_PLAN_MQ_SYSV ? DEFAULT_SYSV_SIZE : ch->b;
    int64_t msgtyp = (s->flags & IPCLAB_PLAN_RECEIVE_TYPE) ? s->n[2] : 0;
    int has_until = s->text.length > 0;
    const char *until = participant_string(s->text);
    int64_t limit = has_until ? UNTIL_LIMIT : s->n[1];
    for (int64_t k = 0; k < limit; k++) {
        const uint8_t *text;
        int64_t r = receive_one(c, cap, msgtyp, (s->flags & IPCLAB_PLAN_STEP_NONBLOCKING) != 0,
                                (s->flags & IPCLAB_PLAN_RECEIVE_TRUNCATE) != 0, step, &text);
        if (r < 0) return;
        /* The course's receiver stops at a message that starts with "end". */
        if (has_until && r >= s->text.length && memcmp(text, until, s->text.length) == 0) return;
    }
}

void participant_run_mq_step(const ipclab_plan_step *s, int step) {
    participant *p = &participant_self;
    int c = s->channel;
    const ipclab_plan_channel *ch = channel(c);
    switch (s->op) {
    case IPCLAB_OP_RECEIVE:
        receive(s, step);
        break;
    case IPCLAB_OP_MQ_NOTIFY: {
        int q = handle(c);
        int r = ipclab_mq_notify_signal(q, s->sig, 0);
        int64_t args[3] = { q, s->sig, c };
        (void)participant_instant("mq_notify", step, args, 3, r, r < 0 ? errno : 0);
        break;
    }
    case IPCLAB_OP_OPEN_QUEUE:
        if (ch->sub == IPCLAB_PLAN_MQ_SYSV) {
            int flags = 0666 | ipclab_IPC_CREAT;
            int id = ipclab_msgget((int32_t)ch->a, flags);
            int64_t args[3] = { ch->a, flags, c };
            (void)participant_instant("msgget", step, args, 3, id, id < 0 ? errno : 0);
            if (id >= 0) p->msg_handle[c] = id;
        } else {
            int oflag = O_RDWR;
            int q = ipclab_mq_open(queue_name(c), oflag, 0, 0);
            int64_t args[4] = { oflag, 0, 0, c };
            (void)participant_instant("mq_open", step, args, 4, q, q < 0 ? errno : 0);
            if (q >= 0) {
                p->msg_handle[c] = q;
                p->msg_flag[c] = 0;
            }
        }
        break;
    case IPCLAB_OP_REMOVE_QUEUE:
        if (ch->sub == IPCLAB_PLAN_MQ_SYSV) {
            int id = handle(c);
            int r = ipclab_msgctl_rmid(id);
            int64_t args[3] = { id, IPC_RMID, c };
            (void)participant_instant("msgctl", step, args, 3, r, r < 0 ? errno : 0);
        } else {
            int r = ipclab_mq_unlink(queue_name(c));
            int64_t args[1] = { c };
            (void)participant_instant("mq_unlink", step, args, 1, r, r < 0 ? errno : 0);
        }
        break;
    default:
        break;
    }
}
