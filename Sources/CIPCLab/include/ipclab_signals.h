/*
 * ipclab_signals.h — signals for IPC Lab: the recording SA_SIGINFO handler and the calls
 * around it that Swift cannot make safely (sigqueue, sigset_t masks, ppoll with a mask,
 * the faults the CPU reports).
 *
 * A handler is C and async-signal-safe: it records each delivery (si_signo, si_code,
 * si_pid, si_uid, si_value, and si_status or si_addr) into the event ring, and may answer
 * with kill(2) from inside itself. Its configuration lives in C globals of the process,
 * set before sigaction (after fork: each process has its own).
 *
 * Every function is prefixed `ipclab_`.
 */
#ifndef IPCLAB_SIGNALS_H
#define IPCLAB_SIGNALS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/** What `ipclab_sigaction` installs. */
enum ipclab_disposition {
    IPCLAB_DISPOSITION_DEFAULT = 0, /* SIG_DFL */
    IPCLAB_DISPOSITION_IGNORE = 1,  /* SIG_IGN */
    IPCLAB_DISPOSITION_HANDLE = 2,  /* the recording handler, SA_SIGINFO */
};

/**
 * sigaction(sig) with SIG_DFL, SIG_IGN or the recording handler (SA_SIGINFO, plus SA_RESTART
 * when `restart`). A handler with `reply_sig` > 0 sends it to `reply_pid` (participant
 * `reply_process`) from inside itself. `step` is the step index its records carry.
 * Returns sigaction's result; errno as it set it (EINVAL for SIGKILL and SIGSTOP).
 */
int ipclab_sigaction(int sig, int disposition, int restart, int reply_sig, pid_t reply_pid,
                     int reply_process, int step);

/**
 * Makes the handler of `sig` end the process with `_exit(status)` after recording the delivery (and
 * sending its reply), as a handler that calls exit() does; a negative status makes it return again.
 * Set before `ipclab_sigaction`.
 */
void ipclab_handler_exits(int sig, int status);

/** Deliveries this process's handlers have recorded so far (all signals). */
int64_t ipclab_signals_handled(void);

/** The si_value.sival_ptr of the last SI_QUEUE delivery this process handled (NULL if none). */
void *ipclab_last_sival_ptr(void);

/** sigqueue(pid, sig, {.sival_int = value}). */
int ipclab_sigqueue_int(pid_t pid, int sig, int value);

/**
 * A 4096-byte buffer in the program's static storage: it exists before any participant forks, so
 * every process of a run has its own copy of it, at the same address (copy-on-write after fork).
 */
void *ipclab_static_buffer(void);

/** sigqueue(pid, sig, {.sival_ptr = ptr}). */
int ipclab_sigqueue_ptr(pid_t pid, int sig, void *ptr);

/* Masks as 64-bit sets: bit (sig - 1) stands for signal sig, 1…64. */

/** sigprocmask(how, set, &old) with `how` 0 = SIG_BLOCK, 1 = SIG_UNBLOCK, 2 = SIG_SETMASK. */
int ipclab_sigprocmask_bits(int how, uint64_t set, uint64_t *old_set);

/** sigpending(&set). */
int ipclab_sigpending_bits(uint64_t *set);

/**
 * Waits until this process's handlers have recorded at least `want` deliveries in all, or
 * `timeout_ns` passed: ppoll(NULL, 0, timeout, mask) with the process's own mask, every
 * other signal blocked between the calls so that none is missed. Records each ppoll as an
 * event of `step`. Returns the deliveries recorded so far.
 */
int64_t ipclab_wait_signals(int64_t want, int64_t timeout_ns, int step);

/* Reading one's own memory at a received address: ipclab_read_own_memory in ipclab_shm.h. */

/** What `ipclab_fault` does. */
enum ipclab_fault_kind {
    IPCLAB_FAULT_SEGV = 0, /* a store through a NULL pointer */
    IPCLAB_FAULT_FPE = 1,  /* an integer division by zero */
};

/** getrlimit(RLIMIT_CORE)'s soft limit: the largest core file the kernel may write; -1 for unlimited, -2 on error. */
int64_t ipclab_core_limit(void);

/** The address the SEGV fault stores to (NULL). */
uint64_t ipclab_fault_address(void);

/**
 * Makes the CPU fault. Without a handler the process dies of the signal. With the recording
 * handler installed, the handler records the delivery and jumps back here (siglongjmp), and
 * this returns the signal number; it returns 0 if the instruction did not fault at all.
 */
int ipclab_fault(int kind);

#endif /* IPCLAB_SIGNALS_H */
