/*
 * participant_harness.c — runs a flat plan's participants (participant_start) outside the sandbox and
 * prints the raw records they left in the ring, one JSON object per line, for compare_participant.py
 * to set beside what the Swift runner recorded for the same scenario.
 *
 *   participant_harness PLAN_FILE [WALL_MS [CPU_MS]]   run a plan (ipclab_plan.h bytes), print its records
 *   participant_harness --jitter SEED PROCESS JITTER_US COUNT   print COUNT delays of the jitter
 *
 * It does what the run's init does around the first process, without namespaces: a ring in a memfd
 * (ipclab_ring_init), the recorder bound as the init (-1), the clock started, the first process forked
 * (descriptors from 3 up closed, as the init closes them) and every process reaped, orphans included
 * (child subreaper), each with its REAP record, under a wall-clock limit. The plan is taken as it is
 * (the harness writes its own plans; the run's init validates with runner_plan_load).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipclab.h"
#include "participant.h"
#include "participant_internal.h"

static pid_t first;

static void on_alarm(int sig) {
    (void)sig;
    /* The first process first: a parent blocked in wait4 could otherwise reap a child killed at the
     * same time and die before recording the reap. Its children, reparented here, go once it is reaped. */
    if (first > 0) kill(first, SIGKILL);
}

static int64_t ns(struct timeval t) { return (int64_t)t.tv_sec * 1000000000 + (int64_t)t.tv_usec * 1000; }

static void print_record(uint32_t i, const ipclab_record *r) {
    char call[IPCLAB_CALL_MAX + 1];
    memcpy(call, r->call, IPCLAB_CALL_MAX);
    call[IPCLAB_CALL_MAX] = 0;
    printf("{\"index\":%u,\"state\":%u,\"kind\":%u,\"process\":%d,\"pid\":%d,\"step\":%d,\"t_begin\":%" PRId64
           ",\"t_end\":%" PRId64 ",\"result\":%" PRId64 ",\"err\":%d,\"payload_len\":%u,\"call\":\"",
           i, ipclab_record_state(r), r->kind, r->process, r->pid, r->step, r->t_begin, r->t_end, r->result, r->err,
           r->payload_len);
    for (const char *c = call; *c; c++) {
        if (*c == '"' || *c == '\\') putchar('\\');
        putchar(*c);
    }
    printf("\",\"args\":[");
    for (int a = 0; a < IPCLAB_ARGS_MAX; a++) printf("%s%" PRId64, a ? "," : "", r->args[a]);
    printf("],\"payload\":\"");
    uint32_t n = r->payload_len < IPCLAB_PAYLOAD_MAX ? r->payload_len : IPCLAB_PAYLOAD_MAX;
    for (uint32_t b = 0; b < n; b++) printf("%02x", r->payload[b]);
    printf("\"}\n");
}

static int jitter_vector(char **argv) {
    participant_jitter j = participant_jitter_make(strtoll(argv[2], NULL, 10), atoi(argv[3]), strtoll(argv[4], NULL, 10));
    int count = atoi(argv[5]);
    for (int i = 0; i < count; i++) printf("%" PRIu64 "\n", participant_jitter_next(&j));
    return 0;
}

static int load_plan(const char *path, runner_plan *plan) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(ipclab_plan_header)) return -1;
    uint8_t *bytes = aligned_alloc(8, ((size_t)st.st_size + 7) & ~(size_t)7);
    if (!bytes || read(fd, bytes, (size_t)st.st_size) != st.st_size) return -1;
    close(fd);
    const ipclab_plan_header *h = (const void *)bytes;
    if (h->magic != IPCLAB_PLAN_MAGIC || h->length != (uint32_t)st.st_size) return -1;
    plan->header = h;
    plan->channels = (const void *)(bytes + h->off_channels);
    plan->processes = (const void *)(bytes + h->off_processes);
    plan->steps = (const void *)(bytes + h->off_steps);
    plan->strings = (const char *)(bytes + h->off_strings);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "--jitter") == 0) return jitter_vector(argv);
    if (argc < 2) {
        fprintf(stderr, "usage: %s PLAN_FILE [WALL_MS [CPU_MS]] | --jitter SEED PROCESS JITTER_US COUNT\n", argv[0]);
        return 2;
    }
    runner_plan plan;
    if (load_plan(argv[1], &plan) != 0) {
        fprintf(stderr, "participant_harness: %s is not a flat plan\n", argv[1]);
        return 2;
    }
    unsigned wall_ms = argc > 2 ? (unsigned)atoi(argv[2]) : 2000;
    int64_t cpu_ms = argc > 3 ? strtoll(argv[3], NULL, 10) : 10000;

    uint32_t capacity = 16384 + IPCLAB_INIT_RESERVE;
    size_t size = ipclab_ring_size(capacity, 0);
    int ring_fd = ipclab_memfd("ipclab-harness-ring");
    if (ring_fd < 0 || ftruncate(ring_fd, (off_t)size) != 0) return 3;
    void *ring = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, ring_fd, 0);
    if (ring == MAP_FAILED) return 3;
    ipclab_ring_init(ring, capacity, 0);
    ipclab_run_limits limits = { .wall_ms = wall_ms, .cpu_ms = cpu_ms, .memory_bytes = 64 << 20,
                                 .processes = 32, .open_files = 256, .file_bytes = 16 << 20 };
    ((ipclab_ring_header *)ring)->limits = limits;
    if (ipclab_recorder_bind(ring, size, -1) != 0) return 3;
    ipclab_recorder_start_clock();
    (void)ipclab_set_child_subreaper();
    fflush(stdout);

    first = fork();
    if (first == 0) {
        setpgid(0, 0);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        ipclab_close_range(3, ~0U);
        participant_start(&plan, ring, size, &limits, 1); /* no run filter here: each confines itself */
    }
    if (first < 0) return 3;
    setpgid(first, first);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: the wait below returns EINTR, which says the run timed out */
    sigaction(SIGALRM, &sa, NULL);
    alarm((wall_ms + 999) / 1000);
    int timed_out = 0;
    for (;;) {
        int status = 0;
        struct rusage usage;
        pid_t pid = wait4(-1, &status, 0, &usage);
        if (pid > 0) {
            if (pid == first && timed_out) kill(-first, SIGKILL);
            int64_t args[4] = { pid, status, ns(usage.ru_utime), ns(usage.ru_stime) };
            ipclab_record_now(IPCLAB_REC_REAP, "reap", -1, args, 4, pid, 0, NULL, 0);
            continue;
        }
        if (errno == EINTR) {
            timed_out = 1;
            continue;
        }
        break;
    }
    uint32_t n = ipclab_ring_claimed(ring, capacity);
    for (uint32_t i = 0; i < n; i++) print_record(i, ipclab_ring_record(ring, i));
    printf("{\"outcome\":\"%s\"}\n", timed_out ? "timeout" : "ok");
    return 0;
}
