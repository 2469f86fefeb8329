"""Bad input gets the right status, error code and path — never a 500, never a file outside public/."""

from __future__ import annotations

import copy
import json

import pytest

from contract import CONTRACT_SCENARIO, REPO

RUNS = "/api/v1/runs"
JSON = {"Content-Type": "application/json"}
MAX_BODY = 1048576

# A valid scenario (the contract's example); every case below breaks one thing in it.
SCENARIO = CONTRACT_SCENARIO


def scenario_with(mutate) -> dict:
    s = copy.deepcopy(SCENARIO)
    mutate(s)
    return s


# --------------------------------------------------------------------- body


def test_invalid_json(lab):
    for body in (b"{", b"{'experiment': 'pipe.hello'}", b"", b"\xff\xfe", b'{"experiment": "pipe.hello"} x'):
        e = lab.raw("POST", RUNS, body, JSON).error(400, "invalid_json")
        assert e["message"]


def test_body_not_an_object(lab):
    for body in (b"[]", b'"pipe.hello"', b"42", b"null", b"true"):
        e = lab.raw("POST", RUNS, body, JSON).error(400, "invalid_request")
        assert e["message"]


def test_neither_or_both_of_experiment_and_scenario(lab):
    lab.run({}).error(400, "invalid_request")
    lab.run({"limits": {"wall_ms": 100}}).error(400, "invalid_request")
    lab.run({"experiment": "pipe.hello", "scenario": SCENARIO}).error(400, "invalid_request")


def test_wrong_type_at_top_level(lab):
    assert lab.run({"experiment": 42}).error(400, "invalid_request")["path"] == "experiment"
    assert lab.run({"experiment": None}).error(400, "invalid_request")["path"] == "experiment"
    # The contract names both a top-level code and a per-part code; either is a fair reading here.
    for body, path, codes in [
        ({"experiment": "pipe.hello", "params": [1]}, "params", {"invalid_request", "invalid_parameter"}),
        ({"scenario": "parent writes"}, "scenario", {"invalid_request", "invalid_scenario"}),
        ({"experiment": "pipe.hello", "limits": 5}, "limits", {"invalid_request", "invalid_limit"}),
    ]:
        r = lab.run(body)
        assert r.status == 400, (body, r.status, r.body[:300])
        assert r.json["error"]["code"] in codes, (body, r.json)
        assert r.json["error"]["path"] == path, (body, r.json)


def test_unknown_top_level_field(lab):
    e = lab.run({"experiment": "pipe.hello", "colour": "blue"}).error(400, "unknown_field")
    assert e["path"] == "colour"


def test_unknown_field_in_limits(lab):
    e = lab.run({"experiment": "pipe.hello", "limits": {"wall_ms": 100, "cpu": 1}}).error(400, "unknown_field")
    assert e["path"] == "limits.cpu"


# ---------------------------------------------------------------- experiment


def test_unknown_experiment_in_a_run(lab):
    e = lab.run({"experiment": "pipe.teleport"}).error(404, "unknown_experiment")
    assert e["path"] == "experiment"


def test_unknown_experiment_by_id(lab):
    lab.get("/api/v1/experiments/pipe.teleport").error(404, "unknown_experiment")


# ---------------------------------------------------------------- parameters


def test_out_of_range_parameter(lab, catalog):
    params = {p["name"]: p for p in catalog["pipe.byte_stream"]["parameters"]}
    read_sizes = params["read_sizes"]
    assert read_sizes["type"] == "integer_array"
    low, high = read_sizes["minimum"], read_sizes["maximum"]
    e = lab.run({"experiment": "pipe.byte_stream", "params": {"read_sizes": [low - 1]}}).error(400, "invalid_parameter")
    assert e["path"] == "params.read_sizes[0]"
    e = lab.run({"experiment": "pipe.byte_stream",
                 "params": {"read_sizes": [low, low, high + 1]}}).error(400, "invalid_parameter")
    assert e["path"] == "params.read_sizes[2]"


