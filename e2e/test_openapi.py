"""openapi.yaml is a valid OpenAPI 3.1 document, the server serves it, and the checker that every
other test relies on (contract.check_response) really rejects what the contract forbids."""

from __future__ import annotations

import copy

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from openapi_spec_validator.readers import read_from_filename

from contract import CONTRACT_SCENARIO, SPEC_PATH, ContractError, check_response, spec, validate_schema


CONTRACT_TRACE = {
    "trace_version": 1,
    "run": {"id": "0f3c9a7e5b2d4c1f8e6a0b1c2d3e4f50", "experiment": "pipe.hello", "started_at": "2026-11-21T17:00:00.123Z",
            "duration_ns": 812345, "outcome": "ok", "reason": None,
            "limits": {"wall_ms": 2000, "cpu_ms": 10000, "memory_bytes": 67108864, "processes": 32,
                       "open_files": 256, "file_bytes": 16777216, "events": 16384, "payload_bytes": 268435456},
            "sandbox": {"namespaces": ["user", "pid", "ipc", "mount", "uts"],
                        "setup": [{"op": "mount_tmpfs", "result": 0, "errno": None}]},
            "events_dropped": 0},
    "scenario": CONTRACT_SCENARIO,
    "processes": [{"name": "parent", "pid": 2, "parent": None, "exit": {"code": 0},
                   "cpu_ns": {"user": 0, "system": 120000}},
                  {"name": "child", "pid": 3, "parent": "parent",
                   "exit": {"signal": "SIGPIPE", "core_dumped": False}, "cpu_ns": {"user": 0, "system": 1}}],
    "events": [{"seq": 1, "t_ns": 120345, "end_ns": 130000, "blocked_ns": 9655, "process": "child", "pid": 3,
                "step": 1, "call": "write", "args": {"fd": 4, "count": 6, "channel": "p"},
                "result": 6, "errno": None, "returned": True,
                "payload": {"bytes": 6, "text": "Hello\u0000", "hex": "48656c6c6f00", "truncated": False}},
               {"seq": 2, "t_ns": 130001, "end_ns": None, "blocked_ns": None, "process": "parent", "pid": 2,
                "step": 1, "call": "read", "args": {"fd": 3}, "result": None, "errno": None,
                "returned": False, "payload": None}],
    "transfers": [],
    "objects": [{"seq": 5, "t_ns": 130500, "object": "p", "kind": "pipe", "state": {"bytes": 6, "capacity": 65536}}],
    "observations": [{"id": "pipe.hello.message_received", "claim": "…", "holds": True, "evidence": [1],
                      "detail": "…"}],
}


def test_spec_is_valid_openapi_3_1():
    document, _ = read_from_filename(str(SPEC_PATH))
    assert document["openapi"].startswith("3.1")
    validate_spec(document)  # raises on any error


