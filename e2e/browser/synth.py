"""Synthetic traces shaped like Trace v1, for stubbed-API browser tests (big runs, timeouts, kills).

The real server's traces are used wherever it can produce them; these cover what a preset may not
(eight processes, ~200 events, a process killed while blocked) so the page is tested at its limits.
"""
import json


class TraceBuilder:
    def __init__(self, experiment=None, channels=("p",)):
        self.events, self.objects, self.processes = [], [], []
        self.channels = list(channels)
        self.experiment = experiment
        self.t = 10_000
        self.pipe_bytes = {c: 0 for c in channels}
        self.fd = {}

    def process(self, name, pid, parent=None, exit=None):
        self.processes.append({"name": name, "pid": pid, "parent": parent, "exit": exit,
                               "cpu_ns": {"user": 0, "system": 50_000}})

    def _pid(self, name):
        return next(p["pid"] for p in self.processes if p["name"] == name)

    def event(self, process, call, args, result=0, errno=None, blocked_ns=None, returned=True,
              payload=None, dt=2_000, step=None):
        self.t += dt
        seq = len(self.events) + 1
        ev = {"seq": seq, "t_ns": self.t, "end_ns": None, "blocked_ns": None, "process": process,
              "pid": self._pid(process), "step": step, "call": call, "args": args,
              "result": result if returned else None, "errno": errno, "returned": returned,
              "payload": payload}
        if blocked_ns is not None:
            ev["blocked_ns"] = blocked_ns
            ev["end_ns"] = self.t + blocked_ns
        if not returned:
            ev["blocked_ns"] = None
            ev["end_ns"] = None
        self.events.append(ev)
        return ev

    def write(self, process, channel, data, **kw):
        raw = data.encode() if isinstance(data, str) else data
        ev = self.event(process, "write", {"fd": 4, "count": len(raw), "channel": channel}, result=len(raw),
                        blocked_ns=kw.pop("blocked_ns", 3_000), payload=_payload(raw), **kw)
        self.pipe_bytes[channel] += len(raw)
        self.snapshot(ev, channel)
        return ev

    def read(self, process, channel, size, got, blocked_ns=3_000, **kw):
        raw = got.encode() if isinstance(got, str) else got
        ev = self.event(process, "read", {"fd": 3, "count": size, "channel": channel}, result=len(raw),
                        blocked_ns=blocked_ns, payload=_payload(raw) if raw else None, **kw)
        self.pipe_bytes[channel] -= len(raw)
        self.snapshot(ev, channel)
        return ev

    def snapshot(self, ev, channel):
        self.objects.append({"seq": ev["seq"], "t_ns": ev["end_ns"] or ev["t_ns"], "object": channel, "kind": "pipe",
                             "state": {"bytes": self.pipe_bytes[channel], "capacity": 65536}})

    def trace(self, outcome="ok", reason=None, observations=(), scenario=None):
        duration = max(max(e["end_ns"] or e["t_ns"] for e in self.events), self.t) + 5_000
        return {
            "trace_version": 1,
            "run": {"id": "feedc0ffee0123456789abcdef012345", "experiment": self.experiment,
                    "started_at": "2026-11-21T17:00:00.000Z", "duration_ns": duration, "outcome": outcome,
                    "reason": reason, "limits": {"wall_ms": 2000},
                    "sandbox": {"namespaces": ["user", "pid", "ipc", "mount", "uts"], "setup": []},
                    "events_dropped": 0},
            "scenario": scenario or {"channels": [{"name": c, "kind": "pipe"} for c in self.channels],
                                     "processes": [{"name": p["name"], "steps": []} for p in self.processes]},
            "processes": self.processes, "events": self.events, "transfers": self.transfers(), "objects": self.objects,
            "observations": list(observations),
        }

    def transfers(self):
        """The `transfers` the server would pair for these events, by expect.py's rules (written there
        independently of the server's Swift), in the trace's shape."""
        import expect
        probe = {"events": self.events, "processes": self.processes,
                 "scenario": {"channels": [{"name": c, "kind": "pipe"} for c in self.channels]}}
        channel = {e["seq"]: (e.get("args") or {}).get("channel") for e in self.events}
        out = [{"kind": "data", "from": f, "to": t, "channel": channel[f], "bytes": n} for f, t, n in expect.transfers(probe)]
        out += [{"kind": "signal", "from": f, "to": t, "channel": sig, "bytes": None, "merged": []} for f, t, sig in expect.signals(probe)]
        out += [{"kind": "wake", "from": f, "to": t, "channel": ch, "bytes": None} for f, t, ch in expect.releases(probe)]
        return sorted(out, key=lambda x: (x["to"], x["from"]))


