/*
 * participant_shm.c — shared-memory channels and steps, and the shm OBJECT snapshot. The C port of
 * Participant+SharedMemory.swift, record for record and argument for argument (EventArguments+
 * SharedMemory.swift names them; the keys are those of Call+SharedMemory.swift). The increment loop
 * and the barrier are in participant_increment.c.
 *
 * A region's mapping is per process: regions[c].address/size hold where this process has it;
 * regions[c].handle the SysV id or the POSIX descriptor, inherited from the first process, which made
 * the object before forking. Every offset and extent of a step was checked against the channel's size
 * by the validator (runner_plan_shm.c), and `size` is what each mapping covers.
 */
#include "participant_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipclab_shm.h"

static const ipclab_plan_channel *spec(int c) { return &participant_self.plan->channels[c]; }

static participant_region *region(int c) { return &participant_self.regions[c]; }

static int64_t addr(const void *p) { return (int64_t)(intptr_t)p; }

static int64_t after_of(uint32_t slot) { return slot == PARTICIPANT_NO_RECORD ? -1 : (int64_t)slot; }

/* SharedMemoryChannel's ftokPath / shmName: the channel's path for its own type, "" otherwise (Swift's `?? ""`). */
static const char *ftok_path(int c) {
    return spec(c)->sub == IPCLAB_PLAN_SHM_SYSV ? participant_string(spec(c)->path) : "";
}

static const char *shm_name(int c) {
    return spec(c)->sub == IPCLAB_PLAN_SHM_POSIX ? participant_string(spec(c)->path) : "";
}

/* Records the segment's state after record `slot`: shmctl(IPC_STAT) for SysV, fstat(2) of the
 * descriptor for POSIX. An anonymous region has no kernel object to ask. */
static void snapshot(int c, uint32_t slot) {
    const participant_region *r = region(c);
    if (spec(c)->sub == IPCLAB_PLAN_SHM_ANONYMOUS || r->handle < 0) return;
    int64_t after = after_of(slot);
    if (spec(c)->sub == IPCLAB_PLAN_SHM_SYSV) {
        ipclab_shm_status st;
        memset(&st, 0, sizeof st);
        int ok = ipclab_shm_stat((int32_t)r->handle, &st);
        int err = ok == 0 ? 0 : errno;
        int64_t args[8] = { c, st.nattch, st.size, after, st.key, r->handle, st.removed, err };
        (void)ipclab_record_now(IPCLAB_REC_OBJECT, "shared_memory", -1, args, 8, ok, 0, NULL, 0);
    } else {
        struct stat st;
        memset(&st, 0, sizeof st);
        int ok = fstat((int32_t)r->handle, &st);
        int err = ok == 0 ? 0 : errno;
        int64_t args[8] = { c, (int64_t)st.st_nlink, (int64_t)st.st_size, after, r->handle, 0, 0, err };
        (void)ipclab_record_now(IPCLAB_REC_OBJECT, "shared_memory", -1, args, 8, ok, 0, NULL, 0);
    }
}

void *participant_map(int c, int64_t length, int prot, int flags, int fd, void *address, int step, uint32_t *slot) {
    void *p = mmap(address, (size_t)length, prot, flags, fd, 0);
    int64_t r = p == MAP_FAILED ? -1 : addr(p);
    int err = r == -1 ? errno : 0;
    int64_t args[7] = { addr(address), length, prot, flags, fd, 0, c };
    *slot = participant_instant("mmap", step, args, 7, r, err);
    return r == -1 ? NULL : p;
}

int participant_make_key(int c, const char *path, int64_t id, int step, int32_t *key) {
    struct stat st;
    if (stat(path, &st) != 0) {
        int r = ipclab_make_file(path, 0600);
        int err = r < 0 ? errno : 0;
        int64_t args[2] = { c, 0600 };
        (void)participant_instant("mknod", step, args, 2, r, err);
    }
    /* A key may be negative (its high bit set): only -1 is a failure. */
    key_t k = ftok(path, (int)id);
    int err = k == -1 ? errno : 0;
    int64_t args[2] = { c, id };
    (void)participant_instant("ftok", step, args, 2, k, err);
    *key = k;
    return k == -1 ? -1 : 0;
}

