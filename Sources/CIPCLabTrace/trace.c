/* trace.c — the interposer: LD_PRELOADed into a student's C program by the run's init (README,
 * "C programs"). Each wrapper calls the C library's own function (dlsym RTLD_NEXT, resolved once
 * in the constructor, so nothing here allocates or locks in a signal handler) and records the
 * call into the run's event ring with the vocabulary's names and argument layout (the same keys
 * and args[] the participants write: see Sources/IPCLabSandbox/Run/EventArguments+*.swift).
 *
 * The ring is the run's: the program may unmap it, overwrite it, or call these functions with
 * anything. The server treats every byte as hostile (EventRing, RawRecord); nothing here is trusted.
 *
 * What it cannot see: calls made with syscall(2) or inline assembly, calls the C library makes to
 * itself (printf's write), static binaries (no dynamic loader, no preload), and programs that
 * clear LD_PRELOAD before an exec. run.tracer says "interposer" so a reader knows. */
#include "trace_internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <sys/stat.h>

struct ipclab_real ipclab_real;
int ipclab_resolved;

static void own_output(pid_t parent);

/* Whether this process records (a ring was found and bound). */
int ipclab_tracing;

#define RESOLVE(name) ipclab_real.name = (typeof(ipclab_real.name))dlsym(RTLD_NEXT, #name)

void ipclab_resolve_all(void) {
    RESOLVE(pipe); RESOLVE(pipe2); RESOLVE(read); RESOLVE(write); RESOLVE(close); RESOLVE(dup2);
    RESOLVE(fork); RESOLVE(wait); RESOLVE(waitpid); RESOLVE(wait4); RESOLVE(kill); RESOLVE(sigaction);
    RESOLVE(signal); RESOLVE(exit); RESOLVE(_exit); RESOLVE(sleep); RESOLVE(usleep); RESOLVE(nanosleep);
    RESOLVE(mkfifo); RESOLVE(open); RESOLVE(sigqueue); RESOLVE(sigprocmask); RESOLVE(pause); RESOLVE(sigsuspend);
    RESOLVE(raise);
    ipclab_resolve_ipc();
    __atomic_store_n(&ipclab_resolved, 1, __ATOMIC_RELEASE);
}

/* The start record every process of a program writes first (the init names it from these). */
void ipclab_trace_started(void) {
    int64_t args[1] = { (int64_t)getppid() };
    ipclab_record_now(IPCLAB_REC_START, "start", -1, args, 1, (int64_t)getpid(), 0, NULL, 0);
}

__attribute__((constructor)) static void ipclab_trace_init(void) {
    if (!ipclab_resolved) ipclab_resolve_all();
    const char *fd_text = getenv("IPCLAB_RING_FD");
    const char *program = getenv("IPCLAB_PROGRAM");
    if (!fd_text || !program) return;
    int fd = atoi(fd_text);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) return;
    void *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) return;
    if (ipclab_recorder_bind(base, (size_t)st.st_size, atoi(program)) != 0) return;
    ipclab_tracing = 1;
    /* A process that reached this image without our fork (a vfork or posix_spawn child that
     * exec'd, system()'s shell) still writes to its parent's capture: give it its own. */
    own_output(getppid());
    ipclab_trace_started();
}

/* --- pipes and the byte-stream calls ---------------------------------------------------------- */

/* Which end of a pipe a descriptor is, as the participants record it: 0 read, 1 write. */
static int64_t end_of(int fd) {
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && (flags & O_ACCMODE) == O_WRONLY ? 1 : 0;
}

/* What a descriptor reaches: 1 a socket, 0 anything else; `*pipe` the pipe's or FIFO's inode (both
 * ends of a pipe share it), or -1. The server names a program's pipes by it (`channel`). */
static int kind_of(int fd, int64_t *pipe) {
    struct stat st;
    *pipe = -1;
    if (fstat(fd, &st) != 0) return 0;
    if (S_ISFIFO(st.st_mode)) *pipe = (int64_t)st.st_ino;
    return S_ISSOCK(st.st_mode);
}

/* pipe(2) and pipe2(2) alike: the two ends and the pipe's inode, which names it in the trace. */
static int record_pipe(int r, int fds[2]) {
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t inode = -1;
        if (r == 0) kind_of(fds[0], &inode);
        int64_t args[3] = { r == 0 ? fds[0] : -1, r == 0 ? fds[1] : -1, inode };
        ipclab_record_now(IPCLAB_REC_EVENT, "pipe", -1, args, 3, r, err, NULL, 0);
    }
    if (err) errno = err;
    return r;
}

int pipe(int fds[2]) {
    return record_pipe(REAL.pipe(fds), fds);
}

int pipe2(int fds[2], int flags) {
    return record_pipe(REAL.pipe2(fds, flags), fds);
}

/* A pipe's state after a call on it, as the participants snapshot theirs: bytes waiting, capacity,
 * and the call's record (kind OBJECT "pipe"; args[0] is the inode, which names the pipe). */
