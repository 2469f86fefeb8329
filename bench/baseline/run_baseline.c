/*
 * run_baseline.c — the bare baseline for IPC Lab's service benchmark.
 *
 * Does the kernel work of one `pipe.hello` run and nothing else: clone into new
 * user+PID+IPC+mount+UTS namespaces, write the uid/gid maps, become the namespace's
 * root, make / private and read-only, mount tmpfs on /tmp and /dev/shm and a new
 * /proc, set the hostname; the run's init forks a parent that makes a pipe and forks
 * a child; the child writes "Hello\0" (6 bytes), the parent reads them and waits;
 * init reaps both. Then it prints a small JSON, as the service prints a trace.
 *
 *   run_baseline [-n RUNS] [-q]    prints per-run latency percentiles (µs) as JSON
 *   run_baseline -s [-n RUNS]      the same, with "steps": each step's p50 (µs) from timestamps
 *                                  its processes write into a shared page (bench/run_steps.py)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 1
#endif

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* With -s, when each step of a run ended, in a page every process of the run shares (else NULL). */
enum step { S_START, S_GO, S_PARENT, S_PIPE, S_FORKED, S_CHILD, S_WROTE, S_READ, S_WAITED, S_REAPED, S_END, S_COUNT };
/* The steps reported (-s): from, to, and the name bench/run_steps.py matches against the trace's. */
static const struct { enum step from, to; const char *name; } spans[] = {
    {S_START, S_GO, "clone, id maps, go"},
    {S_GO, S_PIPE, "go -> the first process's pipe returned"},
    {S_PIPE, S_FORKED, "fork"},
    {S_FORKED, S_CHILD, "fork returned -> the child's first step"},
    {S_CHILD, S_WROTE, "the child's close and write"},
    {S_WROTE, S_READ, "write returned -> read returned"},
    {S_READ, S_WAITED, "read returned -> wait4 returned"},
    {S_WAITED, S_REAPED, "wait4 returned -> the run's end"},
    {S_REAPED, S_END, "the init's exit -> reaped by the caller"},
};
#define SPANS (int)(sizeof spans / sizeof spans[0])
static volatile int64_t *steps;
static void mark(enum step s) { if (steps) steps[s] = now_ns(); }

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int participant_parent(void) {
    mark(S_PARENT);
    int fds[2];
    char buf[32];
    if (pipe(fds) != 0) return 1;
    mark(S_PIPE);
    pid_t child = fork();
    if (child == 0) {
        mark(S_CHILD);
        close(fds[0]);
        ssize_t n = write(fds[1], "Hello", 6);
        mark(S_WROTE);
        _exit(n == 6 ? 0 : 1);
    }
    mark(S_FORKED);
    close(fds[1]);
    ssize_t n = read(fds[0], buf, 6);
    mark(S_READ);
    int status = 0;
    waitpid(child, &status, 0);
    mark(S_WAITED);
    return (n == 6 && WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : 1;
}

static int run_init(int sync_fd) {
    char go;
    if (read(sync_fd, &go, 1) != 1) return 111;
    mark(S_GO);
    close(sync_fd);
    if (setresgid(0, 0, 0) || setresuid(0, 0, 0) || setgroups(0, NULL)) return 112;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) return 113;
    struct { uint64_t set, clr, prop, userns; } attr = { MOUNT_ATTR_RDONLY, 0, 0, 0 };
    syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof attr);
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777")) return 114;
    if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777")) return 115;
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    sethostname("ipclab", 6);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); if (null > 2) close(null); }
    pid_t first = fork();
    if (first == 0) _exit(participant_parent());
    int status = 0, ok = 1;
    pid_t pid;
    while ((pid = wait(&status)) > 0) {
        if (pid == first && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) ok = 0;
        if (pid == first) mark(S_REAPED);
    }
    return ok ? 0 : 1;
}

/* One run; returns 0 when the pipe carried the 6 bytes. */
static int one_run(void) {
    int sync[2];
    if (pipe2(sync, O_CLOEXEC)) return -1;
    int flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWUTS | SIGCHLD;
    pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0UL);
    if (pid == 0) {
        close(sync[1]);
        _exit(run_init(sync[0]));
    }
    close(sync[0]);
    if (pid < 0) { close(sync[1]); return -1; }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
    int r = write_file(path, "0 65534 1\n");
    snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
    r |= write_file(path, "0 65534 1\n");
    if (write(sync[1], "1", 1) != 1) r = -1;
    close(sync[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    mark(S_END);
    if (r || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    /* What the service would answer, in miniature. */
    char json[128];
    snprintf(json, sizeof json, "{\"outcome\":\"ok\",\"bytes\":6,\"pid\":%d}\n", pid);
    return 0;
}

static int cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int runs = 1000, opt, timed = 0;
    while ((opt = getopt(argc, argv, "n:s")) != -1) {
        if (opt == 'n') runs = atoi(optarg);
        if (opt == 's') timed = 1;
    }
    if (runs < 1) runs = 1;
    int64_t *lat = calloc((size_t)runs, sizeof *lat);
    int64_t *span[SPANS];
    if (timed) {
        void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED) return 2;
        steps = page;
        for (int k = 0; k < SPANS; k++) span[k] = calloc((size_t)runs, sizeof *span[k]);
    }
    int failures = 0;
    int64_t start = now_ns();
    for (int i = 0; i < runs; i++) {
        int64_t t = now_ns();
        mark(S_START);
        if (one_run() != 0) failures++;
        lat[i] = now_ns() - t;
        if (timed)
            for (int k = 0; k < SPANS; k++) span[k][i] = steps[spans[k].to] - steps[spans[k].from];
    }
    int64_t total = now_ns() - start;
    qsort(lat, (size_t)runs, sizeof *lat, cmp);
    printf("{\"runs\":%d,\"failures\":%d,\"seconds\":%.6f,\"runs_per_s\":%.1f,"
           "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n",
           runs, failures, total / 1e9, runs / (total / 1e9),
           lat[runs / 2] / 1e3, lat[(runs * 99) / 100 < runs ? (runs * 99) / 100 : runs - 1] / 1e3,
           lat[runs - 1] / 1e3);
    if (timed) {
        /* The same object with the steps' medians: {"runs":…,"steps":{"name":p50_us,…}} on a line of its own. */
        printf("{\"steps\":{");
        for (int k = 0; k < SPANS; k++) {
            qsort(span[k], (size_t)runs, sizeof *span[k], cmp);
            printf("%s\"%s\":%.1f", k ? "," : "", spans[k].name, span[k][runs / 2] / 1e3);
        }
        printf("}}\n");
    }
    return failures ? 1 : 0;
}
