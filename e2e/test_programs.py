"""Issue 19, students' own C programs: `POST /api/v1/runs` with `programs` compiles each in the run's
sandbox and traces it through the interposer (every response checked against openapi.yaml)."""

from __future__ import annotations

import os

from typing import Any

from traces import calls, process

PROGRAMS = os.path.join(os.path.dirname(__file__), "programs")
PIPE = open(os.path.join(PROGRAMS, "pipe.c")).read()
VFORK = open(os.path.join(PROGRAMS, "vfork.c")).read()


def program(name: str, source: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "language": "c", "source": source, **kw}


def run_programs(lab, programs: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    r = lab.run({"programs": programs, **body})
    assert r.status == 200, r.body[:800]
    trace = r.json
    check_program_trace(trace)
    return trace


def check_program_trace(trace: dict[str, Any]) -> None:
    """The invariants of a program run's trace: processes named after their programs, each with a
    parent among them (or none, for a program's first), events by known pids, ordered."""
    run = trace["run"]
    assert run["tracer"] == "interposer", run
    if run["outcome"] == "ok":
        assert run["reason"] is None, run
    else:
        assert run["reason"], run
    names = [p["name"] for p in trace["processes"]]
    assert len(set(names)) == len(names), names
    pid_of = {p["name"]: p["pid"] for p in trace["processes"]}
    for p in trace["processes"]:
        assert p["parent"] is None or p["parent"] in pid_of, p
        assert isinstance(p["stdout"], str) and isinstance(p["stderr"], str) and isinstance(p["truncated"], bool), p
    events = trace["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["t_ns"] for e in events] == sorted(e["t_ns"] for e in events)
    for e in events:
        assert e["process"] in pid_of and e["pid"] == pid_of[e["process"]], e


def test_a_two_process_pipe_program_is_traced(lab):
    trace = run_programs(lab, [program("parent", PIPE)])
    run = trace["run"]
    assert run["outcome"] == "ok", run["reason"]
    assert run["diagnostics"] == []
    assert [(p["name"], p["parent"]) for p in trace["processes"]] == [("parent", None), ("parent.1", "parent")]
    parent, child = process(trace, "parent"), process(trace, "parent.1")
    assert parent["exit"] == {"code": 0} and child["exit"] == {"code": 0}
    assert parent["stdout"] == "parent done, child exited 0\n"
    assert parent["stderr"] == "a word on stderr\n"
    # The child's printf goes to its own stdout, not its parent's.
    assert child["stdout"] == "child got: hello\n" and child["stderr"] == ""
    [pipe] = calls(trace, "pipe", "parent")
    assert pipe["result"] == 0 and len(pipe["args"]["fds"]) == 2
    read_end, write_end = pipe["args"]["fds"]
    [fork] = calls(trace, "fork", "parent")
    assert fork["result"] == child["pid"] and fork["args"]["child"] == "parent.1"
    [write] = calls(trace, "write", "parent")
    assert write["args"]["fd"] == write_end and write["result"] == 5
    assert bytes.fromhex(write["payload"]["hex"]) == b"hello"
    [read] = calls(trace, "read", "parent.1")
    assert read["args"]["fd"] == read_end and read["result"] == 5 and read["blocked_ns"] is not None
    assert bytes.fromhex(read["payload"]["hex"]) == b"hello"
    closes = {(e["process"], e["args"]["fd"], e["args"]["end"]) for e in calls(trace, "close")}
    assert {("parent", read_end, "read"), ("parent", write_end, "write"), ("parent.1", write_end, "write")} <= closes
    # The pipe is named by its inode, in every process, and what was written is paired with what was read.
    assert {e["args"]["channel"] for e in calls(trace, "close") + [pipe, write, read]} == {"pipe1"}
    data = [t for t in trace["transfers"] if t["kind"] == "data"]
    assert data == [{"kind": "data", "from": write["seq"], "to": read["seq"], "channel": "pipe1", "bytes": 5}], trace["transfers"]
    # The pipe's state after each call that moved bytes, as for a scenario's pipes.
    snapshots = {o["seq"]: o for o in trace["objects"]}
    assert set(snapshots) == {write["seq"], read["seq"]}, trace["objects"]
    assert all(o["object"] == "pipe1" and o["kind"] == "pipe" and o["state"]["capacity"] == 65536 for o in snapshots.values())
    assert snapshots[read["seq"]]["state"]["bytes"] == 0 and snapshots[write["seq"]]["state"]["bytes"] in (0, 5)
    [wait] = calls(trace, "waitpid", "parent")
    assert wait["result"] == child["pid"] and wait["args"]["process"] == "parent.1"
    assert wait["args"]["status"] == {"code": 0}


def test_a_compile_error_is_a_200_with_diagnostics(lab):
    source = "int main(void) {\n    int x = 1;\n    return y;\n}\n"
    trace = run_programs(lab, [program("broken", source)])
    run = trace["run"]
    assert run["outcome"] == "compile_error", run
    assert run["reason"].startswith('program "broken" did not compile'), run["reason"]
    errors = [d for d in run["diagnostics"] if d["severity"] == "error"]
    assert errors and all(d["program"] == "broken" for d in errors), run["diagnostics"]
    assert errors[0]["line"] == 3 and errors[0]["column"] == 12, errors[0]
    assert "undeclared" in errors[0]["message"], errors
    assert run["reason"].endswith(errors[0]["message"]), run["reason"]
    # Nothing ran.
    assert trace["processes"] == [] and trace["events"] == []


def test_warnings_do_not_stop_a_program(lab):
    source = "#include <stdio.h>\nint main(void) { int unused; printf(\"%d\\n\", 42); return 0; }\n"
    trace = run_programs(lab, [program("warned", source + "int f(void) { }\n")])
    assert trace["run"]["outcome"] == "ok", trace["run"]
    assert process(trace, "warned")["stdout"] == "42\n"


def test_args_and_stdin_reach_the_program(lab):
    source = r"""
#include <stdio.h>
int main(int argc, char **argv) {
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 3;
    printf("%d %s %s|%s", argc, argv[0], argv[1], line);
    return 0;
}
"""
    trace = run_programs(lab, [program("echo", source, args=["one"], stdin="from stdin\n")])
    assert trace["run"]["outcome"] == "ok", trace["run"]
    assert process(trace, "echo")["stdout"] == "2 echo one|from stdin\n"


def test_bad_program_requests_name_the_field(lab):
    r = lab.run({"programs": [program("Bad Name", "int main(){}")]})
    assert r.error(400, "invalid_request")["path"] == "programs[0].name"
    r = lab.run({"programs": [program("a", "int main(){}", language="rust")]})
    assert r.error(400, "invalid_request")["path"] == "programs[0].language"
    r = lab.run({"programs": [program("a", "int main(){}"), program("a", "int main(){}")]})
    assert r.error(400, "invalid_request")["path"] == "programs[1].name"
    r = lab.run({"programs": [program("a", "int main(){}")], "experiment": "pipe.hello"})
    assert r.error(400, "invalid_request")["path"] == "experiment"
    r = lab.run({"programs": []})
    assert r.error(400, "invalid_request")["path"] == "programs"
    # Every mistake at once, in the body's order, as for a scenario.
    bad = [program("Bad Name", "int main(){}", args=[1, "ok", 2]), program("b", "", language="rust", stdin=5)]
    r = lab.run({"programs": bad, "limits": {"wall_ms": -1}})
    paths = [e["path"] for e in r.error(400, "invalid_request")["errors"]]
    assert paths == ["programs[0].name", "programs[0].args[0]", "programs[0].args[2]", "programs[1].language",
                     "programs[1].source", "programs[1].stdin", "limits.wall_ms"], paths


IPC = open(os.path.join(PROGRAMS, "ipc_tour.c")).read()


def test_shm_semaphores_queues_signals_and_sockets_use_the_vocabulary(lab):
    trace = run_programs(lab, [program("tour", IPC)])
    assert trace["run"]["outcome"] == "ok", trace["run"]
    assert process(trace, "tour")["stdout"] == "shared=42 mq=ping prio=1 signal=10\n"
    def one(call, proc="tour"):
        found = calls(trace, call, proc)
        assert len(found) == 1, (call, found)
        return found[0]
    assert one("shm_open")["args"]["name"] == "/counter" and one("shm_open")["result"] >= 0
    assert one("mmap")["args"]["flags"] == "MAP_SHARED"
    assert one("sem_open")["args"]["name"] == "/lock" and one("sem_open")["args"]["value"] == 0
    assert one("mq_open")["args"]["attr"] == {"mq_maxmsg": 4, "mq_msgsize": 32}
    sent = one("mq_send", "tour.1")
    assert bytes.fromhex(sent["payload"]["hex"]) == b"ping" and sent["args"]["msg_prio"] == 1
    got = one("mq_receive")
    assert got["result"] == 4 and got["args"]["msg_prio"] == 1 and bytes.fromhex(got["payload"]["hex"]) == b"ping"
    assert one("sem_post", "tour.1")["result"] == 0 and one("sem_wait")["result"] == 0
    kill = one("kill", "tour.1")
    assert kill["args"]["signal"] == "SIGUSR1" and kill["args"]["process"] == "tour"
    delivered = one("deliver")
    assert delivered["args"]["signal"] == "SIGUSR1" and delivered["args"]["sender"] == "tour.1"
    assert {"kind": "signal", "from": kill["seq"], "to": delivered["seq"]}.items() <= next(
        t for t in trace["transfers"] if t["kind"] == "signal").items(), trace["transfers"]
    assert one("sigaction")["args"]["handler"] == "handler"
    assert one("bind")["args"]["addr"] == "127.0.0.1:9000" and one("listen")["result"] == 0
    for call in ("shm_unlink", "sem_unlink", "mq_unlink"):
        assert one(call)["result"] == 0


def test_a_program_run_streams_its_events_with_the_trace_names(server):
    from test_stream import key, parse_stream, stream_run
    status, headers, lines = stream_run(server, {"programs": [program("parent", PIPE)]})
    assert status == 200, lines[:3]
    objects = parse_stream(headers, lines)
    trace = objects[-1]["trace"]
    check_program_trace(trace)
    streamed = [o["event"] for o in objects if o["type"] == "event"]
    # The same events as the trace's, each once, under the same process names (forks too).
    assert sorted(map(key, streamed)) == sorted(map(key, trace["events"]))
    assert {e["process"] for e in streamed} == {"parent", "parent.1"}


def test_checks_grade_a_program_run(lab):
    checks = [{"id": "child_ok", "kind": "exit", "process": "parent.1", "code": 0},
              {"id": "pipe_then_read", "kind": "order", "first": {"process": "parent", "call": "pipe"},
               "then": {"process": "parent.1", "call": "read"}},
              {"id": "child_killed", "kind": "exit", "process": "parent.1", "signal": "SIGKILL"}]
    trace = run_programs(lab, [program("parent", PIPE)], checks=checks)
    assert [(c["id"], c["passed"]) for c in trace["checks"]] == [("child_ok", True), ("pipe_then_read", True), ("child_killed", False)]


def test_the_cli_runs_programs_from_files(tmp_path):
    import subprocess
    from harness import server_binary
    parent = tmp_path / "parent.c"
    parent.write_text(PIPE)
    out = subprocess.run([str(server_binary()), "run", "--program", str(parent)], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    import json
    trace = json.loads(out.stdout)
    check_program_trace(trace)
    assert [p["name"] for p in trace["processes"]] == ["parent", "parent.1"]
    bad = tmp_path / "bad.c"
    bad.write_text("int main(void) { return y; }\n")
    out = subprocess.run([str(server_binary()), "run", "--program", str(bad), "--format", "text"], capture_output=True, timeout=120)
    assert out.returncode == 1
    assert b"bad.c:1:" in out.stderr and b"error:" in out.stderr, out.stderr
    assert b"outcome compile_error" in out.stdout, out.stdout


def test_a_program_that_deadlocks_ends_at_once_saying_who_waits(lab):
    source = open(os.path.join(PROGRAMS, "forgot_to_close.c")).read()
    trace = run_programs(lab, [program("parent", source)], limits={"wall_ms": 8000})
    run = trace["run"]
    assert run["outcome"] == "deadlock", run
    # Well before the wall limit: the run's init saw every live process blocked for good.
    assert run["duration_ns"] < 6_000_000_000, run["duration_ns"]
    assert run["deadlock"]["blocked"] == [{"process": "parent", "call": "read", "channel": "pipe1",
                                           "since_ms": run["deadlock"]["blocked"][0]["since_ms"]}]
    assert "parent reads pipe1" in run["reason"] and "write end is parent's own" in run["reason"], run["reason"]
    assert process(trace, "parent")["exit"] == {"signal": "SIGKILL", "core_dumped": False}


def test_a_slow_writer_is_no_deadlock(lab):
    source = r"""
#include <unistd.h>
#include <sys/wait.h>
int main(void) {
    int fds[2];
    pipe(fds);
    if (fork() == 0) { close(fds[0]); usleep(300000); write(fds[1], "late", 4); return 0; }
    close(fds[1]);
    char buf[8];
    while (read(fds[0], buf, sizeof buf) > 0) { }
    wait(NULL);
    return 0;
}
"""
    trace = run_programs(lab, [program("parent", source)], limits={"wall_ms": 5000})
    assert trace["run"]["outcome"] == "ok", trace["run"]


SERVER = r"""
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7000) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0) { perror("bind/listen"); return 1; }
    int c = accept(s, NULL, NULL);
    char buf[32];
    ssize_t n = recv(c, buf, sizeof buf, 0);
    printf("server got %.*s\n", (int)n, buf);
    close(c);
    return 0;
}
"""

CLIENT = r"""
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7000) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int tries = 0; tries < 200; tries++) {   /* the server may not be listening yet */
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) { send(s, "hello", 5, 0); close(s); return 0; }
        close(s);
        usleep(5000);
    }
    return 1;
}
"""


def test_two_programs_share_the_run_a_server_and_a_client(lab):
    trace = run_programs(lab, [program("server", SERVER), program("client", CLIENT)], limits={"wall_ms": 5000})
    assert trace["run"]["outcome"] == "ok", trace["run"]
    server, client = process(trace, "server"), process(trace, "client")
    assert server["parent"] is None and client["parent"] is None
    assert server["stdout"] == "server got hello\n" and client["exit"] == {"code": 0}
    [bind] = calls(trace, "bind", "server")
    assert bind["args"]["addr"] == "127.0.0.1:7000"
    [accepted] = calls(trace, "accept", "server")
    assert accepted["result"] >= 0 and accepted["args"]["peer"].startswith("127.0.0.1:")
    connected = [e for e in calls(trace, "connect", "client") if e["result"] == 0]
    assert len(connected) == 1 and connected[0]["args"]["addr"] == "127.0.0.1:7000"
    [sent] = calls(trace, "send", "client")
    [got] = calls(trace, "recv", "server")
    assert bytes.fromhex(sent["payload"]["hex"]) == bytes.fromhex(got["payload"]["hex"]) == b"hello"


def test_long_output_is_cut_and_marked(lab):
    source = "#include <stdio.h>\nint main(void) { for (int i = 0; i < 3000; i++) printf(\"line %04d\\n\", i); return 0; }\n"
    trace = run_programs(lab, [program("chatty", source)])
    assert trace["run"]["outcome"] == "ok", trace["run"]
    p = process(trace, "chatty")
    assert p["truncated"] is True and len(p["stdout"]) == 8192, len(p["stdout"])
    assert p["stdout"].startswith("line 0000\nline 0001\n")


def test_endless_output_is_bounded(lab):
    # The captured output lives in the run's /tmp, which holds file_bytes in all: the program's writes
    # fail (ENOSPC, or SIGXFSZ at RLIMIT_FSIZE) long before the server could be asked to hold more.
    source = "#include <stdio.h>\nint main(void) { for (;;) fputs(\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\n\", stdout); }\n"
    trace = run_programs(lab, [program("flood", source)], limits={"file_bytes": 1 << 20, "wall_ms": 1500})
    run = trace["run"]
    p = process(trace, "flood")
    assert p["truncated"] is True and len(p["stdout"]) == 8192
    assert run["outcome"] in ("timeout", "limit_exceeded"), run
    assert p["exit"] in ({"signal": "SIGKILL", "core_dumped": False}, {"signal": "SIGXFSZ", "core_dumped": False}), p


def test_vfork_and_posix_spawn_children_have_their_own_output(lab):
    # A vfork child that writes and _exits, one that execs echo, and a posix_spawn child (cloned with
    # CLONE_VFORK inside the C library): each is a process of its own, with its own stdout; the parent's
    # holds only its own line. Before, the children's lines went into the parent's capture.
    trace = run_programs(lab, [program("vf", VFORK)], limits={"wall_ms": 8000})
    assert trace["run"]["outcome"] == "ok", trace["run"]
    # Named in the order they started (the children race), so each is found by what it is.
    assert sorted((p["name"], p["parent"]) for p in trace["processes"]) == [
        ("vf", None), ("vf.1", "vf"), ("vf.2", "vf"), ("vf.3", "vf")], trace["processes"]
    by_out = {p["stdout"]: p for p in trace["processes"]}
    assert sorted(by_out) == ["parent prints alone\n", "posix_spawn child\n", "vfork child execs echo\n", "vfork child writes\n"], by_out
    assert by_out["parent prints alone\n"]["name"] == "vf"
    writer, execer = by_out["vfork child writes\n"], by_out["vfork child execs echo\n"]
    # Both vforks are traced as forks, each returning its child's pid.
    assert [f["result"] for f in calls(trace, "fork", "vf")] == [writer["pid"], execer["pid"]]
    [write] = calls(trace, "write", writer["name"])
    assert write["args"]["fd"] == 1 and write["pid"] == writer["pid"]


def test_output_events_carry_what_each_process_printed(lab):
    # printf's write is inside the C library (no event); the run's init records what each capture gained.
    source = ("#include <stdio.h>\n#include <unistd.h>\n"
              "int main(void) { printf(\"first line\\n\"); fflush(stdout); usleep(500000);\n"
              " fprintf(stderr, \"oops\\n\"); printf(\"second line\\n\"); return 0; }\n")
    trace = run_programs(lab, [program("talk", source)], limits={"wall_ms": 8000},
                         checks=[{"id": "both", "kind": "stdout", "process": "talk", "contains": "line\nsecond"}])
    assert trace["run"]["outcome"] == "ok", trace["run"]
    outputs = calls(trace, "output", "talk")
    out = [e for e in outputs if e["args"]["fd"] == 1]
    err = [e for e in outputs if e["args"]["fd"] == 2]
    # What the events carried, put back together at their offsets, is the captured output.
    assert "".join(bytes.fromhex(e["payload"]["hex"]).decode() for e in out) == process(trace, "talk")["stdout"]
    assert [e["args"]["offset"] for e in out] == [sum(x["args"]["bytes"] for x in out[:i]) for i in range(len(out))]
    assert all(e["result"] == e["args"]["bytes"] == e["payload"]["bytes"] for e in outputs)
    assert [bytes.fromhex(e["payload"]["hex"]) for e in err] == [b"oops\n"]
    # The init looks every 10 ms while the run lasts: the first line was seen during the half-second sleep.
    [sleep] = calls(trace, "nanosleep", "talk")
    assert out[0]["t_ns"] < sleep["end_ns"] and bytes.fromhex(out[0]["payload"]["hex"]) == b"first line\n", out
    # A text that spans two chunks cites both.
    [check] = trace["checks"]
    assert check["passed"] and sorted(check["evidence"]) == sorted(e["seq"] for e in out[:2]), (check, out)


def test_a_write_to_a_pipe_without_readers_kills_with_sigpipe(lab):
    """The program starts with every signal at its default action (the server ignores SIGPIPE, and an
    ignored disposition survives exec): its write to a pipe nobody can read kills it, as the course says."""
    source = r"""
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
    struct sigaction sa;
    sigaction(SIGPIPE, NULL, &sa);
    printf("SIGPIPE %s\n", sa.sa_handler == SIG_DFL ? "default" : "not default");
    fflush(stdout);
    int fd[2];
    pipe(fd);
    close(fd[0]);
    write(fd[1], "x", 1);
    printf("still alive\n");
    return 0;
}
"""
    trace = run_programs(lab, [program("writer", source)])
    writer = process(trace, "writer")
    assert writer["stdout"] == "SIGPIPE default\n", writer
    assert writer["exit"]["signal"] == "SIGPIPE", writer["exit"]
    write = calls(trace, "write", "writer")[-1]
    assert write["errno"] == "EPIPE" or not write["returned"], write
