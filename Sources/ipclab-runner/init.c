/*
 * init.c — PID 1 of a run once its ring arrived: the C port of RunInit.run
 * (Sources/IPCLabSandbox/Run/RunInit.swift; docs/c-runner.md §3.2 steps 1-9). It maps the ring,
 * copies what it must not read again from shared memory (the limits, the ring's capacity, the
 * plan), records the set-up, applies the limits and the lockdown, and forks participant 0.
 */
#include "runner.h"
#include "participant.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int init_has_pid_namespace(const init_state *s) { return (s->namespaces & ipclab_CLONE_NEWPID) != 0; }

/* Ends the run before it started: no child exists yet, so nothing to reap. */
_Noreturn static void refuse(const char *why) {
    ipclab_ring_finish(IPCLAB_OUTCOME_ERROR, EINVAL, why);
    init_say_done();
}

_Noreturn void init_run(init_state *s, int ring_fd) {
    struct stat st;
    if (fstat(ring_fd, &st) != 0 || st.st_size <= 0) _exit(112);
    void *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, ring_fd, 0);
    if (base == MAP_FAILED) _exit(112);
    s->ring = base;
    s->ring_size = (size_t)st.st_size;
    /* Before any participant exists: the capacity copied here is the server's, and every
     * participant inherits the copy. */
    if (ipclab_recorder_bind(base, s->ring_size, -1) != 0) _exit(112);
    const ipclab_ring_header *header = base;
    /* Copied now and inherited by each participant: the header is shared with the run, which could
     * otherwise raise the limits of the processes it starts later. */
    s->limits = header->limits;

    /* The plan: where the server put it (this init's own arithmetic, not only the header's word),
     * inside the ring, then copied out and validated once (runner_plan.c). */
    uint64_t plan_offset = header->plan_offset;
    uint64_t plan_length = header->plan_length;
    uint64_t expected = ipclab_ring_records_offset() + (uint64_t)ipclab_recorder_capacity() * sizeof(ipclab_record);
    if (plan_offset != expected || plan_offset + plan_length > s->ring_size) refuse("the run's plan does not fit its ring");
    if (runner_plan_load((const char *)base + plan_offset, (size_t)plan_length, &s->plan) != 0) {
        /* Not a flat plan (a JSON one: the server sends those to the Swift runner), or a bad one. */
        refuse("the run's plan could not be read");
    }

    ipclab_recorder_start_clock();
    int64_t ns[3] = {s->user_namespace ? 1 : 0, s->network_namespace ? 1 : 0, s->namespaces};
    ipclab_record_now(IPCLAB_REC_SETUP, "namespaces", -1, ns, 3, 0, 0, NULL, 0);

    /* Keep only stdio, the finish eventfd and the control socket (at fixed high numbers): a run's own
     * pipes start at fd 3. The ring's fd goes too; the mapping stays. */
    ipclab_close_range(3, RUNNER_FINISH_FD - 1);
    ipclab_close_range(RUNNER_CONTROL_FD + 1, ~0U);

    setup_record_early(s);
    setup_limits(s);
    /* Changing uid or gid (the set-up) clears the parent-death signal: the run still dies with its spawner. */
    ipclab_set_parent_death_signal(SIGKILL);
    if (!init_has_pid_namespace(s)) setup_reaper(s);
    setup_lockdown(s);

    /* _Fork: fork(2) without glibc's fork handlers, whose lock resets write to data pages each side
     * would then copy (the runner is single-threaded and registers none; docs/performance.md). */
    pid_t first = _Fork();
    if (first == 0) {
        /* The run's processes never hold the init's channels to the spawner and the server: only the
         * init says done, and that it finished. */
        close(RUNNER_CONTROL_FD);
        close(RUNNER_FINISH_FD);
        /* The init may be kept to the spawner's core (a run alone: RunCore); the run's processes have the
         * cores the sandbox was given, as a run's concurrency needs (shm.race, bench placement). */
        ipclab_restore_cores();
        if (!init_has_pid_namespace(s)) setpgid(0, 0);
        participant_start(&s->plan, s->ring, s->ring_size, &s->limits, s->confine_each);
    }
    if (first < 0) init_fail(s, "fork of the first process failed", errno);
    s->first = first;
    if (!init_has_pid_namespace(s)) setpgid(first, first);
    supervise_until_done(s);
}