/* Creates a region before anyone forks (SharedMemoryChannel). */
void participant_create_shm_channel(int c) {
    const ipclab_plan_channel *ch = spec(c);
    participant_region *rg = region(c);
    *rg = (participant_region){ -1, NULL, 0 };
    uint32_t slot;
    switch (ch->sub) {
    case IPCLAB_PLAN_SHM_ANONYMOUS: {
        int flags = ((ch->flags & IPCLAB_PLAN_SHM_PRIVATE) ? MAP_PRIVATE : MAP_SHARED) | MAP_ANONYMOUS;
        void *base = participant_map(c, ch->a, PROT_READ | PROT_WRITE, flags, -1, NULL, -1, &slot);
        if (!base) return;
        rg->address = base;
        rg->size = ch->a;
        if (ch->text.length > 0) {
            /* The validator: the initial text fits the region. */
            const char *text = participant_string(ch->text);
            memcpy(base, text, ch->text.length);
            int64_t args[4] = { addr(base), 0, ch->text.length, c };
            (void)ipclab_record_now(IPCLAB_REC_EVENT, "store", -1, args, 4, ch->text.length, 0, text, ch->text.length);
        }
        return;
    }
    case IPCLAB_PLAN_SHM_SYSV: {
        int32_t key;
        if (participant_make_key(c, ftok_path(c), ch->b, -1, &key) != 0) return;
        int flags = IPC_CREAT | 0600;
        int id = shmget(key, (size_t)ch->a, flags);
        int err = id < 0 ? errno : 0;
        int64_t args[4] = { key, ch->a, flags, c };
        slot = participant_instant("shmget", -1, args, 4, id, err);
        if (id < 0) return;
        rg->handle = id;
        rg->size = ch->a;
        snapshot(c, slot);
        return;
    }
    default: {
        int oflag = O_CREAT | O_RDWR;
        int fd = shm_open(shm_name(c), oflag, 0600);
        int err = fd < 0 ? errno : 0;
        int64_t args[3] = { c, oflag, 0600 };
        uint32_t opened = participant_instant("shm_open", -1, args, 3, fd, err);
        if (fd < 0) return;
        rg->handle = fd;
        rg->size = ch->a;
        snapshot(c, opened);
        int r = ftruncate(fd, (off_t)ch->a);
        err = r < 0 ? errno : 0;
        int64_t targs[3] = { fd, ch->a, c };
        uint32_t sized = participant_instant("ftruncate", -1, targs, 3, r, err);
        snapshot(c, sized);
        return;
    }
    }
}

void *participant_shm_mapped(int c, int step) {
    if (region(c)->address) return region(c)->address;
    int64_t args[1] = { c };
    (void)ipclab_record_now(IPCLAB_REC_NOTE, "not mapped", step, args, 1, -1, EFAULT, NULL, 0);
    return NULL;
}

/* shmat(2) or mmap(2), at `address` if one is asked for (0: none). */
static void attach(int c, int64_t address, int step) {
    const ipclab_plan_channel *ch = spec(c);
    participant_region *rg = region(c);
    void *hint = (void *)(intptr_t)address;
    void *base;
    uint32_t slot;
    if (ch->sub == IPCLAB_PLAN_SHM_SYSV) {
        int32_t id = (int32_t)rg->handle;
        /* Begun and ended around the call, so the trace brackets the moment shm_nattch changed. */
        int64_t args[4] = { id, address, 0, c };
        slot = participant_begin("shmat", step, args, 4);
        void *p = shmat(id, hint, 0);
        int64_t r = p == (void *)-1 ? -1 : addr(p);
        int err = r == -1 ? errno : 0;
        participant_end(slot, r, err, NULL, 0);
        base = r == -1 ? NULL : p;
    } else {
        int flags = (ch->flags & IPCLAB_PLAN_SHM_PRIVATE) ? MAP_PRIVATE : MAP_SHARED;
        base = participant_map(c, ch->a, PROT_READ | PROT_WRITE, flags, (int32_t)rg->handle, hint, step, &slot);
    }
    if (!base) return;
    rg->address = base;
    rg->size = ch->a;
    snapshot(c, slot);
}

