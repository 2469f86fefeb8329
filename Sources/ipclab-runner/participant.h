/*
 * participant.h — the run's processes in the C runner: what the run's init calls once it has
 * forked the first process (participant_start), and what each participant does from there —
 * the C port of Sources/IPCLabSandbox/Participant/ (docs/c-runner.md §3.3, §4.3).
 */
#ifndef IPCLAB_RUNNER_PARTICIPANT_H
#define IPCLAB_RUNNER_PARTICIPANT_H

#include <stddef.h>
#include "ipclab.h"
#include "runner_plan.h"

/**
 * Runs the first process of a run, in the child the init forked (the control socket already
 * closed, the lockdown in force): records its start, creates every channel, forks the other
 * processes in order (each begins, confines itself and runs its own steps), confines itself and
 * runs its steps; every participant ends with `_exit`. `ring` and `ring_size` are the init's
 * mapping of the ring (already bound by the init: the participant binds again under its index);
 * `limits` is the init's private copy of the run's limits (cpu_ms arms each process's CPU timer).
 * `confine_each`: each process stacks its own filter (process_vm_readv/writev only on itself); 0
 * when the run's last filter already refuses both to every process (setup_lockdown).
 */
_Noreturn void participant_start(const runner_plan *plan, void *ring, size_t ring_size,
                                 const ipclab_run_limits *limits, int confine_each);

#endif