static void pipe_snapshot(int fd, int64_t inode, uint32_t slot) {
    int waiting = 0;
    if (inode < 0 || ioctl(fd, FIONREAD, &waiting) != 0) return;
    int64_t args[4] = { inode, waiting, fcntl(fd, F_GETPIPE_SZ), slot == UINT32_MAX ? -1 : (int64_t)slot };
    ipclab_record_now(IPCLAB_REC_OBJECT, "pipe", -1, args, 4, 0, 0, NULL, 0);
}

/* read and write alike: on a socket the call is sock.read / sock.write; the bytes moved are the
 * payload; a pipe's state after a transfer is recorded with it. */
static ssize_t traced_transfer(int fd, void *buf, size_t count, int writing) {
    int64_t inode;
    int sock = kind_of(fd, &inode);
    int64_t args[4] = { fd, (int64_t)count, inode, writing };
    const char *name = writing ? (sock ? "sock.write" : "write") : (sock ? "sock.read" : "read");
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, name, -1, args, sock ? 3 : 4);
    ssize_t r = writing ? REAL.write(fd, buf, count) : REAL.read(fd, buf, count);
    int err = r < 0 ? errno : 0;
    ipclab_end(slot, r, err, buf, r > 0 ? (size_t)r : 0);
    if (r > 0) pipe_snapshot(fd, inode, slot);
    if (err) errno = err;
    return r;
}

ssize_t read(int fd, void *buf, size_t count) {
    if (!ipclab_tracing) return REAL.read(fd, buf, count);
    return traced_transfer(fd, buf, count, 0);
}

ssize_t write(int fd, const void *buf, size_t count) {
    if (!ipclab_tracing) return REAL.write(fd, buf, count);
    return traced_transfer(fd, (void *)buf, count, 1);
}

int close(int fd) {
    if (!ipclab_tracing) return REAL.close(fd);
    int64_t inode;
    kind_of(fd, &inode);
    int64_t args[3] = { fd, inode, end_of(fd) };
    int r = REAL.close(fd);
    int err = r < 0 ? errno : 0;
    ipclab_record_now(IPCLAB_REC_EVENT, "close", -1, args, 3, r, err, NULL, 0);
    if (err) errno = err;
    return r;
}

int dup2(int oldfd, int newfd) {
    if (!ipclab_tracing) return REAL.dup2(oldfd, newfd);
    int64_t inode;
    kind_of(oldfd, &inode);
    int64_t args[4] = { oldfd, newfd, inode, end_of(oldfd) };
    int r = REAL.dup2(oldfd, newfd);
    int err = r < 0 ? errno : 0;
    ipclab_record_now(IPCLAB_REC_EVENT, "dup2", -1, args, 4, r, err, NULL, 0);
    if (err) errno = err;
    return r;
}

int mkfifo(const char *path, mode_t mode) {
    int r = REAL.mkfifo(path, mode);
    int err = r < 0 ? errno : 0;
    if (ipclab_tracing) {
        int64_t args[2] = { (int64_t)mode, -1 };
        ipclab_record_now(IPCLAB_REC_EVENT, "mkfifo", -1, args, 2, r, err, r == 0 ? path : NULL, r == 0 ? strnlen(path, IPCLAB_PAYLOAD_MAX) : 0);
    }
    if (err) errno = err;
    return r;
}

/* open(2) is recorded only when it reaches a FIFO (the vocabulary's `open` is a FIFO's open, which
 * blocks): a program opening its own files is not IPC. */
int open(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    struct stat st;
    int fifo = ipclab_tracing && stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
    if (!fifo) return REAL.open(path, flags, mode);
    int64_t args[3] = { flags, (int64_t)st.st_ino, (flags & O_ACCMODE) == O_WRONLY ? 1 : 0 };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "open", -1, args, 3);
    int r = REAL.open(path, flags, mode);
    int err = r < 0 ? errno : 0;
    ipclab_end(slot, r, err, path, strnlen(path, IPCLAB_PAYLOAD_MAX));
    if (err) errno = err;
    return r;
}

/* --- processes ---------------------------------------------------------------------------------- */

/* A forked child writes its stdout and stderr to files of its own (the run's init gathers them by
 * pid), where they still reach its parent's files: a descriptor the program pointed elsewhere
 * (a pipe dup2'ed onto stdout) is left alone. */
static void own_output(pid_t parent) {
    for (int stream = 1; stream <= 2; stream++) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/.ipclab/out/%d.%d", (int)parent, stream);
        struct stat inherited, parents;
        if (fstat(stream, &inherited) != 0 || stat(path, &parents) != 0) continue;
        if (inherited.st_dev != parents.st_dev || inherited.st_ino != parents.st_ino) continue;
        snprintf(path, sizeof path, "/tmp/.ipclab/out/%d.%d", (int)getpid(), stream);
        int fd = REAL.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) continue;
        REAL.dup2(fd, stream);
        REAL.close(fd);
    }
}