def test_every_published_bound_is_enforced(lab, catalog):
    """Every bound the catalog publishes (minimum, maximum, min_items, max_items, max_length) is enforced."""
    checked = 0
    for exp in catalog.values():
        for p in exp["parameters"]:
            for bound, delta in (("minimum", -1), ("maximum", +1)):
                if p.get(bound) is None or p["type"] not in ("integer", "integer_array"):
                    continue
                value = p[bound] + delta
                if p["type"] == "integer":
                    params, path = {p["name"]: value}, f"params.{p['name']}"
                else:
                    params, path = {p["name"]: [value]}, f"params.{p['name']}[0]"
                e = lab.run({"experiment": exp["id"], "params": params}).error(400, "invalid_parameter")
                assert e["path"] == path, (exp["id"], params, e)
                checked += 1
            if p["type"] == "integer_array" and p.get("max_items") is not None:
                too_many = [p.get("minimum") or 1] * (p["max_items"] + 1)
                e = lab.run({"experiment": exp["id"], "params": {p["name"]: too_many}}).error(400, "invalid_parameter")
                assert e["path"] == f"params.{p['name']}", (exp["id"], p["name"], e)
                checked += 1
            if p["type"] == "string" and p.get("max_length") is not None:
                e = lab.run({"experiment": exp["id"],
                             "params": {p["name"]: "x" * (p["max_length"] + 1)}}).error(400, "invalid_parameter")
                assert e["path"] == f"params.{p['name']}", (exp["id"], p["name"], e)
                checked += 1
            if p["type"] == "integer_array" and p.get("min_items"):
                e = lab.run({"experiment": exp["id"], "params": {p["name"]: []}}).error(400, "invalid_parameter")
                assert e["path"] == f"params.{p['name']}", (exp["id"], p["name"], e)
                checked += 1
    assert checked >= 4, "the catalog publishes almost no bounds"


def test_unknown_parameter(lab):
    e = lab.run({"experiment": "pipe.byte_stream", "params": {"message_sizes": [1]}}).error(400, "invalid_parameter")
    assert e["path"] == "params.message_sizes"


def test_parameter_of_the_wrong_type(lab):
    e = lab.run({"experiment": "pipe.byte_stream", "params": {"read_sizes": "4,4"}}).error(400, "invalid_parameter")
    assert e["path"] == "params.read_sizes"
    e = lab.run({"experiment": "pipe.byte_stream", "params": {"read_sizes": [4, "4"]}}).error(400, "invalid_parameter")
    assert e["path"] == "params.read_sizes[1]"
    e = lab.run({"experiment": "pipe.eof", "params": {"close_unused_ends": "no"}}).error(400, "invalid_parameter")
    assert e["path"] == "params.close_unused_ends"


def test_bad_format(lab):
    e = lab.run({"experiment": "pipe.hello"}, params={"format": "xml"}).error(400, "invalid_parameter")
    assert e["path"] == "format"


# -------------------------------------------------------------------- limits


@pytest.mark.parametrize("wall_ms", [0, -1, 10001, 10**12])
def test_wall_ms_out_of_range(lab, wall_ms):
    e = lab.run({"experiment": "pipe.hello", "limits": {"wall_ms": wall_ms}}).error(400, "invalid_limit")
    assert e["path"] == "limits.wall_ms"


def test_wall_ms_of_the_wrong_type(lab):
    r = lab.run({"experiment": "pipe.hello", "limits": {"wall_ms": "fast"}})
    assert r.status == 400
    assert r.json["error"]["code"] in ("invalid_limit", "invalid_request")
    assert r.json["error"]["path"] == "limits.wall_ms"


# ------------------------------------------------------------------ scenario

