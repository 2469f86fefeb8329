/*
 * ipclab_shm.h — shared memory for IPC Lab: the SysV and POSIX calls Swift cannot make
 * comfortably, and the memory accesses of the `shm.*` experiments, written in C so that
 * what runs is exactly what the trace says: a load, an add, a store.
 *
 * Every function is prefixed `ipclab_`.
 */
#ifndef IPCLAB_SHM_H
#define IPCLAB_SHM_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/** What shmctl(IPC_STAT) says about a segment. */
typedef struct ipclab_shm_status {
    int64_t key;       /* shm_perm.__key (0, IPC_PRIVATE, once IPC_RMID marked it) */
    int64_t size;      /* shm_segsz */
    int64_t nattch;    /* shm_nattch */
    int64_t removed;   /* 1 when SHM_DEST is set: IPC_RMID ran, destroyed at the last detach */
    int64_t cpid;      /* shm_cpid */
    int64_t lpid;      /* shm_lpid: the last process to attach or detach */
} ipclab_shm_status;

/** shmctl(id, IPC_STAT): 0 and `*out` filled, or -1 with errno. */
int ipclab_shm_stat(int shmid, ipclab_shm_status *out);

/** shmctl(id, IPC_RMID, NULL). */
int ipclab_shm_remove(int shmid);

/** mknod(path, S_IFREG | mode, 0): a regular file to ftok(3), made without opening it. */
int ipclab_make_file(const char *path, unsigned mode);

/** process_vm_readv(2) on this process: reads `len` bytes at `address`, or -1 with EFAULT when
 * the address is not mapped (readable) here. A bad pointer is reported, not dereferenced. */
ssize_t ipclab_read_own_memory(uint64_t address, void *buf, size_t len);

/* --- memory accesses on a shared counter --------------------------------- */

/** One volatile 8-byte load. */
int64_t ipclab_load_i64(const void *p);

/** One volatile 8-byte store. */
void ipclab_store_i64(void *p, int64_t value);

/** __atomic_fetch_add(p, value, SEQ_CST): one indivisible read-modify-write (`lock xadd`). */
int64_t ipclab_atomic_fetch_add_i64(void *p, int64_t value);

/**
 * Adds 1 to `*counter` `times` times with no synchronisation: each iteration is a volatile
 * load, an add in a register, and a volatile store. Another process's store that lands between
 * this one's load and store is overwritten: that is a lost update.
 * `first` gets the value of the first load, `last` the value of the last store.
 */
int64_t ipclab_add_unsynchronised(void *counter, int64_t times, int64_t *first, int64_t *last);

/** The same with one atomic fetch-add per iteration. */
int64_t ipclab_add_atomic(void *counter, int64_t times, int64_t *first, int64_t *last);

/**
 * The same as ipclab_add_unsynchronised, but each load-add-store is done between a wait and a
 * post on a semaphore: `sem` (a POSIX sem_t *), or SysV semaphore set `semid` (number 0) when
 * `sem` is NULL. Returns the iterations done; stops at the first failed wait or post, with
 * errno set (EINTR is retried).
 */
int64_t ipclab_add_with_semaphore(void *counter, int64_t times, void *sem, int semid,
                                  int64_t *first, int64_t *last);

/**
 * A barrier in shared memory at `p`, laid out as int64 [arrived, go, stamp 1 … stamp count].
 * `ipclab_barrier_arrive` adds 1 to `arrived` and returns this process's arrival (1 for the
 * first). `ipclab_barrier_wait` then spins, writing the time into the process's stamp; once all
 * have arrived, they leave together (the first to see it sets `go`) when as many of them as there
 * are CPUs have fresh stamps, i.e. are running at that moment; or 100 ms after the last arrival.
 * The arrival count is shared memory any process of the run may overwrite: `ipclab_barrier_wait`
 * returns -1 with errno EPROTO, touching nothing, when `me` is not in 1…count; else 0.
 */
int64_t ipclab_barrier_arrive(void *p);
int ipclab_barrier_wait(void *p, int64_t count, int64_t me);

/** sched_setaffinity(2) to the `n`-th (modulo their number) of the CPUs this process may use;
 * returns that CPU's number, or -1 with errno. */
int ipclab_pin_to_nth_cpu(int64_t n);

#endif /* IPCLAB_SHM_H */