def test_every_component_schema_is_valid_json_schema():
    for name, schema in spec()["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)


def test_spec_has_every_path_of_the_contract():
    paths = spec()["paths"]
    assert set(paths["/api/v1/experiments"]) == {"get"}
    assert set(paths["/api/v1/calls"]) == {"get"}
    assert set(paths["/api/v1/experiments/{id}"]) == {"get"}
    assert set(paths["/api/v1/runs"]) == {"get", "post"}
    assert set(paths["/api/v1/runs/{id}"]) == {"get"}
    assert set(paths["/api/v1/grades/{id}"]) == {"get"}
    assert {p["name"] for p in paths["/api/v1/runs"]["get"]["parameters"]} == {"limit", "before", "experiment", "outcome"}
    assert {p["name"] for p in paths["/api/v1/runs/{id}"]["get"]["parameters"]} == {"id", "format"}
    assert "store" in spec()["components"]["schemas"]["RunRequest"]["properties"]
    assert set(paths["/api/v1/runs"]["post"]["responses"]) >= {"200", "400", "404", "413", "415", "500", "503"}
    assert set(paths["/api/v1/runs"]["post"]["responses"]["200"]["content"]) == {"application/json", "text/plain", "application/x-ndjson"}
    for p in ("/healthz", "/openapi.yaml", "/"):
        assert "get" in paths[p], p


def test_spec_examples_are_valid():
    examples = spec()["paths"]["/api/v1/runs"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert examples
    for name, example in examples.items():
        validate_schema(example["value"], "RunRequest", f"example {name}")
    validate_schema(CONTRACT_SCENARIO, "Scenario", "the contract's scenario")


SCHEMA_REJECTS = [
    (lambda s: s["processes"][0]["steps"][1].update(size=0), "read size below 1"),
    (lambda s: s["processes"][0]["steps"][1].update(size=1048577), "read size above 1 MiB"),
    (lambda s: s["processes"][1]["steps"][1].update(size=3), "write with data and size"),
    (lambda s: s["processes"][1]["steps"][1].update(repeat=4097), "repeat above 4096"),
    (lambda s: s["processes"][0]["steps"].append({"op": "teleport"}), "unknown op"),
    (lambda s: s["processes"][0]["steps"].append({"op": "sleep", "ms": 10001}), "sleep above 10 s"),
    (lambda s: s["processes"][0]["steps"].append({"op": "exit", "code": 256}), "exit code above 255"),
    (lambda s: s["processes"][0]["steps"].append({"op": "set_pipe_size", "channel": "p", "size": 4095}),
     "pipe size below 4096"),
    (lambda s: s["processes"][0]["steps"][0].update(end="both"), "bad end"),
    (lambda s: s["processes"][0]["steps"][0].update(colour=1), "unknown step field"),
    (lambda s: s["processes"][0].update(name="Parent"), "bad name"),
    (lambda s: s["channels"][1].update(path="/tmp/../etc/f"), "fifo path with .."),
    (lambda s: s["channels"][1].update(path="/var/f"), "fifo path outside /tmp"),
    (lambda s: s["channels"][1].update(path="/tmp//f"), "fifo path with //"),
    (lambda s: s["channels"][1].update(path="/tmp/" + "f" * 96), "fifo path over 100 chars"),
    (lambda s: s["channels"].append({"name": "s", "kind": "socket"}), "unknown channel kind"),
    (lambda s: s["processes"].extend({"name": f"p{i}", "steps": []} for i in range(7)), "9 processes"),
    (lambda s: s["channels"].extend({"name": f"c{i}", "kind": "pipe"} for i in range(15)), "17 channels"),
    (lambda s: s["processes"][0]["steps"].extend({"op": "sleep", "ms": 0} for _ in range(254)), "257 steps"),
    (lambda s: s.update(colour=1), "unknown scenario field"),
]


@pytest.mark.parametrize("mutate, why", SCHEMA_REJECTS, ids=[why for _, why in SCHEMA_REJECTS])
def test_scenario_schema_rejects(mutate, why):
    scenario = copy.deepcopy(CONTRACT_SCENARIO)
    mutate(scenario)
    with pytest.raises(ContractError):
        validate_schema(scenario, "Scenario", why)


def test_scenario_schema_accepts_its_bounds():
    scenario = copy.deepcopy(CONTRACT_SCENARIO)
    scenario["processes"][0]["steps"] += [{"op": "sleep", "ms": 0}] * 253  # 256 steps
    scenario["processes"] += [{"name": f"p{i}", "steps": []} for i in range(6)]  # 8 processes
    scenario["channels"] += [{"name": f"c{i}", "kind": "pipe"} for i in range(14)]  # 16 channels
    scenario["channels"][1]["path"] = "/tmp/" + "f" * 95  # 100 characters
    scenario["processes"][1]["steps"] += [
        {"op": "write", "channel": "p", "size": 1048576, "repeat": 4096},
        {"op": "read_all", "channel": "p"}, {"op": "fill", "channel": "p", "size": 1},
        {"op": "open", "channel": "f", "end": "read"},
        {"op": "set_nonblocking", "channel": "p", "end": "write", "enabled": False},
        {"op": "set_pipe_size", "channel": "p", "size": 1048576}, {"op": "get_pipe_size", "channel": "p"},
        {"op": "sleep", "ms": 10000}, {"op": "exit"}, {"op": "exit", "code": 255},
    ]
    validate_schema(scenario, "Scenario", "a scenario at its bounds")


def test_checker_accepts_the_contract_trace_and_rejects_drift():
    check_response("POST", "/api/v1/runs", 200, CONTRACT_TRACE)
    for path, value in [(("trace_version",), 2), (("run", "outcome"), "crashed"),
                        (("run", "started_at"), "yesterday"), (("events", 0, "errno"), "again"),
                        (("events", 0, "payload", "hex"), "XYZ"), (("observations", 0, "holds"), "yes"),
                        (("processes", 0, "exit"), {"code": 0, "signal": "SIGKILL"})]:
        trace = copy.deepcopy(CONTRACT_TRACE)
        node = trace
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        with pytest.raises(ContractError):
            check_response("POST", "/api/v1/runs", 200, trace)
    extra = copy.deepcopy(CONTRACT_TRACE)
    extra["extra"] = 1
    with pytest.raises(ContractError):
        check_response("POST", "/api/v1/runs", 200, extra)


def test_checker_rejects_bad_errors_and_undocumented_answers():
    good = {"error": {"code": "invalid_json", "message": "not JSON", "path": None}}
    check_response("POST", "/api/v1/runs", 400, good)
    for bad in ({"error": {"code": "invalid_json", "message": "m"}},
                {"error": {"code": "oops", "message": "m", "path": None}},
                {"error": {"code": "invalid_json", "message": "m", "path": None, "hint": "x"}},
                {"error": "invalid_json"}):
        with pytest.raises(ContractError):
            check_response("POST", "/api/v1/runs", 400, bad)
    with pytest.raises(ContractError):  # wrong content type for JSON
        check_response("POST", "/api/v1/runs", 400, b'{"error": {"code": "internal", "message": "m", "path": null}}',
                       "text/html")
    with pytest.raises(ContractError):  # 405 without Allow
        check_response("DELETE", "/api/v1/runs", 405, good | {"error": {**good["error"], "code": "method_not_allowed"}})
    with pytest.raises(ContractError):  # an operation that exists cannot be a 405
        check_response("POST", "/api/v1/runs", 405, good, headers={"Allow": "POST"})
    with pytest.raises(ContractError):  # undocumented status
        check_response("GET", "/healthz", 418, good)


def test_served_openapi_is_the_repository_file(lab):
    r = lab.get("/openapi.yaml")
    assert r.status == 200
    assert r.content_type.split(";")[0].strip() == "application/yaml"
    assert r.body == SPEC_PATH.read_bytes()
    assert yaml.safe_load(r.body) == spec()


def test_openapi_is_built_in_a_server_started_elsewhere_serves_it(tmp_path):
    """The document is built into the binary (C23 #embed of the repository file): a server started in
    an empty directory, with no openapi.yaml in sight, serves the repository file byte for byte."""
    import subprocess
    import time
    import urllib.request

    from harness import LISTENING, server_binary

    process = subprocess.Popen([str(server_binary()), "serve", "--host", "127.0.0.1", "--port", "0",
                                "--public", str(tmp_path)], cwd=tmp_path, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 30
        port = None
        assert process.stdout is not None
        while port is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            m = LISTENING.search(line)
            port = int(m.group(2)) if m else None
        assert port is not None, "the server did not start"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.yaml", timeout=10) as r:
            assert r.status == 200
            assert r.read() == SPEC_PATH.read_bytes()
    finally:
        process.terminate()
        process.wait(timeout=10)
