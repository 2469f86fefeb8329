"""`?format=chrome`: the Chrome Trace Event form of a run, checked against the format's rules
(what Perfetto and chrome://tracing need to open it) and against the run's own trace."""
import pytest

RUNS = "/api/v1/runs"
PHASES = {"M", "X", "i", "s", "f"}


def ok(reply):
    assert reply.status == 200, reply.body[:300]
    return reply.json


def check_trace_event_format(doc):
    events = doc["traceEvents"]
    assert isinstance(events, list) and events
    for e in events:
        assert e["ph"] in PHASES, e
        assert isinstance(e["name"], str) and isinstance(e["pid"], int) and isinstance(e["tid"], int), e
        if e["ph"] != "M":
            assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0, e
        if e["ph"] == "X":
            assert e["dur"] >= 0, e
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name") and isinstance(e["args"]["name"], str), e
    starts = sorted(e["id"] for e in events if e["ph"] == "s")
    ends = sorted(e["id"] for e in events if e["ph"] == "f")
    assert starts == ends, "every flow start needs its end"
    return events


@pytest.mark.parametrize("experiment", ["pipe.hello", "pipe.byte_stream", "pipe.capacity"])
def test_chrome_format_is_valid_trace_event_json(lab, experiment):
    chrome = ok(lab.post_json(RUNS + "?format=chrome", {"experiment": experiment}))
    events = check_trace_event_format(chrome)
    trace = ok(lab.post_json(RUNS, {"experiment": experiment}))
    names = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert names == {p["name"] for p in trace["processes"]}
    assert chrome["otherData"]["experiment"] == experiment
    # One slice per call of the trace (the same run shape; timings differ between runs).
    assert len([e for e in events if e["ph"] == "X"]) == len(trace["events"])


def test_chrome_flows_carry_the_bytes_of_byte_stream(lab):
    chrome = ok(lab.post_json(RUNS + "?format=chrome", {"experiment": "pipe.byte_stream"}))
    flows = [e for e in chrome["traceEvents"] if e["ph"] == "s"]
    # Writes of 10,10,10,10 read as 5,15,15,5: six (write, read) pairs share bytes, 40 in all.
    assert len(flows) == 6
    assert sum(int(e["name"].split(" ")[0]) for e in flows) == 40


def test_bad_format_names_the_field(lab):
    e = lab.post_json(RUNS + "?format=xml", {"experiment": "pipe.hello"}).error(400, "invalid_parameter")
    assert e["path"] == "format"
