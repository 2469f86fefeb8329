"""Issue 19, hostile C programs: each is contained by the sandbox, the server stays unharmed (the next
run is fine), and the outcome (or the trace) says why. Every response is checked against openapi.yaml."""

from __future__ import annotations

import os

import pytest

from test_programs import PIPE, check_program_trace, program, run_programs
from traces import calls, process


def run_one(lab, source: str, **body):
    trace = run_programs(lab, [program("p", source)], **body)
    return trace, process(trace, "p") if any(x["name"] == "p" for x in trace["processes"]) else None


@pytest.fixture
def still_fine(lab):
    """After the hostile run, an ordinary program still runs to ok."""
    yield
    trace = run_programs(lab, [program("parent", PIPE)])
    assert trace["run"]["outcome"] == "ok", trace["run"]
    assert process(trace, "parent.1")["stdout"] == "child got: hello\n"


def test_the_host_files_are_not_there(lab, still_fine):
    source = r"""
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    const char *paths[] = {"/etc/passwd", "/etc/shadow", "/home", "/root", "/work", "/opt", "/var", "/srv"};
    for (int i = 0; i < 8; i++) {
        FILE *f = fopen(paths[i], "r");
        printf("%s %s\n", paths[i], f ? "OPEN" : strerror(errno));
    }
    DIR *d = opendir("/");
    struct dirent *e;
    while ((e = readdir(d))) if (e->d_name[0] != '.') printf("/%s\n", e->d_name);
    return 0;
}
"""
    trace, p = run_one(lab, source)
    assert trace["run"]["outcome"] == "ok", trace["run"]
    lines = p["stdout"].splitlines()
    assert all(line.endswith("No such file or directory") for line in lines[:8]), lines[:8]
    # The root holds the compiler and the C library, read-only, and the run's own places: nothing else.
    assert sorted(lines[8:]) == sorted(["/usr", "/bin", "/lib", "/lib64", "/sbin", "/tmp", "/dev", "/proc", "/etc"]), lines[8:]


def test_nothing_outside_tmp_can_be_written(lab, still_fine):
    source = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    const char *paths[] = {"/evil", "/usr/evil", "/usr/bin/gcc", "/etc/evil", "/dev/evil", "/tmp/fine", "/dev/shm/fine"};
    for (int i = 0; i < 7; i++) {
        int fd = open(paths[i], O_WRONLY | O_CREAT, 0644);
        printf("%s %s\n", paths[i], fd >= 0 ? "WRITTEN" : strerror(errno));
    }
    printf("mkdir %s\n", mkdir("/usr/lib/x", 0755) == 0 ? "MADE" : strerror(errno));
    return 0;
}
"""
    trace, p = run_one(lab, source)
    assert trace["run"]["outcome"] == "ok", trace["run"]
    lines = dict(line.split(" ", 1) for line in p["stdout"].splitlines())
    for path in ["/evil", "/usr/evil", "/usr/bin/gcc", "/etc/evil", "/dev/evil"]:
        assert lines[path] in ("Read-only file system", "Permission denied"), (path, lines[path])
    assert lines["/tmp/fine"] == "WRITTEN" and lines["/dev/shm/fine"] == "WRITTEN"
    assert lines["mkdir"] == "Read-only file system"


def test_a_fork_bomb_meets_the_process_limit(lab, still_fine):
    source = "#include <unistd.h>\nint main(void) { for (;;) fork(); }\n"
    trace, _ = run_one(lab, source, limits={"wall_ms": 1500, "processes": 16})
    run = trace["run"]
    assert run["outcome"] == "limit_exceeded", run
    assert "limit processes" in run["reason"], run["reason"]
    # The forks the kernel refused are in the trace, with its errno.
    assert any(e["errno"] == "EAGAIN" for e in calls(trace, "fork")), "no refused fork"
    assert len(trace["processes"]) <= 16


def test_a_huge_allocation_meets_the_memory_limit(lab, still_fine):
    source = r"""