SCENARIO_ERRORS = [
    ("read size 0", lambda s: s["processes"][0]["steps"].__setitem__(0, {"op": "read", "channel": "p", "size": 0}),
     "scenario.processes[0].steps[0].size"),
    ("read size over 1 MiB", lambda s: s["processes"][0]["steps"][1].update(size=1048577),
     "scenario.processes[0].steps[1].size"),
    ("write repeat 0", lambda s: s["processes"][1]["steps"][1].update(repeat=0),
     "scenario.processes[1].steps[1].repeat"),
    ("sleep over 10 s", lambda s: s["processes"][1]["steps"].insert(0, {"op": "sleep", "ms": 10001}),
     "scenario.processes[1].steps[0].ms"),
    ("exit code 256", lambda s: s["processes"][1]["steps"][2].update(code=256),
     "scenario.processes[1].steps[2].code"),
    ("pipe size under 4096", lambda s: s["processes"][1]["steps"].insert(
        0, {"op": "set_pipe_size", "channel": "p", "size": 4095}), "scenario.processes[1].steps[0].size"),
    ("unknown op", lambda s: s["processes"][1]["steps"].insert(0, {"op": "teleport"}),
     "scenario.processes[1].steps[0].op"),
    ("undeclared channel", lambda s: s["processes"][0]["steps"][1].update(channel="q"),
     "scenario.processes[0].steps[1].channel"),
    ("bad end", lambda s: s["processes"][0]["steps"][0].update(end="both"),
     "scenario.processes[0].steps[0].end"),
    ("wait for an unknown process", lambda s: s["processes"][0]["steps"][2].update(process="ghost"),
     "scenario.processes[0].steps[2].process"),
    ("duplicate process name", lambda s: s["processes"][1].update(name="parent"), "scenario.processes[1].name"),
    ("duplicate channel name", lambda s: s["channels"][1].update(name="p"), "scenario.channels[1].name"),
    ("bad process name", lambda s: s["processes"][0].update(name="Parent"), "scenario.processes[0].name"),
    ("fifo path with ..", lambda s: s["channels"][1].update(path="/tmp/../etc/f"), "scenario.channels[1].path"),
    ("fifo path outside /tmp", lambda s: s["channels"][1].update(path="/etc/f"), "scenario.channels[1].path"),
    ("fifo path with //", lambda s: s["channels"][1].update(path="/tmp//f"), "scenario.channels[1].path"),
    ("unknown channel kind", lambda s: s["channels"][1].update(kind="carrier_pigeon"), "scenario.channels[1].kind"),
    ("nine processes", lambda s: s["processes"].extend({"name": f"p{i}", "steps": []} for i in range(7)),
     "scenario.processes"),
    ("no processes", lambda s: s.update(processes=[]), "scenario.processes"),
    ("257 steps", lambda s: s["processes"][1]["steps"].extend({"op": "sleep", "ms": 0} for _ in range(254)),
     "scenario.processes[1].steps"),
]


def test_the_base_scenario_is_valid(lab):
    r = lab.run({"scenario": SCENARIO, "limits": {"wall_ms": 2000}})
    assert r.status == 200, r.body[:500]


@pytest.mark.parametrize("mutate, path", [(m, p) for _, m, p in SCENARIO_ERRORS],
                         ids=[name for name, _, _ in SCENARIO_ERRORS])
def test_invalid_scenario(lab, mutate, path):
    e = lab.run({"scenario": scenario_with(mutate)}).error(400, "invalid_scenario")
    assert e["path"] == path, e


def test_write_with_both_data_and_size(lab):
    s = scenario_with(lambda s: s["processes"][1]["steps"][1].update(size=5))
    e = lab.run({"scenario": s}).error(400, "invalid_scenario")
    assert e["path"].startswith("scenario.processes[1].steps[1]"), e


def test_only_the_first_process_may_wait(lab):
    s = scenario_with(lambda s: s["processes"][1]["steps"].insert(0, {"op": "wait", "process": "parent"}))
    e = lab.run({"scenario": s}).error(400, "invalid_scenario")
    assert e["path"].startswith("scenario.processes[1].steps[0]"), e


def test_unknown_field_in_a_step(lab):
    s = scenario_with(lambda s: s["processes"][0]["steps"][1].update(colour="blue"))
    r = lab.run({"scenario": s})
    assert r.status == 400
    assert r.json["error"]["code"] in ("unknown_field", "invalid_scenario")
    assert r.json["error"]["path"] == "scenario.processes[0].steps[1].colour"


