/* system.c — wrappers for calls and macros Swift's Glibc import cannot use. */
#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

const int ipclab_CLONE_NEWUSER = CLONE_NEWUSER;
const int ipclab_CLONE_NEWPID = CLONE_NEWPID;
const int ipclab_CLONE_NEWIPC = CLONE_NEWIPC;
const int ipclab_CLONE_NEWNS = CLONE_NEWNS;
const int ipclab_CLONE_NEWUTS = CLONE_NEWUTS;
const int ipclab_CLONE_NEWNET = CLONE_NEWNET;
const int ipclab_CLONE_PARENT = CLONE_PARENT;
const int ipclab_F_GETPIPE_SZ = F_GETPIPE_SZ;
const int ipclab_F_SETPIPE_SZ = F_SETPIPE_SZ;

pid_t ipclab_fork_into(int flags) {
    /* The raw syscall (x86_64 argument order: flags, stack, parent_tid, child_tid, tls).
     * A NULL stack makes the child continue on a copy of the caller's stack, as fork does. */
    return (pid_t)syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), NULL, NULL, NULL, 0UL);
}

pid_t ipclab_fork_into_as(int flags, uid_t euid, gid_t egid, int deathsig) {
    /* Raw syscalls: glibc's wrappers would signal every thread (there are none) to change too. */
    if (syscall(SYS_setresgid, (gid_t)-1, egid, (gid_t)-1) != 0) return -1;
    if (syscall(SYS_setresuid, (uid_t)-1, euid, (uid_t)-1) != 0) {
        int e = errno;
        syscall(SYS_setresgid, (gid_t)-1, (gid_t)0, (gid_t)-1);
        errno = e;
        return -1;
    }
    /* The change of ids made this process non-dumpable: its child would inherit that, and could not
     * open its own /proc/self files (owned by root then). */
    prctl(PR_SET_DUMPABLE, 1UL, 0, 0, 0);
    pid_t pid = ipclab_fork_into(flags);
    if (pid == 0) return 0;
    int e = errno;
    if (syscall(SYS_setresuid, (uid_t)-1, (uid_t)0, (uid_t)-1) != 0 ||
        syscall(SYS_setresgid, (gid_t)-1, (gid_t)0, (gid_t)-1) != 0) {
        _exit(71); /* a forker that cannot be root again must not clone another run */
    }
    prctl(PR_SET_DUMPABLE, 1UL, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, (unsigned long)deathsig, 0, 0, 0);
    errno = e;
    return pid;
}

int ipclab_setresuid(uid_t id) { return setresuid(id, id, id); }
int ipclab_setresgid(gid_t id) { return setresgid(id, id, id); }
int ipclab_unshare(int flags) { return unshare(flags); }
int ipclab_setns(int fd, int nstype) { return setns(fd, nstype); }
int ipclab_get_nice(pid_t pid, int *nice) {
    errno = 0;
    int n = getpriority(PRIO_PROCESS, (id_t)pid);
    if (n == -1 && errno != 0) return -1;
    *nice = n;
    return 0;
}

int ipclab_set_nice(pid_t pid, int nice) { return setpriority(PRIO_PROCESS, (id_t)pid, nice); }

int ipclab_can_raise_priority(void) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) != 0) return 0;
    return (data[CAP_TO_INDEX(CAP_SYS_NICE)].effective & CAP_TO_MASK(CAP_SYS_NICE)) != 0;
}

static cpu_set_t run_core_all;
static int run_core_chosen;

int ipclab_choose_run_core(void) {
    CPU_ZERO(&run_core_all);
    if (sched_getaffinity(0, sizeof run_core_all, &run_core_all) != 0 || CPU_COUNT(&run_core_all) < 2) return -1;
    int last = -1;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) if (CPU_ISSET(cpu, &run_core_all)) last = cpu;
    run_core_chosen = 1;
    return last;
}

static cpu_set_t saved_cores;
static int cores_saved;

int ipclab_save_cores(void) {
    CPU_ZERO(&saved_cores);
    if (sched_getaffinity(0, sizeof saved_cores, &saved_cores) != 0) return -1;
    cores_saved = 1;
    return 0;
}

int ipclab_restore_cores(void) {
    return cores_saved ? sched_setaffinity(0, sizeof saved_cores, &saved_cores) : 0;
}

int ipclab_forget_other_cores(void) {
    /* Only a process kept to one core of the several ipclab_save_cores kept (an init cloned ahead, kept
     * to the run core; both runners save the sandbox's cores before cloning any) has other cores to
     * forget: one that may run anywhere would be back on them, and this would cost it a mapping and an
     * interrupt for nothing (--no-run-core, one core, an init cloned while its run waits). */
    if (!cores_saved || CPU_COUNT(&saved_cores) < 2) return 0;
    cpu_set_t mine;
    CPU_ZERO(&mine);
    if (sched_getaffinity(0, sizeof mine, &mine) != 0) return -1;
    if (CPU_COUNT(&mine) != 1) return 0;
    /* A page alone in the page table of a 2 MiB range of its own: unmapping it frees that table, and a
     * flush that frees tables interrupts every core in the mm's cpumask, which drops each that no
     * longer runs this mm (x86's flush_tlb_func). */
    const size_t two_mib = (size_t)2 << 20;
    uint8_t *region = mmap(NULL, 2 * two_mib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (region == MAP_FAILED) return -1;
    uint8_t *page = (uint8_t *)(((uintptr_t)region + two_mib - 1) & ~(uintptr_t)(two_mib - 1));
    *(volatile uint8_t *)page = 1;
    return munmap(region, 2 * two_mib);
}

void ipclab_leave_run_core(pid_t pid) {
    if (run_core_chosen) sched_setaffinity(pid, sizeof run_core_all, &run_core_all);
}

int ipclab_keep_to_core(pid_t pid, int core) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(core, &one);
    return sched_setaffinity(pid, sizeof one, &one);
}

