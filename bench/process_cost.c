/* process_cost.c — what a process costs on this machine before it does anything, alone and in each of
 * the namespaces a run is cloned into (docs/performance.md, "What a process costs on this VM").
 * Build and run as root:  cc -O2 -static -o /tmp/process_cost bench/process_cost.c && /tmp/process_cost 2000
 *
 * For each kind, N times: clone(flags | SIGCHLD), the child _exit(0)s at once, the parent waitpid()s it.
 * Prints, per kind, the wall time and the CPU time (this process's and its reaped children's, user and
 * system) per iteration, twice (two rounds), as JSON lines. The teardown a kernel defers (an IPC
 * namespace's to a kworker) is not in the CPU column; a mount namespace's grace period is in the wall
 * column. Not a test: figures move with the machine's load. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double seconds(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

/* CPU seconds of this process and of every child it has reaped. */
static double cpu_s(void) {
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    return seconds(self.ru_utime) + seconds(self.ru_stime) + seconds(children.ru_utime) + seconds(children.ru_stime);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    if (n < 1) n = 1;
    const struct { const char *name; int flags; } kinds[] = {
        {"fork", 0},
        {"user", CLONE_NEWUSER},
        {"user+pid", CLONE_NEWUSER | CLONE_NEWPID},
        {"user+ipc", CLONE_NEWUSER | CLONE_NEWIPC},
        {"user+mount", CLONE_NEWUSER | CLONE_NEWNS},
        {"user+uts", CLONE_NEWUSER | CLONE_NEWUTS},
        {"run (all five)", CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWUTS},
    };
    for (int round = 1; round <= 2; round++) {
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            int failures = 0;
            double t0 = now_s(), c0 = cpu_s();
            for (int i = 0; i < n; i++) {
                pid_t pid = (pid_t)syscall(SYS_clone, kinds[k].flags | SIGCHLD, NULL, NULL, NULL, 0UL);
                if (pid == 0) _exit(0);
                int status = 0;
                if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) failures++;
            }
            double wall = now_s() - t0, cpu = cpu_s() - c0;
            printf("{\"round\":%d,\"kind\":\"%s\",\"iterations\":%d,\"failures\":%d,"
                   "\"wall_us\":%.1f,\"cpu_us\":%.1f}\n",
                   round, kinds[k].name, n, failures, wall / n * 1e6, cpu / n * 1e6);
            fflush(stdout);
        }
    }
    return 0;
}
