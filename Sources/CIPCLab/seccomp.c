/* seccomp.c — the run's seccomp filter, no_new_privs, dumpable, and the try_syscall probes. */
#include "ipclab_seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__)
#define IPCLAB_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define IPCLAB_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "ipclab's seccomp filter knows x86_64 and aarch64 only"
#endif

int ipclab_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0, 0, 0); }

int ipclab_set_not_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0UL, 0, 0, 0); }

/* Refused outright: no experiment traces, mounts, loads code into the kernel or changes the host. */
static const int denied[] = {
    __NR_ptrace, __NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot, __NR_unshare, __NR_setns,
#ifdef __NR_fsopen
    __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick, __NR_move_mount, __NR_open_tree,
#endif
#ifdef __NR_mount_setattr
    __NR_mount_setattr,
#endif
    __NR_bpf, __NR_perf_event_open, __NR_kexec_load,
#ifdef __NR_kexec_file_load
    __NR_kexec_file_load,
#endif
    __NR_init_module, __NR_finit_module, __NR_delete_module,
    __NR_keyctl, __NR_add_key, __NR_request_key,
    __NR_reboot, __NR_swapon, __NR_swapoff, __NR_acct, __NR_quotactl,
    __NR_userfaultfd, __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
    __NR_open_by_handle_at, __NR_name_to_handle_at,
    /* Reaching into other processes: their descriptors, their memory advice, comparing their kernel objects. */
#ifdef __NR_pidfd_getfd
    __NR_pidfd_getfd,
#endif
#ifdef __NR_process_madvise
    __NR_process_madvise,
#endif
    __NR_kcmp,
    /* The host's clock and kernel log. */
    __NR_settimeofday, __NR_clock_settime, __NR_adjtimex, __NR_clock_adjtime, __NR_syslog,
#ifdef __NR_iopl
    __NR_iopl, __NR_ioperm,
#endif
    __NR_vhangup, __NR_fanotify_init,
};

/*
 * Refused too, but by the last filter only (with clone into new namespaces): the set-up a run does
 * once its plan is known (the run's /tmp resized to its file limit; a program run's minimal root,
 * bound and pivoted into) needs them after the rest of the policy can already be in place, and the
 * C runner, which holds the base from its start, makes each run's namespaces (clone, setns).
 * See ipclab_seccomp_install_base.
 */
static const int denied_late[] = {
    __NR_mount, __NR_umount2, __NR_pivot_root, __NR_unshare, __NR_setns,
#ifdef __NR_mount_setattr
    __NR_mount_setattr,
#endif
};

static int is_late(int nr) {
    for (size_t i = 0; i < sizeof denied_late / sizeof denied_late[0]; i++) if (denied_late[i] == nr) return 1;
    return 0;
}

#define CLONE_NAMESPACES (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

#define ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

static int install(struct sock_filter *code, size_t n) {
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = code };
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static int by_number(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/*
 * The denied numbers (sorted) as a search tree: `JGE middle` splits a range, a range of at most
 * four is checked with JEQs that jump to the one EPERM at the end (patched in `finish_tree`).
 * The kernel checks and translates every instruction, then runs the filter once per syscall
 * number to cache the calls it always allows: a short program that runs few instructions a call
 * installs fastest (measured here: a list 175 µs, this tree 65-85 µs, an empty filter 10 µs).
 */
static size_t emit_tree(struct sock_filter *code, size_t at, const int *nrs, size_t count, size_t *patch, size_t *npatch) {
    size_t n = at;
    if (count <= 4) {
        for (size_t i = 0; i < count; i++) {
            patch[(*npatch)++] = n;
            code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i], 0, 0);
        }
        code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        return n - at;
    }
    size_t mid = count / 2;
    size_t split = n++;
    size_t below = emit_tree(code, n, nrs, mid, patch, npatch);
    n += below;
    code[split] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (unsigned)nrs[mid], (unsigned char)below, 0);
    n += emit_tree(code, n, nrs + mid, count - mid, patch, npatch);
    return n - at;
}

