/*
 * main.c — `ipclab-runner`, the C runner (docs/c-runner.md): a static-pie image the spawner execs
 * instead of `ipclab-sandbox runner` when the server runs flat plans. Its arguments are written by
 * the spawner (SlotForker.Image), not by people:
 *
 *   ipclab-runner runner --reexec-every N   the runner's loop (slot.c), request socket on fd 3
 *   ipclab-runner check-plan                 for tests: plans on stdin, each a u32 length then its
 *                                            bytes; one byte out per plan: 'Y' loaded, 'N' refused
 *                                            with EINVAL, 'X' refused otherwise (runner_plan_load)
 */
#include "runner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

_Noreturn static void usage(const char *why) {
    char line[160] = "ipclab-runner: ";
    runner_append(line, sizeof line, why);
    runner_append(line, sizeof line, " (internal: started by the spawner as `ipclab-runner runner --reexec-every N`)\n");
    ssize_t n = write(2, line, strlen(line));
    (void)n;
    _exit(2);
}

static int read_all(int fd, void *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        got += (size_t)n;
    }
    return 1;
}

/* The loader on plans a test made (truncated, mutated, random): it must refuse, never crash. */
static int check_plans(void) {
    uint32_t length;
    while (read_all(0, &length, sizeof length)) {
        char *bytes = malloc(length ? length : 1);
        if (!bytes || !read_all(0, bytes, length)) return 1;
        runner_plan plan;
        char verdict = 'Y';
        errno = 0;
        if (runner_plan_load(bytes, length, &plan) != 0) verdict = errno == EINVAL ? 'N' : 'X';
        else munmap((void *)plan.header, (size_t)length + 1);
        free(bytes);
        if (write(1, &verdict, 1) != 1) return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "check-plan") == 0 && argc == 2) _exit(check_plans());
    if (argc < 2 || strcmp(argv[1], "runner") != 0) usage("unknown command");
    long every = 64;
    int base_filter_held = 0;
    for (int i = 2; i < argc; i++) {
        /* Only the runner's own re-exec says so (slot.c): its filter survived the exec. */
        if (strcmp(argv[i], "--base-filter-held") == 0) {
            base_filter_held = 1;
            continue;
        }
        if (strcmp(argv[i], "--reexec-every") == 0 && i + 1 < argc) {
            char *end = NULL;
            every = strtol(argv[++i], &end, 10);
            if (!end || *end || every < 1 || every > 1000000) usage("--reexec-every needs a number of at least 1");
        } else {
            usage("unknown argument");
        }
    }
    runner_serve((int)every, base_filter_held);
}
