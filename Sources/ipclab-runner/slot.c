/*
 * slot.c — the runner's loop (`ipclab-runner runner`): the C port of SlotForker.serve
 * (Sources/IPCLabSandbox/Spawner/SlotForker.swift; docs/c-runner.md §2.1), byte for byte on
 * the wire. One runner per cgroup slot clones run inits with CLONE_PARENT, so that each init is
 * born in the slot's cgroups but is the spawner's child. No plan ever enters this process.
 *
 * What the Swift runner did and this one does not: no warm-up, no tracer library (a ~1 MB static
 * image has nothing to warm). Like it, each image maps the spawner's code file over its text
 * (map_code): its hello says whether that worked.
 */
#include "runner.h"
#include "ipclab_seccomp.h"
#include "ipclab_sockets.h"
#include "ipclab_huge_code.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* The re-exec's argv: the spawner's own spelling (SlotForker.Image, C runner), the period kept. */
static char every_text[24];
static char *reexec_argv[] = {"ipclab-runner", "runner", "--reexec-every", every_text, NULL, NULL};

/* runner.h: whether this image holds the seccomp base (hold_base_filter), and its filter count. */
int runner_base_filter;
int runner_seccomp_filters = -1;

/*
 * The host's mount table as runs see it, trimmed once per image: this runner moves to a mount
 * namespace of its own (private: nothing propagates back to the host) without /sys and what lies
 * under it (sysfs, the cgroup hierarchies, tracefs: a dozen mounts on a typical host, none of which
 * a scenario needs). Every run's mount namespace is a copy of this one, made at each clone and torn
 * down at each run's end, one mount at a time: fewer mounts, less of both. Without the privilege to
 * do it, the runner keeps the host's table.
 */
static void trim_mounts(void) {
    if (unshare(CLONE_NEWNS) != 0) return;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return;
    (void)umount2("/sys", MNT_DETACH);
}

/*
 * The run's seccomp base, once per image instead of once per run (~45 µs of a ready init's CPU,
 * JIT and all, and its free at the init's exit): every init is a clone of this process and
 * inherits it; a ready init adds only the late filter at its lockdown (setup.c). The base allows
 * what this loop does (clone into new namespaces, setns) and what a ready init's set-up does
 * (mount, sethostname, set*id). A filter outlives exec: the re-exec says it is held, so that it is
 * not stacked again (a filter the host put on this process, as a container's, is no such proof).
 */
static void hold_base_filter(int held) {
    if (!held) held = ipclab_no_new_privs() == 0 && ipclab_seccomp_install_base() == 0;
    runner_base_filter = held;
    if (held) reexec_argv[4] = "--base-filter-held";
    /* The kernel's count of the filters on this image, read here in the host's /proc once per image
     * rather than by every init in its run's fresh one (setup.c, seccomp_report). */
    int mode = -1;
    (void)ipclab_seccomp_status(&mode, &runner_seccomp_filters);
}

/*
 * The text on a huge page, once per image: the spawner's code file of this executable (on
 * RUNNER_CODE_FD, made by ipclab_code_file_of from this very file) mapped over it. A file mapping
 * has no anon_vma, so fork copies none of its entries and every process of a run faulted the text it
 * ran in again, 16 pages at a time (~17 faults a run of pipe.hello), and zapped them at its exit;
 * on the file's 2-MiB page a process maps it by one PMD at its first fault (docs/performance.md).
 * Nothing is copied here: a copy on anonymous memory would be charged to the slot's memory cgroup,
 * which a run's memory limit bounds. Without the file (an older spawner, transparent huge pages
 * off, `--no-huge-code-pages`) the text stays on its file pages. Answers the hello's code
 * (CodePages.report): 0, or the status in the low byte and the errno above it.
 */
static int32_t map_code(void) {
    if (fcntl(RUNNER_CODE_FD, F_GETFD) < 0) return 0;
    ipclab_code_result code;
    if (ipclab_remap_code(IPCLAB_CODE_TEXT | IPCLAB_CODE_FILE_ONLY, RUNNER_CODE_FD, -1, &code) == IPCLAB_CODE_OK) return 0;
    return (code.status & 0xff) | (code.error << 8);
}

static char *empty_env[] = {NULL};

/*
 * The runner's own executable, held on RUNNER_EXE_FD across its re-execs: a re-exec then needs
 * no /proc (and keeps the very file the spawner started, even if a build replaced the path).
 * After a re-exec the fd is already there; at the spawner's exec fd 5 is closed (§2.1), or, from
 * an older spawner, its code file: only a file that is this executable is kept.
 */
