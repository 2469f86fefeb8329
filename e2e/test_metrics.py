"""GET /metrics: Prometheus text that counts what the server really did."""
import re

LINE = re.compile(r'^([a-z_]+)(\{[^}]*\})? (\S+)$')


def scrape(lab):
    r = lab.get("/metrics")
    assert r.status == 200 and r.content_type.startswith("text/plain"), r.body[:200]
    samples = {}
    for line in r.text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, f"not a sample line: {line!r}"
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples


def test_metrics_count_runs_outcomes_and_rejections(lab):
    before = scrape(lab)
    key = 'ipclab_runs_total{experiment="pipe.hello",outcome="ok"}'
    for _ in range(3):
        assert lab.run({"experiment": "pipe.hello"}).status == 200
    # A reader that keeps its own write end: the run's init ends it as a deadlock, or the 100 ms wall
    # limit comes first on a busy machine; either way one run is counted with how it ended.
    timeout = 'ipclab_runs_total{experiment="pipe.eof",outcome="timeout"}'
    deadlock = 'ipclab_runs_total{experiment="pipe.eof",outcome="deadlock"}'
    assert lab.run({"experiment": "pipe.eof", "params": {"close_unused_ends": False},
                    "limits": {"wall_ms": 100}}).status == 200
    assert lab.run({"experiment": "nope"}).status == 404
    after = scrape(lab)
    assert after[key] - before.get(key, 0) == 3
    assert after.get(timeout, 0) + after.get(deadlock, 0) - before.get(timeout, 0) - before.get(deadlock, 0) == 1
    rejected = 'ipclab_run_rejections_total{reason="unknown_experiment"}'
    assert after[rejected] - before.get(rejected, 0) == 1
    # The histogram is consistent: +Inf holds every run, buckets never decrease, count moved by 4.
    buckets = [v for k, v in after.items() if k.startswith("ipclab_run_duration_seconds_bucket")]
    assert buckets == sorted(buckets)
    assert after['ipclab_run_duration_seconds_bucket{le="+Inf"}'] == after["ipclab_run_duration_seconds_count"]
    assert after["ipclab_run_duration_seconds_count"] - before.get("ipclab_run_duration_seconds_count", 0) == 4
    assert after["ipclab_runs_active"] == 0 and after["ipclab_run_queue_depth"] == 0


def test_metrics_say_where_run_traces_were_read(lab):
    """A preset run on the C runner is read at its init's finish, while the spawner takes the done; a run
    whose cgroup counters (written after the finish) give a limit reason is read again."""
    def readings():
        s = scrape(lab)
        return {k: s.get(f'ipclab_run_traces_total{{read="{k}"}}') for k in ("at_finish", "again", "at_end")}

    before = readings()
    assert None not in before.values(), before
    runs = 0
    # The server may wake only after the spawner's end (a busy machine): that run is read at the end.
    while readings()["at_finish"] == before["at_finish"] and runs < 40:
        assert lab.run({"experiment": "pipe.hello"}).status == 200
        runs += 1
    after = readings()
    assert after["at_finish"] > before["at_finish"], f"none of {runs} runs was read at its init's finish"
    assert after["again"] == before["again"]
    assert after["at_finish"] + after["at_end"] - before["at_finish"] - before["at_end"] == runs

    bomb = {"scenario": {"processes": [{"name": "bomb", "steps": [{"op": "fork_children", "count": 50, "sleep_ms": 20}]}]},
            "limits": {"processes": 4}}
    # Read at the finish only when the server wakes before the spawner's end (often not, with the spawner
    # on the init's core): a few tries may all be read at the end alone.
    for _ in range(40):
        r = lab.run(bomb)
        assert r.status == 200, r.body[:200]
        run = r.json["run"]
        if not any(op["op"].startswith("pids.max") and op["result"] == 0 for op in run["sandbox"]["setup"]):
            return  # no writable pids cgroup here: nothing counted after the finish (test_limits checks the report)
        assert run["outcome"] == "limit_exceeded" and run["reason"].startswith("limit processes:"), run["reason"]
        if readings()["again"] > after["again"]:
            break
    assert readings()["again"] > after["again"], "a run whose counters gave a reason was never read again"
