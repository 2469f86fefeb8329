/*
 * image.c — page tables a run's processes need not fault in one by one. Each process of a run is a
 * fork of a fork of a clone of the runner, and a fork copies page-table entries only for mappings
 * with anonymous memory: without that, every new process faults in each code page it runs and
 * each read-only page it reads (~2.7 µs a fault on this machine, measured: ~25 faults on a
 * pipe.hello run's path, ~10 of them code). So:
 *  - the runner, once per image, gives its code and read-only segments an anonymous page each (a
 *    one-byte copy-on-write while the segment is briefly writable, before any run exists), which
 *    makes the kernel copy their entries at every fork, and maps all of them (MADV_POPULATE_READ);
 *  - a ready init, while it waits for its run, copies the image's writable data from the runner
 *    now (MADV_POPULATE_WRITE) instead of at its first writes after go, and touches some stack.
 * Failures are ignored: this only saves faults (MADV_POPULATE_* needs Linux 5.14).
 */
#include "runner.h"

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

/* The ELF header of this image, where the linker put it (static-pie: the load address). */
extern const ElfW(Ehdr) __ehdr_start;

typedef struct image_segment {
    uintptr_t start, end;  /* page-aligned */
    int prot;
} image_segment;

/* The image's loaded segments, page-aligned; `relro_end`: where its read-only-after-relocation part ends. */
static int image_segments(image_segment *out, int max, uintptr_t *relro_end) {
    const ElfW(Ehdr) *eh = &__ehdr_start;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
    uintptr_t base = (uintptr_t)eh;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) return 0;
    uintptr_t mask = ~(uintptr_t)(page - 1);
    int n = 0;
    *relro_end = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_GNU_RELRO) *relro_end = (base + ph[i].p_vaddr + ph[i].p_memsz) & mask;
        if (ph[i].p_type != PT_LOAD || n >= max) continue;
        out[n].start = (base + ph[i].p_vaddr) & mask;
        out[n].end = (base + ph[i].p_vaddr + ph[i].p_memsz + (uintptr_t)page - 1) & mask;
        out[n].prot = ((ph[i].p_flags & PF_R) ? PROT_READ : 0) | ((ph[i].p_flags & PF_W) ? PROT_WRITE : 0)
                      | ((ph[i].p_flags & PF_X) ? PROT_EXEC : 0);
        n++;
    }
    return n;
}

void runner_share_code_page_tables(void) {
    image_segment seg[8];
    uintptr_t relro_end;
    int n = image_segments(seg, 8, &relro_end);
    for (int i = 0; i < n; i++) {
        if (seg[i].prot & PROT_WRITE) continue;
        void *at = (void *)seg[i].start;
        size_t length = seg[i].end - seg[i].start;
        if (mprotect(at, length, seg[i].prot | PROT_WRITE) == 0) {
            volatile char *first = at;
            *first = *first; /* copy-on-write: the mapping now has anonymous memory */
            (void)mprotect(at, length, seg[i].prot);
        }
        (void)madvise(at, length, MADV_POPULATE_READ);
    }
}

/* Touches the stack below the caller's frame, so that the init's first writes there need no fault.
 * noinline: its frame lies below the caller's. */
__attribute__((noinline)) static void touch_stack(void) {
    volatile char pages[16 * 1024];
    for (size_t i = 0; i < sizeof pages; i += 4096) pages[i] = 0;
    pages[sizeof pages - 1] = 0;
}

void runner_populate_writable(void) {
    image_segment seg[8];
    uintptr_t relro_end;
    int n = image_segments(seg, 8, &relro_end);
    for (int i = 0; i < n; i++) {
        if (!(seg[i].prot & PROT_WRITE)) continue;
        uintptr_t writable = relro_end > seg[i].start ? relro_end : seg[i].start;
        if (writable > seg[i].end) writable = seg[i].end;
        if (seg[i].end > writable) (void)madvise((void *)writable, seg[i].end - writable, MADV_POPULATE_WRITE);
    }
    touch_stack();
}
