/*
 * setup.c — the run's sandbox set-up, operation by operation, with the names, order, `required`
 * and `needs` of the Swift init (Sources/IPCLabSandbox/Run/SetupOperation.swift,
 * SetupOperation+Limits.swift, RunInit+Ready.swift; docs/c-runner.md §3.1, §3.2 steps 6-8): the
 * trace's `setup` list must read the same whichever runner ran the run. Each operation is recorded
 * as a SETUP record with what it returned and its errno; a required one that fails ends the run
 * ("sandbox set-up failed: <name>"). An operation whose namespace the run lacks is left out: it
 * would change the host.
 */
#include "runner.h"
#include "ipclab_limits.h"
#include "ipclab_mq.h"
#include "ipclab_seccomp.h"
#include "ipclab_sockets.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* The size the ready init mounts the run's /tmp with (ipclab_limits.h): most runs need no remount after go. */
#define READY_TMP_BYTES IPCLAB_READY_TMP_BYTES

/* MessageQueueChannel.Bounds.queueBytesLimit: the run's share of the POSIX-queue memory. */
#define RUN_MESSAGE_QUEUE_BYTES 204800

typedef int (*setup_action)(const init_state *s);

static int set_gid_0(const init_state *s) { (void)s; return ipclab_setresgid(0); }
static int set_uid_0(const init_state *s) { (void)s; return ipclab_setresuid(0); }
static int no_groups(const init_state *s) { (void)s; return setgroups(0, NULL); }
static int make_private(const init_state *s) {
    (void)s;
    return ipclab_mount(NULL, "/", NULL, ipclab_MS_REC | ipclab_MS_PRIVATE, NULL);
}
/* The host's files stay visible but cannot be changed; the run writes only to its tmpfs. */
static int make_readonly(const init_state *s) { (void)s; return ipclab_make_readonly_recursive("/"); }
static int tmpfs_tmp(const init_state *s) {
    (void)s;
    _Static_assert(READY_TMP_BYTES == 16 << 20, "the mount below says size=16m");
    return ipclab_mount("tmpfs", "/tmp", "tmpfs", ipclab_MS_NOSUID | ipclab_MS_NODEV, "size=16m,mode=1777");
}
static int tmpfs_shm(const init_state *s) {
    (void)s;
    return ipclab_mount("tmpfs", "/dev/shm", "tmpfs", ipclab_MS_NOSUID | ipclab_MS_NODEV, "size=16m,mode=1777");
}
static int proc_proc(const init_state *s) {
    (void)s;
    return ipclab_mount("proc", "/proc", "proc", ipclab_MS_NOSUID | ipclab_MS_NODEV | ipclab_MS_NOEXEC, NULL);
}
static int msgqueue_limit(const init_state *s) { (void)s; return ipclab_set_msgqueue_limit(RUN_MESSAGE_QUEUE_BYTES); }
static int hostname(const init_state *s) { (void)s; return sethostname("ipclab", 6); }
static int stdio_null(const init_state *s) {
    (void)s;
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0) return -1;
    for (int target = 0; target <= 2; target++) if (dup2(fd, target) < 0) return -1;
    if (fd > 2) close(fd);
    return 0;
}
/* Without a user namespace the run is real root: it drops to the run's own uid once mounted. */
static int drop_to_uid(const init_state *s) {
    if (setgroups(0, NULL) != 0 || setgid(s->uid) != 0) return -1;
    return setuid(s->uid);
}
static int loopback_up(const init_state *s) { (void)s; return ipclab_loopback_up(); }

typedef struct setup_op {
    const char *name;
    int required;
    int needs;     /* CLONE_NEW* flags it must run inside (filled in at run time: the flags are externs) */
    setup_action action;
} setup_op;

/* Done ahead: performed now, recorded once the ring is mapped. 0 when a required one failed. */
static int early(init_state *s, const char *name, int required, int needs, setup_action action) {
    if ((needs & s->namespaces) != needs) return 1;
    if (s->nearly >= RUNNER_EARLY_MAX) return 1; /* cannot happen: the lists below are shorter */
    int r = action(s);
    setup_done *d = &s->early[s->nearly++];
    d->name[0] = 0;
    runner_append(d->name, sizeof d->name, name);
    d->ahead = -1;
    for (int i = 0; ipclab_setup_ahead_name(i) != NULL; i++)
        if (strcmp(ipclab_setup_ahead_name(i), name) == 0) d->ahead = i;
    d->required = required;
    d->result = r;
    d->err = r == 0 ? 0 : errno;
    return !(required && r != 0);
}

