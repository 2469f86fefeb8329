/* signals.c — the recording signal handler and the signal calls around it. Everything the
 * handler touches is async-signal-safe: the ring's lock-free recorder, kill(2), atomics and
 * siglongjmp out of a fault in our own code. */
#include "ipclab.h"
#include "ipclab_signals.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <poll.h>
#include <unistd.h>

#define SIGNALS_MAX 65

/* What the handler of each signal does besides recording; set before sigaction. */
static struct {
    int reply_sig;
    pid_t reply_pid;
    int reply_process;
    int step;
    int exit_status_plus_one;   /* 0: the handler returns; else it ends the process with _exit(n - 1) */
} handlers[SIGNALS_MAX];

static int64_t handled;          /* atomic: deliveries recorded by this process */
static void *volatile last_sival_ptr;

static sigjmp_buf fault_env;
static volatile sig_atomic_t fault_armed;
static volatile sig_atomic_t fault_signal;

static int is_fault(int sig, const siginfo_t *si) {
    /* A positive si_code means the kernel raised it for a fault; from kill(2) it is SI_USER. */
    return (sig == SIGSEGV || sig == SIGFPE || sig == SIGBUS || sig == SIGILL) && si->si_code > 0;
}

static void on_signal(int sig, siginfo_t *si, void *context) {
    (void)context;
    int saved = errno;
    int fault = is_fault(sig, si);
    int64_t extra = 0;
    if (fault) extra = (int64_t)(intptr_t)si->si_addr;
    else if (sig == SIGCHLD) extra = si->si_status;
    int64_t n = __atomic_add_fetch(&handled, 1, __ATOMIC_ACQ_REL);
    int64_t args[8] = {
        si->si_signo, si->si_code,
        fault ? 0 : si->si_pid, fault ? 0 : si->si_uid,
        fault ? 0 : si->si_value.sival_int, fault ? 0 : (int64_t)(intptr_t)si->si_value.sival_ptr,
        extra, n,
    };
    int step = (sig > 0 && sig < SIGNALS_MAX) ? handlers[sig].step : -1;
    ipclab_record_now(IPCLAB_REC_SIGNAL, "deliver", step, args, 8, 0, 0, NULL, 0);
    if (si->si_code == SI_QUEUE) last_sival_ptr = si->si_value.sival_ptr;

    if (sig > 0 && sig < SIGNALS_MAX && handlers[sig].reply_sig > 0) {
        /* Begun before the call, so the answer is seen before whatever it causes elsewhere. */
        int64_t kargs[5] = { handlers[sig].reply_pid, handlers[sig].reply_sig, handlers[sig].reply_process, 1, getuid() };
        uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "kill", step, kargs, 5);
        int r = kill(handlers[sig].reply_pid, handlers[sig].reply_sig);
        ipclab_end(slot, r, r < 0 ? errno : 0, NULL, 0);
    }
    if (sig > 0 && sig < SIGNALS_MAX && handlers[sig].exit_status_plus_one > 0) {
        /* The course's int_handler calls exit(-1); _exit is its async-signal-safe form (same status). */
        _exit(handlers[sig].exit_status_plus_one - 1);
    }
    if (fault && fault_armed) {
        /* Returning would run the faulting instruction again: go back to ipclab_fault. */
        fault_armed = 0;
        fault_signal = sig;
        errno = saved;
        siglongjmp(fault_env, 1);
    }
    errno = saved;
}

int ipclab_sigaction(int sig, int disposition, int restart, int reply_sig, pid_t reply_pid,
                     int reply_process, int step) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (disposition == IPCLAB_DISPOSITION_HANDLE) {
        if (sig > 0 && sig < SIGNALS_MAX) {
            handlers[sig].reply_sig = reply_sig;
            handlers[sig].reply_pid = reply_pid;
            handlers[sig].reply_process = reply_process;
            handlers[sig].step = step;
        }
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO | (restart ? SA_RESTART : 0);
    } else {
        sa.sa_handler = disposition == IPCLAB_DISPOSITION_IGNORE ? SIG_IGN : SIG_DFL;
    }
    return sigaction(sig, &sa, NULL);
}

