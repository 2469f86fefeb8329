#ifndef IPCLAB_MEMORY_H
#define IPCLAB_MEMORY_H

/// Gives freed heap back to the kernel (glibc's malloc_trim(0)); 1 when some was released.
int ipclab_malloc_trim(void);

/// Caps glibc's malloc arenas (mallopt M_ARENA_MAX) at `arenas`; 1 on success.
int ipclab_set_malloc_arenas(int arenas);

#include <stddef.h>

/// Frees the whole pages of bytes `from..<to` of the memfd `fd` mapped shared at `base` (an event ring
/// already read): punches a hole in the file, so the memory goes back for every mapping; where that
/// fails, drops the pages from this mapping only (madvise MADV_DONTNEED). A part of a page at either
/// end is kept. 1 when released, 0 when no whole page was in range, -1 on failure.
int ipclab_release_pages(int fd, void *base, size_t from, size_t to);

/// Zeroes the memfd `fd` of `size` bytes, mapped shared and writable at `base`, for its next use (a
/// pooled event ring): after checking that the file still has that size (a run that resized it leaves
/// it unfit), every range that holds pages (SEEK_DATA) is zeroed in place, or past 64 KiB of them has a
/// hole punched. 0 when the file reads as all zero now, -1 when not (the caller must not reuse it).
int ipclab_memfd_wipe(int fd, void *base, size_t size);

#endif