#include <stdlib.h>
#include <string.h>
int main(void) {
    for (;;) { char *p = malloc(16 << 20); if (!p) return 2; memset(p, 1, 16 << 20); }
}
"""
    trace, p = run_one(lab, source, limits={"memory_bytes": 64 << 20})
    run = trace["run"]
    assert run["outcome"] == "limit_exceeded", run
    assert "limit memory" in run["reason"], run["reason"]
    assert p["exit"] == {"signal": "SIGKILL", "core_dumped": False}, p


def test_raw_system_calls_are_unseen_and_the_filter_still_holds(lab, still_fine):
    source = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    int fds[2];
    long r = syscall(SYS_pipe2, fds, 0);           /* past the interposer: not in the trace */
    syscall(SYS_write, fds[1], "raw", 3);
    long m = syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, 0);
    int e = errno;
    long t = syscall(SYS_ptrace, 0, 0, 0, 0);
    printf("pipe2 %ld mount %ld %s ptrace %ld %s\n", r, m, strerror(e), t, strerror(errno));
    return 0;
}
"""
    trace, p = run_one(lab, source)
    assert trace["run"]["outcome"] == "ok", trace["run"]
    assert p["stdout"] == "pipe2 0 mount -1 Operation not permitted ptrace -1 Operation not permitted\n", p
    # The interposer sees calls through the C library only: README says so, and the trace shows it.
    assert calls(trace, "pipe") == [] and calls(trace, "write") == []


def test_scribbling_over_the_ring_is_an_error_not_a_trace(lab, still_fine):
    source = r"""
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    int fd = atoi(getenv("IPCLAB_RING_FD"));
    struct stat st;
    fstat(fd, &st);
    unsigned char *ring = mmap(0, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memset(ring, 0xff, st.st_size);
    return 0;
}
"""
    trace, _ = run_one(lab, source)
    run = trace["run"]
    assert run["outcome"] == "error", run
    assert run["reason"].startswith("the event ring's header was overwritten"), run["reason"]


def test_scribbling_over_the_records_only_rejects_them(lab, still_fine):
    source = r"""
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    int fds[2];
    pipe(fds);
    int fd = atoi(getenv("IPCLAB_RING_FD"));
    struct stat st;
    fstat(fd, &st);
    unsigned char *ring = mmap(0, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    /* Past the header (one page is plenty): the records, the plan and the output area. */
    memset(ring + 4096, 0x7f, st.st_size - 4096);
    return 0;
}
"""
    trace, _ = run_one(lab, source)
    run = trace["run"]
    check_program_trace(trace)
    # The records past the first page are out of range: left out and counted, never trusted.
    assert run.get("records_rejected", 0) > 0, run


def test_signals_reach_no_process_outside_the_run(lab, still_fine):
    source = r"""
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    int outside = atoi(argv[1]);
    int r1 = kill(outside, SIGKILL);
    int e1 = errno;
    int r2 = kill(1, SIGKILL);   /* the run's init: PID 1 of its namespace ignores it */
    printf("outside %d %s init %d\n", r1, strerror(e1), r2);
    return 0;
}
"""
    trace = run_programs(lab, [program("p", source, args=[str(os.getpid())])])
    assert trace["run"]["outcome"] == "ok", trace["run"]
    p = process(trace, "p")
    assert p["stdout"] == "outside -1 No such process init 0\n", p
    kills = calls(trace, "kill", "p")
    assert kills[0]["args"]["pid"] == os.getpid() and kills[0]["errno"] == "ESRCH", kills[0]
    os.kill(os.getpid(), 0)  # the test process itself is alive


