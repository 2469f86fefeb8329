#!/usr/bin/env python3
"""IPC Lab soak test (issue 8): many mixed runs against one release server, then what it kept.

  python3 bench/soak.py [--binary .build/release/ipclab] [--runs 10000] [--clients 8] [--out bench/results]

Not a test in `make test` (it takes minutes); `make soak` builds the release binary and runs it.
It starts `ipclab serve` on a free port and sends --runs POST /api/v1/runs from --clients
keep-alive clients, cycling through presets of every mechanism (a 503 is retried after its
Retry-After). It reports, at start (after the start-up self-test), after a warm-up and at the end:
the server's and the spawner's RSS, open descriptors and threads, the server's children and the
zombies among the server's and the spawner's children, and the network namespaces they hold (the
spawner's pool); and on the host before the server started and after it stopped: SysV IPC objects
(/proc/sysvipc), /dev/shm and /dev/mqueue entries, and whether any network namespace the server's
processes held is still alive. Every leak figure must be 0; it exits 1 if one is not (or a run failed).

Host-wide counts see every process on the machine: another program creating IPC objects while the
soak runs shows up too (the report lists what appeared). The host's network namespaces and zombies
named ipclab (other servers' too) are reported, not judged.
"""
from __future__ import annotations

import argparse
import atexit
import collections
import datetime
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Presets across mechanisms whose runs end quickly (the timeout/limit presets are left out).
PRESETS = [
    "pipe.hello", "pipe.byte_stream", "pipe.eof", "pipe.sigpipe", "pipe.nonblocking", "pipe.pipeline",
    "fifo.rendezvous", "shm.anonymous", "shm.sysv", "shm.posix", "sem.mutex", "sem.producer_consumer",
    "signal.handshake", "signal.sigqueue", "signal.sigchld", "mq.sysv", "mq.posix", "mq.boundaries",
    "socket.tcp", "socket.unix_stream", "socket.unix_dgram", "socket.socketpair", "socket.udp",
    "socket.fd_passing",
]


def proc_status(pid: int) -> dict:
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return {
        "rss_kib": int(fields["VmRSS"].split()[0]),
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }


