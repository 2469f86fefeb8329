// The shared code file: the runners' text, copied once by the spawner into an unnamed file on a
// huge-page tmpfs and mapped by every runner over its own (huge_code.c maps it: huge_map_code_file).
#include "huge_internal.h"
#include "ipclab.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

// A copy per runner image costs each exec ~4 ms of CPU (zeroing and filling 2-MiB pages), and runners
// exec often (README, "Runners"). So the spawner makes the copy once, in a file on a tmpfs mounted
// `huge=within_size` (its own, in a throw-away mount namespace: shmem's huge pages do not depend on the
// system's anonymous THP setting), and each runner maps that file over its text: a page-cache folio
// of 2 MiB is mapped by one PMD, so a process faults its code in once per 2 MiB, shares it with every
// other, and nothing is copied per exec. A page at the end stamps the executable it was made from.

#define CODE_MAGIC 0x69706c61622d6378ULL

typedef struct {
    uint64_t magic, dev, ino, size, mtime_sec, mtime_nsec, span;
} code_stamp;

// An executable's identity: its file's device, inode, size and modification time.
static void stamp_of(code_stamp *stamp, const struct stat *st, uint64_t span) {
    memset(stamp, 0, sizeof *stamp);
    *stamp = (code_stamp){CODE_MAGIC, st->st_dev, st->st_ino, (uint64_t)st->st_size, (uint64_t)st->st_mtim.tv_sec,
                          (uint64_t)st->st_mtim.tv_nsec, span};
}

// The running executable's identity (the file exec'd, even if its path was replaced since).
static int exe_stamp(code_stamp *stamp, uint64_t span) {
    struct stat st;
    if (stat("/proc/self/exe", &st) != 0) return -1;
    stamp_of(stamp, &st, span);
    return 0;
}

// The text mapping when it starts on a 2-MiB boundary and the rest of its last huge page is free:
// [*from, *to) is the text, [*from, *up) what the file holds. 0 when so.
static int aligned_text(const char *maps, uintptr_t *from, uintptr_t *to, uintptr_t *up) {
    off_t offset;
    if (huge_find_mapping(maps, (uintptr_t)&ipclab_remap_code, NULL, "r-x", from, to, &offset) != 0) return -1;
    *up = (*to + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
    return (*from & (HUGE_SIZE - 1)) == 0 && huge_unmapped(maps, *to, *up) ? 0 : -1;
}

static int write_all(int fd, const void *buf, size_t len) {
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        done += (size_t)w;
    }
    return 0;
}

int32_t ipclab_huge_tmpfs(void) {
    if (!huge_thp_allowed()) return -3;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return -2;
    pid_t pid = fork();
    if (pid == 0) {
        // The child: its own mount namespace (nothing it mounts reaches the host), a tmpfs on /tmp there.
        // The tmpfs outlives the namespace (detached, as by a lazy unmount): the spawner holds its root open.
        close(pair[0]);
        int fd = -1;
        if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0
            && mount("ipclab-code", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "huge=within_size,mode=0700") == 0)
            fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        // The descriptor, or the errno of the step that failed (for the spawner's log line).
        int32_t code = fd >= 0 ? 0 : (errno ? errno : EIO);
        ipclab_send_with_fds(pair[1], &code, sizeof code, &fd, fd >= 0 ? 1 : 0);
        _exit(fd >= 0 ? 0 : 1);
    }
    close(pair[1]);
    int fd = -1, n = 0;
    int32_t code = pid < 0 ? errno : EIO;
    if (pid > 0) {
        ssize_t r;
        do { r = ipclab_recv_with_fds(pair[0], &code, sizeof code, &fd, 1, &n); } while (r < 0 && errno == EINTR);
        if (r != sizeof code || n != 1) {
            if (n == 1) close(fd);
            fd = -1;
            if (r != sizeof code || code == 0) code = EIO;
        }
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    }
    close(pair[0]);
    if (fd < 0) errno = code;
    return fd >= 0 ? fd : -2;
}

// Sized first: every whole 2-MiB page within the size is then a huge one (`huge=within_size`).
HIDDEN int huge_file(int dir, off_t size) {
    int fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0400);
    if (fd >= 0 && ftruncate(fd, size) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

// No descriptor that could write the file is left anywhere, and a shared mapping of it can never be
// made writable (mprotect fails: EACCES).
HIDDEN int huge_read_only(int fd) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int ro = open(path, O_RDONLY | O_CLOEXEC);
    int e = errno;
    close(fd);
    errno = e;
    return ro;
}

