// The runner's code on anonymous transparent huge pages ("large pages for code", as Node.js
// --use-largepages, HHVM and Chromium do it). Run processes are forks of the runner: a file-backed
// text mapping has no anon_vma, so fork copies none of its entries and every new process faults the
// code it runs in again, 16 pages at a time, and its exit zaps them. An anonymous copy on 2-MiB pages
// is copied by fork as a few PMD entries and zapped as few. See README, "Runners".
#include "huge_internal.h"
#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define PAGE_4K 4096UL

// The ELF header of the executable (lld and GNU ld both define it): inside its first segment.
extern const char __ehdr_start[] __attribute__((weak));

HIDDEN int huge_read_small_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t n = 0;
    while (n + 1 < size) {
        ssize_t r = read(fd, buf + n, size - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    return (int)n;
}

// Not known to be `never`: where the setting cannot be read (a runner re-exec'd in its mount namespace
// without /sys), the madvise calls answer instead, and a refusal leaves the original mapping.
HIDDEN int huge_thp_allowed(void) {
    char buf[128];
    if (huge_read_small_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf) <= 0) return 1;
    return strstr(buf, "[never]") == NULL;
}

static int single_threaded(void) {
    char buf[4096];
    if (huge_read_small_file("/proc/self/status", buf, sizeof buf) <= 0) return 0;
    const char *t = strstr(buf, "\nThreads:");
    return t != NULL && strtol(t + 9, NULL, 10) == 1;
}

HIDDEN int huge_find_mapping(const char *maps, uintptr_t addr, const char *suffix, const char *perms,
                             uintptr_t *start, uintptr_t *end, off_t *offset) {
    for (const char *line = maps; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        char *p;
        unsigned long s = strtoul(line, &p, 16);
        if (*p != '-') continue;
        unsigned long e = strtoul(p + 1, &p, 16);
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        // "s-e perms offset dev inode path": a path (a '/') means file-backed.
        const char *path = memchr(line, '/', len);
        if (addr != 0) {
            if (addr < s || addr >= e) continue;
        } else {
            size_t n = strlen(suffix);
            if (path == NULL || (size_t)(line + len - path) < n || strncmp(line + len - n, suffix, n) != 0) continue;
            if (strncmp(p + 1, perms, 3) != 0) continue;
        }
        if (strncmp(p + 1, perms, 3) != 0 || path == NULL) return -1;
        *offset = (off_t)strtoull(p + 5, NULL, 16);
        *start = s;
        *end = e;
        return 0;
    }
    return -1;
}

