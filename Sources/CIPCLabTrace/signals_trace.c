/* signals_trace.c — signals in a traced program: kill, sigqueue, raise, sigaction/signal,
 * sigprocmask, pause, sigsuspend, and each delivery into a handler the program installed.
 *
 * A handler the program installs is installed as `trampoline` instead (SA_SIGINFO), which records
 * the delivery (kind IPCLAB_REC_SIGNAL, the participants' layout) and calls the program's handler
 * the way it asked (with or without siginfo). sigaction's old action reports the program's own
 * handler back, so the program sees what it set. Everything here is async-signal-safe. */
#include "trace_internal.h"

/* The program's handlers, by signal: what it asked for, as it asked. */
static struct sigaction wanted[NSIG];
static volatile sig_atomic_t handled[NSIG];
/* How deep this process is in handlers (a kill from a handler is marked so). */
static volatile sig_atomic_t in_handler;

static void trampoline(int sig, siginfo_t *info, void *context) {
    int saved = errno;
    if (sig > 0 && sig < NSIG) handled[sig]++;
    if (ipclab_tracing && info) {
        int64_t status_or_addr = (sig == SIGSEGV || sig == SIGFPE || sig == SIGBUS || sig == SIGILL) && info->si_code > 0
            ? (int64_t)(intptr_t)info->si_addr : (int64_t)info->si_status;
        int64_t args[8] = { sig, info->si_code, info->si_pid, info->si_uid, info->si_value.sival_int,
                            (int64_t)(intptr_t)info->si_value.sival_ptr, status_or_addr,
                            sig > 0 && sig < NSIG ? handled[sig] : 0 };
        ipclab_record_now(IPCLAB_REC_SIGNAL, "deliver", -1, args, 8, 0, 0, NULL, 0);
    }
    errno = saved;
    if (sig <= 0 || sig >= NSIG) return;
    in_handler++;
    struct sigaction *w = &wanted[sig];
    if (w->sa_flags & SA_SIGINFO) {
        if (w->sa_sigaction) w->sa_sigaction(sig, info, context);
    } else if (w->sa_handler != SIG_DFL && w->sa_handler != SIG_IGN && w->sa_handler) {
        w->sa_handler(sig);
    }
    in_handler--;
}

static int64_t disposition(const struct sigaction *act) {
    if (!act) return -1;
    if (!(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_IGN) return 1;
    if (!(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL) return 0;
    return 2;
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    if (!ipclab_tracing || sig <= 0 || sig >= NSIG) return REAL.sigaction(sig, act, old);
    struct sigaction previous = wanted[sig];
    struct sigaction installed;
    const struct sigaction *give = act;
    if (act && disposition(act) == 2) {
        installed = *act;
        installed.sa_flags |= SA_SIGINFO;
        installed.sa_sigaction = trampoline;
        give = &installed;
    }
    int r = REAL.sigaction(sig, give, old);
    int err = r < 0 ? errno : 0;
    if (r == 0) {
        /* What the program had set (our trampoline stands for its handler). */
        if (old && old->sa_sigaction == trampoline) *old = previous;
        if (act) wanted[sig] = *act;
    }
    if (act) {
        int64_t args[6] = { sig, disposition(act), (act->sa_flags & SA_RESTART) != 0, 0, -1, -1 };
        ipclab_record_now(IPCLAB_REC_EVENT, "sigaction", -1, args, 6, r, err, NULL, 0);
    }
    if (err) errno = err;
    return r;
}

sighandler_t signal(int sig, sighandler_t handler) {
    if (!ipclab_tracing) return REAL.signal(sig, handler);
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    act.sa_flags = SA_RESTART; /* glibc's signal() has BSD semantics */
    sigemptyset(&act.sa_mask);
    if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
    return old.sa_handler;
}

int kill(pid_t pid, int sig) {
    if (!ipclab_tracing) return REAL.kill(pid, sig);
    /* Begun before the call: the delivery (recorded by the receiver's handler) comes after it in time. */
    int64_t args[5] = { pid, sig, -1, in_handler > 0, getuid() };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "kill", -1, args, 5);
    int r = REAL.kill(pid, sig);
    int err = r < 0 ? errno : 0;
    ipclab_end(slot, r, err, NULL, 0);
    if (err) errno = err;
    return r;
}

int raise(int sig) {
    if (!ipclab_tracing) return REAL.raise(sig);
    /* Recorded as the kill(getpid(), sig) it amounts to in a single-threaded program, before it is made:
     * the signal may end the process. */
    int64_t args[5] = { getpid(), sig, -1, in_handler > 0, getuid() };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "kill", -1, args, 5);
    int r = REAL.raise(sig);
    int err = r != 0 ? errno : 0;
    ipclab_end(slot, r, err, NULL, 0);
    if (err) errno = err;
    return r;
}

int sigqueue(pid_t pid, int sig, const union sigval value) {
    if (!ipclab_tracing) return REAL.sigqueue(pid, sig, value);
    int64_t args[6] = { pid, sig, value.sival_int, -1, getuid(), 0 };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "sigqueue", -1, args, 6);
    int r = REAL.sigqueue(pid, sig, value);
    int err = r < 0 ? errno : 0;
    ipclab_end(slot, r, err, NULL, 0);
    if (err) errno = err;
    return r;
}

static int64_t bits(const sigset_t *set) {
    if (!set) return 0;
    uint64_t out = 0;
    for (int s = 1; s <= 64 && s < NSIG; s++) if (sigismember(set, s) == 1) out |= 1ULL << (s - 1);
    return (int64_t)out;
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old) {
    if (!ipclab_tracing) return REAL.sigprocmask(how, set, old);
    sigset_t before;
    int r = REAL.sigprocmask(how, set, &before);
    int err = r < 0 ? errno : 0;
    if (r == 0 && old) *old = before;
    int64_t args[3] = { how, bits(set), r == 0 ? bits(&before) : 0 };
    ipclab_record_now(IPCLAB_REC_EVENT, "sigprocmask", -1, args, 3, r, err, NULL, 0);
    if (err) errno = err;
    return r;
}

/* pause(2) and sigsuspend(2) wait for a signal: recorded as the vocabulary's ppoll with no
 * descriptors and no timeout (args: timeout_ms -1, until_handled, handled, sigmask). */
static int64_t handled_total(void) {
    int64_t n = 0;
    for (int s = 1; s < NSIG; s++) n += handled[s];
    return n;
}

/* pause and sigsuspend alike: a wait for a signal (ppoll in the vocabulary) that records how many
 * handlers had run before and after it; sigsuspend's temporary mask with it. */
static int traced_suspend(const sigset_t *mask, int is_sigsuspend) {
    int64_t args[4] = { -1, 1, handled_total(), bits(mask) };
    uint32_t slot = ipclab_begin(IPCLAB_REC_EVENT, "ppoll", -1, args, 4);
    int r = is_sigsuspend ? REAL.sigsuspend(mask) : REAL.pause();
    int err = r < 0 ? errno : 0;
    ipclab_record *rec = ipclab_ring_record_bound(slot);
    if (rec) rec->args[2] = handled_total();
    ipclab_end(slot, r, err, NULL, 0);
    errno = err;
    return r;
}

int pause(void) {
    if (!ipclab_tracing) return REAL.pause();
    return traced_suspend(NULL, 0);
}

int sigsuspend(const sigset_t *mask) {
    if (!ipclab_tracing) return REAL.sigsuspend(mask);
    return traced_suspend(mask, 1);
}