/*
 * The kernel's word on the init's seccomp state, for the trace's `seccomp` report: the mode from
 * prctl(PR_GET_SECCOMP), and the filters as the runner image's own `Seccomp_filters:` (read once per
 * image, slot.c) plus each filter this init attached, every one a seccomp() call that returned 0.
 * Opening /proc/self/status in the run's fresh /proc instead costs the init 15-20 µs of lookups and
 * their release at its end (docs/performance.md); it is still the way when the runner had no count.
 */
static void seccomp_report(const init_state *s, int *mode, int *filters) {
    if (runner_seccomp_filters < 0) {
        ipclab_seccomp_status(mode, filters);
        return;
    }
    *mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
    *filters = runner_seccomp_filters + s->filters_stacked;
}

void setup_prepare_ahead(init_state *s, int filter_ahead) {
    const setup_op standard[] = {
        {"make / private", 1, ipclab_CLONE_NEWNS, make_private},
        {"make / read-only", 0, ipclab_CLONE_NEWNS, make_readonly},
        {"mount tmpfs /tmp", 1, ipclab_CLONE_NEWNS, tmpfs_tmp},
        {"mount tmpfs /dev/shm", 1, ipclab_CLONE_NEWNS, tmpfs_shm},
        {"mount proc /proc", 0, ipclab_CLONE_NEWNS, proc_proc},
        {"RLIMIT_MSGQUEUE 204800", 0, 0, msgqueue_limit},
        {"sethostname ipclab", 0, ipclab_CLONE_NEWUTS, hostname},
        {"stdio to /dev/null", 1, 0, stdio_null},
    };
    if (s->user_namespace) {
        /* Until the process takes ids the map covers, files it creates would belong to an unmapped
         * id (EOVERFLOW): become the namespace's root (the run's host uid). */
        if (!early(s, "setresgid 0 (userns)", 1, 0, set_gid_0)) return;
        if (!early(s, "setresuid 0 (userns)", 1, 0, set_uid_0)) return;
        if (!early(s, "setgroups none", 1, 0, no_groups)) return;
    }
    for (size_t i = 0; i < sizeof standard / sizeof standard[0]; i++) {
        if (!early(s, standard[i].name, standard[i].required, standard[i].needs, standard[i].action)) return;
    }
    if (!s->user_namespace) {
        char name[48] = "drop to uid ";
        runner_append_u64(name, sizeof name, s->uid);
        if (!early(s, name, 1, 0, drop_to_uid)) return;
    }
    if (s->network_namespace) early(s, "loopback up", 0, 0, loopback_up);
    /* Every signal has its default action already: the runner set them once (slot.c), and the
     * ready init, its clone, inherited them. */
    /* Changing uid or gid (above) clears the parent-death signal: set it again. */
    ipclab_set_parent_death_signal(SIGKILL);
    /* The long part of the seccomp filter: held since the runner's start (slot.c), or else installed
     * now, last, once no mount but the run's own is left to do. */
    int no_new_privs = ipclab_no_new_privs() == 0;
    int base_here = no_new_privs && !runner_base_filter && ipclab_seccomp_install_base() == 0;
    s->base_filter = no_new_privs && (runner_base_filter || base_here);
    s->filters_stacked += base_here;
    /* The last filter as well (~30 µs of the kernel's checking and compiling, off the run's path), and
     * the kernel's word on the filters in place (recorded at go, where the init would have read it). */
    if (filter_ahead && s->base_filter) {
        s->late_ahead = 1;
        s->late_result = ipclab_seccomp_install_late_with(IPCLAB_SECCOMP_NO_PROCESS_VM);
        s->late_errno = s->late_result == 0 ? 0 : errno;
        s->filters_stacked += s->late_result == 0;
        seccomp_report(s, &s->seccomp_mode, &s->seccomp_filters);
    }
}

/* Ends the run when a required operation failed, naming it; else nothing. */
static void end_if_required_failed(init_state *s, const char *name, int required, int result, int err) {
    if (!required || result == 0) return;
    char what[128] = "sandbox set-up failed: ";
    runner_append(what, sizeof what, name);
    init_fail(s, what, err);
}