void ipclab_handler_exits(int sig, int status) {
    if (sig > 0 && sig < SIGNALS_MAX) handlers[sig].exit_status_plus_one = status < 0 ? 0 : status + 1;
}

int64_t ipclab_signals_handled(void) { return __atomic_load_n(&handled, __ATOMIC_ACQUIRE); }

void *ipclab_last_sival_ptr(void) { return last_sival_ptr; }

static char static_buffer[4096];

void *ipclab_static_buffer(void) { return static_buffer; }

int ipclab_sigqueue_int(pid_t pid, int sig, int value) {
    union sigval v;
    memset(&v, 0, sizeof v);
    v.sival_int = value;
    return sigqueue(pid, sig, v);
}

int ipclab_sigqueue_ptr(pid_t pid, int sig, void *ptr) {
    union sigval v;
    v.sival_ptr = ptr;
    return sigqueue(pid, sig, v);
}

static void to_set(uint64_t bits, sigset_t *set) {
    sigemptyset(set);
    for (int sig = 1; sig <= 64; sig++) {
        if (bits & (1ULL << (sig - 1))) sigaddset(set, sig);
    }
}

static uint64_t to_bits(const sigset_t *set) {
    uint64_t bits = 0;
    for (int sig = 1; sig <= 64; sig++) {
        if (sigismember(set, sig) == 1) bits |= 1ULL << (sig - 1);
    }
    return bits;
}

int ipclab_sigprocmask_bits(int how, uint64_t bits, uint64_t *old_bits) {
    static const int hows[3] = { SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK };
    sigset_t set, old;
    to_set(bits, &set);
    sigemptyset(&old);
    int r = sigprocmask(how >= 0 && how < 3 ? hows[how] : -1, &set, &old);
    if (old_bits) *old_bits = to_bits(&old);
    return r;
}

int ipclab_sigpending_bits(uint64_t *bits) {
    sigset_t set;
    sigemptyset(&set);
    int r = sigpending(&set);
    *bits = to_bits(&set);
    return r;
}

int64_t ipclab_wait_signals(int64_t want, int64_t timeout_ns, int step) {
    sigset_t all, mask;
    sigfillset(&all);
    /* Between the check and the wait every signal is blocked; ppoll then installs the
     * process's own mask atomically, so a delivery cannot slip in unseen. */
    sigprocmask(SIG_BLOCK, &all, &mask);
    int64_t deadline = ipclab_now_ns() + timeout_ns;
    while (ipclab_signals_handled() < want) {
        int64_t left = deadline - ipclab_now_ns();
        if (left < 0) left = 0;
        struct timespec ts = { .tv_sec = left / 1000000000LL, .tv_nsec = left % 1000000000LL };
        int64_t args[4] = { (left + 999999) / 1000000, want, ipclab_signals_handled(), (int64_t)to_bits(&mask) };
        uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "ppoll", step, args, 4);
        int r = ppoll(NULL, 0, &ts, &mask);
        int err = r < 0 ? errno : 0;
        ipclab_end(slot, r, err, NULL, 0);
        if (r == 0 || (r < 0 && err != EINTR)) break;
    }
    sigprocmask(SIG_SETMASK, &mask, NULL);
    return ipclab_signals_handled();
}

/* Volatile, so the compiler cannot see the NULL or the zero and must emit the real store
 * and the real idiv (Swift would trap with ud2/SIGILL before dividing). */
static volatile uintptr_t bad_address = 0;
static volatile int zero = 0;

uint64_t ipclab_fault_address(void) { return bad_address; }

int64_t ipclab_core_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) != 0) return -2;
    return rl.rlim_cur == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_cur;
}

int ipclab_fault(int kind) {
    if (sigsetjmp(fault_env, 1) != 0) return fault_signal;
    fault_armed = 1;
    if (kind == IPCLAB_FAULT_SEGV) {
        volatile int *p = (volatile int *)bad_address;
        *p = 42;
    } else {
        volatile int one = 1;
        volatile int q = one / zero;
        (void)q;
    }
    fault_armed = 0;
    return 0;
}
