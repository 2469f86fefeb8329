/*
 * participant_pipes.c — pipe and FIFO steps, and the pipe's OBJECT snapshot after each read and
 * write. The C port of Participant+Pipes.swift, record for record and argument for argument
 * (EventArguments+Pipes.swift names them; the keys are those of Call+Pipes.swift).
 */
#include "participant_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int end_fd(int c, int end) {
    return end == IPCLAB_PLAN_END_READ ? participant_self.ends[c].read : participant_self.ends[c].write;
}

static void set_end(int c, int end, int fd) {
    if (end == IPCLAB_PLAN_END_READ) participant_self.ends[c].read = fd;
    else participant_self.ends[c].write = fd;
}

/* Any open end, for queries such as FIONREAD that either end answers; -1 when none is. */
static int any_open(int c) {
    const participant_ends *e = &participant_self.ends[c];
    return e->read >= 0 ? e->read : e->write >= 0 ? e->write : -1;
}

static int64_t end_arg(int end) { return end == IPCLAB_PLAN_END_READ ? 0 : 1; }

/* A FIFO channel's path; "" for a channel with none, as Swift's `path ?? ""`. */
static const char *fifo_path(int c) {
    return participant_string(participant_self.plan->channels[c].path);
}

void participant_make_fifo(int c, int step) {
    int r = mkfifo(fifo_path(c), 0600);
    int err = r < 0 ? errno : 0;
    int64_t args[2] = { 0600, c };
    (void)participant_instant("mkfifo", step, args, 2, r, err);
}

void participant_create_pipe_channel(int c) {
    const ipclab_plan_channel *ch = &participant_self.plan->channels[c];
    if (ch->kind == IPCLAB_PLAN_CHANNEL_FIFO) {
        /* A FIFO made `before_fork: false` waits for an mkfifo step. */
        if (ch->flags & IPCLAB_PLAN_FIFO_BEFORE_FORK) participant_make_fifo(c, -1);
        return;
    }
    int fds[2] = { -1, -1 };
    int r = ipclab_pipe2(fds, 0);
    int err = r < 0 ? errno : 0;
    int64_t args[3] = { fds[0], fds[1], c };
    (void)participant_instant("pipe", -1, args, 3, r, err);
    if (r == 0) participant_self.ends[c] = (participant_ends){ fds[0], fds[1] };
}

void participant_snapshot(int c, uint32_t slot) {
    int fd = any_open(c);
    if (fd < 0) return;
    int waiting = ipclab_bytes_readable(fd);
    int capacity = ipclab_fcntl(fd, ipclab_F_GETPIPE_SZ);
    if (waiting < 0) return;
    int64_t args[4] = { c, waiting, capacity, slot == PARTICIPANT_NO_RECORD ? -1 : (int64_t)slot };
    (void)ipclab_record_now(IPCLAB_REC_OBJECT, "pipe", -1, args, 4, 0, 0, NULL, 0);
}

/* One read(2) or write(2) of up to `len` bytes through `buffer`, recorded around itself with the
 * bytes it moved, then the pipe's snapshot when `c` names a channel. */
static participant_outcome transfer(int reading, int fd, int c, void *buffer, int64_t len, int step) {
    int64_t args[3] = { fd, len, c };
    uint32_t slot = participant_begin(reading ? "read" : "write", step, args, 3);
    ssize_t r = reading ? read(fd, buffer, (size_t)len) : write(fd, buffer, (size_t)len);
    int err = r < 0 ? errno : 0;
    participant_end(slot, r, err, buffer, r < len ? r : len);
    if (c >= 0) participant_snapshot(c, slot);
    return (participant_outcome){ r, err, slot };
}

participant_outcome participant_write_fd(int fd, int c, const void *bytes, int64_t len, int step) {
    return transfer(0, fd, c, (void *)bytes, len, step);
}

participant_outcome participant_read_fd(int fd, int c, void *buffer, int64_t size, int step) {
    return transfer(1, fd, c, buffer, size, step);
}

static participant_outcome write_channel(int c, const void *bytes, int64_t len, int step) {
    return participant_write_fd(participant_self.ends[c].write, c, bytes, len, step);
}

static int64_t read_channel(int c, int64_t size, int step) {
    int64_t n = size < PARTICIPANT_BUFFER_BYTES ? size : PARTICIPANT_BUFFER_BYTES;
    return participant_read_fd(participant_self.ends[c].read, c, participant_buffer(), n, step).result;
}

void participant_close_end(int c, int end, int step) {
    int fd = end_fd(c, end);
    int r = close(fd);
    int err = r < 0 ? errno : 0;
    int64_t args[3] = { fd, c, end_arg(end) };
    (void)participant_instant("close", step, args, 3, r, err);
    set_end(c, end, -1);
}

/* fstat(2) and fcntl(F_GETFL) of one end, in one record: what inode it reaches, and how the open file
 * behind it was opened. */
static void fstat_end(int c, int end, int step) {
    int fd = end_fd(c, end);
    struct stat st;
    memset(&st, 0, sizeof st);
    int flags = -1;
    int r = fstat(fd, &st);
    int err = r < 0 ? errno : 0;
    /* F_GETFL only once fstat succeeded: the errno recorded stays fstat's. */
    if (r == 0) flags = ipclab_fcntl(fd, F_GETFL);
    int64_t args[7] = { fd, c, end_arg(end), flags, (int64_t)st.st_ino, (int64_t)st.st_dev, (int64_t)st.st_mode };
    (void)participant_instant("fstat", step, args, 7, r, err);
}

