/*
 * participant_signals.c — signal steps and sandbox probes. The C port of Participant+Signals.swift
 * and Participant+Sandbox.swift, record for record and argument for argument (EventArguments+Signals
 * .swift names them; the keys are those of Call+Signals.swift). The handlers themselves are
 * signals.c's: they record each delivery (and a reply's kill) from inside any step, so nothing here
 * allocates or uses stdio.
 */
#include "participant_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipclab_seccomp.h"
#include "ipclab_shm.h"
#include "ipclab_signals.h"

/* The pid of a signal's target: a participant's pid, never -1, 0 or the run's init (Swift's target(_:)). */
static pid_t target_pid(int process) {
    pid_t pid = participant_pid_of(process);
    return pid > 1 ? pid : -1;
}

/* What a send to something that is not a participant answers: -1 with ESRCH, as kill(2) would. */
static int refused(void) {
    errno = ESRCH;
    return -1;
}

/* kill(2) of `dest` (a pid, or a group as -pgid) when `allowed`, else ESRCH; begun before the call,
 * so a signal to itself, delivered before kill returns, is recorded after it. args[0] is `dest`. */
static int recorded_kill(int allowed, pid_t dest, int sig, int index, int step) {
    int64_t args[5] = { dest, sig, index, 0, getuid() };
    uint32_t slot = participant_begin("kill", step, args, 5);
    int r = allowed ? kill(dest, sig) : refused();
    participant_end(slot, r, r < 0 ? errno : 0, NULL, 0);
    return r;
}

static void sigaction_step(const ipclab_plan_step *s, int step) {
    int sig = s->sig;
    int disposition = (int)s->n[0];
    int restart = (s->flags & IPCLAB_PLAN_STEP_RESTART) ? 1 : 0;
    int reply_sig = (int)s->n[1];
    int exit_status = (int)s->n[2];
    /* A reply's target waits for its pid, as Swift's target(_:) does; no reply: pid 0, index -1. */
    pid_t reply_pid = reply_sig > 0 ? target_pid(s->process) : 0;
    int reply_index = reply_sig > 0 ? s->process : -1;
    ipclab_handler_exits(sig, exit_status);
    int r = ipclab_sigaction(sig, disposition, restart, reply_sig, reply_pid, reply_index, step);
    int err = r < 0 ? errno : 0;
    int64_t args[6] = { sig, disposition, restart, reply_sig, reply_index, exit_status };
    (void)participant_instant("sigaction", step, args, 6, r, err);
}

/* Copies `text` and its NUL to `buffer` (4096 bytes; the validator bounds the text); the bytes copied. */
static int64_t put_text(void *buffer, ipclab_plan_str text) {
    memcpy(buffer, participant_string(text), text.length);
    ((char *)buffer)[text.length] = 0;
    return (int64_t)text.length + 1;
}