/* shmdt(2) or munmap(2). */
static void detach(int c, int step) {
    void *base = participant_shm_mapped(c, step);
    if (!base) return;
    participant_region *rg = region(c);
    uint32_t slot;
    if (spec(c)->sub == IPCLAB_PLAN_SHM_SYSV) {
        int64_t args[2] = { addr(base), c };
        slot = participant_begin("shmdt", step, args, 2);
        int r = shmdt(base);
        int err = r < 0 ? errno : 0;
        participant_end(slot, r, err, NULL, 0);
    } else {
        int r = munmap(base, (size_t)rg->size);
        int err = r < 0 ? errno : 0;
        int64_t args[3] = { addr(base), rg->size, c };
        slot = participant_instant("munmap", step, args, 3, r, err);
    }
    rg->address = NULL;
    snapshot(c, slot);
}

/* --- memory accesses (not system calls: recorded so the trace shows what moved where) ---------------- */

static void store(int c, int64_t offset, const char *bytes, int64_t len, int step) {
    char *base = participant_shm_mapped(c, step);
    if (!base) return;
    memcpy(base + offset, bytes, (size_t)len);
    int64_t args[4] = { addr(base), offset, len, c };
    (void)ipclab_record_now(IPCLAB_REC_EVENT, "store", step, args, 4, len, 0, bytes, (size_t)len);
}

static void load(int c, int64_t offset, int64_t size, int step) {
    char *base = participant_shm_mapped(c, step);
    if (!base) return;
    /* The bytes as one copy, then recorded (as the Swift participant's array). */
    uint8_t *copy = participant_buffer();
    const void *bytes = base + offset;
    if (copy) {
        memcpy(copy, base + offset, (size_t)size);
        bytes = copy;
    }
    int64_t args[4] = { addr(base), offset, size, c };
    (void)ipclab_record_now(IPCLAB_REC_EVENT, "load", step, args, 4, size, 0, bytes, (size_t)size);
}

void participant_shm_store_int(int c, int64_t offset, int64_t value, int step) {
    char *base = participant_shm_mapped(c, step);
    if (!base) return;
    ipclab_store_i64(base + offset, value);
    int64_t args[4] = { addr(base), offset, value, c };
    (void)participant_instant("store_int", step, args, 4, 8, 0);
}

int participant_shm_load_int(int c, int64_t offset, int step, int64_t *value) {
    char *base = participant_shm_mapped(c, step);
    if (!base) return -1;
    int64_t v = ipclab_load_i64(base + offset);
    int64_t args[4] = { addr(base), offset, v, c };
    (void)participant_instant("load_int", step, args, 4, 8, 0);
    *value = v;
    return 0;
}

static void store_pointer(int c, int64_t offset, int64_t target, int step) {
    char *base = participant_shm_mapped(c, step);
    if (!base) return;
    int64_t pointer = addr(base + target);
    ipclab_store_i64(base + offset, pointer);
    int64_t args[5] = { addr(base), offset, pointer, c, target };
    (void)participant_instant("store_pointer", step, args, 5, 8, 0);
}

/* Loads a pointer, then reads where it points with process_vm_readv(2) on this process. The pointer
 * came from shared memory: it is only compared (without overflow) and handed to the kernel, which
 * answers EFAULT for an address not mapped here; it is never dereferenced. */
