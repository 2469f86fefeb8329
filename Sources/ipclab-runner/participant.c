/*
 * participant.c — a run's process in the C runner: the C port of
 * Sources/IPCLabSandbox/Participant/Participant.swift (docs/c-runner.md §3.3).
 *
 * The first process records its start, creates the channels, forks the others in order, confines
 * itself and runs its steps; each other process begins, confines itself and runs its own. Every one
 * ends with `_exit`, never `exit` (no atexit handlers of the static libc run in a participant), and
 * nothing here allocates or uses stdio: signal handlers (signals.c) record from inside any step.
 */
#include "participant.h"
#include "participant_internal.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipclab_limits.h"
#include "ipclab_seccomp.h"
#include "ipclab_shm.h"

participant participant_self;

/* --- recording ------------------------------------------------------------------------------------ */

uint32_t participant_begin(const char *call, int step, const int64_t *args, int nargs) {
    return ipclab_begin(IPCLAB_REC_EVENT, call, step, args, nargs);
}

void participant_end(uint32_t slot, int64_t result, int err, const void *payload, int64_t moved) {
    size_t n = moved > 0 ? (size_t)moved : 0;
    ipclab_end(slot, result, err, payload, payload ? n : 0);
}

uint32_t participant_instant(const char *call, int step, const int64_t *args, int nargs,
                             int64_t result, int err) {
    return ipclab_record_now(IPCLAB_REC_EVENT, call, step, args, nargs, result, err, NULL, 0);
}

ipclab_record *participant_record(uint32_t slot) {
    /* The recorder checked its own copy of the capacity when it claimed `slot`. */
    if (slot == PARTICIPANT_NO_RECORD || slot >= ipclab_recorder_capacity()) return NULL;
    return ipclab_ring_record(participant_self.ring, slot);
}

/* --- buffers (mapped on first use: no malloc, and the init's image stays small) ------------------- */

static uint8_t *io_buffer;
static uint8_t *data_buffer;
static int64_t data_bytes = -1;

