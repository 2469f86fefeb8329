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

// The largest RELRO copied: two huge pages.
#define RELRO_MAX (2 * HUGE_SIZE)

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

int32_t ipclab_share_read_only(int32_t dir, uintptr_t start, uint64_t len, uint64_t span, int32_t *error) {
    *error = 0;
    int fd = huge_file(dir, (off_t)span);
    size_t done = 0;
    while (fd >= 0 && done < len) {
        ssize_t w = pwrite(fd, (const char *)start + done, len - done, (off_t)done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    int ro = -1;
    if (fd >= 0 && done == len) ro = huge_read_only(fd);
    else if (fd >= 0) close(fd);
    if (ro < 0) {
        *error = errno ? errno : EIO;
        return IPCLAB_CODE_MMAP;
    }
    // Checked before it replaces anything: a mapping of it can never be made writable (the
    // descriptor is read-only, so the mapping has no VM_MAYWRITE).
    void *probe = mmap(NULL, (size_t)span, PROT_READ, MAP_SHARED, ro, 0);
    int writable = probe != MAP_FAILED && mprotect(probe, (size_t)span, PROT_READ | PROT_WRITE) == 0;
    if (probe != MAP_FAILED) munmap(probe, (size_t)span);
    // Replaces the range in one step; the bytes are the same.
    if (probe == MAP_FAILED || writable
        || mmap((void *)start, (size_t)span, PROT_READ, MAP_SHARED | MAP_FIXED, ro, 0) != (void *)start) {
        *error = writable ? EPERM : errno ? errno : EIO;
        close(ro);
        return IPCLAB_CODE_MMAP;
    }
    close(ro);
    return IPCLAB_CODE_OK;
}

HIDDEN int huge_share_relro(const char *maps, int dir, ipclab_code_result *result) {
    relro_span span = {0, 0};
    dl_iterate_phdr(first_object, &span);
    uintptr_t from, to;
    off_t offset;
    if (span.start >= span.end || huge_find_mapping(maps, span.start, NULL, "r--", &from, &to, &offset) != 0 || to < span.end)
        return IPCLAB_CODE_NOT_FOUND;
    // One or more whole 2-MiB pages from its start, the rest of the last one unused (an image linked
    // with 2-MiB-aligned segments); otherwise it stays as it is (as an unaligned text does). So does
    // one over RELRO_MAX: every runner exec copies it (~600-700 KB in either ipclab-sandbox layout).
    uintptr_t up = (span.end + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
    if ((span.start & (HUGE_SIZE - 1)) != 0 || up - span.start > RELRO_MAX || !huge_unmapped(maps, span.end, up))
        return IPCLAB_CODE_OK;
    int status = ipclab_share_read_only(dir, span.start, span.end - span.start, up - span.start, &result->error);
    if (status == IPCLAB_CODE_OK) {
        result->moved_bytes += up - span.start;
        result->huge_bytes += up - span.start;
    }
    return status;
}