/* One sigqueue(3): an int (plus `offset`), or the address of a buffer holding the text. */
static int sigqueue_one(const ipclab_plan_step *s, int64_t offset, int step) {
    int index = s->process;
    pid_t pid = target_pid(index);
    int64_t uid = getuid();
    int sig = s->sig;
    if (s->n[1] == IPCLAB_PLAN_SIGVAL_INT) {
        int64_t sent = s->n[2] + offset;
        int64_t args[6] = { pid, sig, sent, index, uid, 0 };
        uint32_t slot = participant_begin("sigqueue", step, args, 6);
        int r = pid > 1 ? ipclab_sigqueue_int(pid, sig, (int)sent) : refused();
        participant_end(slot, r, r < 0 ? errno : 0, NULL, 0);
        return r;
    }
    void *buffer;
    int kind;
    if (s->n[1] == IPCLAB_PLAN_SIGVAL_POINTER) {
        /* A buffer of this process only, made after fork: its address is all that travels. */
        const int64_t length = 4096;
        void *p = mmap(NULL, (size_t)length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        int64_t address = p == MAP_FAILED ? -1 : (int64_t)(uintptr_t)p;
        int64_t margs[3] = { length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS };
        (void)participant_instant("sig.mmap", step, margs, 3, address, address == -1 ? errno : 0);
        if (address == -1) return -1;
        buffer = p;
        kind = 1;
    } else {
        /* The program's static buffer: there before fork, so the receiver has its own copy at this address. */
        buffer = ipclab_static_buffer();
        kind = 2;
    }
    int64_t count = put_text(buffer, s->text);
    int64_t args[6] = { pid, sig, (int64_t)(uintptr_t)buffer, index, uid, kind };
    uint32_t slot = participant_begin("sigqueue", step, args, 6);
    int r = pid > 1 ? ipclab_sigqueue_ptr(pid, sig, buffer) : refused();
    int err = r < 0 ? errno : 0;
    participant_end(slot, r, err, buffer, r == 0 ? count : 0);
    return r;
}

static void sigprocmask_step(const ipclab_plan_step *s, int step) {
    int how = (int)s->n[0];
    uint64_t set = (uint64_t)s->n[1];
    uint64_t old = 0;
    int64_t args[3] = { how, (int64_t)set, 0 };
    /* Begun before the call: signals it unblocks are delivered before it returns, and show after it. */
    uint32_t slot = participant_begin("sigprocmask", step, args, 3);
    int r = ipclab_sigprocmask_bits(how, set, &old);
    int err = r < 0 ? errno : 0;
    ipclab_record *rec = participant_record(slot);
    if (rec) rec->args[2] = (int64_t)old;
    participant_end(slot, r, err, NULL, 0);
}

/* Reads this process's own memory at the address the last handled signal carried. */
static void read_pointer(const ipclab_plan_step *s, int step) {
    if (s->text.length > 0) {
        /* This process's own bytes in its copy of the static buffer, recorded as a store there. */
        void *buffer = ipclab_static_buffer();
        int64_t count = put_text(buffer, s->text);
        int64_t args[3] = { (int64_t)(uintptr_t)buffer, 0, count };
        (void)ipclab_record_now(IPCLAB_REC_EVENT, "sig.store", step, args, 3, count, 0, buffer, (size_t)count);
    }
    uint64_t address = (uint64_t)(uintptr_t)ipclab_last_sival_ptr();
    uint8_t buf[4096];
    size_t size = (size_t)s->n[0];
    ssize_t r = ipclab_read_own_memory(address, buf, size);
    int err = r < 0 ? errno : 0;
    int64_t args[3] = { getpid(), (int64_t)address, (int64_t)size };
    size_t shown = r > 0 ? (size_t)r : 0;
    (void)ipclab_record_now(IPCLAB_REC_EVENT, "sig.process_vm_readv", step, args, 3, r, err, buf, shown < size ? shown : size);
}

/* A real fault. Without a handler the process dies here and the record stays unfinished. */
static void fault(const ipclab_plan_step *s, int step) {
    int kind = (int)s->n[0];
    int64_t address = kind == IPCLAB_FAULT_SEGV ? (int64_t)ipclab_fault_address() : 0;
    int64_t args[3] = { kind, address, ipclab_core_limit() };
    uint32_t slot = participant_begin("fault", step, args, 3);
    int r = ipclab_fault(kind);
    participant_end(slot, r, 0, NULL, 0);
}

/* Appends the decimal digits of a non-negative `v` at `out` (no stdio: a handler may interrupt). */
static size_t put_decimal(char *out, int64_t v) {
    char digits[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t at = 0;
    if (v < 0) out[at++] = '-';
    while (n) out[at++] = digits[--n];
    return at;
}

/* The state letter of /proc/PID/stat: the field after the command name's last ')' (ProcStat.state). */
static int64_t stat_state(const uint8_t *line, ssize_t count) {
    ssize_t close = -1;
    for (ssize_t i = 0; i < count; i++) if (line[i] == ')') close = i;
    if (close < 0 || close + 2 >= count) return 0;
    return line[close + 2];
}

/* Reads /proc/PID/stat of a process of the run and records its state as an object snapshot. */
static void proc_stat(const ipclab_plan_step *s, int step) {
    int index = s->process;
    pid_t pid = target_pid(index);
    char path[48];
    size_t at = 0;
    for (const char *q = "/proc/"; *q; q++) path[at++] = *q;
    at += put_decimal(path + at, pid);
    for (const char *q = "/stat"; *q; q++) path[at++] = *q;
    path[at] = 0;
    uint8_t buffer[512];
    /* A failed open is recorded (the snapshot then names it); a successful one is shown by the read
     * that follows it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int64_t result = fd;
    int err = fd < 0 ? errno : 0;
    uint32_t slot = PARTICIPANT_NO_RECORD;
    if (fd < 0) {
        int64_t args[6] = { O_RDONLY, -1, 0, 0, index, pid };
        slot = participant_instant("procstat.open", step, args, 6, fd, err);
    } else {
        ssize_t r = read(fd, buffer, sizeof buffer);
        err = r < 0 ? errno : 0;
        result = r;
        int64_t args[6] = { fd, (int64_t)sizeof buffer, -1, 0, index, pid };
        slot = ipclab_record_now(IPCLAB_REC_EVENT, "procstat.read", step, args, 6, r, err, buffer, r > 0 ? (size_t)r : 0);
        close(fd);
    }
    int64_t state = result > 0 ? stat_state(buffer, (ssize_t)result) : 0;
    int64_t args[5] = { index, state, pid, slot == PARTICIPANT_NO_RECORD ? -1 : (int64_t)slot, err };
    (void)ipclab_record_now(IPCLAB_REC_OBJECT, "process", -1, args, 5, 0, 0, NULL, 0);
}

/* setresgid/setresuid(id, id, id), recorded once it returned; args[3] (`now`): the real id after the call. */
static void record_setres(const char *call, int64_t id, int64_t now, int r, int err, int step) {
    int64_t args[4] = { id, id, id, now };
    (void)participant_instant(call, step, args, 4, r, err);
}

void participant_run_signal_step(const ipclab_plan_step *s, int step) {
    switch (s->op) {
    case IPCLAB_OP_SIGACTION:
        sigaction_step(s, step);
        break;
    case IPCLAB_OP_KILL:
        for (int64_t k = 0; k < s->n[0]; k++) {
            pid_t pid = target_pid(s->process);
            if (recorded_kill(pid > 1, pid, s->sig, s->process, step) < 0) break;
        }
        break;
    case IPCLAB_OP_SIGQUEUE:
        for (int64_t k = 0; k < s->n[0]; k++) if (sigqueue_one(s, k, step) < 0) break;
        break;
    case IPCLAB_OP_SIGPROCMASK:
        sigprocmask_step(s, step);
        break;
    case IPCLAB_OP_SIGPENDING: {
        uint64_t set = 0;
        int r = ipclab_sigpending_bits(&set);
        int64_t args[1] = { (int64_t)set };
        (void)participant_instant("sigpending", step, args, 1, r, r < 0 ? errno : 0);
        break;
    }
    case IPCLAB_OP_WAIT_SIGNALS:
        (void)ipclab_wait_signals(s->n[0], s->n[1] * 1000000, step);
        break;
    case IPCLAB_OP_READ_POINTER:
        read_pointer(s, step);
        break;
    case IPCLAB_OP_FAULT:
        fault(s, step);
        break;
    case IPCLAB_OP_PROC_STAT:
        proc_stat(s, step);
        break;
    case IPCLAB_OP_SETRESGID: {
        int r = ipclab_setresgid((gid_t)s->n[0]);
        int err = r < 0 ? errno : 0;
        record_setres("setresgid", s->n[0], getgid(), r, err, step);
        break;
    }
    case IPCLAB_OP_SETRESUID: {
        int r = ipclab_setresuid((uid_t)s->n[0]);
        int err = r < 0 ? errno : 0;
        record_setres("setresuid", s->n[0], getuid(), r, err, step);
        break;
    }
    case IPCLAB_OP_SETPGID: {
        pid_t pid = target_pid(s->process);
        pid_t pgid = target_pid(s->process2);
        int r = pid > 1 && pgid > 1 ? setpgid(pid, pgid) : refused();
        int err = r < 0 ? errno : 0;
        int64_t args[4] = { pid, pgid, s->process, s->process2 };
        (void)participant_instant("setpgid", step, args, 4, r, err);
        break;
    }
    case IPCLAB_OP_KILL_GROUP: {
        /* Only a group named by a participant's pid: never 0 (the caller's own group) or -1 (everyone). */
        pid_t pgid = target_pid(s->process2);
        (void)recorded_kill(pgid > 1, -pgid, s->sig, s->process2, step);
        break;
    }
    default:
        break;
    }
}

/* A sandbox probe: the real call, recorded under the probe's own name (Participant+Sandbox.swift). */
void participant_run_sandbox_step(const ipclab_plan_step *s, int step) {
    const char *call = participant_string(s->text);
    int which = -1;
    for (int i = 0; i < ipclab_try_syscall_count(); i++) {
        const char *name = ipclab_try_syscall_name(i);
        if (name && strcmp(name, call) == 0) {
            which = i;
            break;
        }
    }
    int err = 0;
    int64_t r = ipclab_try_syscall(which, &err);
    (void)ipclab_record_now(IPCLAB_REC_EVENT, call, step, NULL, 0, r, err, NULL, 0);
}
