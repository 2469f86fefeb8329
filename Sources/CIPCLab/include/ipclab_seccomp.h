/*
 * ipclab_seccomp.h — the last walls of a run: no_new_privs, not dumpable, and a seccomp
 * filter that refuses what no experiment needs (tracing other processes, namespaces and
 * mounts after set-up, BPF, perf, kexec, modules, keys, reboot, swap, userfaultfd, io_uring,
 * file handles). A refused call fails with EPERM (clone3 with ENOSYS, so glibc falls back to
 * clone, whose namespace flags the filter can read): the process lives and the trace shows it.
 *
 * And `ipclab_try_syscall`: a scenario step that makes one of those calls with harmless
 * arguments and returns what the kernel answered.
 *
 * Every function is prefixed `ipclab_`.
 */
#ifndef IPCLAB_SECCOMP_H
#define IPCLAB_SECCOMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** prctl(PR_SET_NO_NEW_PRIVS, 1): no execve can ever grant more privileges. */
int ipclab_no_new_privs(void);

/** prctl(PR_SET_DUMPABLE, 0): no core dump (a piped core_pattern would start a host helper), no ptrace. */
int ipclab_set_not_dumpable(void);

/** Installs the run's filter (needs no_new_privs). 0, or -1 with errno. Inherited by every child. */
int ipclab_seccomp_install(void);

/**
 * The same policy in two filters, so that the long one is installed off a run's path: the base
 * (the run's filter but for mount, umount2, pivot_root, mount_setattr, unshare, setns and clone into
 * new namespaces, which the set-up after the plan arrives and the runner that makes the run's
 * namespaces still need), installed once per image by the C runner (every run's init is its clone
 * and inherits it) or by a Swift ready init while it waits; then the late one (those calls only, a
 * few instructions) at the lockdown. Stacked, they refuse exactly what ipclab_seccomp_install
 * refuses, with the same errno. 0, or -1 with errno.
 */
int ipclab_seccomp_install_base(void);
int ipclab_seccomp_install_late(void);

/** A flag of ipclab_seccomp_install_late_with: the late filter refuses process_vm_readv/writev too. */
#define IPCLAB_SECCOMP_NO_PROCESS_VM 1

/**
 * The late filter, with `flags`: IPCLAB_SECCOMP_NO_PROCESS_VM for a run whose plan never reads its
 * own memory (no pointer step): then no process of the run can read or write another's memory, and
 * none needs ipclab_seccomp_restrict_process_vm (a filter of its own, ~15 µs to install).
 */
int ipclab_seccomp_install_late_with(int flags);

/** One classic BPF instruction, laid out as the kernel's `struct sock_filter`. */
typedef struct ipclab_bpf_insn {
    uint16_t code;
    uint8_t jt;
    uint8_t jf;
    uint32_t k;
} ipclab_bpf_insn;

/**
 * The instructions a filter is made of (0: the whole policy, 1: the base, 2: the late one, 3: the late
 * one with IPCLAB_SECCOMP_NO_PROCESS_VM), for
 * tests that check the stacked pair against the whole: at most `capacity` copied to `out`; returns
 * how many there are.
 */
size_t ipclab_seccomp_program(int which, ipclab_bpf_insn *out, size_t capacity);

/**
 * Installs a second filter in one participant: process_vm_readv/writev only on `self`
 * (a process may read its own memory — the pointer experiments do — and no other's).
 */
int ipclab_seccomp_restrict_process_vm(pid_t self);

/** The `Seccomp:` and `Seccomp_filters:` lines of /proc/self/status (prctl(PR_GET_SECCOMP) when /proc is missing). 0 or -1. */
int ipclab_seccomp_status(int *mode, int *filters);

/**
 * Whether this host lets the caller make the namespaces in `flags` (CLONE_NEW*): a forked child
 * tries unshare(flags), then unshare(CLONE_NEWUSER | flags). 0 when it can, else the errno.
 * Only for a single-threaded caller.
 */
int ipclab_namespace_unavailable(int flags);

/** Number of calls `ipclab_try_syscall` knows. */
int ipclab_try_syscall_count(void);

/** The name of call `which` (0 … count-1), or NULL. */
const char *ipclab_try_syscall_name(int which);

/**
 * Makes call `which` with harmless arguments (a read of the parent's memory, a mount with two
 * propagation types, an empty BPF map, …): returns the kernel's result, with its errno
 * in `*err` (0 on success). Whatever a call that succeeds creates is closed or reaped at once.
 */
int64_t ipclab_try_syscall(int which, int *err);

#endif