def test_a_compiler_bomb_is_stopped_by_the_limits(lab, still_fine):
    # A few bytes of source that ask the assembler for a 1 GiB object file.
    source = "char big[1 << 30] = {1};\nint main(void) { return big[0]; }\n"
    trace = run_programs(lab, [program("bomb", source)], limits={"wall_ms": 5000})
    run = trace["run"]
    assert run["outcome"] in ("compile_error", "limit_exceeded"), run
    assert trace["processes"] == [] and trace["events"] == []
    if run["outcome"] == "compile_error":
        assert any("File size limit" in d["message"] or "File too large" in d["message"] or "No space" in d["message"]
                   for d in run["diagnostics"]), run["diagnostics"]


def test_a_preprocessor_bomb_is_stopped_by_the_limits(lab, still_fine):
    macros = ['#define A0 "xxxxxxxxxxxxxxxx"'] + [f"#define A{i} A{i-1} A{i-1} A{i-1} A{i-1}" for i in range(1, 14)]
    source = "\n".join(macros) + "\nconst char *s = A13;\nint main(void) { return s[0]; }\n"
    trace = run_programs(lab, [program("bomb", source)], limits={"wall_ms": 3000, "memory_bytes": 64 << 20})
    run = trace["run"]
    assert run["outcome"] in ("limit_exceeded", "timeout"), run
    assert run["reason"].endswith('while compiling program "bomb"'), run["reason"]
    assert trace["processes"] == []


def test_a_program_sees_only_the_environment_the_run_gives_it(lab, still_fine):
    source = r"""
#include <stdio.h>
extern char **environ;
int main(void) { for (char **e = environ; *e; e++) printf("%s\n", *e); return 0; }
"""
    trace, p = run_one(lab, source)
    assert trace["run"]["outcome"] == "ok", trace["run"]
    names = {line.split("=", 1)[0] for line in p["stdout"].splitlines()}
    # Nothing of the server's environment (e2e/test_isolation.py puts a marker there): only the run's.
    assert names == {"PATH", "HOME", "TMPDIR", "LC_ALL", "LD_PRELOAD", "IPCLAB_RING_FD", "IPCLAB_PROGRAM"}, names


def test_a_program_cannot_end_its_run_early(lab, still_fine):
    """The run is over when its init says done to the spawner: no process of the run holds that channel
    (the init's control socket, close-on-exec) nor the server's completion pipe (the spawner's alone),
    and the init's descriptors are out of reach. A program that writes a forged "done" to every
    descriptor it has, then sleeps, is still traced to its exit."""
    source = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int done[4] = {3, 0, 0, 0};
    for (int fd = 3; fd < 1024; fd++) {
        if (fcntl(fd, F_GETFD) < 0) continue;
        char link[64], path[64] = "";
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, path, sizeof path - 1);
        if (n > 0) path[n] = 0;
        printf("fd %d %s\n", fd, path);
        if (strncmp(path, "/memfd:", 7) == 0) continue; /* its own ring: overwriting it spoils only its trace */
        send(fd, done, sizeof done, MSG_DONTWAIT | MSG_NOSIGNAL);
        write(fd, done, sizeof done);
    }
    const char *theirs[] = {"/proc/1/fd/99", "/proc/1/fd/100", "/proc/1/fd/3"};
    for (int i = 0; i < 3; i++) {
        int fd = open(theirs[i], O_WRONLY);
        printf("%s %s\n", theirs[i], fd >= 0 ? "OPEN" : strerror(errno));
        if (fd >= 0) write(fd, done, sizeof done);
    }
    fflush(stdout);
    usleep(300000);
    return 7;
}
"""
    trace, p = run_one(lab, source)
    assert trace["run"]["outcome"] == "ok", trace["run"]
    assert p is not None and p["exit"] == {"code": 7}, p
    lines = p["stdout"].splitlines()
    held = [line for line in lines if line.startswith("fd ")]
    # Only the ring, at the descriptor the tracer is told (IPCLAB_RING_FD): no socket, no pipe.
    assert all("socket:" not in line and "pipe:" not in line for line in held), held
    assert not any(line.split()[1] in ("99", "100") for line in held), held
    assert all(not line.endswith("OPEN") for line in lines if line.startswith("/proc/1/")), lines