/* Records one operation; a required one that failed ends the run. */
static void recorded(init_state *s, const char *name, int required, int result, int err) {
    ipclab_record_now(IPCLAB_REC_SETUP, name, -1, NULL, 0, result, err, NULL, 0);
    end_if_required_failed(s, name, required, result, err);
}

/* The operations done ahead as the one record IPCLAB_SETUP_AHEAD_CALL (ipclab.h), when each has a
 * name of the table, in its order, a result of 0 or -1, and at most IPCLAB_ARGS_MAX - 2 failed: 22
 * records at go cost a lone run ~20-30 µs in all, written, read and rendered (docs/performance.md).
 * 0 when they do not fit it. */
static int record_early_compact(init_state *s) {
    int64_t args[IPCLAB_ARGS_MAX] = {0};
    int nargs = 2, last = -1;
    uint64_t done = 0, failed = 0;
    for (int i = 0; i < s->nearly; i++) {
        const setup_done *d = &s->early[i];
        if (d->ahead <= last || d->ahead >= 64 || (d->result != 0 && d->result != -1)) return 0;
        last = d->ahead;
        done |= 1ULL << d->ahead;
        if (d->result != 0) {
            if (nargs == IPCLAB_ARGS_MAX) return 0;
            failed |= 1ULL << d->ahead;
            args[nargs++] = d->err;
        }
    }
    args[0] = (int64_t)done;
    args[1] = (int64_t)failed;
    ipclab_record_now(IPCLAB_REC_SETUP, IPCLAB_SETUP_AHEAD_CALL, -1, args, nargs, 0, 0, NULL, 0);
    return 1;
}

void setup_record_early(init_state *s) {
    if (s->nearly > 0 && record_early_compact(s)) {
        /* As recorded() does: a required one that failed (the last done: the ready init stopped there) ends the run. */
        for (int i = 0; i < s->nearly; i++) {
            const setup_done *d = &s->early[i];
            end_if_required_failed(s, d->name, d->required, d->result, d->err);
        }
        return;
    }
    for (int i = 0; i < s->nearly; i++) {
        const setup_done *d = &s->early[i];
        recorded(s, d->name, d->required, d->result, d->err);
    }
}

static int skip(const init_state *s, int needs) { return (needs & s->namespaces) != needs; }

void setup_limits(init_state *s) {
    const ipclab_run_limits *l = &s->limits;
    char name[48];
    /* The cgroups were joined before go: their operations only record what was reported. */
    name[0] = 0;
    runner_append(name, sizeof name, "pids.max ");
    runner_append_i64(name, sizeof name, l->processes + 1);
    recorded(s, name, 0, s->go.pids_errno == 0 ? 0 : -1, s->go.pids_errno);
    name[0] = 0;
    runner_append(name, sizeof name, "memory.limit ");
    runner_append_i64(name, sizeof name, l->memory_bytes);
    recorded(s, name, 0, s->go.memory_errno == 0 ? 0 : -1, s->go.memory_errno);
    if (s->go.memory_errno != 0) {
        /* Without a memory cgroup, RLIMIT_AS stands in: this process's size plus the limit. */
        int64_t size = ipclab_virtual_size();
        uint64_t cap = (uint64_t)(size > 0 ? size : 0) + (uint64_t)l->memory_bytes;
        name[0] = 0;
        runner_append(name, sizeof name, "RLIMIT_AS ");
        runner_append_u64(name, sizeof name, cap);
        int r = size < 0 ? -1 : ipclab_set_rlimit(IPCLAB_RLIMIT_AS, cap, cap);
        recorded(s, name, 0, r, r == 0 ? 0 : errno);
    }
    uint64_t cpu_seconds = (uint64_t)((l->cpu_ms + 999) / 1000) + 1;
    int r;
    name[0] = 0;
    runner_append(name, sizeof name, "RLIMIT_NOFILE ");
    runner_append_i64(name, sizeof name, l->open_files);
    r = ipclab_set_rlimit(IPCLAB_RLIMIT_NOFILE, (uint64_t)l->open_files, (uint64_t)l->open_files);
    recorded(s, name, 1, r, r == 0 ? 0 : errno);
    name[0] = 0;
    runner_append(name, sizeof name, "RLIMIT_FSIZE ");
    runner_append_i64(name, sizeof name, l->file_bytes);
    r = ipclab_set_rlimit(IPCLAB_RLIMIT_FSIZE, (uint64_t)l->file_bytes, (uint64_t)l->file_bytes);
    recorded(s, name, 1, r, r == 0 ? 0 : errno);
    /* The run's /tmp holds file_bytes in all: files together fill it (ENOSPC) at the same figure
     * one file reaches its RLIMIT_FSIZE. */
    if (!skip(s, ipclab_CLONE_NEWNS)) {
        name[0] = 0;
        runner_append(name, sizeof name, "size /tmp ");
        runner_append_i64(name, sizeof name, l->file_bytes);
        if (l->file_bytes == READY_TMP_BYTES) {
            /* Mounted with that size already ("mount tmpfs /tmp", required: the run would have ended
             * had it failed), as the other operations done ahead are recorded now: no remount. */
            recorded(s, name, 1, 0, 0);
        } else {
            char data[64] = "size=";
            runner_append_i64(data, sizeof data, l->file_bytes);
            runner_append(data, sizeof data, ",mode=1777");
            r = ipclab_mount("tmpfs", "/tmp", "tmpfs", ipclab_MS_REMOUNT | ipclab_MS_NOSUID | ipclab_MS_NODEV, data);
            recorded(s, name, 1, r, r == 0 ? 0 : errno);
        }
    }
    /* RLIMIT_CPU counts whole seconds: only a backstop behind each process's CPU timer. */
    name[0] = 0;
    runner_append(name, sizeof name, "RLIMIT_CPU ");
    runner_append_u64(name, sizeof name, cpu_seconds);
    r = ipclab_set_rlimit(IPCLAB_RLIMIT_CPU, cpu_seconds, cpu_seconds + 1);
    recorded(s, name, 1, r, r == 0 ? 0 : errno);
    name[0] = 0;
    runner_append(name, sizeof name, "cpu timer ");
    runner_append_i64(name, sizeof name, l->cpu_ms);
    runner_append(name, sizeof name, " ms");
    r = ipclab_arm_cpu_timer(l->cpu_ms);
    recorded(s, name, 0, r, r == 0 ? 0 : errno);
}