static void load_pointer(int c, int64_t offset, int64_t size, int step) {
    int64_t pointer;
    if (participant_shm_load_int(c, offset, step, &pointer) != 0) return;
    const participant_region *rg = region(c);
    if (!rg->address) return;
    uint8_t *buffer = participant_buffer();
    if (!buffer) return;
    memset(buffer, 0, (size_t)size);
    int64_t low = addr(rg->address);
    int64_t inside = pointer >= low && pointer - low <= rg->size - size ? 1 : 0;
    ssize_t r = ipclab_read_own_memory((uint64_t)pointer, buffer, (size_t)size);
    int err = r < 0 ? errno : 0;
    int64_t args[6] = { getpid(), pointer, size, c, inside, low };
    int64_t shown = r < 0 ? 0 : r < size ? r : size;
    (void)ipclab_record_now(IPCLAB_REC_EVENT, "process_vm_readv", step, args, 6, r, err, buffer, (size_t)shown);
}

/* --- names and state ------------------------------------------------------------------------------------ */

/* SysV: ftok and shmget(key, 0, 0) (the id found becomes this process's handle); POSIX:
 * shm_open(name, O_RDWR) (the descriptor becomes this process's handle). */
static void lookup(int c, int step) {
    const ipclab_plan_channel *ch = spec(c);
    participant_region *rg = region(c);
    if (ch->sub == IPCLAB_PLAN_SHM_SYSV) {
        int32_t key;
        if (participant_make_key(c, ftok_path(c), ch->b, step, &key) != 0) return;
        int id = shmget(key, 0, 0);
        int err = id < 0 ? errno : 0;
        int64_t args[4] = { key, 0, 0, c };
        (void)participant_instant("shmget", step, args, 4, id, err);
        if (id >= 0) rg->handle = id;
    } else {
        int fd = shm_open(shm_name(c), O_RDWR, 0);
        int err = fd < 0 ? errno : 0;
        int64_t args[3] = { c, O_RDWR, 0 };
        (void)participant_instant("shm_open", step, args, 3, fd, err);
        if (fd >= 0) rg->handle = fd;
    }
}

void participant_run_shm_step(const ipclab_plan_step *s, int step) {
    int c = s->channel;
    switch (s->op) {
    case IPCLAB_OP_ATTACH: attach(c, s->n[0], step); break;
    case IPCLAB_OP_DETACH: detach(c, step); break;
    case IPCLAB_OP_STORE: store(c, s->n[0], participant_string(s->text), s->text.length, step); break;
    case IPCLAB_OP_LOAD: load(c, s->n[0], s->n[1], step); break;
    case IPCLAB_OP_STORE_INT: participant_shm_store_int(c, s->n[0], s->n[1], step); break;
    case IPCLAB_OP_LOAD_INT: {
        int64_t v;
        (void)participant_shm_load_int(c, s->n[0], step, &v);
        break;
    }
    case IPCLAB_OP_STORE_POINTER: store_pointer(c, s->n[0], s->n[1], step); break;
    case IPCLAB_OP_LOAD_POINTER: load_pointer(c, s->n[0], s->n[1], step); break;
    case IPCLAB_OP_INCREMENT: participant_increment(s, step); break;
    case IPCLAB_OP_BARRIER: participant_barrier(s, step); break;
    case IPCLAB_OP_LOOKUP: lookup(c, step); break;
    case IPCLAB_OP_SHM_REMOVE: {
        int32_t id = (int32_t)region(c)->handle;
        int r = ipclab_shm_remove(id);
        int err = r < 0 ? errno : 0;
        int64_t args[3] = { id, IPC_RMID, c };
        snapshot(c, participant_instant("shmctl", step, args, 3, r, err));
        break;
    }
    case IPCLAB_OP_SHM_UNLINK: {
        int r = shm_unlink(shm_name(c));
        int err = r < 0 ? errno : 0;
        int64_t args[1] = { c };
        snapshot(c, participant_instant("shm_unlink", step, args, 1, r, err));
        break;
    }
    default: break;
    }
}