# ------------------------------------------------------------ HTTP framing


@pytest.mark.parametrize("method, path, allowed", [
    ("PUT", RUNS, "POST"),
    ("DELETE", RUNS, "GET"),
    ("POST", RUNS + "/" + "0" * 32, "GET"),
    ("POST", "/api/v1/experiments", "GET"),
    ("PUT", "/api/v1/experiments/pipe.hello", "GET"),
    ("POST", "/healthz", "GET"),
])
def test_method_not_allowed(lab, method, path, allowed):
    r = lab.raw(method, path, b"{}" if method in ("POST", "PUT") else None, JSON)
    r.error(405, "method_not_allowed")
    methods = {m.strip().upper() for m in r.headers["allow"].split(",")}
    assert allowed in methods, r.headers["allow"]
    assert method not in methods


def test_body_too_large(lab):
    over = b'{"experiment": "pipe.hello"}' + b" " * (MAX_BODY + 1 - 28)
    assert len(over) == MAX_BODY + 1
    lab.raw("POST", RUNS, over, JSON).error(413, "body_too_large")


def test_body_of_exactly_one_mebibyte_is_accepted(lab):
    exact = b'{"experiment": "pipe.hello"}' + b" " * (MAX_BODY - 28)
    assert len(exact) == MAX_BODY
    r = lab.raw("POST", RUNS, exact, JSON)
    assert r.status == 200, r.body[:500]
    assert r.json["run"]["experiment"] == "pipe.hello"


def test_huge_content_length_is_refused_without_reading(lab):
    # Announce 64 MiB and send none of it: the server must answer 413 without waiting for the body.
    r = lab.raw("POST", RUNS, None, {**JSON, "Content-Length": str(64 * MAX_BODY), "Connection": "close"},
                timeout=5)
    r.error(413, "body_too_large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_unsupported_media_type(lab, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    lab.raw("POST", RUNS, b'{"experiment": "pipe.hello"}', headers).error(415, "unsupported_media_type")


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/experiments", "/api", "/api/v1/runs/1",
                                  "/no-such-file.html", "/no/such/dir/file.css"])
def test_unknown_route(lab, path):
    e = lab.get(path).error(404, "not_found")
    assert e["message"]


def test_path_below_an_experiment_is_not_found(lab):
    r = lab.get("/api/v1/experiments/pipe.hello/scenario")
    assert r.status == 404
    assert r.json["error"]["code"] in ("not_found", "unknown_experiment")