/* clone (fork) is allowed, not into new namespaces: its first argument holds the flags. Expects
 * the call's number loaded; 5 instructions, which end in a return for clone and fall through else. */
enum { clone_check_length = 5 };
static size_t emit_clone_check(struct sock_filter *code) {
    size_t n = 0;
    code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4);
    code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
    code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NAMESPACES, 0, 1);
    code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM));
    code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    return n;
}

/* The run's policy, without the calls of denied_late when `base` (they are then left to the last
 * filter), into `code` (room for policy_room instructions). Returns its length. */
enum { policy_room = 16 + 3 * (sizeof denied / sizeof denied[0]) };
static size_t build_policy(int base, struct sock_filter *code) {
    enum { all = sizeof denied / sizeof denied[0] };
    int nrs[all];
    size_t count = 0;
    for (size_t i = 0; i < all; i++) if (!base || !is_late(denied[i])) nrs[count++] = denied[i];
    qsort(nrs, count, sizeof nrs[0], by_number);
    size_t n = 0;
    /* Another ABI's numbers mean other calls: refuse everything made through it. */
    code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPCLAB_AUDIT_ARCH, 1, 0);
    code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM));
    code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
    /* The x32 ABI shares the arch value and sets bit 30 of the number. */
    code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
    code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM));
#endif
    /* clone3 keeps its flags in memory a filter cannot read: ENOSYS makes glibc use clone. */
    code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1);
    code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(ENOSYS));
    if (!base) n += emit_clone_check(code + n);
    size_t patch[all];
    size_t npatch = 0;
    n += emit_tree(code, n, nrs, count, patch, &npatch);
    for (size_t i = 0; i < npatch; i++) code[patch[i]].jt = (unsigned char)(n - patch[i] - 1);
    code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM));
    return n;
}

/*
 * The last filter: denied_late with EPERM, everything else left to the filters below it. The kernel
 * runs every filter and keeps the most restrictive answer, so base + late refuse exactly what
 * ipclab_seccomp_install refuses, with the same errno: a late call through another ABI, or with
 * x32's bit set, is refused (EPERM) by the base as before, whatever this one says of its number.
 * With IPCLAB_SECCOMP_NO_PROCESS_VM it also refuses process_vm_readv/writev on every process: a run
 * whose plan never reads its own memory needs neither, and no participant then stacks a filter of its own.
 */
static const int denied_process_vm[] = { __NR_process_vm_readv, __NR_process_vm_writev };
enum {
    late_count = sizeof denied_late / sizeof denied_late[0],
    late_room = 3 + clone_check_length + late_count + sizeof denied_process_vm / sizeof denied_process_vm[0],
};
static size_t build_late(int flags, struct sock_filter *code) {
    int nrs[late_count + sizeof denied_process_vm / sizeof denied_process_vm[0]];
    size_t count = 0;
    for (size_t i = 0; i < late_count; i++) nrs[count++] = denied_late[i];
    if (flags & IPCLAB_SECCOMP_NO_PROCESS_VM) {
        for (size_t i = 0; i < sizeof denied_process_vm / sizeof denied_process_vm[0]; i++) nrs[count++] = denied_process_vm[i];
    }
    size_t n = 0;
    code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    n += emit_clone_check(code + n);
    for (size_t i = 0; i < count; i++) {
        /* Each match jumps to the EPERM at the end, past the other tests and the ALLOW. */
        code[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i], (unsigned char)(count - i), 0);
        n++;
    }
    code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM));
    return n;
}

int ipclab_seccomp_install(void) {
    struct sock_filter code[policy_room];
    return install(code, build_policy(0, code));
}

int ipclab_seccomp_install_base(void) {
    struct sock_filter code[policy_room];
    return install(code, build_policy(1, code));
}

int ipclab_seccomp_install_late(void) { return ipclab_seccomp_install_late_with(0); }

int ipclab_seccomp_install_late_with(int flags) {
    struct sock_filter code[late_room];
    return install(code, build_late(flags, code));
}

