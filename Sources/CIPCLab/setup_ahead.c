/*
 * setup_ahead.c — the names of the operations a ready init may do ahead of its run, in the order it
 * does them (Sources/ipclab-runner/setup.c): the one set-up record IPCLAB_SETUP_AHEAD_CALL names them
 * by bit, and the server (TraceBuilder) names them back from this same table.
 */
#include "ipclab.h"

static const char *const names[] = {
    "setresgid 0 (userns)",
    "setresuid 0 (userns)",
    "setgroups none",
    "make / private",
    "make / read-only",
    "mount tmpfs /tmp",
    "mount tmpfs /dev/shm",
    "mount proc /proc",
    "RLIMIT_MSGQUEUE 204800",
    "sethostname ipclab",
    "stdio to /dev/null",
    "loopback up",
};

const char *ipclab_setup_ahead_name(int index) {
    return index >= 0 && index < (int)(sizeof names / sizeof names[0]) ? names[index] : 0;
}