/* open(2) of a FIFO: blocks until the other side opens, unless non-blocking. */
static void open_fifo(int c, int end, int nonblocking, int step) {
    int flags = (end == IPCLAB_PLAN_END_READ ? O_RDONLY : O_WRONLY) | (nonblocking ? O_NONBLOCK : 0);
    int64_t args[3] = { flags, c, end_arg(end) };
    uint32_t slot = participant_begin("open", step, args, 3);
    int fd = open(fifo_path(c), flags);
    int err = fd < 0 ? errno : 0;
    participant_end(slot, fd, err, NULL, 0);
    if (fd >= 0) set_end(c, end, fd);
}

static void set_nonblocking(int c, int end, int enabled, int step) {
    int fd = end_fd(c, end);
    int flags = ipclab_fcntl(fd, F_GETFL);
    int64_t get_args[4] = { fd, F_GETFL, 0, c };
    (void)participant_instant("fcntl", step, get_args, 4, flags, flags < 0 ? errno : 0);
    if (flags < 0) return;
    int new_flags = enabled ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    int r = ipclab_fcntl_int(fd, F_SETFL, new_flags);
    int64_t set_args[4] = { fd, F_SETFL, new_flags, c };
    (void)participant_instant("fcntl", step, set_args, 4, r, r < 0 ? errno : 0);
}

/* fcntl(F_SETPIPE_SZ) when `set`, else fcntl(F_GETPIPE_SZ), on any open end. */
static void pipe_size(int c, int set, int64_t size, int step) {
    int fd = any_open(c);
    int cmd = set ? ipclab_F_SETPIPE_SZ : ipclab_F_GETPIPE_SZ;
    int r = set ? ipclab_fcntl_int(fd, ipclab_F_SETPIPE_SZ, (int)size) : ipclab_fcntl(fd, ipclab_F_GETPIPE_SZ);
    int64_t args[4] = { fd, cmd, set ? size : 0, c };
    (void)participant_instant("fcntl", step, args, 4, r, r < 0 ? errno : 0);
}

/* Writes chunks until the pipe holds its capacity, then once more. Full is what the kernel says, not
 * arithmetic on F_GETPIPE_SZ: writes without waiting until EAGAIN; then, if the end was blocking, one
 * blocking write, which waits for the reader. */
static void fill(int c, int64_t size, int step) {
    int fd = participant_self.ends[c].write;
    const uint8_t *chunk = participant_size_data(size);
    int flags = ipclab_fcntl(fd, F_GETFL);
    int blocking = flags >= 0 && (flags & O_NONBLOCK) == 0;
    if (blocking) set_nonblocking(c, IPCLAB_PLAN_END_WRITE, 1, step);
    for (int k = 0; k < PARTICIPANT_LOOP_LIMIT; k++) {
        participant_outcome r = write_channel(c, chunk, size, step);
        if (r.result < 0) {
            int full = r.err == EAGAIN;
            if (blocking) {
                set_nonblocking(c, IPCLAB_PLAN_END_WRITE, 0, step);
                if (full) (void)write_channel(c, chunk, size, step);
            }
            return;
        }
    }
}

void participant_run_pipe_step(const ipclab_plan_step *s, int step) {
    int c = s->channel;
    switch (s->op) {
    case IPCLAB_OP_WRITE: {
        const void *bytes;
        int64_t len;
        if (s->flags & IPCLAB_PLAN_STEP_DATA_SIZE) {
            len = s->n[0];
            bytes = participant_size_data(len);
        } else {
            len = s->text.length;
            bytes = participant_string(s->text);
        }
        /* A repeated call stops at its first error, as a C loop checking the result would. */
        for (int64_t k = 0; k < s->n[1]; k++) {
            if (write_channel(c, bytes, len, step).result < 0) break;
        }
        break;
    }
    case IPCLAB_OP_READ:
        for (int64_t k = 0; k < s->n[1]; k++) {
            if (read_channel(c, s->n[0], step) < 0) break;
        }
        break;
    case IPCLAB_OP_READ_ALL:
        for (int k = 0; k < PARTICIPANT_LOOP_LIMIT; k++) {
            if (read_channel(c, s->n[0], step) <= 0) break;
        }
        break;
    case IPCLAB_OP_FILL:
        fill(c, s->n[0], step);
        break;
    case IPCLAB_OP_CLOSE:
        participant_close_end(c, s->end, step);
        break;
    case IPCLAB_OP_FSTAT:
        fstat_end(c, s->end, step);
        break;
    case IPCLAB_OP_MKFIFO:
        participant_make_fifo(c, step);
        break;
    case IPCLAB_OP_OPEN:
        open_fifo(c, s->end, (s->flags & IPCLAB_PLAN_STEP_NONBLOCKING) != 0, step);
        break;
    case IPCLAB_OP_SET_NONBLOCKING:
        set_nonblocking(c, s->end, s->n[0] != 0, step);
        break;
    case IPCLAB_OP_SET_PIPE_SIZE:
        pipe_size(c, 1, s->n[0], step);
        break;
    case IPCLAB_OP_GET_PIPE_SIZE:
        pipe_size(c, 0, 0, step);
        break;
    case IPCLAB_OP_DUP2:
        participant_dup2(c, s->end, (int)s->n[0], step);
        break;
    case IPCLAB_OP_STAGE:
        participant_run_stage(s, step);
        break;
    default:
        break;
    }
}