int ipclab_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0); }
int ipclab_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0, 0, 0); }
int ipclab_set_dumpable(void) { return prctl(PR_SET_DUMPABLE, 1UL, 0, 0, 0); }
int ipclab_set_process_name(const char *name) { return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0); }
int ipclab_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
int ipclab_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE); }
int ipclab_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING); }
int ipclab_memfd_seal_size(int fd) { return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL); }
int ipclab_fcntl_int(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }
int ipclab_fcntl(int fd, int cmd) { return fcntl(fd, cmd); }

int ipclab_bytes_readable(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

int ipclab_wifexited(int s) { return WIFEXITED(s); }
int ipclab_wexitstatus(int s) { return WEXITSTATUS(s); }
int ipclab_wifsignaled(int s) { return WIFSIGNALED(s); }
int ipclab_wtermsig(int s) { return WTERMSIG(s); }
int ipclab_wcoredump(int s) { return WCOREDUMP(s); }
int ipclab_wifstopped(int s) { return WIFSTOPPED(s); }
int ipclab_wstopsig(int s) { return WSTOPSIG(s); }
int ipclab_wifcontinued(int s) { return WIFCONTINUED(s); }

const char *ipclab_errno_name(int err) { return strerrorname_np(err); }

int ipclab_sigrtmin(void) { return SIGRTMIN; }
int ipclab_sigrtmax(void) { return SIGRTMAX; }

const char *ipclab_signal_name(int sig, char *buf, size_t len) {
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        if (sig == SIGRTMIN) snprintf(buf, len, "SIGRTMIN");
        else if (sig == SIGRTMAX) snprintf(buf, len, "SIGRTMAX");
        else snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
        return buf;
    }
    const char *abbrev = sigabbrev_np(sig);
    if (!abbrev) return NULL;
    snprintf(buf, len, "SIG%s", abbrev);
    return buf;
}

ssize_t ipclab_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds) {
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    union { char buf[CMSG_SPACE(sizeof(int) * 8)]; struct cmsghdr align; } control;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds > 8) { errno = EINVAL; return -1; }
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n;
}

ssize_t ipclab_recv_with_fds(int sock, void *buf, size_t len, int *fds, int maxfds, int *nfds) {
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    union { char buf[CMSG_SPACE(sizeof(int) * 8)]; struct cmsghdr align; } control;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.buf, .msg_controllen = sizeof control.buf };
    *nfds = 0;
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < count; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                if (*nfds < maxfds) fds[(*nfds)++] = fd; else close(fd);
            }
        }
    }
    return n;
}

#include <sys/mount.h>
#include <sys/signalfd.h>
#include <time.h>

const unsigned long ipclab_MS_REC = MS_REC;
const unsigned long ipclab_MS_PRIVATE = MS_PRIVATE;
const unsigned long ipclab_MS_NOSUID = MS_NOSUID;
const unsigned long ipclab_MS_NODEV = MS_NODEV;
const unsigned long ipclab_MS_NOEXEC = MS_NOEXEC;
const unsigned long ipclab_MS_REMOUNT = MS_REMOUNT;

int ipclab_close_range(unsigned int first, unsigned int last) {
    return (int)syscall(SYS_close_range, first, last, 0);
}

int ipclab_mount(const char *source, const char *target, const char *fstype,
                 unsigned long flags, const char *data) {
    return mount(source, target, fstype, flags, data);
}

int ipclab_make_readonly_recursive(const char *path) {
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
    struct { uint64_t attr_set, attr_clr, propagation, userns_fd; } attr = { MOUNT_ATTR_RDONLY, 0, 0, 0 };
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr);
}

int ipclab_sigmask_one(int how, int sig) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    return sigprocmask(how, &set, NULL);
}

int ipclab_sigmask_clear(void) {
    sigset_t set;
    sigemptyset(&set);
    return sigprocmask(SIG_SETMASK, &set, NULL);
}

int ipclab_sigwait_timeout(int sig, int64_t timeout_ns) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    if (timeout_ns < 0) timeout_ns = 0;
    struct timespec ts = { .tv_sec = timeout_ns / 1000000000LL, .tv_nsec = timeout_ns % 1000000000LL };
    return sigtimedwait(&set, NULL, &ts);
}

void ipclab_reset_signal_dispositions(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        sigaction(sig, &sa, NULL);
    }
}

int ipclab_signalfd_for(int sig) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

void ipclab_signalfd_drain(int fd) {
    struct signalfd_siginfo info[8];
    while (read(fd, info, sizeof info) > 0) {}
}
