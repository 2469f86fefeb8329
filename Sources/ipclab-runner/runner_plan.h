/*
 * runner_plan.h — the run's flat plan (ipclab_plan.h) as the C runner holds it: a private copy,
 * validated completely once by the run's init before any participant exists (runner_plan.c).
 * Every participant inherits the copy across fork and never reads the ring's plan area again
 * (every process of the run can write the ring).
 */
#ifndef IPCLAB_RUNNER_PLAN_H
#define IPCLAB_RUNNER_PLAN_H

#include <stddef.h>
#include "ipclab_plan.h"

/** A validated plan: every section, count, index and string below was checked by runner_plan_load. */
typedef struct runner_plan {
    const ipclab_plan_header *header;
    const ipclab_plan_channel *channels;   /* header->nchannels */
    const ipclab_plan_process *processes;  /* header->nprocesses */
    const ipclab_plan_step *steps;         /* header->nsteps */
    const char *strings;                   /* the pool: each ipclab_plan_str lies inside it, NUL after */
} runner_plan;

/**
 * Copies `length` bytes of plan at `bytes` (the ring's plan area) into a private anonymous mapping
 * and checks the copy: magic and version, length, every section inside it and 8-aligned, counts
 * within their maxima, every string inside the pool with its NUL, every op known, every channel
 * and process index in range and of the kind its op needs, every process's steps in range.
 * 0 and `out` filled, or -1 with errno EINVAL (the run then ends: "the run's plan could not be read").
 */
int runner_plan_load(const void *bytes, size_t length, runner_plan *out);

/** The NUL-terminated text of a string of a validated plan; "" for an empty one, whatever its
 *  offset (the compiler writes empty strings as offset 0, length 0, with no NUL of their own). */
static inline const char *runner_plan_string(const runner_plan *plan, ipclab_plan_str s) {
    return s.length == 0 ? "" : plan->strings + s.offset;
}

/** Whether any process of a validated plan reads its own memory (a `load_pointer` or `read_pointer`
 *  step: process_vm_readv on itself). 1 or 0. */
int runner_plan_reads_own_memory(const runner_plan *plan);

/** The steps of process `index` of a validated plan. */
static inline const ipclab_plan_step *runner_plan_steps(const runner_plan *plan, int index) {
    return plan->steps + plan->processes[index].first_step;
}

#endif
