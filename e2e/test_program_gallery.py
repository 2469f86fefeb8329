"""The gallery of example C programs (GET /api/v1/programs): each example compiles cleanly with the
host's gcc (-Wall -Wextra -Werror), runs natively to exit 0 printing what its stdout checks look for,
and runs through the API to `ok` with every one of its checks passing."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from harness import REPO, server_binary

GALLERY_IDS = ["c.pipe_parent_child", "c.pipe_filter", "c.fifo", "c.sysv_shm", "c.posix_shm_sem", "c.message_queue",
               "c.message_queue_args", "c.signal_handler", "c.socket_server_client"]
# The examples whose programs take default arguments or standard input (run with them natively and in the sandbox).
WITH_INPUT = {"c.pipe_filter": {"filter": (["upper", "2"], "hello from stdin\nsecond line\nthird line, not sent\n")},
              "c.message_queue_args": {"mq_args": (["1:tidy up", "9:fire alarm", "5:lunch is ready"], "")}}


@pytest.fixture(scope="module")
def gallery(lab: Any) -> dict[str, dict[str, Any]]:
    r = lab.get("/api/v1/programs")
    assert r.status == 200, r.body[:500]
    return {e["id"]: e for e in r.json["programs"]}


def test_gallery_lists_one_example_per_mechanism(gallery: dict[str, dict[str, Any]], catalog: dict[str, Any]) -> None:
    assert sorted(gallery) == sorted(GALLERY_IDS)
    assert {e["mechanism"] for e in gallery.values()} >= {"pipe", "fifo", "shm", "sem", "mq", "signal", "socket"}
    observations = {o for e in catalog.values() for o in e["observations"]}
    for entry in gallery.values():
        assert set(entry["observations"]) <= observations, entry["id"]
        for program in entry["programs"]:
            # The source is the repository's file (the server embeds programs/ when built).
            assert program["source"] in {p.read_text() for p in (REPO / "programs").glob("*.c")}, program["name"]
            # Default arguments and standard input, as a run request's `programs` takes them.
            default = WITH_INPUT.get(entry["id"], {}).get(program["name"], ([], ""))
            assert (program["args"], program["stdin"]) == default, (entry["id"], program["name"])


def stdout_checks(entry: dict[str, Any]) -> dict[str, list[str]]:
    wanted: dict[str, list[str]] = {}
    for c in entry["checks"]:
        if c["kind"] == "stdout":
            wanted.setdefault(c["process"], []).append(c["contains"])
    return wanted


@pytest.mark.parametrize("example", GALLERY_IDS)
def test_example_compiles_cleanly_and_runs_natively(gallery: dict[str, dict[str, Any]], example: str) -> None:
    entry = gallery[example]
    with tempfile.TemporaryDirectory(prefix="ipclab-gallery-") as tmp:
        binaries = {}
        for program in entry["programs"]:
            src = Path(tmp) / f"{program['name']}.c"
            src.write_text(program["source"])
            binary = Path(tmp) / program["name"]
            cc = subprocess.run(["gcc", "-std=gnu17", "-Wall", "-Wextra", "-Werror", "-O0", "-o", str(binary), str(src)],
                                capture_output=True, text=True, timeout=60)
            assert cc.returncode == 0, f"{program['name']}: {cc.stderr}"
            binaries[program["name"]] = binary
        # Started together, as a run starts them (the client retries until the server listens), each with
        # its default arguments and standard input.
        programs = {p["name"]: p for p in entry["programs"]}
        procs = {name: subprocess.Popen([str(b), *programs[name]["args"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, cwd=tmp)
                 for name, b in binaries.items()}
        outputs = {name: p.communicate(input=programs[name]["stdin"], timeout=20) for name, p in procs.items()}
    for name, p in procs.items():
        assert p.returncode == 0, f"{name} exited {p.returncode}: {outputs[name][1]}"
    for process, texts in stdout_checks(entry).items():
        name = process.split(".")[0]  # natively a fork (`filter.1`) writes to its program's stdout
        for text in texts:
            assert text in outputs[name][0], f"{name} printed {outputs[name][0]!r}, without {text!r}"


def failing(trace: dict[str, Any]) -> str:
    """What to show when a gallery run went wrong: the reason, the compiler, each process's stderr."""
    run = trace["run"]
    return json.dumps({"outcome": run["outcome"], "reason": run.get("reason"), "diagnostics": run.get("diagnostics"),
                       "checks": [c for c in trace.get("checks", []) if not c["passed"]],
                       "processes": [(p["name"], p.get("exit"), p.get("stdout"), p.get("stderr")) for p in trace["processes"]]},
                      indent=1)


