/*
 * ready.c — a just-cloned run init until its run arrives: the C port of RunInit.waitForRun
 * (Sources/IPCLabSandbox/Run/RunInit.swift; docs/c-runner.md §2.2). It keeps nothing of the
 * runner's but its control socket (another run's descriptors must never reach this run), waits
 * for "mapped" (its id maps are written), does the run-independent set-up, then waits for "go"
 * with the ring.
 */
#include "runner.h"
#include "ipclab_limits.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

/* `oom_score_adj` 1000, inherited by every process of the run: the OOM killer's first choice, in
 * the run's memory cgroup (which the slot's runner shares) and on the host. An init in a user
 * namespace has it from the spawner, which writes it beside the id maps (Spawner+Prepare.swift). */
static void prefer_for_oom(void) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = write(fd, "1000", 4);
    (void)n;
    close(fd);
}

/* Joins a slot's cgroup through a `cgroup.procs` fd the spawner (root) opened: 0 or the errno. */
static int join(int procs) {
    if (procs < 0) return 0;
    return ipclab_cgroup_write(procs, 0) == 0 ? 0 : errno;
}

_Noreturn void ready_wait_for_run(int control, int pids_procs, int memory_procs, const runner_request *request) {
    static init_state state; /* this process's alone (a fresh clone): zero, then filled */
    init_state *s = &state;
    ipclab_set_parent_death_signal(SIGKILL);
    /* `ps` (and the tests) tell a waiting init from a running one by name. */
    ipclab_set_process_name("ipclab-ready");
    if (!request->user_namespace) prefer_for_oom();
    int pids_join = join(pids_procs);
    int memory_join = join(memory_procs);
    if (dup2(control, RUNNER_CONTROL_FD) != RUNNER_CONTROL_FD) _exit(110);
    /* Close-on-exec: a participant closes it at fork anyway; nothing of the run may say "done". */
    fcntl(RUNNER_CONTROL_FD, F_SETFD, FD_CLOEXEC);
    ipclab_close_range(3, RUNNER_CONTROL_FD - 1);
    ipclab_close_range(RUNNER_CONTROL_FD + 1, ~0U);

    s->user_namespace = request->user_namespace != 0;
    s->namespaces = request->namespaces;
    s->network_namespace = request->network != 0;
    s->uid = request->uid;
    s->first = -1;

    /* The spawner says when the id maps are written (a user namespace's ids mean nothing before). */
    runner_go ready = {0};
    ssize_t r;
    do r = recv(RUNNER_CONTROL_FD, &ready, sizeof ready, 0); while (r < 0 && errno == EINTR);
    if (r != (ssize_t)sizeof ready || (ready.go != RUNNER_GO_MAPPED && ready.go != RUNNER_GO_MAPPED_FILTER_AT_GO)) _exit(0);
    /* No tracer library on fd 102: programs stay with the Swift init (docs/c-runner.md §5, stage 4). */
    setup_prepare_ahead(s, ready.go == RUNNER_GO_MAPPED);
    /* By now the spawner keeps this init to the run core, but it ran its first steps on its runner's
     * core: forgotten here, or its fork of the first process at go would interrupt that core to flush
     * its TLB (~15 µs on the run's path; docs/performance.md, "The ready init forgets its first core"). */
    (void)ipclab_forget_other_cores();

    runner_go go = {0};
    /* The ring, and the server's eventfd for this init's finish when the server waits on one. */
    int fds[2] = {-1, -1};
    int nfds = 0;
    ssize_t n = ipclab_recv_with_fds(RUNNER_CONTROL_FD, &go, sizeof go, fds, 2, &nfds);
    /* End of file: the spawner is ending, or dropped this init. */
    if (n != (ssize_t)sizeof go || nfds < 1 || go.go != RUNNER_GO_GO) _exit(0);
    if (nfds == 2) {
        if (dup2(fds[1], RUNNER_FINISH_FD) == RUNNER_FINISH_FD) fcntl(RUNNER_FINISH_FD, F_SETFD, FD_CLOEXEC);
        close(fds[1]);
    }
    if (pids_join != 0) go.pids_errno = pids_join;
    if (memory_join != 0) go.memory_errno = memory_join;
    s->go = go;
    ipclab_set_process_name("ipclab-init");
    init_run(s, fds[0]);
}
