/* huge_internal.h — what huge_code.c (the text) and huge_relro.c (the relocated RELRO) share: the
 * lookups in /proc/self/maps and the unnamed files on the spawner's huge-page tmpfs (huge_code_file.c).
 * Not exported. */
#ifndef IPCLAB_HUGE_INTERNAL_H
#define IPCLAB_HUGE_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "ipclab_huge_code.h"

#define HIDDEN __attribute__((visibility("hidden")))
#define HUGE_SIZE (2UL << 20)

/* The file-backed mapping of `maps` (a copy of /proc/self/maps) holding `addr` (or, when `addr` is 0,
 * the first whose path ends in `suffix`), whose permissions start with `perms` ("r-x", "r--"). Its
 * bounds in *start, *end, its file offset in *offset; 0 when found. */
HIDDEN int huge_find_mapping(const char *maps, uintptr_t addr, const char *suffix, const char *perms,
                             uintptr_t *start, uintptr_t *end, off_t *offset);
/* Whether no mapping of `maps` overlaps [start, end). */
HIDDEN int huge_unmapped(const char *maps, uintptr_t start, uintptr_t end);
/* An unnamed file of `size` bytes in the tmpfs `dir`, open for writing; -1 and errno on failure. */
HIDDEN int huge_file(int dir, off_t size);
/* The same file read-only, `fd` closed; -1 and errno on failure. */
HIDDEN int huge_read_only(int fd);
/* A small file (/proc, /sys) read whole into `buf`, NUL-terminated; its length, or ≤ 0. */
HIDDEN int huge_read_small_file(const char *path, char *buf, size_t size);
/* Whether transparent huge pages are not known to be `never`. */
HIDDEN int huge_thp_allowed(void);
/* Maps the spawner's code file `fd` over this executable's text, after checking it was made from this very
 * executable (huge_code_file.c); IPCLAB_CODE_OK, else why not (the text is then left as it was). */
HIDDEN int huge_map_code_file(const char *maps, int fd, ipclab_code_result *result);
/* Maps this executable's relocated RELRO segment from a file of its own in `dir` (huge_relro.c). */
HIDDEN int huge_share_relro(const char *maps, int dir, ipclab_code_result *result);

#endif