pid_t fork(void) {
    if (!ipclab_tracing) return REAL.fork();
    int64_t args[1] = { -1 };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "fork", -1, args, 1);
    pid_t parent = getpid();
    pid_t pid = REAL.fork();
    int err = pid < 0 ? errno : 0;
    if (pid == 0) {
        own_output(parent);
        ipclab_trace_started();
        return 0;
    }
    ipclab_end(slot, pid, err, NULL, 0);
    if (err) errno = err;
    return pid;
}

/* vfork(2) as fork: a wrapper cannot vfork (the child would return through, and so overwrite, the
 * frame its parent still needs), and POSIX leaves everything a vfork child does but _exit and exec
 * undefined, which a real fork satisfies. The child then gets its own pid's output and start
 * record, as a fork's: before this it wrote into its parent's capture and went unnamed. */
pid_t vfork(void) {
    if (!ipclab_tracing) return REAL.fork();
    return fork();
}

/* wait(3), waitpid(2) and wait4(2), under the key of the call the program made: args are the
 * participants' layout (pid, status, process, options); the server names the process by pid. */
static pid_t traced_wait(const char *key, pid_t pid, int *status, int options, struct rusage *usage, int kind) {
    int64_t args[4] = { pid, 0, -1, options };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, key, -1, args, 4);
    int local = 0;
    int *st = status ? status : &local;
    struct rusage own;
    (void)kind;
    /* Every wait is a wait4, for the reap record's CPU times (glibc's wait and waitpid are wait4 too). */
    pid_t r = REAL.wait4(pid, st, options, usage ? usage : &own);
    int err = r < 0 ? errno : 0;
    if (slot != UINT32_MAX && r > 0) {
        ipclab_record *rec = ipclab_ring_record_bound(slot);
        if (rec) rec->args[1] = *st;
    }
    ipclab_end(slot, r, err, NULL, 0);
    if (r > 0 && (WIFEXITED(*st) || WIFSIGNALED(*st))) {
        /* How the child ended, as the init's own reaps record it: the trace's `exit` of the process. */
        struct rusage *u = usage ? usage : &own;
        int64_t reap[4] = { r, *st, (int64_t)u->ru_utime.tv_sec * 1000000000 + u->ru_utime.tv_usec * 1000,
                            (int64_t)u->ru_stime.tv_sec * 1000000000 + u->ru_stime.tv_usec * 1000 };
        ipclab_record_now(IPCLAB_REC_REAP, "reap", -1, reap, 4, r, 0, NULL, 0);
    }
    if (err) errno = err;
    return r;
}

pid_t wait(int *status) {
    if (!ipclab_tracing) return REAL.wait(status);
    return traced_wait("waitpid", -1, status, 0, NULL, 0);
}

pid_t waitpid(pid_t pid, int *status, int options) {
    if (!ipclab_tracing) return REAL.waitpid(pid, status, options);
    return traced_wait("waitpid", pid, status, options, NULL, 1);
}

pid_t wait4(pid_t pid, int *status, int options, struct rusage *usage) {
    if (!ipclab_tracing) return REAL.wait4(pid, status, options, usage);
    return traced_wait("wait4", pid, status, options, usage, 2);
}

/* exit(3) and _exit(2): begun, never completed (they do not return), like a participant's exit. */
static void record_exit(int code) {
    if (!ipclab_tracing) return;
    int64_t args[1] = { code };
    ipclab_begin(IPCLAB_REC_EVENT, "exit", -1, args, 1);
}

void exit(int code) {
    record_exit(code);
    REAL.exit(code);
    __builtin_unreachable();
}

void _exit(int code) {
    record_exit(code);
    REAL._exit(code);
    __builtin_unreachable();
}

static int sleep_ns(int64_t ms, int (*body)(void *), void *arg) {
    int64_t args[1] = { ms };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "nanosleep", -1, args, 1);
    int r = body(arg);
    int err = r < 0 ? errno : 0;
    ipclab_end(slot, r, err, NULL, 0);
    if (err) errno = err;
    return r;
}

static int do_sleep(void *arg) { return (int)REAL.sleep(*(unsigned *)arg); }
static int do_usleep(void *arg) { return REAL.usleep(*(useconds_t *)arg); }
static int do_nanosleep(void *arg) {
    const struct timespec **ts = arg;
    return REAL.nanosleep(ts[0], (struct timespec *)ts[1]);
}

unsigned int sleep(unsigned int seconds) {
    if (!ipclab_tracing) return REAL.sleep(seconds);
    return (unsigned)sleep_ns((int64_t)seconds * 1000, do_sleep, &seconds);
}

int usleep(useconds_t us) {
    if (!ipclab_tracing) return REAL.usleep(us);
    return sleep_ns((int64_t)us / 1000, do_usleep, &us);
}

int nanosleep(const struct timespec *req, struct timespec *rem) {
    if (!ipclab_tracing || !req) return REAL.nanosleep(req, rem);
    const struct timespec *pair[2] = { req, rem };
    return sleep_ns((int64_t)req->tv_sec * 1000 + req->tv_nsec / 1000000, do_nanosleep, pair);
}
