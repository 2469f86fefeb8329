// The server's allocator, tuned so that memory returns after a burst of large responses.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ipclab_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <malloc.h>
#include <sys/mman.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ipclab_malloc_trim(void) { return malloc_trim(0); }

int ipclab_set_malloc_arenas(int arenas) { return mallopt(M_ARENA_MAX, arenas); }

int ipclab_release_pages(int fd, void *base, size_t from, size_t to) {
    long page = sysconf(_SC_PAGESIZE);
    size_t start = (from + (size_t)page - 1) & ~((size_t)page - 1);
    size_t end = to & ~((size_t)page - 1);
    if (end <= start) return 0;
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)start, (off_t)(end - start)) == 0) return 1;
    /* No hole punched: at least the server's own mapping stops holding the pages. */
    return madvise((char *)base + start, end - start, MADV_DONTNEED) == 0 ? 1 : -1;
}

int ipclab_memfd_wipe(int fd, void *base, size_t size) {
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size != size) return -1;
    const int punch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    // Only where the file holds pages (SEEK_DATA): a ring's few used pages (its header, the last records
    // read, the plan) in a file of megabytes. What SEEK_DATA skips is a hole, which reads as zero already.
    // The first 64 KiB found are zeroed in place through this mapping (the pages stay, and the header's
    // is written again at once: a hole punched costs a page-table walk in every mapping, a free, and a
    // fault to have the page back); anything beyond that (a run that wrote all over its ring) is punched.
    const size_t zero_limit = 64 << 10;
    size_t zeroed = 0;
    off_t at = 0;
    while ((size_t)at < size) {
        off_t data = lseek(fd, at, SEEK_DATA);
        if (data < 0 && errno == ENXIO) return 0;  // no data from `at` on
        if (data < 0) return fallocate(fd, punch, 0, (off_t)size) == 0 ? 0 : -1;
        if ((size_t)data >= size) return 0;
        off_t hole = lseek(fd, data, SEEK_HOLE);
        if (hole < 0 || (size_t)hole > size) hole = (off_t)size;
        size_t length = (size_t)(hole - data);
        if (zeroed + length <= zero_limit) {
            memset((char *)base + data, 0, length);
            zeroed += length;
        } else if (fallocate(fd, punch, data, (off_t)length) != 0) {
            return -1;
        }
        at = hole;
    }
    return 0;
}