HIDDEN int huge_unmapped(const char *maps, uintptr_t start, uintptr_t end) {
    for (const char *line = maps; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        char *p;
        unsigned long s = strtoul(line, &p, 16);
        if (*p != '-') continue;
        unsigned long e = strtoul(p + 1, &p, 16);
        if (s < end && e > start) return 0;
    }
    return 1;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

// Moves [start, end) onto an anonymous copy with protection `prot`, on huge pages where 2-MiB-aligned
// unless `no_thp`. Only [from, to) (inside it) holds the mapping's bytes; the rest of the range is an
// unmapped gap before or after it, filled with int3. Those bytes are read from `fd` at `offset` when
// it is open (the page cache straight into the copy: the original mapping is not faulted in), else
// copied from the mapping. `*huge` gets the bytes on huge pages.
static int move_range(uintptr_t start, uintptr_t end, uintptr_t from, uintptr_t to, int fd, off_t offset, int prot,
                      int no_thp, uint64_t *huge, int32_t *error) {
    size_t len = end - start;
    // A reservation one huge page larger, so a copy congruent to `start` mod 2 MiB fits: only then do
    // the aligned parts of the copy and of the original coincide, and mremap moves whole PMDs.
    size_t reserve = len + HUGE_SIZE;
    char *area = mmap(NULL, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (area == MAP_FAILED) { *error = errno; return IPCLAB_CODE_MMAP; }
    uintptr_t base = (uintptr_t)area;
    uintptr_t copy = (base & ~(HUGE_SIZE - 1)) + (start & (HUGE_SIZE - 1));
    if (copy < base) copy += HUGE_SIZE;
    if (copy > base) munmap(area, copy - base);
    if (base + reserve > copy + len) munmap((void *)(copy + len), base + reserve - copy - len);
    uintptr_t hs = (start + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1), he = end & ~(HUGE_SIZE - 1);
    int want_huge = !no_thp && hs < he;
    if (madvise((void *)copy, len, want_huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0) {
        *error = errno;
        munmap((void *)copy, len);
        return IPCLAB_CODE_MMAP;
    }
    memset((void *)copy, 0xcc, from - start);
    size_t done = 0;
    while (fd >= 0 && done < to - from) {
        ssize_t r = pread(fd, (void *)(copy + (from - start) + done), to - from - done, offset + (off_t)done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        done += (size_t)r;
    }
    memcpy((void *)(copy + (from - start) + done), (const void *)(from + done), to - from - done);
    memset((void *)(copy + (to - start)), 0xcc, end - to);
    if (want_huge) {
        // The copy's writes fault huge pages in where the kernel has them at once; collapse makes sure
        // (it compacts, or fails: then the copy is not worth mapping).
        uintptr_t chs = copy + (hs - start), che = copy + (he - start);
        if (madvise((void *)chs, che - chs, MADV_COLLAPSE) != 0) {
            *error = errno;
            munmap((void *)copy, len);
            return IPCLAB_CODE_NO_HUGE;
        }
        *huge += he - hs;
    }
    // Read and execute (or read only) from here on: the copy was never writable and executable at once.
    if (mprotect((void *)copy, len, prot) != 0) {
        *error = errno;
        munmap((void *)copy, len);
        return IPCLAB_CODE_MMAP;
    }
    // Atomically replaces the original range; the bytes at every return address are the same.
    void *moved = mremap((void *)copy, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)start);
    if (moved != (void *)start) {
        *error = errno;
        munmap((void *)copy, len);
        return IPCLAB_CODE_MREMAP;
    }
    return IPCLAB_CODE_OK;
}

// One region: the mapping holding `addr`; `huge_only` moves only its 2-MiB-aligned part. Where the
// huge page around an end of the mapping would cover only an unmapped gap besides (an image linked
// with 2-MiB-aligned segments: `-z separate-loadable-segments`), it is taken whole, gap and all.
static int move_mapping(const char *maps, uintptr_t addr, const char *suffix, const char *perms, int prot, int huge_only,
                        int no_thp, ipclab_code_result *result) {
    uintptr_t from, to;
    off_t offset;
    if (huge_find_mapping(maps, addr, suffix, perms, &from, &to, &offset) != 0) return IPCLAB_CODE_NOT_FOUND;
    uintptr_t start = from, end = to;
    if (!no_thp) {
        uintptr_t down = from & ~(HUGE_SIZE - 1), up = (to + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
        uintptr_t hs = huge_unmapped(maps, down, from) ? down : (from + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
        uintptr_t he = huge_unmapped(maps, to, up) ? up : to & ~(HUGE_SIZE - 1);
        if (hs >= he) {
            if (huge_only) return IPCLAB_CODE_TOO_SMALL;
        } else {
            // The gaps become part of the copy; the edges left outside it stay as they are unless asked.
            if (hs < from || huge_only) start = hs;
            if (he > to || huge_only) end = he;
        }
    }
    uintptr_t first = start > from ? start : from;
    // The executable's own file (the one mapped, even if its path was replaced since): read, not faulted in.
    int fd = suffix == NULL ? open("/proc/self/exe", O_RDONLY | O_CLOEXEC) : -1;
    int status = move_range(start, end, first, end < to ? end : to, fd, offset + (off_t)(first - from), prot, no_thp,
                            &result->huge_bytes, &result->error);
    if (fd >= 0) close(fd);
    if (status == IPCLAB_CODE_OK) result->moved_bytes += end - start;
    return status;
}

int32_t ipclab_remap_code(int32_t what, int32_t code_file, int32_t relro_dir, ipclab_code_result *result) {
    memset(result, 0, sizeof *result);
    uint64_t began = now_ns();
    int no_thp = (what & IPCLAB_CODE_NO_THP) != 0;
    if (!no_thp && !huge_thp_allowed()) return result->status = IPCLAB_CODE_THP_OFF;
    if (!single_threaded()) return result->status = IPCLAB_CODE_THREADS;
    // /proc/self/maps of this small image is a few KiB; read whole before anything moves.
    static char maps[64 * 1024];
    if (huge_read_small_file("/proc/self/maps", maps, sizeof maps) <= 0) return result->status = IPCLAB_CODE_NOT_FOUND;
    int edges = (what & IPCLAB_CODE_EDGES) != 0;
    int status = IPCLAB_CODE_OK;
    if ((what & IPCLAB_CODE_TEXT) && code_file >= 0 && !no_thp) {
        int mapped = huge_map_code_file(maps, code_file, result);
        if (mapped == IPCLAB_CODE_OK || (what & IPCLAB_CODE_FILE_ONLY)) {
            what &= ~(IPCLAB_CODE_TEXT | IPCLAB_CODE_EDGES);
            status = mapped;
        }
    } else if (what & IPCLAB_CODE_FILE_ONLY) {
        what &= ~(IPCLAB_CODE_TEXT | IPCLAB_CODE_EDGES);
    }
    if (what & IPCLAB_CODE_TEXT)
        status = move_mapping(maps, (uintptr_t)&ipclab_remap_code, NULL, "r-x", PROT_READ | PROT_EXEC, !edges, no_thp, result);
    if ((what & IPCLAB_CODE_RODATA) && __ehdr_start != NULL) {
        int s = move_mapping(maps, (uintptr_t)__ehdr_start, NULL, "r--", PROT_READ, !edges, no_thp, result);
        if (status == IPCLAB_CODE_OK) status = s;
    }
    if (what & IPCLAB_CODE_LIBC) {
        int s = move_mapping(maps, 0, "/libc.so.6", "r-x", PROT_READ | PROT_EXEC, !edges, no_thp, result);
        if (status == IPCLAB_CODE_OK) status = s;
    }
    if ((what & IPCLAB_CODE_RELRO) && relro_dir >= 0) {
        int s = huge_share_relro(maps, relro_dir, result);
        if (status == IPCLAB_CODE_OK) status = s;
    }
    result->elapsed_ns = now_ns() - began;
    return result->status = status;
}

int64_t ipclab_exec_huge_bytes(int32_t pid) {
    char path[64];
    if (pid > 0) snprintf(path, sizeof path, "/proc/%d/smaps", pid);
    else snprintf(path, sizeof path, "/proc/self/smaps");
    FILE *f = fopen(path, "re");
    if (f == NULL) return -1;
    char line[512];
    int exec = 0;
    int64_t total = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        char perms[8];
        // A mapping's first line ("start-end perms …"); field lines ("AnonHugePages: …") do not scan as one.
        if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3) {
            exec = perms[2] == 'x';
            continue;
        }
        long kb;
        if (exec && (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1 || sscanf(line, "ShmemPmdMapped: %ld kB", &kb) == 1
                     || sscanf(line, "FilePmdMapped: %ld kB", &kb) == 1))
            total += (int64_t)kb * 1024;
    }
    fclose(f);
    return total;
}
