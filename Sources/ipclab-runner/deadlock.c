/*
 * deadlock.c — the init's deadlock watch: the C port of DeadlockWatch
 * (Sources/IPCLabSandbox/Run/DeadlockWatch.swift; docs/c-runner.md §3.2 step 11), with its
 * constants, its list of waiting calls and its reading of /proc/PID/stat.
 *
 * It declares a deadlock only on what it sees, and only when nothing else could wake anyone: every
 * participant has started (its pid published) and is gone (no /proc entry, or a zombie) or sleeping
 * (`S`) inside an open (BEGUN) EVENT record whose call waits, with no timeout, for another process
 * of the run; at least one is so blocked; and nothing was recorded for DEADLOCK_QUIET_NS before the
 * first look and until a second look DEADLOCK_CONFIRM_NS later sees the same. Runs with a socket
 * are not judged (timeouts, the network stack): the wall limit stays the backstop.
 *
 * The ring is hostile input (every process of the run can write it): record indexes stay below the
 * capacity this init bound (its own copy), a record's process index is checked before it is used,
 * and a call name is read within its 24 bytes whether or not it holds a NUL.
 */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const char *const waiting_calls[] = {
    "read", "write", "open", "openat", "sem_wait", "semop", "wait4", "waitpid",
    "msgrcv", "msgsnd", "mq_receive", "mq_send",
};

static int is_waiting_call(const ipclab_record *r) {
    char call[IPCLAB_CALL_MAX + 1];
    memcpy(call, r->call, IPCLAB_CALL_MAX);
    call[IPCLAB_CALL_MAX] = 0;
    for (size_t i = 0; i < sizeof waiting_calls / sizeof waiting_calls[0]; i++) {
        if (strcmp(call, waiting_calls[i]) == 0) return 1;
    }
    return 0;
}

void deadlock_init(deadlock_watch *w, void *ring, const runner_plan *plan) {
    memset(w, 0, sizeof *w);
    w->ring = ring;
    w->participants = plan->header->nprocesses;
    if (w->participants > IPCLAB_PROCESSES_MAX) w->participants = IPCLAB_PROCESSES_MAX;
    /* Sockets may wait with timeouts (SO_RCVTIMEO) and through the network stack: not judged. */
    int socket = (plan->header->flags & IPCLAB_PLAN_HAS_SOCKET) != 0;
    for (int i = 0; i < plan->header->nchannels; i++) {
        if (plan->channels[i].kind == IPCLAB_PLAN_CHANNEL_SOCKET) socket = 1;
    }
    w->enabled = !socket;
    w->last_count = UINT32_MAX;
}

enum process_state { GONE, SLEEPING, OTHER };

/* From /proc/PID/stat: the state letter after the last ')' (the command name may hold any). */
static enum process_state state_of(pid_t pid) {
    char path[40] = "/proc/";
    runner_append_u64(path, sizeof path, (uint64_t)pid);
    runner_append(path, sizeof path, "/stat");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT || errno == ESRCH ? GONE : OTHER;
    char buffer[512];
    ssize_t n = read(fd, buffer, sizeof buffer);
    int read_errno = errno;
    close(fd);
    if (n < 0) return read_errno == ESRCH ? GONE : OTHER;
    ssize_t close_paren = -1;
    for (ssize_t i = 0; i < n; i++) if (buffer[i] == ')') close_paren = i;
    if (close_paren < 0 || close_paren + 2 >= n) return OTHER;
    switch (buffer[close_paren + 2]) {
    case 'S': return SLEEPING;
    case 'Z': case 'X': return GONE;
    default: return OTHER;
    }
}

/* Every participant gone or blocked in a waiting call: those calls (record index per process). */
static int scan(const deadlock_watch *w, int64_t blocked[IPCLAB_PROCESSES_MAX]) {
    int sleeping[IPCLAB_PROCESSES_MAX];
    int nsleeping = 0;
    /* The processes first (a few small reads): a running one ends the look before the ring is read. */
    for (int i = 0; i < w->participants; i++) {
        int32_t pid = ipclab_participant_pid(i);
        if (pid <= 0) return 0;
        switch (state_of(pid)) {
        case GONE: continue;
        case SLEEPING: sleeping[nsleeping++] = i; break;
        case OTHER: return 0;
        }
    }
    if (nsleeping == 0) return 0;
    int64_t open_record[IPCLAB_PROCESSES_MAX];
    for (int i = 0; i < IPCLAB_PROCESSES_MAX; i++) open_record[i] = -1;
    /* The capacity the init bound (its own copy), never the header's: the run can write that. */
    uint32_t count = ipclab_ring_claimed(w->ring, ipclab_recorder_capacity());
    for (uint32_t i = 0; i < count; i++) {
        const ipclab_record *r = ipclab_ring_record(w->ring, i);
        if (ipclab_record_state(r) != IPCLAB_STATE_BEGUN || r->kind != IPCLAB_REC_EVENT) continue;
        int16_t process = r->process;
        if (process >= 0 && process < w->participants) open_record[process] = i;
    }
    for (int i = 0; i < IPCLAB_PROCESSES_MAX; i++) blocked[i] = -1;
    for (int k = 0; k < nsleeping; k++) {
        int i = sleeping[k];
        if (open_record[i] < 0 || !is_waiting_call(ipclab_ring_record(w->ring, (uint32_t)open_record[i]))) return 0;
        blocked[i] = open_record[i];
    }
    return 1;
}

int deadlock_check(deadlock_watch *w, int64_t now, int64_t blocked[IPCLAB_PROCESSES_MAX]) {
    if (!w->enabled) return 0;
    uint32_t count = ipclab_ring_claimed(w->ring, ipclab_recorder_capacity());
    if (count != w->last_count) {
        w->last_count = count;
        w->quiet_since = now;
        w->has_candidate = 0;
        return 0;
    }
    if (now - w->quiet_since < DEADLOCK_QUIET_NS || !scan(w, blocked)) {
        w->has_candidate = 0;
        return 0;
    }
    int same = w->has_candidate && memcmp(w->candidate, blocked, sizeof w->candidate) == 0;
    if (same && now - w->candidate_at >= DEADLOCK_CONFIRM_NS
        && ipclab_ring_claimed(w->ring, ipclab_recorder_capacity()) == count) {
        return 1;
    }
    if (!same) {
        memcpy(w->candidate, blocked, sizeof w->candidate);
        w->has_candidate = 1;
        w->candidate_at = now;
    }
    return 0;
}
