"""Random valid parameters for a preset, drawn from each parameter's published bounds
(GET /api/v1/experiments): shared by e2e/test_oracle.py and the long soak, bench/oracle_soak.py.

Durations are drawn from the low end of their bounds (at most CAP_MS) and the measurements' sizes from
theirs, so a run stays quick on a shared machine; every value is still within the published bounds.
"""

from __future__ import annotations

import random
import re
import string
from typing import Any

CAP_MS = 150
SIGNALS = ["SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT", "SIGHUP", "SIGALRM", "SIGQUIT", "SIGRTMIN", "SIGRTMAX"]
# Upper ends kept low to keep a run short (still inside each parameter's published bounds).
CAPS = {"increments": 20_000, "total_bytes": 1 << 20, "round_trips": 200, "count": 64, "items": 16, "rounds": 8,
        "processes": 4, "size": 65_536, "sndbuf": 65_536}


def draw(rng: random.Random, p: dict[str, Any]) -> Any:
    """A value within the parameter's published bounds, or the default."""
    kind, lo, hi = p["type"], p.get("minimum"), p.get("maximum")
    if rng.random() < 0.25:
        return p["default"]
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "integer":
        lo = lo if lo is not None else 0
        hi = hi if hi is not None else lo + 1000
        cap = CAP_MS if p["name"].endswith("_ms") else CAPS.get(p["name"])
        if cap is not None:
            hi = max(lo, min(hi, cap))
        # Small values are where the edge cases are (a chunk of 1000 against 4096-byte pages, 1 message).
        return rng.randint(lo, hi) if rng.random() < 0.5 else rng.randint(lo, min(hi, lo + 4100))
    if kind == "string":
        if p.get("choices"):
            return rng.choice(p["choices"])
        listed = re.search(r"One of: ([^.]+)\.", p.get("description", ""))
        if listed:
            return rng.choice([w.strip() for w in listed.group(1).split(",")])
        if isinstance(p["default"], str) and p["default"].startswith("SIG"):
            return rng.choice(SIGNALS + [p["default"]])
        if p["default"] is not None and rng.random() < 0.5:
            return p["default"]
        n = rng.randint(1, max(1, min(p.get("max_length") or 16, 16)))
        return "".join(rng.choice(string.ascii_letters) for _ in range(n))
    if kind == "integer_array":
        n = rng.randint(p.get("min_items") or 1, min(p.get("max_items") or 8, 20))
        lo, hi = lo if lo is not None else 0, hi if hi is not None else 100
        top = hi if rng.random() < 0.3 else min(hi, max(lo, 4096))
        return [rng.randint(lo, top) for _ in range(n)]
    if kind == "string_array":
        choices = p.get("choices") or [p["default"][0]] if p.get("default") else ["x"]
        n = rng.randint(p.get("min_items") or 1, min(p.get("max_items") or len(choices), len(choices)))
        return rng.sample(choices, n)
    return p["default"]


# Arrays a preset wants one value for each message of (or a single value for all).
PER_MESSAGE = ("priorities", "types")


def params_for(rng: random.Random, entry: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for p in entry["parameters"]:
        v = draw(rng, p)
        if v is not None:
            out[p["name"]] = v
    return fit(rng, out)


def fit(rng: random.Random, params: dict[str, Any]) -> dict[str, Any]:
    """Mostly keeps drawn values to the rules that tie parameters together (the bounds are per
    parameter), so that most draws run rather than being refused; the rest still test the refusal."""
    if rng.random() < 0.15:
        return params
    messages = params.get("messages")
    # Messages are a list, a count, or words separated by spaces.
    count = len(messages) if isinstance(messages, list) else messages if isinstance(messages, int) \
        else len(messages.split()) if isinstance(messages, str) else None
    for name in PER_MESSAGE:
        values = params.get(name)
        if count and isinstance(values, list) and values:
            want = count if rng.random() < 0.8 else 1
            params[name] = [values[i % len(values)] for i in range(want)]
    for name, v in params.items():
        # Addresses to map at: 0 (the kernel chooses) or a page multiple from 64 KiB up.
        if name.endswith("_address") and isinstance(v, int) and v:
            params[name] = max(65536, v // 4096 * 4096)
    return params


def effective(entry: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a run used: those given, the defaults for the rest."""
    out = {p["name"]: p["default"] for p in entry["parameters"] if p["default"] is not None}
    out.update(params)
    return out
