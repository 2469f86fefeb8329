/*
 * participant_stage.c — pipelines: moving pipe ends onto the standard streams (dup2), and the
 * built-in programs that read standard input and write standard output, as `head`, `tr` and
 * `head -c` would. The C port of Participant+Stages.swift.
 */
#include "participant_internal.h"

#include <errno.h>
#include <unistd.h>

#include "ipclab_pipes.h"

/* The programs of a stage step's n[0] (PipeStep.Program). */
enum { STAGE_RANDOM = 0, STAGE_ALNUM = 1, STAGE_TAKE = 2 };

#define STAGE_CHUNK 4096

void participant_dup2(int c, int end, int fd, int step) {
    participant *p = &participant_self;
    int old = end == IPCLAB_PLAN_END_READ ? p->ends[c].read : p->ends[c].write;
    int r = dup2(old, fd);
    int err = r < 0 ? errno : 0;
    int64_t args[4] = { old, fd, c, end == IPCLAB_PLAN_END_READ ? 0 : 1 };
    (void)participant_instant("dup2", step, args, 4, r, err);
    if (r < 0 || old == fd) return;
    /* Whatever end sat on `fd` before was closed by dup2. */
    for (int k = 0; k < p->plan->header->nchannels; k++) {
        if (p->ends[k].read == fd) p->ends[k].read = -1;
        if (p->ends[k].write == fd) p->ends[k].write = -1;
    }
    participant_close_end(c, end, step);
    if (end == IPCLAB_PLAN_END_READ) p->ends[c].read = fd;
    else p->ends[c].write = fd;
}

/* The channel whose read (or write) end this process holds on `fd`, or -1. */
static int channel_on(int fd, int read_end) {
    participant *p = &participant_self;
    for (int k = 0; k < p->plan->header->nchannels; k++) {
        if ((read_end ? p->ends[k].read : p->ends[k].write) == fd) return k;
    }
    return -1;
}

/* One read(2) of standard input into `buffer`; -1 when it failed. */
static int64_t stdin_read(uint8_t *buffer, int64_t size, int step) {
    return participant_read_fd(0, channel_on(0, 1), buffer, size, step).result;
}

/* One write(2) of everything to standard output (a pipe takes it whole, or blocks); its result. */
static int64_t stdout_write(const uint8_t *bytes, int64_t len, int step) {
    return participant_write_fd(1, channel_on(1, 0), bytes, len, step).result;
}

static int alnum(uint8_t b) {
    return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/* Runs a built-in program on fds 0 and 1 until it is done, end of file, or an error. */
void participant_run_stage(const ipclab_plan_step *s, int step) {
    uint8_t chunk[STAGE_CHUNK];
    uint8_t kept[STAGE_CHUNK];
    switch (s->n[0]) {
    case STAGE_RANDOM: {
        int64_t left = s->n[1];
        while (left > 0) {
            int64_t want = left < STAGE_CHUNK ? left : STAGE_CHUNK;
            ssize_t n = ipclab_getrandom(chunk, (size_t)want);
            int64_t args[2] = { want, 0 };
            (void)participant_instant("getrandom", step, args, 2, n, n < 0 ? errno : 0);
            if (n <= 0) return;
            if (stdout_write(chunk, n, step) < 0) return;
            left -= n;
        }
        break;
    }
    case STAGE_ALNUM:
        for (;;) {
            int64_t n = stdin_read(chunk, STAGE_CHUNK, step);
            if (n <= 0) return;
            int64_t m = 0;
            for (int64_t i = 0; i < n; i++) {
                if (alnum(chunk[i])) kept[m++] = chunk[i];
            }
            if (m > 0 && stdout_write(kept, m, step) < 0) return;
        }
    case STAGE_TAKE: {
        int64_t got = 0, count = s->n[1];
        while (got < count) {
            int64_t want = count - got < STAGE_CHUNK ? count - got : STAGE_CHUNK;
            int64_t n = stdin_read(chunk, want, step);
            if (n <= 0) return;
            got += n;
            if (stdout_write(chunk, n, step) < 0) return;
        }
        break;
    }
    default:
        break;
    }
}
