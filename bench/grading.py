"""Grading rows of `make bench` (issue 14):

- a 20-run grade of a 20-item bounded buffer (written with loops: 13 steps) with 1 ms of jitter, next to
  the same 20 runs posted one by one without jitter or checks' bookkeeping (the baseline, same session);
- 300 submissions × 20 runs graded from 8 client threads, next to the same number of plain runs posted
  from 8 threads (measured on `BASELINE_SUBMISSIONS` submissions' worth and scaled: running all 6000
  again would double the bench's longest row).

  python3 bench/bench.py --only grading [--grading-submissions 300]
"""
import http.client, json, os, statistics, sys, time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e"))
import grading_samples  # noqa: E402  (the e2e suite's bounded buffer and its checks)

ITEMS = 20
BASELINE_SUBMISSIONS = 40


def bounded_buffer_20():
    """The grading samples' bounded buffer with 20 items, and its checks for 20 items."""
    scenario = grading_samples.bounded_buffer(items=ITEMS)
    checks = []
    for c in grading_samples.BOUNDED_BUFFER_CHECKS:
        c = dict(c)
        if c["kind"] == "observation":
            c["params"] = {"items": ITEMS, "slots": grading_samples.SLOTS}
        if c["id"] == "consumer_locks":
            c["count"] = {"min": ITEMS}
        if c["id"] == "received":
            c["data"] = [f"item {i + 1}" for i in range(ITEMS)]
        checks.append(c)
    return scenario, checks


RETRIES = []  # one entry per 503 answered (and retried after its Retry-After), as a grader would


def post(url, path, body):
    """POSTs `body`; a 503 (the client's share of the run slots is full: 8 grades from one address
    lend their runs past it) is retried after its `Retry-After`, as a grader does, and counted."""
    host, port = url.split("//")[1].split(":")
    for _ in range(30):
        conn = http.client.HTTPConnection(host, int(port), timeout=300)
        try:
            conn.request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})
            r = conn.getresponse()
            status, answer, wait = r.status, json.loads(r.read()), r.getheader("Retry-After")
        finally:
            conn.close()
        if status != 503:
            return status, answer
        RETRIES.append(path)
        time.sleep(float(wait or 1))
    return status, answer


def grading_rows(url, repeats=5, submissions=300):
    scenario, checks = bounded_buffer_20()
    steps = grading_samples.count_steps(scenario)
    grade = {"scenario": scenario, "checks": checks, "repeat": 20, "schedule": {"seed": 1, "jitter_us": 1000}}
    walls, bad = [], 0
    for _ in range(repeats):
        start = time.monotonic()
        status, g = post(url, "/api/v1/grades", grade)
        walls.append((time.monotonic() - start) * 1000)
        bad += status != 200 or not g.get("passed")
    singles = []
    for _ in range(repeats):
        start = time.monotonic()
        for _ in range(20):
            status, t = post(url, "/api/v1/runs", {"scenario": scenario, "checks": checks})
            bad += status != 200 or t["score"] != t["max_score"]
        singles.append((time.monotonic() - start) * 1000)
    grade_ms, single_ms = statistics.median(walls), statistics.median(singles)

    RETRIES.clear()
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(url, "/api/v1/grades", grade), range(submissions)))
    load_s = time.monotonic() - start
    retried = len(RETRIES)
    bad_load = sum(1 for status, g in answers if status != 200 or not g.get("passed"))
    # The baseline: plain runs (no checks, no jitter, not stored), as many per submission, from 8 threads.
    sample = min(BASELINE_SUBMISSIONS, submissions)
    plain = {"scenario": scenario, "store": False}
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        plain_answers = list(pool.map(lambda _: post(url, "/api/v1/runs", plain), range(sample * 20)))
    plain_s = (time.monotonic() - start) * submissions / sample
    bad += sum(1 for status, t in plain_answers if status != 200 or t["run"]["outcome"] != "ok")
    results = {"grade_ms": walls, "sequential_runs_ms": singles, "submissions": submissions, "load_s": load_s,
               "plain_runs_s_scaled": plain_s, "baseline_submissions": sample, "steps_as_written": steps,
               "bad": bad, "bad_under_load": bad_load, "retried_503_under_load": retried}
    rows = [
        (f"20-run grade, {ITEMS}-item bounded buffer ({steps} steps), 1 ms jitter (ms, median of {repeats})",
         round(grade_ms, 1), round(single_ms, 1), "≤ 1000 ms", grade_ms <= 1000),
        (f"{submissions} submissions × 20 runs, 8 client threads (s; {retried} 503s retried)", round(load_s, 1),
         round(plain_s, 1), "≤ 300 s", load_s <= 300),
        ("grades that did not pass (a correct submission)", bad + bad_load, None, "0", bad + bad_load == 0),
    ]
    return rows, results
