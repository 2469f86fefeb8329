// The runner's relocated RELRO segment (`.data.rel.ro`, `.got`, `.dynamic`, …) on a shared huge page.
// The dynamic loader relocates it (absolute addresses: different in every exec) and then makes it
// read-only, so it sits in private anonymous pages, and every fork of the runner (the three of every
// run) copied their ~150 page-table entries and every exit zapped them. A shared file mapping has no
// anon_vma, so fork copies none of its entries, and a 2-MiB page of a tmpfs mounted
// `huge=within_size` is mapped by one PMD: a process that reads it faults once. Its contents belong to
// one exec, so each runner writes a file of its own, in the spawner's tmpfs (README, "Runners").
#include "huge_internal.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// The main program's PT_GNU_RELRO, as the loader protected it: [start, end), page-aligned (0: none).
typedef struct { uintptr_t start, end; } relro_span;

static int first_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    relro_span *span = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_GNU_RELRO) continue;
        // As glibc's _dl_protect_relro rounds it: only whole pages below the end are read-only.
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        span->start = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
        span->end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(page - 1);
    }
    return 1;  // the first object is the main program: stop there
}

HIDDEN int huge_share_relro(const char *maps, int dir, ipclab_code_result *result) {
    relro_span span = {0, 0};
    dl_iterate_phdr(first_object, &span);
    uintptr_t from, to;
    off_t offset;
    if (span.start >= span.end || huge_find_mapping(maps, span.start, NULL, "r--", &from, &to, &offset) != 0 || to < span.end)
        return IPCLAB_CODE_NOT_FOUND;
    // One or more whole 2-MiB pages from its start, the rest of the last one unused (an image linked
    // with 2-MiB-aligned segments); otherwise it stays as it is (as an unaligned text does).
    uintptr_t up = (span.end + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
    if ((span.start & (HUGE_SIZE - 1)) != 0 || !huge_unmapped(maps, span.end, up)) return IPCLAB_CODE_OK;
    int fd = huge_file(dir, (off_t)(up - span.start));
    size_t done = 0, len = span.end - span.start;
    while (fd >= 0 && done < len) {
        ssize_t w = pwrite(fd, (const char *)span.start + done, len - done, (off_t)done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    int ro = -1;
    if (fd >= 0 && done == len) ro = huge_read_only(fd);
    else if (fd >= 0) close(fd);
    // Read-only and shared, from a read-only descriptor: no process can make it writable, so what a
    // run does cannot change what later runs of this runner read. Replaces the range in one step; the
    // bytes are the same.
    if (ro < 0 || mmap((void *)span.start, up - span.start, PROT_READ, MAP_SHARED | MAP_FIXED, ro, 0) != (void *)span.start) {
        result->error = errno ? errno : EIO;
        if (ro >= 0) close(ro);
        return IPCLAB_CODE_MMAP;
    }
    close(ro);
    result->moved_bytes += up - span.start;
    result->huge_bytes += up - span.start;
    return IPCLAB_CODE_OK;
}
