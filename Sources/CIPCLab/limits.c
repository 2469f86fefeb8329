/* limits.c — rlimits, the CPU timer, the limit-pushing steps and cgroup counters.
 * See ipclab_limits.h. */
#include "ipclab.h"
#include "ipclab_limits.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const int IPCLAB_RLIMIT_NOFILE = RLIMIT_NOFILE;
const int IPCLAB_RLIMIT_FSIZE = RLIMIT_FSIZE;
const int IPCLAB_RLIMIT_CPU = RLIMIT_CPU;
const int IPCLAB_RLIMIT_AS = RLIMIT_AS;
const int IPCLAB_RLIMIT_NPROC = RLIMIT_NPROC;
const int IPCLAB_RLIMIT_CORE = RLIMIT_CORE;

int ipclab_set_rlimit(int resource, uint64_t soft, uint64_t hard) {
    struct rlimit rl = { .rlim_cur = (rlim_t)soft, .rlim_max = (rlim_t)hard };
    return setrlimit(resource, &rl);
}

int64_t ipclab_virtual_size(void) {
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    return strtoll(buf, NULL, 10) * (int64_t)sysconf(_SC_PAGESIZE);
}

int ipclab_arm_cpu_timer(int64_t ms) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGXCPU;
    timer_t timer;
    if (timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &timer) != 0) return -1;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = ms / 1000;
    its.it_value.tv_nsec = (ms % 1000) * 1000000L;
    return timer_settime(timer, 0, &its, NULL);
}

int64_t ipclab_process_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t ipclab_spin(int64_t ms) {
    int64_t start = ipclab_process_cpu_ns();
    int64_t until = start + ms * 1000000LL;
    volatile uint64_t sink = 0;
    int64_t now = start;
    while (now < until) {
        for (int i = 0; i < 20000; i++) sink += (uint64_t)i * 2654435761u;
        now = ipclab_process_cpu_ns();
    }
    return now - start;
}

int ipclab_allocate(int64_t bytes, int64_t *touched) {
    *touched = 0;
    char *p = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    long page = sysconf(_SC_PAGESIZE);
    for (int64_t off = 0; off < bytes; off += page) {
        p[off] = 1;
        *(volatile int64_t *)touched = (off + page < bytes ? off + page : bytes);
    }
    return 0;
}

int ipclab_fork_children(int count, int sleep_ms, int *first_errno, int *reaped) {
    *first_errno = 0;
    *reaped = 0;
    pid_t *pids = mmap(NULL, (size_t)count * sizeof(pid_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pids == MAP_FAILED) { *first_errno = errno; return 0; }
    int made = 0;
    for (; made < count; made++) {
        pid_t pid = fork();
        if (pid == 0) {
            struct timespec ts = { .tv_sec = sleep_ms / 1000, .tv_nsec = (long)(sleep_ms % 1000) * 1000000L };
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
            _exit(0);
        }
        if (pid < 0) {
            *first_errno = errno;
            break;
        }
        pids[made] = pid;
    }
    /* Only the children made here: the participant's others are left to their own steps. */
    for (int i = 0; i < made; i++) {
        int status;
        pid_t r;
        do { r = waitpid(pids[i], &status, 0); } while (r < 0 && errno == EINTR);
        if (r == pids[i]) (*reaped)++;
    }
    munmap(pids, (size_t)count * sizeof(pid_t));
    return made;
}

int ipclab_open_files(int count, int *first_errno) {
    *first_errno = 0;
    int opened = 0;
    int *fds = mmap(NULL, (size_t)count * sizeof(int), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fds == MAP_FAILED) { *first_errno = errno; return 0; }
    for (; opened < count; opened++) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) { *first_errno = errno; break; }
        fds[opened] = fd;
    }
    for (int i = 0; i < opened; i++) close(fds[i]);
    munmap(fds, (size_t)count * sizeof(int));
    return opened;
}

int64_t ipclab_cgroup_read(int fd, const char *key) {
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return -1;
    buf[n] = 0;
    const char *p = buf;
    if (key) {
        size_t k = strlen(key);
        for (;;) {
            if (strncmp(p, key, k) == 0 && p[k] == ' ') { p += k + 1; break; }
            p = strchr(p, '\n');
            if (!p) return -1;
            p++;
        }
    }
    if (strncmp(p, "max", 3) == 0) return INT64_MAX;
    return strtoll(p, NULL, 10);
}

int ipclab_cgroup_write(int fd, int64_t value) {
    char buf[24];
    int len = 0;
    char digits[21];
    int d = 0;
    uint64_t v = value < 0 ? 0 : (uint64_t)value;
    do { digits[d++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (d) buf[len++] = digits[--d];
    return pwrite(fd, buf, (size_t)len, 0) == len ? 0 : -1;
}

size_t ipclab_ring_evidence_offset(void) {
    return offsetof(ipclab_ring_header, evidence);
}
