#ifndef IPCLAB_HUGE_CODE_H
#define IPCLAB_HUGE_CODE_H

#include <stdint.h>

/// What `ipclab_remap_code` puts on huge pages (bits; 0: nothing).
/// The executable's own text: its 2-MiB-aligned part on transparent huge pages.
#define IPCLAB_CODE_TEXT 1
/// Also the text's unaligned head and tail (4-KiB anonymous pages) instead of leaving them file-backed.
#define IPCLAB_CODE_EDGES 2
/// Also the executable's first, read-only segment (ELF header, Swift metadata, unwind tables).
#define IPCLAB_CODE_RODATA 4
/// Also libc's text.
#define IPCLAB_CODE_LIBC 8
/// Anonymous 4-KiB pages only, no huge pages (a measurement: fork then copies every entry).
#define IPCLAB_CODE_NO_THP 16
/// Each runner copies its own text onto anonymous huge pages when there is no shared code file, or
/// with IPCLAB_CODE_NO_THP onto 4-KiB ones (only then does ipclab_remap_code copy the text; for
/// measuring: the copy costs each runner's start ~4 ms and is charged to its slot's memory cgroup).
#define IPCLAB_CODE_COPY 32
/// Also the executable's relocated RELRO segment (`.data.rel.ro`, `.got`): a copy in a file of its own
/// on the spawner's huge-page tmpfs, mapped shared and read-only over it, so fork copies none of its
/// entries (only when it starts on a 2-MiB boundary with the rest of its last 2 MiB unmapped).
#define IPCLAB_CODE_RELRO 64
/// The text only from `code_file`: when it cannot be mapped (or there is none) the text stays on its file
/// pages, never copied (the C runner: a copy would be charged to its slot's memory cgroup).
#define IPCLAB_CODE_FILE_ONLY 128

/// Why the code stayed (partly) on its file pages; 0: every region asked for was moved.
enum {
    IPCLAB_CODE_OK = 0,
    IPCLAB_CODE_THP_OFF = 1,        /// transparent_hugepage/enabled is `never`, or absent
    IPCLAB_CODE_THREADS = 2,        /// more than one thread: another could run the code being moved
    IPCLAB_CODE_NOT_FOUND = 3,      /// the mapping was not found in /proc/self/maps
    IPCLAB_CODE_TOO_SMALL = 4,      /// no 2-MiB-aligned part in it
    IPCLAB_CODE_MMAP = 5,           /// mmap, madvise or mprotect of the copy failed (errno kept)
    IPCLAB_CODE_NO_HUGE = 6,        /// the kernel gave the copy no huge pages (MADV_COLLAPSE failed)
    IPCLAB_CODE_MREMAP = 7,         /// mremap over the original failed (errno kept)
};

/// What was done, for the runner's hello and its log line.
typedef struct {
    /// IPCLAB_CODE_OK or the first reason a region stayed on file pages.
    int32_t status;
    /// The errno of the failed call, when `status` names one.
    int32_t error;
    /// Bytes moved onto anonymous memory, and how many of them are on huge pages.
    uint64_t moved_bytes;
    uint64_t huge_bytes;
    /// Wall time of the whole move (the copy is most of it).
    uint64_t elapsed_ns;
} ipclab_code_result;

/// Moves the calling process's code (`what`: IPCLAB_CODE_* bits) onto huge pages at the same
/// addresses. The text: `code_file` (from ipclab_code_file, made from this same executable) mapped over
/// it when given and usable, else a copy on anonymous transparent huge pages (unless
/// IPCLAB_CODE_NO_THP), made read+exec, then mremap'd over the original. Never writable and executable
/// at once. The RELRO segment (IPCLAB_CODE_RELRO): a file of its own in `relro_dir` (from
/// ipclab_huge_tmpfs; -1: left as it is). Call it single-threaded; on any failure the original mapping
/// stays. Returns `result->status`.
int32_t ipclab_remap_code(int32_t what, int32_t code_file, int32_t relro_dir, ipclab_code_result *result);

/// The spawner's side: the root directory of a tmpfs mounted `huge=within_size` in a throw-away mount
/// namespace (nothing is mounted on the host; the tmpfs lives while a descriptor of it or of a file in
/// it is open); -2 when making it failed (no mount namespace or tmpfs for this process, e.g. not root;
/// errno says why); -3 when transparent huge pages are `never`.
int32_t ipclab_huge_tmpfs(void);

/// The spawner's side: a read-only descriptor of an unnamed file in the tmpfs `dir` (ipclab_huge_tmpfs)
/// holding this executable's text, for its runners to map; -1 when the text is not 2-MiB-aligned
/// (linked without `-z separate-loadable-segments`); -2 when making it failed (errno says why).
int32_t ipclab_code_file(int32_t dir);

/// The spawner's side, for another executable (`exe`: a descriptor of its file, e.g. the C runner's): the
/// same code file as ipclab_code_file, its text read from the file's one executable segment. -1 when that
/// segment is not on a 2-MiB boundary, alone in its last 2 MiB (linked with `-z separate-code -z
/// max-page-size=0x200000`), or the file is no 64-bit ELF image; -2 when making it failed (errno says why).
int32_t ipclab_code_file_of(int32_t dir, int32_t exe);

/// Copies [start, start + len) (page-aligned) into an unnamed file of `span` bytes (≥ len; the rest
/// zeros) in the tmpfs `dir` and maps it over [start, start + span) shared and read-only, from a
/// read-only descriptor: no process can make that mapping writable (mprotect: EACCES), so no process
/// mapping it can change what the others read. [start + len, start + span) must be unused. What the
/// runner does with its RELRO (IPCLAB_CODE_RELRO); IPCLAB_CODE_OK, or IPCLAB_CODE_MMAP and `*error`.
int32_t ipclab_share_read_only(int32_t dir, uintptr_t start, uint64_t len, uint64_t span, int32_t *error);

/// Bytes of the executable mappings of /proc/`pid`/smaps mapped by huge pages (`AnonHugePages`,
/// `ShmemPmdMapped`, `FilePmdMapped`; 0 for the caller's own: pid 0); -1 when it cannot be read.
int64_t ipclab_exec_huge_bytes(int32_t pid);

#endif
