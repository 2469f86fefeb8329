/* Signals as a crude IPC: a ping with SIGUSR1 and a pong with SIGUSR2.
 *
 * Both handlers are installed with sigaction() and only set a flag (a handler may call only
 * async-signal-safe functions). The signals are blocked before fork(), and each process waits
 * with sigsuspend(), which unblocks them and sleeps in one step: a signal sent before the
 * receiver is ready stays pending instead of being lost.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_signal = 0;

static void on_signal(int sig) {
    got_signal = sig;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* Sleeps until the handler has run for `sig`. */
static void wait_for(int sig) {
    sigset_t during;
    sigemptyset(&during); /* nothing blocked while we sleep */
    while (got_signal != sig) sigsuspend(&during);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) == -1) die("sigaction SIGUSR1");
    if (sigaction(SIGUSR2, &sa, NULL) == -1) die("sigaction SIGUSR2");

    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    if (sigprocmask(SIG_BLOCK, &both, NULL) == -1) die("sigprocmask");

    fflush(stdout);
    pid_t child = fork(); /* the child inherits the handlers and the blocked mask */
    if (child == -1) die("fork");

    if (child == 0) {
        wait_for(SIGUSR1);
        printf("child: got SIGUSR1, answering with SIGUSR2\n");
        fflush(stdout);
        if (kill(getppid(), SIGUSR2) == -1) die("kill parent");
        return 0;
    }

    if (kill(child, SIGUSR1) == -1) die("kill child");
    wait_for(SIGUSR2);
    printf("parent: got SIGUSR2 back from the child\n");

    int status;
    if (waitpid(child, &status, 0) == -1) die("waitpid");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
