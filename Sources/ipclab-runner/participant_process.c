/*
 * participant_process.c — process steps: sleep, wait, exit, and the steps that push on a limit.
 * The C port of Participant+Process.swift and Reaping.swift, record for record and argument for
 * argument (EventArguments+Process.swift names them).
 */
#include "participant_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipclab_limits.h"

static int64_t timeval_ns(struct timeval t) {
    return (int64_t)t.tv_sec * 1000000000 + (int64_t)t.tv_usec * 1000;
}

/* A reap record: how a process ended, as wait4 told its reaper (Reaping.record). */
static void record_reap(pid_t pid, int status, const struct rusage *usage) {
    int64_t args[4] = { pid, status, timeval_ns(usage->ru_utime), timeval_ns(usage->ru_stime) };
    (void)ipclab_record_now(IPCLAB_REC_REAP, "reap", -1, args, 4, pid, 0, NULL, 0);
}

/* wait4(2) for a child of the scenario; also records the reap, so that the trace knows how it ended. */
static void wait_for(int target, int step) {
    participant *p = &participant_self;
    pid_t pid = target >= 0 && target < IPCLAB_PLAN_PROCESSES_MAX && p->children[target] > 0 ? p->children[target] : -1;
    int status = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    int64_t args[3] = { pid, 0, target };
    uint32_t slot = participant_begin("wait4", step, args, 3);
    pid_t r = wait4(pid, &status, 0, &usage);
    int err = r < 0 ? errno : 0;
    ipclab_record *rec = participant_record(slot);
    if (rec) rec->args[1] = status;
    participant_end(slot, r, err, NULL, 0);
    if (r > 0) record_reap(r, status, &usage);
}

/* Creates /tmp/<name> and writes `bytes` into it in 64 KiB chunks, stopping at the first error: one
 * event, result the bytes written (args[1] counts them as it goes), errno of the failed write. Past
 * RLIMIT_FSIZE a write is cut short, then the next one raises SIGXFSZ (by default fatal). */
static void write_file(const ipclab_plan_step *s, int step) {
    static uint8_t chunk[65536];
    int64_t bytes = s->n[0];
    int64_t args[2] = { bytes, 0 };
    uint32_t slot = participant_begin("write_file", step, args, 2);
    char path[4096];
    const char *name = participant_string(s->text);
    size_t at = 0;
    for (const char *q = "/tmp/"; *q; q++) path[at++] = *q;
    for (uint32_t i = 0; i < s->text.length && at + 1 < sizeof path; i++) path[at++] = name[i];
    path[at] = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        participant_end(slot, -1, errno, NULL, 0);
        return;
    }
    if (chunk[0] != 'x') memset(chunk, 'x', sizeof chunk);
    int64_t written = 0;
    int err = 0;
    ipclab_record *rec = participant_record(slot);
    while (written < bytes) {
        int64_t want = bytes - written < (int64_t)sizeof chunk ? bytes - written : (int64_t)sizeof chunk;
        ssize_t n = write(fd, chunk, (size_t)want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            err = errno;
            break;
        }
        written += n;
        if (rec) rec->args[1] = written;
    }
    participant_end(slot, err != 0 && written == 0 ? -1 : written, err, NULL, 0);
    close(fd);
}

void participant_run_process_step(const ipclab_plan_step *s, int step) {
    switch (s->op) {
    case IPCLAB_OP_SLEEP: {
        int64_t ms = s->n[0];
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        int64_t args[1] = { ms };
        uint32_t slot = participant_begin("nanosleep", step, args, 1);
        int r = nanosleep(&ts, NULL);
        participant_end(slot, r, r < 0 ? errno : 0, NULL, 0);
        break;
    }
    case IPCLAB_OP_WAIT:
        wait_for(s->process, step);
        break;
    case IPCLAB_OP_EXIT:
        participant_exit((int)s->n[0], step);
    case IPCLAB_OP_SPIN: {
        int64_t args[1] = { s->n[0] };
        uint32_t slot = participant_begin("spin", step, args, 1);
        participant_end(slot, ipclab_spin(s->n[0]), 0, NULL, 0);
        break;
    }
    case IPCLAB_OP_ALLOCATE: {
        /* args[1] is the bytes touched so far, written as it goes: a process the OOM killer ends
         * leaves in its begun record how far it got. */
        int64_t args[2] = { s->n[0], 0 };
        uint32_t slot = participant_begin("allocate", step, args, 2);
        ipclab_record *rec = participant_record(slot);
        int64_t scratch = 0;
        int r = ipclab_allocate(s->n[0], rec ? &rec->args[1] : &scratch);
        participant_end(slot, r, r == 0 ? 0 : errno, NULL, 0);
        break;
    }
    case IPCLAB_OP_FORK_CHILDREN: {
        int64_t args[3] = { s->n[0], s->n[1], 0 };
        uint32_t slot = participant_begin("fork_children", step, args, 3);
        int first_errno = 0, reaped = 0;
        int made = ipclab_fork_children((int)s->n[0], (int)s->n[1], &first_errno, &reaped);
        ipclab_record *rec = participant_record(slot);
        if (rec) rec->args[2] = reaped;
        participant_end(slot, made, first_errno, NULL, 0);
        break;
    }
    case IPCLAB_OP_OPEN_FILES: {
        int64_t args[1] = { s->n[0] };
        uint32_t slot = participant_begin("open_files", step, args, 1);
        int first_errno = 0;
        int opened = ipclab_open_files((int)s->n[0], &first_errno);
        participant_end(slot, opened, first_errno, NULL, 0);
        break;
    }
    case IPCLAB_OP_WRITE_FILE:
        write_file(s, step);
        break;
    default:
        break;
    }
}