@pytest.mark.parametrize("example", GALLERY_IDS)
def test_example_runs_to_ok_in_the_sandbox_with_every_check_passing(lab: Any, gallery: dict[str, dict[str, Any]],
                                                                     example: str) -> None:
    entry = gallery[example]
    r = lab.run({"programs": entry["programs"], "checks": entry["checks"]})
    assert r.status == 200, r.body[:500]
    trace = r.json
    assert trace["run"]["outcome"] == "ok", failing(trace)
    assert [c["id"] for c in trace["checks"] if not c["passed"]] == [], failing(trace)
    assert trace["score"] == trace["max_score"] == len(entry["checks"])
    names = {p["name"] for p in trace["processes"]}
    assert {p["name"] for p in entry["programs"]} <= names
    # what the stdout checks read is what the process printed, captured in the trace
    for process, texts in stdout_checks(entry).items():
        out = next(p for p in trace["processes"] if p["name"] == process)["stdout"]
        assert all(t in out for t in texts), out
    # the run carries exactly the observations the gallery lists for it, each holding on its evidence
    observations = {o["id"]: o for o in trace["observations"]}
    assert sorted(observations) == sorted(entry["observations"]), failing(trace) + json.dumps(trace["observations"], indent=1)
    seqs = {e["seq"] for e in trace["events"]}
    for o in observations.values():
        assert o["holds"], o
        assert o["evidence"] and set(o["evidence"]) <= seqs, o
    # each stdout check cites the output events that carried its text (the capture, seen by the run's init)
    for c in trace["checks"]:
        if c["id"].endswith("_stdout"):
            cited = [e for e in trace["events"] if e["seq"] in c["evidence"]]
            assert cited and all(e["call"] in ("output", "write") for e in cited), c
            assert any(e["call"] == "output" and e["args"]["fd"] == 1 for e in cited), c


def test_a_student_program_with_no_matching_shape_carries_no_observation(lab: Any) -> None:
    # A pipe the parent writes and reads itself: no writer in another process, so nothing of pipe.hello
    # or pipe.eof can be shown; and a kill of a child without a handler is no handshake.
    source = r"""
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int fd[2];
    char buf[8];
    pipe(fd);
    write(fd[1], "hi", 2);
    read(fd[0], buf, sizeof buf);
    pid_t child = fork();
    if (child == 0) { pause(); return 0; }
    kill(child, SIGTERM);
    waitpid(child, NULL, 0);
    printf("done\n");
    return 0;
}
"""
    r = lab.run({"programs": [{"name": "alone", "language": "c", "source": source}], "limits": {"wall_ms": 8000}})
    assert r.status == 200, r.body[:500]
    assert r.json["run"]["outcome"] == "ok", failing(r.json)
    assert r.json["observations"] == []


def test_a_program_whose_shape_fits_but_whose_behaviour_did_not_happen_says_why(lab: Any,
                                                                              gallery: dict[str, dict[str, Any]]) -> None:
    # The gallery's pipe program with the parent's close of its write end taken out: the read never sees
    # end of file, the run is a deadlock, and the observations say so rather than hold.
    entry = gallery["c.pipe_parent_child"]
    source = entry["programs"][0]["source"]
    broken = source.replace("    close(fd[1]); /* the parent only reads", "    /* close(fd[1]); */ /* the parent only reads")
    assert broken != source
    r = lab.run({"programs": [{**entry["programs"][0], "source": broken}], "limits": {"wall_ms": 8000}})
    trace = r.json
    assert trace["run"]["outcome"] == "deadlock", failing(trace)
    observations = {o["id"]: o for o in trace["observations"]}
    eof = observations["pipe.eof.read_returns_zero"]
    assert eof["holds"] is False and "never returned" in eof["detail"] and "never closed its own write end" in eof["detail"], eof
    assert observations["pipe.hello.parent_waited"]["holds"] is False
    assert observations["pipe.hello.message_received"]["holds"] is True