static void hold_own_executable(void) {
    struct stat held, self;
    int have_self = stat("/proc/self/exe", &self) == 0;
    if (fstat(RUNNER_EXE_FD, &held) == 0 && S_ISREG(held.st_mode)
        && (!have_self || (held.st_dev == self.st_dev && held.st_ino == self.st_ino))) {
        fcntl(RUNNER_EXE_FD, F_SETFD, 0);
        return;
    }
    close(RUNNER_EXE_FD);
    int fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
    if (fd < 0) return;
    if (fd != RUNNER_EXE_FD) {
        dup2(fd, RUNNER_EXE_FD); /* dup2 leaves the copy without CLOEXEC: it must survive the exec */
        close(fd);
    } else {
        fcntl(fd, F_SETFD, 0);
    }
}

/* A fresh image in this same process (same pid, same cgroups; fds 3 to 6 kept): a new address
 * layout for the next runs. When no exec works, the runner keeps serving with this image. */
static void reexec_self(void) {
    execveat(RUNNER_EXE_FD, "", reexec_argv, empty_env, AT_EMPTY_PATH);
    execve("/proc/self/exe", reexec_argv, empty_env);
}

static void send_reply(int32_t pid, int32_t err) {
    runner_reply reply = {pid, err};
    ssize_t n;
    do n = send(RUNNER_SOCKET_FD, &reply, sizeof reply, 0); while (n < 0 && errno == EINTR);
}

_Noreturn void runner_serve(int reexec_every, int base_filter_held) {
    /* The cores the sandbox was given (a runner is never kept to the run core): every init cloned from
     * here inherits them in its memory, and its run's first process takes them back (RunCore). */
    ipclab_save_cores();
    ipclab_set_parent_death_signal(SIGKILL);
    if (getppid() == 1) _exit(0);
    ipclab_set_process_name("ipclab-slot");
    /* Every signal's default action, once per image: each init is a clone of this process and
     * inherits them (exec kept what the spawner ignored; this loop never sets a handler). */
    ipclab_reset_signal_dispositions();
    trim_mounts();
    hold_base_filter(base_filter_held);
    every_text[0] = 0;
    runner_append_u64(every_text, sizeof every_text, (uint64_t)reexec_every);
    int home = fcntl(RUNNER_HOME_FD, F_GETFD) >= 0 ? RUNNER_HOME_FD : -1;
    hold_own_executable();
    int32_t code = map_code();
    ipclab_close_range(RUNNER_CODE_FD + 1, ~0U);
    send_reply(0, code); /* hello: ready to clone, and where its code is */

    int clones = 0;
    for (;;) {
        runner_request request = {0};
        int fds[4] = {-1, -1, -1, -1};
        int nfds = 0;
        ssize_t n = ipclab_recv_with_fds(RUNNER_SOCKET_FD, &request, sizeof request, fds, 4, &nfds);
        if (n < 0 && errno == EINTR) continue;
        if (n != (ssize_t)sizeof request) _exit(0); /* the spawner is gone (or spoke nonsense) */
        if (request.reexec != 0) {
            for (int i = 0; i < nfds; i++) close(fds[i]);
            if (clones > 0) reexec_self();
            continue;
        }
        if (nfds < 1) _exit(0);
        int next = 1;
        int network = -1, pids_procs = -1, memory_procs = -1;
        if ((request.attached & 1) && next < nfds) network = fds[next++];
        if ((request.attached & 2) && next < nfds) pids_procs = fds[next++];
        if ((request.attached & 4) && next < nfds) memory_procs = fds[next++];

        int32_t pid = -1, err = 0;
        if (network >= 0 && (home < 0 || ipclab_netns_enter(network) != 0)) {
            err = home < 0 ? EINVAL : errno;
        } else {
            int flags = request.flags | ipclab_CLONE_PARENT;
            if (request.uid != 0 && request.user_namespace != 0) {
                pid = ipclab_fork_into_as(flags, request.uid, request.gid, SIGKILL);
                /* A host that lets only root make user namespaces: the run still gets its own uid
                 * inside, but its user namespace is root's (as SlotForker.serve). */
                if (pid < 0 && (errno == EPERM || errno == EACCES)) pid = ipclab_fork_into(flags);
            } else {
                pid = ipclab_fork_into(flags);
            }
            if (pid == 0) ready_wait_for_run(fds[0], pids_procs, memory_procs, &request);
            err = pid < 0 ? errno : 0;
            if (pid > 0) clones++;
            /* Stranded outside home, this runner would clone the next init into a used namespace. */
            if (network >= 0 && ipclab_netns_enter(home) != 0) _exit(70);
        }
        /* Every descriptor received, also any the `attached` bits did not account for. */
        for (int i = 0; i < nfds; i++) close(fds[i]);
        send_reply(pid, err);
        if (clones >= reexec_every) reexec_self();
    }
}