def children(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def state_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


def comm_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def descendants(pid: int) -> set[int]:
    seen, todo = set(), children(pid)
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            try:
                todo += children(p)
            except OSError:
                pass
    return seen


def netns_of(pids) -> set[str]:
    """The network namespaces `pids` are in or hold a descriptor of (the spawner's pool)."""
    found = set()
    for p in pids:
        try:
            found.add(os.readlink(f"/proc/{p}/ns/net"))
            for fd in os.listdir(f"/proc/{p}/fd"):
                link = os.readlink(f"/proc/{p}/fd/{fd}")
                if link.startswith("net:"):
                    found.add(link)
        except OSError:
            pass
    return found


def host_snapshot() -> dict:
    def lines(path):
        try:
            with open(path) as f:
                return [l.split() for l in f.read().splitlines()[1:] if l.strip()]
        except OSError:
            return []
    zombies = []
    netns = netns_of(int(e) for e in os.listdir("/proc") if e.isdigit())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        if state_of(int(entry)) == "Z" and comm_of(int(entry)).startswith("ipclab"):
            zombies.append(int(entry))
    return {
        "sysv_shm": sorted(l[1] for l in lines("/proc/sysvipc/shm")),
        "sysv_sem": sorted(l[1] for l in lines("/proc/sysvipc/sem")),
        "sysv_msg": sorted(l[1] for l in lines("/proc/sysvipc/msg")),
        "dev_shm": sorted(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else [],
        "dev_mqueue": sorted(os.listdir("/dev/mqueue")) if os.path.isdir("/dev/mqueue") else [],
        "netns": sorted(netns),
        "ipclab_zombies": sorted(zombies),
    }


class Server:
    def __init__(self, binary: str, extra: list[str]):
        # Its runs are stored in a folder of its own, removed when the soak ends.
        self.data_dir = tempfile.mkdtemp(prefix="ipclab-soak-data-")
        atexit.register(shutil.rmtree, self.data_dir, True)
        cmd = [binary, "serve", "--host", "127.0.0.1", "--port", "0", "--public", "public",
               "--log-level", "warning", "--data-dir", self.data_dir, *extra]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on http://([\d.]+):(\d+)", line)
        if not m:
            self.proc.kill()
            raise SystemExit(f"server did not start: {line!r}")
        self.host, self.port = m.group(1), int(m.group(2))
        self.netns_seen: set[str] = set()

    def get_json(self, path: str) -> dict:
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return json.loads(body)

    def figures(self) -> dict:
        spawner = self.get_json("/healthz")["spawner"]
        time.sleep(0.3)  # the server closes its end of that connection too
        kids = children(self.proc.pid)
        ours = descendants(self.proc.pid) | {self.proc.pid}
        self.netns_seen |= netns_of(ours)
        return {
            "netns_held": len(netns_of(ours) - netns_of([os.getpid()])),
            "server": proc_status(self.proc.pid),
            "spawner": proc_status(spawner["pid"]) | {"pid": spawner["pid"], "restarts": spawner["restarts"]},
            "server_children": len(kids),
            "zombie_children": sum(1 for k in kids + children(spawner["pid"]) if state_of(k) == "Z"),
        }


def soak(server: Server, runs: int, clients: int, presets: list[str]) -> dict:
    lock = threading.Lock()
    next_run = [0]
    outcomes: collections.Counter = collections.Counter()
    statuses: collections.Counter = collections.Counter()
    problems: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
        while True:
            with lock:
                if next_run[0] >= runs:
                    break
                i = next_run[0]
                next_run[0] += 1
            preset = presets[i % len(presets)]
            body = json.dumps({"experiment": preset})
            for _ in range(20):
                try:
                    conn.request("POST", "/api/v1/runs", body, {"Content-Type": "application/json"})
                    r = conn.getresponse()
                    data = r.read()
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
                    with lock:
                        problems.append(f"{preset}: {type(e).__name__} {e}")
                    continue
                with lock:
                    statuses[r.status] += 1
                if r.status == 503:
                    time.sleep(int(r.getheader("Retry-After", "1")))
                    continue
                if r.status != 200:
                    with lock:
                        problems.append(f"{preset}: HTTP {r.status} {data[:200]!r}")
                    break
                outcome = json.loads(data)["run"]["outcome"]
                with lock:
                    outcomes[(preset, outcome)] += 1
                break
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"seconds": round(time.monotonic() - began, 1), "statuses": dict(statuses),
            "outcomes": {f"{p} {o}": n for (p, o), n in sorted(outcomes.items())}, "problems": problems}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/ipclab"))
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    args = ap.parse_args()

    host_before = host_snapshot()
    server = Server(args.binary, [])
    catalog = {e["id"] for e in server.get_json("/api/v1/experiments")["experiments"]}
    presets = [p for p in PRESETS if p in catalog]
    at_start = server.figures()
    warm = soak(server, args.warmup, args.clients, presets)
    after_warmup = server.figures()
    main_run = soak(server, args.runs, args.clients, presets)
    time.sleep(1)  # the last runs' inits reaped, the netns pool refilled
    at_end = server.figures()
    server.proc.terminate()
    server.proc.wait(timeout=30)
    time.sleep(1)
    host_after = host_snapshot()

    appeared = {k: sorted(set(host_after[k]) - set(host_before[k])) for k in host_before
                if k not in ("netns", "ipclab_zombies")}
    # Zombies named ipclab anywhere on the host: other programs' too (other servers' orphans, which
    # PID 1 reaps when it gets to them), so only reported; ours are the server's and the spawner's
    # zombie children, counted above.
    host_zombies = sorted(set(host_after["ipclab_zombies"]) - set(host_before["ipclab_zombies"]))
    # Network namespaces: the host's count moves with anything else on the machine; ours are the ones
    # the server's processes held (the spawner's pool): none may outlive the server.
    own_netns = server.netns_seen - set(host_before["netns"])
    appeared["our_netns_left"] = sorted(own_netns & set(host_after["netns"]))
    other_netns = len(host_after["netns"]) - len(host_before["netns"])
    not_ok = {f"{p_o}": n for p_o, n in main_run["outcomes"].items() if not p_o.endswith(" ok")}
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "runs": args.runs, "clients": args.clients, "presets": presets,
        "at_start": at_start, "after_warmup": after_warmup, "at_end": at_end,
        "soak": main_run, "warmup_seconds": warm["seconds"],
        "left_on_host": {k: len(v) for k, v in appeared.items()}, "appeared": appeared,
        "host_netns_change": other_netns, "host_ipclab_zombies": host_zombies,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "soak-latest.json"), "w") as f:
        json.dump(report, f, indent=2)

    print(f"soak: {args.runs} runs from {args.clients} clients in {main_run['seconds']} s "
          f"({args.runs / max(main_run['seconds'], 0.001):.0f} runs/s); HTTP {main_run['statuses']}")
    print(f"{'':24}{'start':>12}{'warmed up':>12}{'end':>12}")
    for who in ("server", "spawner"):
        for key in ("rss_kib", "fds", "threads"):
            print(f"{who + ' ' + key:24}{at_start[who][key]:>12}{after_warmup[who][key]:>12}{at_end[who][key]:>12}")
    print(f"{'server children':24}{at_start['server_children']:>12}{after_warmup['server_children']:>12}{at_end['server_children']:>12}")
    print(f"{'zombies (ours)':24}{at_start['zombie_children']:>12}{after_warmup['zombie_children']:>12}{at_end['zombie_children']:>12}")
    print(f"{'netns held':24}{at_start['netns_held']:>12}{after_warmup['netns_held']:>12}{at_end['netns_held']:>12}")
    print(f"{'spawner restarts':24}{at_start['spawner']['restarts']:>12}{after_warmup['spawner']['restarts']:>12}{at_end['spawner']['restarts']:>12}")
    print("left on the host after the server stopped: " + ", ".join(f"{k} {len(v)}" for k, v in appeared.items())
          + f" (anyone's, host-wide: network namespaces {other_netns:+d}, ipclab zombies {len(host_zombies)})")
    if not_ok:
        print(f"runs not ok: {not_ok}")
    if main_run["problems"]:
        print(f"problems ({len(main_run['problems'])}): {main_run['problems'][:5]}")
    leaked = any(appeared.values()) or at_end["zombie_children"] or at_end["server_children"] != 1
    return 1 if leaked or main_run["problems"] or not_ok else 0


if __name__ == "__main__":
    sys.exit(main())