def test_a_stdout_check_fails_when_the_text_is_not_printed(lab: Any, gallery: dict[str, dict[str, Any]]) -> None:
    entry = gallery["c.pipe_parent_child"]
    checks = [{"id": "said_goodbye", "kind": "stdout", "process": "pipe", "contains": "goodbye"},
              {"id": "said_hello", "kind": "stdout", "process": "pipe", "contains": "hello from the child"},
              {"id": "nobody", "kind": "stdout", "process": "nobody", "contains": "x"}]
    trace = lab.run({"programs": entry["programs"], "checks": checks}).json
    results = {c["id"]: c for c in trace["checks"]}
    assert not results["said_goodbye"]["passed"]
    assert "does not contain \"goodbye\"" in results["said_goodbye"]["message"], results["said_goodbye"]
    assert results["said_hello"]["passed"], results["said_hello"]
    assert not results["nobody"]["passed"] and "nobody" in results["nobody"]["message"]
    # on a scenario's run, no process has captured output: the check fails and says so
    preset = lab.run({"experiment": "pipe.hello", "checks": [{"id": "s", "kind": "stdout", "process": "parent", "contains": "x"}]}).json
    assert not preset["checks"][0]["passed"] and "no captured standard output" in preset["checks"][0]["message"]


def test_ipclab_grade_grades_programs(gallery: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    entry = gallery["c.socket_server_client"]
    args = []
    for p in entry["programs"]:
        (tmp_path / f"{p['name']}.c").write_text(p["source"])
        args += ["--program", f"{p['name']}={tmp_path / (p['name'] + '.c')}"]
    (tmp_path / "checks.json").write_text(json.dumps(entry["checks"]))
    ok = subprocess.run([str(server_binary()), "grade", *args, "--checks", str(tmp_path / "checks.json"), "--repeat", "3",
                         "--format", "json"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr
    grade = json.loads(ok.stdout)
    assert grade["passed"] and grade["runs"] == 3
    # a client that sends something else fails the server's stdout check, and the grade says so
    (tmp_path / "client.c").write_text(entry["programs"][1]["source"].replace('"hello, server"', '"goodbye"'))
    # FILE.c alone names the program after the file
    plain = [a if a == "--program" else a.split("=", 1)[1] for a in args]
    bad = subprocess.run([str(server_binary()), "grade", *plain, "--checks", str(tmp_path / "checks.json"), "--repeat", "2"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "server_stdout" in bad.stdout and "does not contain" in bad.stdout, bad.stdout


@pytest.mark.parametrize("example", ["c.pipe_filter", "c.message_queue_args"])
def test_ipclab_grade_gives_programs_their_args_and_stdin(gallery: dict[str, dict[str, Any]], tmp_path: Path,
                                                          example: str) -> None:
    """--program-arg NAME=WORD and --program-stdin NAME=FILE give the CLI's programs what the API's
    programs[].args and .stdin give: the examples that take input pass their own checks only with it."""
    entry = gallery[example]
    args: list[str] = []
    for p in entry["programs"]:
        (tmp_path / f"{p['name']}.c").write_text(p["source"])
        args += ["--program", f"{p['name']}={tmp_path / (p['name'] + '.c')}"]
        args += [a for word in p["args"] for a in ("--program-arg", f"{p['name']}={word}")]
        if p["stdin"]:
            (tmp_path / f"{p['name']}.in").write_text(p["stdin"])
            args += ["--program-stdin", f"{p['name']}={tmp_path / (p['name'] + '.in')}"]
    (tmp_path / "checks.json").write_text(json.dumps(entry["checks"]))
    grade = [str(server_binary()), "grade", "--checks", str(tmp_path / "checks.json"), "--repeat", "2", "--format", "json"]
    ok = subprocess.run(grade + args, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr
    assert json.loads(ok.stdout)["passed"]
    # without its input the same program fails its checks
    bare = [a for i, a in enumerate(args) if not a.startswith("--program-") and not (i and args[i - 1].startswith("--program-"))]
    without = subprocess.run(grade + bare, capture_output=True, text=True, timeout=120)
    assert without.returncode == 1, without.stdout[-2000:] + without.stderr
    # a NAME no --program has is refused, naming it
    wrong = subprocess.run(grade + args + ["--program-arg", "nobody=1"], capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and "no --program is named nobody" in wrong.stderr, wrong.stderr