_Static_assert(sizeof(struct sock_filter) == sizeof(ipclab_bpf_insn), "ipclab_bpf_insn is struct sock_filter");

size_t ipclab_seccomp_program(int which, ipclab_bpf_insn *out, size_t capacity) {
    struct sock_filter code[(size_t)policy_room > (size_t)late_room ? (size_t)policy_room : (size_t)late_room];
    size_t n = which == 2 || which == 3 ? build_late(which == 3 ? IPCLAB_SECCOMP_NO_PROCESS_VM : 0, code) : build_policy(which == 1, code);
    memcpy(out, code, (n < capacity ? n : capacity) * sizeof code[0]);
    return n;
}

int ipclab_seccomp_restrict_process_vm(pid_t self) {
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_writev, 0, 5),
        /* pid_t is 32 bits: the low word must be this process, the high word zero. */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)self, 0, 2),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    return install(code, sizeof code / sizeof code[0]);
}

int ipclab_seccomp_status(int *mode, int *filters) {
    *mode = -1;
    *filters = -1;
    /* Read in small pieces, no stdio and no large buffer: a run's init reads it on its path, where a
     * fresh page of stack or heap costs a page fault (the file is ~1.5 KB; a line is kept whole). */
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char text[320];
        size_t kept = 0;
        int skipping = 0; /* inside a line longer than the buffer: not one of ours */
        for (;;) {
            ssize_t n = read(fd, text + kept, sizeof text - 1 - kept);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            size_t length = kept + (size_t)n;
            text[length] = 0;
            char *line = text;
            if (skipping) {
                char *end = strchr(line, '\n');
                if (!end) { kept = 0; continue; }
                line = end + 1;
                skipping = 0;
            }
            for (char *end; (end = strchr(line, '\n')) != NULL; line = end + 1) {
                *end = 0;
                if (strncmp(line, "Seccomp:", 8) == 0) *mode = atoi(line + 8);
                else if (strncmp(line, "Seccomp_filters:", 16) == 0) *filters = atoi(line + 16);
            }
            /* The unfinished line moves to the front; one longer than the buffer is dropped. */
            kept = (size_t)(text + length - line);
            if (kept >= sizeof text - 1) {
                kept = 0;
                skipping = 1;
            }
            memmove(text, line, kept);
        }
        close(fd);
    }
    if (*mode < 0) {
        int m = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
        if (m < 0) return -1;
        *mode = m;
    }
    return 0;
}

int ipclab_namespace_unavailable(int flags) {
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(flags) == 0 || unshare(CLONE_NEWUSER | flags) == 0) _exit(0);
        _exit(errno & 0xff);
    }
    if (pid < 0) return errno;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return errno;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : EINVAL;
}

/* --- try_syscall -------------------------------------------------------- */

static const char *const names[] = {
    "getppid", "ptrace", "process_vm_readv", "unshare", "setns", "mount", "clone", "clone3", "bpf",
    "perf_event_open", "io_uring_setup", "keyctl", "add_key", "userfaultfd", "kexec_load", "init_module",
    "reboot", "swapon", "open_by_handle_at",
};

int ipclab_try_syscall_count(void) { return (int)(sizeof names / sizeof names[0]); }

const char *ipclab_try_syscall_name(int which) {
    return which >= 0 && which < ipclab_try_syscall_count() ? names[which] : NULL;
}

/* A child that a clone made: it only exits. Raw syscalls, nothing of libc's state. */
static long reap_if_child(long r) {
    if (r == 0) syscall(SYS_exit_group, 0);
    if (r > 0) {
        int status;
        while (waitpid((pid_t)r, &status, __WALL) < 0 && errno == EINTR) {}
    }
    return r;
}

static long close_if_fd(long r) {
    if (r >= 0) close((int)r);
    return r;
}