ESCAPES = [
    "/../Package.swift", "/..%2fPackage.swift", "/%2e%2e/Package.swift", "/%2E%2E%2FPackage.swift",
    "/x/../../Package.swift", "/./../Package.swift", "/..\\Package.swift", "/....//Package.swift",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/../../../../../../etc/passwd",
    "//etc/passwd", "/%2fetc%2fpasswd", "/..%00/Package.swift",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_static_path_never_escapes_public(lab, path):
    outside = [(REPO / "Package.swift").read_bytes()[:60], b"root:x:0:0"]
    r = lab.raw("GET", path)
    assert r.status in (200, 400, 403, 404), (r.status, r.body[:200])
    for secret in outside:
        assert secret not in r.body, f"GET {path} served a file outside public/: {r.body[:200]!r}"
    if r.status == 200:  # a server may clamp `..` at the root and serve from public/ instead
        served = {p.read_bytes() for p in (REPO / "public").rglob("*") if p.is_file()}
        assert r.body in served, f"GET {path} answered 200 with something that is not in public/"


def test_errors_are_never_500_for_junk(lab):
    junk = [b"null", b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
            b'{"experiment": "pipe.hello", "params": {"": null}}', b'{"scenario": {"processes": [{}]}}',
            b'{"scenario": {"processes": [{"name": "a", "steps": [{}]}]}}',
            b'{"scenario": {"processes": [{"name": "a", "steps": [null]}]}}',
            b'{"experiment": "pipe.byte_stream", "params": {"read_sizes": [1e400]}}',
            b'{"experiment": "pipe.byte_stream", "params": {"read_sizes": [4.5]}}',
            b'{"experiment": "pipe.byte_stream", "params": {"read_sizes": [99999999999999999999999]}}',
            json.dumps({"experiment": "pipe.hello", "x" * 10000: 1}).encode(),
            '{"experiment": "pipe.h\u00e9llo"}'.encode(), b'{"experiment": "pipe.hello\\u0000"}']
    for body in junk:
        r = lab.raw("POST", RUNS, body, JSON)
        assert 400 <= r.status < 500, (body[:80], r.status, r.body[:300])


# --------------------------------------------------------------------- null (issue 13)


@pytest.mark.parametrize("body,status,code,path", [
    ({"experiment": "pipe.hello", "params": None}, 400, "invalid_request", "params"),
    ({"experiment": "pipe.hello", "scenario": None}, 400, "invalid_request", "scenario"),
    ({"experiment": "pipe.hello", "limits": None}, 400, "invalid_request", "limits"),
    ({"experiment": "pipe.hello", "limits": {"wall_ms": None}}, 400, "invalid_limit", "limits.wall_ms"),
    ({"experiment": "pipe.hello", "limits": {"file_bytes": None}}, 400, "invalid_limit", "limits.file_bytes"),
    ({"scenario": scenario_with(lambda s: s["processes"][0].__setitem__("name", None))}, 400, "invalid_scenario",
     "scenario.processes[0].name"),
])
def test_null_where_the_schema_gives_a_value_is_refused_with_its_path(lab, body, status, code, path):
    assert lab.run(body).error(status, code)["path"] == path


def test_null_inside_params_is_the_default(lab):
    r = lab.run({"experiment": "pipe.byte_stream", "params": {"read_sizes": None}})
    assert r.status == 200, r.body[:300]


def test_a_loop_of_long_texts_with_expressions_is_refused_before_it_grows(lab, server):
    """8 processes, each a loop of 4096 writes of a 60 KiB text with {i}: expanded, 1.9 GiB of strings in
    the server before any check. It is refused by the expanded-text bound instead, naming the first step
    past it, and the server's memory never grew near that (its high-water mark, from /proc)."""
    data = "{i}" + "x" * (60 << 10)
    processes = [{"name": f"p{k}", "steps": [{"op": "loop", "times": 4096, "do": [{"op": "write", "channel": "c", "data": data}]}]}
                 for k in range(8)]
    body = {"scenario": {"channels": [{"name": "c", "kind": "pipe"}], "processes": processes}}
    assert len(json.dumps(body)) < 1 << 20
    e = lab.run(body).error(400, "invalid_scenario")
    details = e.get("details") or [e]
    assert any(d.get("path", "").startswith("scenario.processes[0].steps[0].do[0]") and "text with {expressions}" in d["message"]
               for d in details), e
    with open(f"/proc/{server.process.pid}/status") as f:
        peak_kib = int(next(line for line in f if line.startswith("VmHWM:")).split()[1])
    assert peak_kib < 512 << 10, f"the server's resident memory peaked at {peak_kib >> 10} MiB"


def test_a_loop_of_long_texts_without_expressions_is_read_once_not_per_iteration(lab):
    """The same loops with text that has no {expression}: each iteration reads the same step, decoded once
    (it was scanned and decoded in each of the 8 × 4096 iterations: the request held a thread ~40 s, past
    the client's timeout). The request is answered, refused for the bytes it would move, naming the step."""
    data = "x" * (60 << 10)
    processes = [{"name": f"p{k}", "steps": [{"op": "loop", "times": 4096, "do": [{"op": "write", "channel": "c", "data": data}]}]}
                 for k in range(8)]
    body = {"scenario": {"channels": [{"name": "c", "kind": "pipe"}], "processes": processes}}
    e = lab.run(body).error(400, "invalid_limit")
    assert "scenario.processes[" in e["message"] and "steps[0].do[0]" in e["message"], e
