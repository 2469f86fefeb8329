/*
 * ipclab_limits.h — per-run resource limits: rlimits and the CPU timer set in a run,
 * the counters of the run's cgroups read by the spawner, and the steps that push on
 * each limit (spin, allocate, fork_children, open_files) with their loops in C, where
 * a fork must be followed only by async-signal-safe code.
 */
#ifndef IPCLAB_LIMITS_H
#define IPCLAB_LIMITS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/* --- rlimits and the CPU timer -------------------------------------------- */

/** The size a ready init mounts the run's /tmp with before any run's limits are known: the default
 *  `file_bytes` (RunLimits.swift). A run with another needs a remount after go, which the last
 *  seccomp filter refuses: its init installs that filter at go (SpawnMessage.filterAtGo). */
#define IPCLAB_READY_TMP_BYTES (16 << 20)

/** setrlimit(resource, {soft, hard}); resource is one of the IPCLAB_RLIMIT_* below. */
int ipclab_set_rlimit(int resource, uint64_t soft, uint64_t hard);

extern const int IPCLAB_RLIMIT_NOFILE;
extern const int IPCLAB_RLIMIT_FSIZE;
extern const int IPCLAB_RLIMIT_CPU;
extern const int IPCLAB_RLIMIT_AS;
extern const int IPCLAB_RLIMIT_NPROC;
extern const int IPCLAB_RLIMIT_CORE;

/** This process's virtual size in bytes (from /proc/self/statm), or -1. */
int64_t ipclab_virtual_size(void);

/**
 * Arms a one-shot timer on this process's CPU clock (CLOCK_PROCESS_CPUTIME_ID) that sends
 * SIGXCPU after `ms` of CPU time. Timers are not inherited across fork: each process arms its own.
 */
int ipclab_arm_cpu_timer(int64_t ms);

/** CPU time (user + system) this process has used, in ns. */
int64_t ipclab_process_cpu_ns(void);

/* --- the steps that push on a limit --------------------------------------- */

/** Burns CPU until this process has used `ms` more of it; returns the CPU ns used by the loop. */
int64_t ipclab_spin(int64_t ms);

/**
 * mmap(2)s `bytes` of private anonymous memory (kept until the process ends) and writes one byte
 * per page. Returns 0 or -1 (errno) from mmap; `*touched` gets the bytes whose pages were written,
 * updated as it goes (it may live in the event ring, so a killed process leaves how far it got).
 */
int ipclab_allocate(int64_t bytes, int64_t *touched);

/**
 * Forks up to `count` children that each sleep `sleep_ms` and _exit(0); stops at the first fork
 * that fails. Then reaps every child it made. Returns how many forks succeeded; `*first_errno`
 * gets the errno of the failed fork (0 if none), `*reaped` how many were reaped.
 * Only async-signal-safe calls run in the children.
 */
int ipclab_fork_children(int count, int sleep_ms, int *first_errno, int *reaped);

/** Opens /dev/null up to `count` times, stopping at the first failure, then closes them all.
 *  Returns how many opens succeeded; `*first_errno` gets the failed open's errno (0 if none). */
int ipclab_open_files(int count, int *first_errno);

/* --- cgroup files (kept open by the spawner) ------------------------------ */

/** Reads a cgroup file from offset 0 and returns the number after `key` (a line "key N"), or the
 *  file's first number when `key` is NULL; "max" reads as INT64_MAX. -1 on error. */
int64_t ipclab_cgroup_read(int fd, const char *key);

/** Writes `value` as decimal text to a cgroup file. 0 or -1 (errno). */
int ipclab_cgroup_write(int fd, int64_t value);

/** The byte offset of the evidence in a ring header, for the spawner's pwrite. */
size_t ipclab_ring_evidence_offset(void);

#endif /* IPCLAB_LIMITS_H */
