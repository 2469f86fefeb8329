/* program_root.c — the minimal root a student's C program (and its compiler) sees, built by the
 * run's init in its own mount namespace before the lockdown, in the manner of bubblewrap's
 * `--ro-bind /usr /usr --tmpfs /tmp --dev /dev --proc /proc`:
 *
 *   /            a small tmpfs, read-only once built
 *   /usr         the host's /usr, bind-mounted read-only (compiler, headers, C library)
 *   /bin /lib /lib64 /sbin   symbolic links into /usr (a merged-/usr host)
 *   /etc         empty but for ld.so.cache (read-only)
 *   /dev         null, zero, full, random, urandom (bind-mounted), fd, stdin/out/err links; /dev/shm a tmpfs
 *   /proc        the run's PID namespace's
 *   /tmp         the run's own tmpfs (sized later to file_bytes)
 *   /.ipclab/trace.so   the interposer, read-only
 *
 * Then pivot_root into it and detach the host's tree: nothing of the host's / (no /home, no /etc,
 * no server files, no /work) is reachable from the run any more. */
#include "ipclab.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NEW_ROOT "/tmp"

static int fail(char *failure, size_t len, const char *what) {
    int err = errno;
    snprintf(failure, len, "%s", what);
    errno = err;
    return -1;
}

static int build_root(const char *trace_library, char *failure, size_t len);

/* An empty file at `target`, with `source` bind-mounted over it (read-only when asked). */
static int bind_file(const char *source, const char *target, int readonly) {
    int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    close(fd);
    if (mount(source, target, NULL, MS_BIND, NULL) != 0) return -1;
    if (readonly && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, NULL) != 0) {
        /* A bind of a host mount keeps its locked flags: read-only through mount_setattr instead. */
        if (ipclab_make_readonly_recursive(target) != 0) return -1;
    }
    return 0;
}

int ipclab_program_root(const char *trace_library, char *failure, size_t len) {
    /* The tracer is held open before the new root covers NEW_ROOT (/tmp): the binary it sits beside
     * may itself be under /tmp (a checkout there), and then its path is gone once the tmpfs is on. */
    if (!trace_library) return fail(failure, len, "no tracer");
    int tracer_fd = open(trace_library, O_PATH | O_CLOEXEC);
    if (tracer_fd < 0) return fail(failure, len, "open the tracer");
    char tracer[32];
    snprintf(tracer, sizeof tracer, "/proc/self/fd/%d", tracer_fd);
    int r = build_root(tracer, failure, len);
    int err = errno;
    close(tracer_fd);
    errno = err;
    return r;
}

/* The root itself, the tracer named by a path that stays valid while NEW_ROOT is covered. */
static int build_root(const char *trace_library, char *failure, size_t len) {
    if (mount("tmpfs", NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") != 0)
        return fail(failure, len, "mount tmpfs root");
    const char *dirs[] = { "usr", "tmp", "dev", "dev/shm", "proc", "etc", ".ipclab", ".old" };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char path[64];
        snprintf(path, sizeof path, NEW_ROOT "/%s", dirs[i]);
        if (mkdir(path, 0755) != 0) return fail(failure, len, "mkdir in root");
    }
    const char *links[][2] = {
        { "usr/bin", "bin" }, { "usr/lib", "lib" }, { "usr/lib64", "lib64" }, { "usr/sbin", "sbin" },
        { "/proc/self/fd", "dev/fd" }, { "/proc/self/fd/0", "dev/stdin" },
        { "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" },
    };
    for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
        char path[64];
        snprintf(path, sizeof path, NEW_ROOT "/%s", links[i][1]);
        if (symlink(links[i][0], path) != 0) return fail(failure, len, "symlink in root");
    }
    if (mount("/usr", NEW_ROOT "/usr", NULL, MS_BIND | MS_REC, NULL) != 0) return fail(failure, len, "bind /usr");
    if (ipclab_make_readonly_recursive(NEW_ROOT "/usr") != 0) return fail(failure, len, "read-only /usr");
    const char *devices[] = { "null", "zero", "full", "random", "urandom" };
    for (size_t i = 0; i < sizeof devices / sizeof *devices; i++) {
        char source[32], target[64];
        snprintf(source, sizeof source, "/dev/%s", devices[i]);
        snprintf(target, sizeof target, NEW_ROOT "/dev/%s", devices[i]);
        if (bind_file(source, target, 0) != 0) return fail(failure, len, "bind a device");
    }
    if (access("/etc/ld.so.cache", R_OK) == 0 && bind_file("/etc/ld.so.cache", NEW_ROOT "/etc/ld.so.cache", 1) != 0)
        return fail(failure, len, "bind ld.so.cache");
    if (bind_file(trace_library, NEW_ROOT "/.ipclab/trace.so", 1) != 0)
        return fail(failure, len, "bind the tracer");
    /* SwiftPM links every dynamic library against libswiftCore (NEEDED, found through RUNPATH $ORIGIN),
     * though the tracer, built with -nostartfiles, uses nothing of it: the same file under that name
     * satisfies the loader, which sees the same inode already loaded and maps nothing more. */
    if (bind_file(trace_library, NEW_ROOT "/.ipclab/libswiftCore.so", 1) != 0)
        return fail(failure, len, "bind the tracer's alias");
    if (mount("proc", NEW_ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        return fail(failure, len, "mount proc");
    if (mount("tmpfs", NEW_ROOT "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777") != 0)
        return fail(failure, len, "mount tmpfs /tmp");
    if (mount("tmpfs", NEW_ROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777") != 0)
        return fail(failure, len, "mount tmpfs /dev/shm");
    /* The root itself read-only: a program writes only to /tmp and /dev/shm. */
    if (mount(NULL, NEW_ROOT, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
        return fail(failure, len, "read-only root");
    if (syscall(SYS_pivot_root, NEW_ROOT, NEW_ROOT "/.old") != 0) return fail(failure, len, "pivot_root");
    if (chdir("/") != 0) return fail(failure, len, "chdir /");
    if (umount2("/.old", MNT_DETACH) != 0) return fail(failure, len, "detach the host's root");
    return 0;
}

#include <signal.h>
#include "ipclab_program.h"

static int redirect(const char *path, int flags, int target) {
    int fd = open(path ? path : "/dev/null", flags | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    if (dup2(fd, target) < 0) return -1; /* dup2 clears CLOEXEC on the copy */
    if (fd != target) close(fd);
    return 0;
}

int ipclab_exec_program(const char *path, char *const argv[], char *const envp[], const char *stdin_path,
                        const char *stdout_path, const char *stderr_path, int keep_fd, int keep_fd2) {
    if (redirect(stdin_path, O_RDONLY, 0) != 0) return -1;
    if (redirect(stdout_path, O_WRONLY | O_CREAT | O_APPEND, 1) != 0) return -1;
    if (redirect(stderr_path, O_WRONLY | O_CREAT | O_APPEND, 2) != 0) return -1;
    for (int fd = 3; fd < 1024; fd++) if (fd != keep_fd && fd != keep_fd2) close(fd);
    if (keep_fd >= 0) fcntl(keep_fd, F_SETFD, 0);
    if (keep_fd2 >= 0) fcntl(keep_fd2, F_SETFD, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, envp);
    return -1;
}