int64_t ipclab_try_syscall(int which, int *err) {
    long r = -1;
    errno = 0;
    const char *name = ipclab_try_syscall_name(which);
    if (!name) { *err = EINVAL; return -1; }
    char zeros[256] = {0};
    if (!strcmp(name, "getppid")) {
        r = syscall(SYS_getppid);
    } else if (!strcmp(name, "ptrace")) {
        /* Peek at the parent's memory (ESRCH unless traced: it attaches nothing). */
        r = syscall(SYS_ptrace, 2 /* PTRACE_PEEKDATA */, (long)getppid(), 0L, 0L);
    } else if (!strcmp(name, "process_vm_readv")) {
        /* 8 bytes of the parent's memory, at the address of a local of ours. */
        long value = 0;
        struct iovec local = { .iov_base = &value, .iov_len = sizeof value };
        struct iovec remote = { .iov_base = &value, .iov_len = sizeof value };
        r = syscall(SYS_process_vm_readv, (long)getppid(), &local, 1L, &remote, 1L, 0L);
    } else if (!strcmp(name, "unshare")) {
        r = syscall(SYS_unshare, (long)CLONE_NEWUTS);
    } else if (!strcmp(name, "setns")) {
        r = syscall(SYS_setns, -1L, 0L);
    } else if (!strcmp(name, "mount")) {
        /* Two propagation types at once: EINVAL, after the permission check, for whoever may mount. */
        r = syscall(SYS_mount, "none", "/tmp", 0L, (long)(MS_PRIVATE | MS_SHARED), 0L);
    } else if (!strcmp(name, "clone")) {
        r = reap_if_child(syscall(SYS_clone, (long)(CLONE_NEWNS | SIGCHLD), 0L, 0L, 0L, 0L));
    } else if (!strcmp(name, "clone3")) {
        struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls; } args = {0};
        args.exit_signal = SIGCHLD;
        r = reap_if_child(syscall(SYS_clone3, &args, sizeof args));
    } else if (!strcmp(name, "bpf")) {
        /* BPF_MAP_CREATE with an all-zero attribute: EINVAL where BPF is allowed at all. */
        r = close_if_fd(syscall(SYS_bpf, 0L, zeros, 72L));
    } else if (!strcmp(name, "perf_event_open")) {
        uint32_t attr[32] = {0};
        attr[1] = 128; /* size */
        r = close_if_fd(syscall(SYS_perf_event_open, attr, 0L, -1L, -1L, 0L));
    } else if (!strcmp(name, "io_uring_setup")) {
        r = close_if_fd(syscall(SYS_io_uring_setup, 1L, zeros));
    } else if (!strcmp(name, "keyctl")) {
        r = syscall(SYS_keyctl, 0L /* KEYCTL_GET_KEYRING_ID */, -3L /* KEY_SPEC_SESSION_KEYRING */, 0L);
    } else if (!strcmp(name, "add_key")) {
        r = syscall(SYS_add_key, "user", "ipclab", "x", 1L, -2L /* KEY_SPEC_PROCESS_KEYRING */);
    } else if (!strcmp(name, "userfaultfd")) {
        r = close_if_fd(syscall(SYS_userfaultfd, (long)O_CLOEXEC));
    } else if (!strcmp(name, "kexec_load")) {
        /* An undefined flag and too many segments: EINVAL even for a process allowed to load a kernel
         * (no segments at all would mean "unload the loaded one"). */
        r = syscall(SYS_kexec_load, 0L, 1000L, 0L, 0x100L);
    } else if (!strcmp(name, "init_module")) {
        r = syscall(SYS_init_module, 0L, 0L, "");
    } else if (!strcmp(name, "reboot")) {
        /* Wrong magic numbers: EINVAL even for a process allowed to reboot. */
        r = syscall(SYS_reboot, 0L, 0L, 0L, 0L);
    } else if (!strcmp(name, "swapon")) {
        r = syscall(SYS_swapon, "/nonexistent-swap", 0L);
    } else if (!strcmp(name, "open_by_handle_at")) {
        struct { unsigned int bytes; int type; unsigned char f[8]; } handle = { 8, 1, {0} };
        r = close_if_fd(syscall(SYS_open_by_handle_at, (long)AT_FDCWD, &handle, (long)O_RDONLY));
    }
    *err = r < 0 ? errno : 0;
    return r;
}
