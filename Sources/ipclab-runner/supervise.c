/*
 * supervise.c — the run's init while the run goes on, and how it ends: the C port of
 * RunInit.superviseUntilDone / reapExited / finish / fail / sayDone and Reaping.record
 * (Sources/IPCLabSandbox/Run/RunInit.swift, Participant/Reaping.swift; docs/c-runner.md §3.2
 * steps 10-12). The init reaps every process of the run (it is PID 1 of the run's PID namespace),
 * enforces the wall-clock limit, ends a deadlocked run early, writes the outcome and says "done".
 */
#include "runner.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int64_t ns_of(struct timeval t) { return (int64_t)t.tv_sec * 1000000000LL + (int64_t)t.tv_usec * 1000; }

int init_reap(int blocking) {
    for (;;) {
        int status = 0;
        struct rusage usage = {0};
        pid_t pid = wait4(-1, &status, blocking ? 0 : WNOHANG, &usage);
        if (pid > 0) {
            /* How a process ended, as wait4 told its reaper (4 args: pid, status, utime, stime). */
            int64_t args[4] = {pid, status, ns_of(usage.ru_utime), ns_of(usage.ru_stime)};
            ipclab_record_now(IPCLAB_REC_REAP, "reap", -1, args, 4, pid, 0, NULL, 0);
            continue;
        }
        if (pid < 0 && errno == EINTR) continue;
        return pid < 0 && errno == ECHILD;
    }
}

/* SIGKILL to everything the run made: every process in its PID namespace (kill(-1) there), or,
 * without one, the first participant's process group, never the host's processes. */
void init_kill_run(const init_state *s) {
    if (init_has_pid_namespace(s)) kill(-1, SIGKILL);
    else if (s->first > 0) kill(-s->first, SIGKILL);
}

_Noreturn void init_say_done(void) {
    runner_go done = {RUNNER_GO_DONE, 0, 0, 0};
    send(RUNNER_CONTROL_FD, &done, sizeof done, MSG_DONTWAIT | MSG_NOSIGNAL);
    /* With the finish eventfd, the spawner waits on it rather than on this socket, and so does the
     * server, which reads the trace while the spawner checks this done and collects the cgroups'
     * counters (SpawnerClient.execute's atFinish): one write, one unit each, wakes both at once. Two
     * wakeups (a socket's, then another) let the first woken take this core before the second was
     * said, half the time (docs/performance.md). Nothing when the go brought no eventfd (EBADF). */
    uint64_t both = 2;
    (void)!write(RUNNER_FINISH_FD, &both, sizeof both);
    _exit(0);
}

_Noreturn void init_finish(init_state *s, int outcome) {
    /* "Done" promises that no process of the run is left. */
    if (!init_reap(0)) {
        pid_t first = s->first;
        s->first = 0; /* as RunInit.finish: killRun(first: 0) */
        init_kill_run(s);
        s->first = first;
        init_reap(1);
    }
    ipclab_ring_finish(outcome, 0, NULL);
    init_say_done();
}

_Noreturn void init_fail(init_state *s, const char *what, int err) {
    if (init_has_pid_namespace(s)) kill(-1, SIGKILL);
    init_reap(1);
    ipclab_ring_finish(IPCLAB_OUTCOME_ERROR, err, what);
    init_say_done();
}

_Noreturn void supervise_until_done(init_state *s) {
    deadlock_watch watch;
    deadlock_init(&watch, s->ring, &s->plan);
    int64_t wall_ms = s->limits.wall_ms;
    int64_t deadline = wall_ms * 1000000LL;
    for (;;) {
        if (init_reap(0)) init_finish(s, IPCLAB_OUTCOME_OK);
        /* The run's clock as ring.c keeps it in this process's memory, never the header's t0 (the run's to write). */
        int64_t now = ipclab_now_ns();
        int64_t remaining = deadline - now;
        if (remaining <= 0) break;
        int64_t blocked[IPCLAB_PROCESSES_MAX];
        if (deadlock_check(&watch, now, blocked)) {
            /* The note names the blocked calls (record indexes, by process index); the trace shows
             * them unfinished. */
            int64_t args[IPCLAB_ARGS_MAX];
            int nargs = 0, count = 0;
            for (int i = 0; i < IPCLAB_PROCESSES_MAX; i++) {
                if (blocked[i] < 0) continue;
                count++;
                if (nargs < IPCLAB_ARGS_MAX) args[nargs++] = blocked[i];
            }
            ipclab_record_now(IPCLAB_REC_NOTE, "deadlock", -1, args, nargs, count, 0, NULL, 0);
            init_kill_run(s);
            init_reap(1);
            init_finish(s, IPCLAB_OUTCOME_TIMEOUT);
        }
        int64_t wait = watch.enabled && remaining > DEADLOCK_TICK_NS ? DEADLOCK_TICK_NS : remaining;
        ipclab_sigwait_timeout(SIGCHLD, wait);
    }
    int64_t args[1] = {wall_ms};
    ipclab_record_now(IPCLAB_REC_NOTE, "timeout", -1, args, 1, 0, 0, NULL, 0);
    init_kill_run(s);
    init_reap(1);
    init_finish(s, IPCLAB_OUTCOME_TIMEOUT);
}