static uint8_t *map_buffer(void) {
    void *p = mmap(NULL, PARTICIPANT_BUFFER_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

uint8_t *participant_buffer(void) {
    if (!io_buffer) io_buffer = map_buffer();
    return io_buffer;
}

const uint8_t *participant_size_data(int64_t n) {
    if (n > PARTICIPANT_BUFFER_BYTES) n = PARTICIPANT_BUFFER_BYTES;
    if (!data_buffer) data_buffer = map_buffer();
    if (!data_buffer) return NULL;
    /* The pattern only grows: a shorter size reuses the prefix already written. */
    for (int64_t i = data_bytes < 0 ? 0 : data_bytes; i < n; i++) data_buffer[i] = (uint8_t)('a' + i % 26);
    if (n > data_bytes) data_bytes = n;
    return data_buffer;
}

/* --- the participant -------------------------------------------------------------------------------- */

pid_t participant_pid_of(int process) {
    if (process < 0 || process >= participant_self.plan->header->nprocesses) return -1;
    for (;;) {
        /* The table of pids is shared memory: only a pid a process of the run can have is taken
         * (1 is the run's init; 0 and below would name process groups or every process). */
        int32_t pid = ipclab_participant_pid(process);
        if (pid > 1) return pid;
        usleep(50);
    }
}

_Noreturn void participant_exit(int code, int step) {
    int64_t args[1] = { code };
    (void)participant_begin("exit", step, args, 1);
    _exit(code);
}

/* What every participant does first: a clean signal mask (the dispositions are already the
 * defaults: the init reset them), the recorder under its index, the CPU timer, its name, and a start
 * record — before the pid is published, so that a process that signals this one by name (and may
 * kill it at once) waits for the pid, and the trace always knows the pid. */
static void begin(void) {
    participant *p = &participant_self;
    ipclab_sigmask_clear();
    (void)ipclab_recorder_bind(p->ring, p->ring_size, p->index);
    if (p->cpu_ms > 0) (void)ipclab_arm_cpu_timer(p->cpu_ms);
    (void)ipclab_set_process_name(participant_string(p->plan->processes[p->index].name));
    int64_t args[1] = { getppid() };
    (void)ipclab_record_now(IPCLAB_REC_START, "start", -1, args, 1, getpid(), 0, NULL, 0);
    ipclab_publish_pid(p->index, getpid());
}

/* This process's own seccomp filter on top of the run's: process_vm_readv/writev only on itself.
 * The first process installs it after forking the others, which would otherwise inherit its pid.
 * Only in a run that reads its own memory: otherwise the run's last filter refuses both calls. */
static void confine(void) {
    if (participant_self.confine_each) (void)ipclab_seccomp_restrict_process_vm(getpid());
}

/* Creates every channel before anyone forks, so that all processes inherit them (each family's
 * channels in its participant_<family>.c). */
static void create_channels(void) {
    const runner_plan *plan = participant_self.plan;
    for (int c = 0; c < plan->header->nchannels; c++) {
        switch (plan->channels[c].kind) {
        case IPCLAB_PLAN_CHANNEL_PIPE:
        case IPCLAB_PLAN_CHANNEL_FIFO:
            participant_create_pipe_channel(c);
            break;
        /* shared memory and semaphores */
        case IPCLAB_PLAN_CHANNEL_SHARED_MEMORY:
            participant_create_shm_channel(c);
            break;
        case IPCLAB_PLAN_CHANNEL_SEMAPHORE:
            participant_create_sem_channel(c);
            break;

        /* message queues and sockets */
        case IPCLAB_PLAN_CHANNEL_MESSAGE_QUEUE:
            participant_create_mq_channel(c);
            break;
        case IPCLAB_PLAN_CHANNEL_SOCKET:
            participant_create_socket_channel(c);
            break;

        default:
            break;
        }
    }
}

static void run_step(const ipclab_plan_step *s, int step) {
    switch (s->op >> 8) {
    case 0x01: participant_run_process_step(s, step); break;
    case 0x02: participant_run_pipe_step(s, step); break;
    /* signals, sandbox probes, measurements */
    case 0x03: participant_run_signal_step(s, step); break;
    case 0x09: participant_run_sandbox_step(s, step); break;
    case 0x0A: participant_run_bench_step(s, step); break;

    /* shared memory and semaphores */
    case 0x04: participant_run_shm_step(s, step); break;
    case 0x05: participant_run_sem_step(s, step); break;

    /* send, message queues and sockets */
    case 0x06: participant_run_send_step(s, step); break;
    case 0x07: participant_run_mq_step(s, step); break;
    case 0x08: participant_run_socket_step(s, step); break;

    default: {
        /* The validator knows every op the plan may hold; one no family here runs is said, not skipped silently. */
        int64_t args[1] = { s->op };
        (void)ipclab_record_now(IPCLAB_REC_NOTE, "unsupported step", step, args, 1, -1, ENOSYS, NULL, 0);
        break;
    }
    }
}

/* Runs the steps in order (pinned as the schedule says, each after its pseudo-random pause), then exits 0. */
static _Noreturn void run_steps(void) {
    participant *p = &participant_self;
    const ipclab_plan_header *h = p->plan->header;
    int jittered = h->jitter_us > 0;
    participant_jitter j = participant_jitter_make(h->seed, p->index, h->jitter_us);
    if (h->cpus == IPCLAB_PLAN_CPUS_ONE) (void)ipclab_pin_to_nth_cpu(0);
    else if (h->cpus == IPCLAB_PLAN_CPUS_SPREAD) (void)ipclab_pin_to_nth_cpu(p->index);
    const ipclab_plan_step *steps = runner_plan_steps(p->plan, p->index);
    uint32_t n = p->plan->processes[p->index].nsteps;
    for (uint32_t i = 0; i < n; i++) {
        /* A perturbed schedule: a pause before each step (not recorded; the step's events show when it ran). */
        if (jittered) {
            uint64_t us = participant_jitter_next(&j);
            if (us > 0) usleep((useconds_t)us);
        }
        run_step(&steps[i], (int)i);
    }
    participant_exit(0, -1);
}

/* Forks every other process in order; each child begins, confines itself and runs its own steps. */
static void fork_others(void) {
    participant *p = &participant_self;
    for (int i = 1; i < p->plan->header->nprocesses; i++) {
        int64_t args[1] = { i };
        uint32_t slot = participant_begin("fork", -1, args, 1);
        pid_t pid = _Fork(); /* as the init forks this process (init.c) */
        if (pid == 0) {
            p->index = i;
            for (int k = 0; k < IPCLAB_PLAN_PROCESSES_MAX; k++) p->children[k] = 0;
            begin();
            confine();
            run_steps();
        }
        int err = pid < 0 ? errno : 0;
        participant_end(slot, pid, err, NULL, 0);
        if (pid > 0) p->children[i] = pid;
    }
}

_Noreturn void participant_start(const runner_plan *plan, void *ring, size_t ring_size,
                                 const ipclab_run_limits *limits, int confine_each) {
    participant *p = &participant_self;
    p->plan = plan;
    p->confine_each = confine_each;
    p->index = 0;
    p->ring = ring;
    p->ring_size = ring_size;
    p->cpu_ms = limits ? limits->cpu_ms : 0;
    for (int c = 0; c < IPCLAB_PLAN_CHANNELS_MAX; c++) p->ends[c] = (participant_ends){ -1, -1 };
    for (int k = 0; k < IPCLAB_PLAN_PROCESSES_MAX; k++) p->children[k] = 0;
    begin();
    create_channels();
    fork_others();
    confine();
    run_steps();
}