void setup_reaper(init_state *s) {
    /* Without a PID namespace the init is no PID 1: orphans are still reaped by it. */
    int r = ipclab_set_child_subreaper();
    recorded(s, "child subreaper", 1, r, r == 0 ? 0 : errno);
}

void setup_lockdown(init_state *s) {
    int r = ipclab_no_new_privs();
    recorded(s, "no_new_privs", 0, r, r == 0 ? 0 : errno);
    r = ipclab_set_not_dumpable();
    recorded(s, "dumpable off", 0, r, r == 0 ? 0 : errno);
    /* The base is held already (the runner's, or installed while the init waited), and mostly the
     * last filter too; else only its few instructions now (~30 µs here, most of it the kernel's fixed
     * cost per filter). A plan without pointer steps never reads memory with process_vm_readv: the
     * last filter refuses it (and process_vm_writev) to every process at once, and no participant
     * stacks a filter of its own for that (participant.c, `confine`). */
    int own_memory = runner_plan_reads_own_memory(&s->plan);
    int mode = -1, filters = -1;
    if (s->late_ahead) {
        /* In since the init waited (setup_prepare_ahead), refusing process_vm_readv to every process:
         * the spawner sends a plan that reads its own memory to an init told to wait (mapped, filter
         * at go). Should one come here all the same, the run ends: its pointer steps would fail. */
        if (own_memory) init_fail(s, "sandbox set-up failed: seccomp filter (installed before go, and this plan reads its own memory)", EPERM);
        r = s->late_result;
        recorded(s, "seccomp filter", 0, r, s->late_errno);
        mode = s->seccomp_mode;
        filters = s->seccomp_filters;
    } else {
        r = s->base_filter ? ipclab_seccomp_install_late_with(own_memory ? 0 : IPCLAB_SECCOMP_NO_PROCESS_VM)
                           : ipclab_seccomp_install();
        recorded(s, "seccomp filter", 0, r, r == 0 ? 0 : errno);
        s->filters_stacked += r == 0;
        seccomp_report(s, &mode, &filters);
    }
    s->confine_each = own_memory || !s->base_filter || r != 0;
    int64_t args[2] = {mode, filters};
    ipclab_record_now(IPCLAB_REC_SETUP, "seccomp", -1, args, 2, 0, 0, NULL, 0);
    /* The init reaps its children itself (sigtimedwait). */
    ipclab_sigmask_one(SIG_BLOCK, SIGCHLD);
}