def _payload(raw):
    shown = raw[:64]
    return {"bytes": len(raw), "text": shown.decode("latin-1"), "hex": shown.hex(), "truncated": len(raw) > 64}


def byte_stream(write_sizes=(10, 10, 10, 10), read_sizes=(5, 15, 15, 5)):
    b = TraceBuilder("pipe.byte_stream")
    b.process("reader", 2, exit={"code": 0})
    b.process("writer", 3, parent="reader", exit={"code": 0})
    b.event("reader", "pipe", {"channel": "p", "fds": [3, 4]})
    b.event("reader", "fork", {"process": "writer"}, result=3)
    b.event("reader", "close", {"fd": 4, "channel": "p", "end": "write"})
    b.event("writer", "close", {"fd": 3, "channel": "p", "end": "read"})
    stream = "".join(chr(ord("a") + i % 26) for i in range(sum(write_sizes)))
    pos = 0
    for n in write_sizes:
        b.write("writer", "p", stream[pos:pos + n])
        pos += n
    b.event("writer", "exit", {"code": 0})
    pos = 0
    for n in read_sizes:
        b.read("reader", "p", n, stream[pos:pos + n])
        pos += n
    b.event("reader", "waitpid", {"pid": 3, "process": "writer"}, result=3, blocked_ns=4_000)
    writes = [e["seq"] for e in b.events if e["call"] == "write"]
    reads = [e["seq"] for e in b.events if e["call"] == "read"]
    return b.trace(observations=[
        {"id": "pipe.byte_stream.no_boundaries", "claim": "A pipe keeps no message boundaries.", "holds": True,
         "evidence": writes + reads, "detail": f"writes {list(write_sizes)} were read as {list(read_sizes)}"},
        {"id": "pipe.byte_stream.bytes_conserved", "claim": "Every byte written is read once.", "holds": True,
         "evidence": reads, "detail": f"{sum(write_sizes)} bytes written, {sum(read_sizes)} read"},
    ])


def crowd(writers=7, rounds=20):
    """Eight processes, ~200 events: seven writers into one pipe, a hub reading; one writer is killed."""
    b = TraceBuilder(None, channels=("p", "q"))
    b.process("hub", 2, exit=None)
    for i in range(writers):
        exit = {"signal": "SIGPIPE", "core_dumped": False} if i == writers - 1 else {"code": 0}
        b.process(f"w{i + 1}", 3 + i, parent="hub", exit=exit)
    b.event("hub", "pipe", {"channel": "p", "fds": [3, 4]})
    b.event("hub", "pipe", {"channel": "q", "fds": [5, 6]})
    for i in range(writers):
        b.event("hub", "fork", {"process": f"w{i + 1}"}, result=3 + i)
    for r in range(rounds):
        for i in range(writers):
            name = f"w{i + 1}"
            if i == writers - 1 and r == rounds - 1:
                b.event(name, "write", {"fd": 4, "count": 4096, "channel": "p"}, returned=False, dt=1_500)
                continue
            b.write(name, "p" if i % 2 == 0 else "q", f"{name}:{r:02d}", dt=1_500)
        b.read("hub", "p", 64, "".join(f"w{i + 1}:{r:02d}" for i in range(0, writers, 2) if not (i == writers - 1 and r == rounds - 1)),
               blocked_ns=40_000 if r % 4 == 0 else 2_000)
        b.read("hub", "q", 64, "".join(f"w{i + 1}:{r:02d}" for i in range(1, writers, 2)), blocked_ns=2_500)
    for i in range(writers - 1):
        b.event(f"w{i + 1}", "exit", {"code": 0})
    b.event("hub", "read", {"fd": 3, "count": 64, "channel": "p"}, returned=False, dt=3_000)
    return b.trace(outcome="timeout", reason="wall-clock limit of 2000 ms reached; 2 calls never returned",
                   observations=[{"id": "demo.crowd.all_read", "claim": "The hub reads what every writer wrote.",
                                  "holds": False, "evidence": [b.events[-1]["seq"]], "detail": "w7 was killed while blocked"}])


if __name__ == "__main__":
    print(json.dumps(crowd(), indent=1)[:2000])
    print(len(crowd()["events"]))
