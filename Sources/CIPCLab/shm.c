/* shm.c — SysV/POSIX shared-memory helpers and the memory accesses of the shm experiments. */
#include "ipclab_shm.h"

#include <errno.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ipclab_sem.h"

/* An empty asm that claims to change `v`: it emits no instruction, but keeps the compiler from
 * fusing a volatile load and store into one read-modify-write instruction (`incq (mem)`), so the
 * machine code is what the trace says: a load into a register, an add, a store. */
#define IN_A_REGISTER(v) __asm__ volatile("" : "+r"(v))

int ipclab_shm_stat(int shmid, ipclab_shm_status *out) {
    struct shmid_ds ds;
    if (shmctl(shmid, IPC_STAT, &ds) != 0) return -1;
    out->key = (int64_t)ds.shm_perm.__key;
    out->size = (int64_t)ds.shm_segsz;
    out->nattch = (int64_t)ds.shm_nattch;
    out->removed = (ds.shm_perm.mode & SHM_DEST) ? 1 : 0;
    out->cpid = (int64_t)ds.shm_cpid;
    out->lpid = (int64_t)ds.shm_lpid;
    return 0;
}

int ipclab_shm_remove(int shmid) { return shmctl(shmid, IPC_RMID, NULL); }

int ipclab_make_file(const char *path, unsigned mode) {
    return mknod(path, S_IFREG | (mode & 07777), 0);
}

ssize_t ipclab_read_own_memory(uint64_t address, void *buf, size_t len) {
    struct iovec local = { .iov_base = buf, .iov_len = len };
    struct iovec remote = { .iov_base = (void *)(uintptr_t)address, .iov_len = len };
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
}

int64_t ipclab_load_i64(const void *p) { return *(const volatile int64_t *)p; }

void ipclab_store_i64(void *p, int64_t value) { *(volatile int64_t *)p = value; }

int64_t ipclab_atomic_fetch_add_i64(void *p, int64_t value) {
    return __atomic_fetch_add((int64_t *)p, value, __ATOMIC_SEQ_CST);
}

int64_t ipclab_add_unsynchronised(void *counter, int64_t times, int64_t *first, int64_t *last) {
    volatile int64_t *c = counter;
    if (times <= 0) return 0;
    int64_t v = *c;                 /* the first iteration, peeled to report what it loaded */
    IN_A_REGISTER(v);
    *c = v + 1;
    *first = v;
    for (int64_t i = 1; i < times; i++) {
        v = *c;                     /* load */
        IN_A_REGISTER(v);
        *c = v + 1;                 /* add in a register, store: a store by another process since the load is lost */
    }
    *last = v + 1;
    return times;
}

int64_t ipclab_add_atomic(void *counter, int64_t times, int64_t *first, int64_t *last) {
    int64_t v = 0;
    for (int64_t i = 0; i < times; i++) {
        v = __atomic_fetch_add((int64_t *)counter, 1, __ATOMIC_SEQ_CST);
        if (i == 0) *first = v;
    }
    if (times > 0) *last = v + 1;
    return times;
}

static int down(void *sem, int semid) {
    int r;
    do {
        r = sem ? sem_wait((sem_t *)sem) : ipclab_semop(semid, -1, 0);
    } while (r != 0 && errno == EINTR);
    return r;
}

static int up(void *sem, int semid) {
    return sem ? sem_post((sem_t *)sem) : ipclab_semop(semid, 1, 0);
}

int64_t ipclab_add_with_semaphore(void *counter, int64_t times, void *sem, int semid,
                                  int64_t *first, int64_t *last) {
    volatile int64_t *c = counter;
    for (int64_t i = 0; i < times; i++) {
        if (down(sem, semid) != 0) return i;
        int64_t v = *c;             /* the same load-add-store, now inside the critical section */
        IN_A_REGISTER(v);
        *c = v + 1;
        if (up(sem, semid) != 0) return i;
        if (i == 0) *first = v;
        *last = v + 1;
    }
    return times;
}

static int64_t monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t ipclab_barrier_arrive(void *p) {
    return __atomic_add_fetch((int64_t *)p, 1, __ATOMIC_SEQ_CST);
}

int ipclab_barrier_wait(void *p, int64_t count, int64_t me) {
    int64_t *arrived = p, *go = arrived + 1, *beats = arrived + 2;
    /* `me` came from the shared arrival count, which any process of the run may overwrite: it picks
     * the time-stamp slot written below, so anything but 1…count is refused, not followed. */
    if (me < 1 || me > count) {
        errno = EPROTO;
        return -1;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t needed = count < cpus ? count : (cpus > 0 ? cpus : 1);
    int64_t all_arrived = 0;
    for (;;) {
        int64_t now = monotonic_now();
        __atomic_store_n(&beats[me - 1], now, __ATOMIC_RELEASE);
        if (__atomic_load_n(go, __ATOMIC_ACQUIRE)) break;
        if (__atomic_load_n(arrived, __ATOMIC_ACQUIRE) < count) continue;
        if (!all_arrived) all_arrived = now;
        /* Everyone is here: leave when as many as can run at once were running within the last
         * 20 µs (their time stamps are that fresh), or 100 ms after the last arrival at the latest. */
        int64_t fresh = 0;
        for (int64_t i = 0; i < count; i++) {
            if (now - __atomic_load_n(&beats[i], __ATOMIC_ACQUIRE) < 20000) fresh++;
        }
        if (fresh >= needed || now - all_arrived > 100000000) {
            __atomic_store_n(go, 1, __ATOMIC_RELEASE);
            break;
        }
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    return 0;
}

int ipclab_pin_to_nth_cpu(int64_t n) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    int count = CPU_COUNT(&allowed);
    if (count <= 0) {
        errno = EINVAL;
        return -1;
    }
    int want = (int)(n % count), seen = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        if (seen++ != want) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        return sched_setaffinity(0, sizeof one, &one) == 0 ? cpu : -1;
    }
    errno = EINVAL;
    return -1;
}