// The code file: `len` bytes of text (from `text` in memory, else read from `exe` at `offset`), 0xcc
// (int3) up to `span`, then the stamp's page; read-only. -2 and errno when writing it failed.
static int32_t write_code_file(int dir, const void *text, int exe, off_t offset, size_t len, uint64_t span,
                               const code_stamp *stamp) {
    // Every 2-MiB page of the text is within the size (huge), the stamp's is not.
    int fd = huge_file(dir, (off_t)(span + 4096));
    static char fill[64 * 1024];
    int ok = fd >= 0;
    if (ok && text != NULL) ok = write_all(fd, text, len) == 0;
    for (size_t done = 0; ok && text == NULL && done < len;) {
        size_t chunk = len - done < sizeof fill ? len - done : sizeof fill;
        ssize_t r = pread(exe, fill, chunk, offset + (off_t)done);
        if (r < 0 && errno == EINTR) continue;
        ok = r > 0 && write_all(fd, fill, (size_t)r) == 0;
        if (ok) done += (size_t)r;
    }
    memset(fill, 0xcc, sizeof fill);
    for (uint64_t at = len; ok && at < span;) {
        size_t chunk = span - at < sizeof fill ? (size_t)(span - at) : sizeof fill;
        ok = write_all(fd, fill, chunk) == 0;
        at += chunk;
    }
    memset(fill, 0, 4096);
    memcpy(fill, stamp, sizeof *stamp);
    ok = ok && write_all(fd, fill, 4096) == 0;
    if (!ok) {
        int e = errno ? errno : EIO;
        if (fd >= 0) close(fd);
        errno = e;
        return -2;
    }
    int ro = huge_read_only(fd);
    return ro >= 0 ? ro : -2;
}

int32_t ipclab_code_file(int32_t dir) {
    static char maps[64 * 1024];
    uintptr_t from, to, up;
    if (huge_read_small_file("/proc/self/maps", maps, sizeof maps) <= 0 || aligned_text(maps, &from, &to, &up) != 0) return -1;
    code_stamp stamp;
    if (exe_stamp(&stamp, up - from) != 0) return -2;
    return write_code_file(dir, (const void *)from, -1, 0, to - from, up - from, &stamp);
}

int32_t ipclab_code_file_of(int32_t dir, int32_t exe) {
    struct stat st;
    if (fstat(exe, &st) != 0) return -2;
    // The ELF header and the program headers, read from the file: the one executable segment.
    Elf64_Ehdr eh;
    if (pread(exe, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0
        || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
        return -1;
    Elf64_Phdr ph[64], *text = NULL;
    if (pread(exe, ph, eh.e_phnum * sizeof *ph, (off_t)eh.e_phoff) != (ssize_t)(eh.e_phnum * sizeof *ph)) return -1;
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X)) continue;
        if (text != NULL) return -1; // more than one: not an image this knows how to map
        text = &ph[i];
    }
    // Where the kernel maps it: at a 2-MiB boundary only when the segment starts on one and the image
    // asks for that alignment (its load address is then a multiple of it); the rest of its last 2 MiB
    // must hold no other segment, and the file must hold all of it.
    if (text == NULL || text->p_align < HUGE_SIZE || text->p_vaddr % HUGE_SIZE != 0 || text->p_offset % HUGE_SIZE != 0
        || text->p_filesz != text->p_memsz || text->p_offset + text->p_filesz > (uint64_t)st.st_size)
        return -1;
    uint64_t span = (text->p_memsz + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && &ph[i] != text && ph[i].p_vaddr < text->p_vaddr + span
            && ph[i].p_vaddr + ph[i].p_memsz > text->p_vaddr)
            return -1;
    }
    code_stamp stamp;
    stamp_of(&stamp, &st, span);
    return write_code_file(dir, NULL, exe, (off_t)text->p_offset, text->p_filesz, span, &stamp);
}

// Maps the spawner's code file over the text, after checking it was made from this very executable.
HIDDEN int huge_map_code_file(const char *maps, int fd, ipclab_code_result *result) {
    uintptr_t from, to, up;
    code_stamp mine, theirs;
    struct stat st;
    if (aligned_text(maps, &from, &to, &up) != 0 || exe_stamp(&mine, up - from) != 0 || fstat(fd, &st) != 0
        || (uint64_t)st.st_size != up - from + 4096 || pread(fd, &theirs, sizeof theirs, (off_t)(up - from)) != sizeof theirs
        || memcmp(&mine, &theirs, sizeof mine) != 0)
        return IPCLAB_CODE_NOT_FOUND;
    // Replaces the text in one step; the bytes at every return address are the same.
    if (mmap((void *)from, up - from, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd, 0) != (void *)from) {
        result->error = errno;
        return IPCLAB_CODE_MMAP;
    }
    result->moved_bytes += up - from;
    result->huge_bytes += up - from;
    return IPCLAB_CODE_OK;
}

