#!/usr/bin/env python3
"""Seeds a gateway's history with many sessions, then times the operator pages and the history API.

Called by bench/ui.sh, which starts the mock upstream and the gateway. Standard library only.
Seeding goes through the gateway's own /v1/messages (so the recorder, deduplication and search
index do the real work), with an `x-session-id` per session; one session is a long conversation
whose every turn resends the whole history, as Claude Code does.
"""

import argparse
import concurrent.futures
import datetime
import html
import http.client
import json
import pathlib
import re
import statistics
import threading
import time
import urllib.parse

WORDS = ["kestrel", "marigold", "obsidian", "tamarind", "quokka", "vermilion", "zeppelin", "juniper"]


class Conn:
    """One keep-alive HTTP connection per thread."""

    local = threading.local()

    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None, headers=None):
        c = getattr(self.local, "c", None)
        if c is None:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.local.c = c
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, data
        except (http.client.HTTPException, OSError):
            self.local.c = None
            raise


def user_text(i):
    word = WORDS[i % len(WORDS)]
    if i % 10 == 0:
        cmd = json.dumps({"command": f"grep -rn {word}{i} src/"})
        return f"Find where {word}{i} is configured.\nmock:tool Bash {cmd}"
    return f"Session {i}: summarise the {word} rollout plan, marker {word}{i}.\nmock:text The {word} plan is on track."


def seed_one(conn, i):
    body = json.dumps(
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 256,
            "messages": [{"role": "user", "content": user_text(i)}],
        }
    )
    headers = {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": "bench-key",
        "x-session-id": f"bench-{i:05d}",
    }
    status, _ = conn.request("POST", "/v1/messages", body, headers)
    if status != 200:
        raise RuntimeError(f"seeding request {i} answered {status}")


def seed_long(conn, turns):
    """A session of `turns` transactions, each resending the whole conversation so far."""
    messages = []
    for t in range(turns):
        messages.append({"role": "user", "content": f"Turn {t}: next step of the migration.\nmock:deltas 40"})
        body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 256, "messages": messages})
        headers = {
            "content-type": "application/json",
            "anthropic-version": "2023-06-01",
            "x-api-key": "bench-key",
            "x-session-id": "bench-long",
        }
        status, data = conn.request("POST", "/v1/messages", body, headers)
        if status != 200:
            raise RuntimeError(f"long session turn {t} answered {status}")
        reply = json.loads(data)
        messages.append({"role": "assistant", "content": reply["content"]})


def timed(conn, path, key, runs):
    """Median and max milliseconds of `runs` GETs of path, and the last body."""
    times = []
    body = b""
    for _ in range(runs):
        start = time.perf_counter()
        status, body = conn.request("GET", path, headers={"x-api-key": key})
        times.append((time.perf_counter() - start) * 1000)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:200]!r}")
    return statistics.median(times), max(times), body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--long-turns", type=int, default=200)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--out", required=True)
    ap.add_argument("--commit", default="?")
    ap.add_argument("--data-dir", required=True)
    a = ap.parse_args()
    conn = Conn(a.port)

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: seed_one(conn, i), range(a.sessions)))
    seed_long(conn, a.long_turns)
    seed_secs = time.perf_counter() - t0

    # Wait for the recorder to have written everything.
    want = a.sessions + a.long_turns
    deadline = time.time() + 120
    while True:
        _, stats = conn.request("GET", "/api/history/stats", headers={"x-api-key": a.key})
        if json.loads(stats)["transactions"] >= want:
            break
        if time.time() > deadline:
            raise RuntimeError(f"the recorder wrote {stats!r} of {want} transactions in 2 minutes")
        time.sleep(0.5)

    rows = []

    def measure(label, path):
        med, worst, body = timed(conn, path, a.key, a.runs)
        rows.append((label, path, med, worst, len(body)))
        return body

    measure("landing page", "/")
    first = measure("history, newest page", "/history").decode()
    # Walk 20 pages back through the pager, then time that deep page.
    page = first
    path = "/history"
    pages = 0
    for _ in range(20):
        m = re.search(r'href="([^"]+)" id="page-older"', page)
        if not m:
            break
        path = html.unescape(m.group(1))
        _, data = conn.request("GET", path, headers={"x-api-key": a.key})
        page = data.decode()
        pages += 1
    if path == "/history":
        raise RuntimeError("the history page has no link to older sessions")
    measure(f"history, page {pages + 1} (cursor)", path)
    one = 4003 % a.sessions
    measure("history, full-text search (one hit)", f"/history?q={WORDS[one % len(WORDS)]}{one}")
    measure("history, full-text search (1/8 of sessions)", f"/history?q={WORDS[5]}")
    measure("history, blocked filter", "/history?decision=blocked")
    measure("session page, one turn", "/history/bench-00042")
    measure(f"session page, {a.long_turns} turns", "/history/bench-long")
    _, tx = conn.request("GET", "/api/history/sessions/bench-long", headers={"x-api-key": a.key})
    tx_id = json.loads(tx)["conversation"][-1]["transaction_id"]
    measure(f"transaction page (turn {a.long_turns} of the long session)", f"/transactions/{tx_id}")
    measure("activity page", "/activity")
    measure("policies page", "/policies")
    measure("API: sessions, first page of 50", "/api/history/sessions?limit=50")
    measure("API: sessions, search", f"/api/history/sessions?q={WORDS[1]}&limit=50")
    measure(f"API: session of {a.long_turns} turns", "/api/history/sessions/bench-long")
    measure(f"API: export of {a.long_turns} turns (markdown)", "/api/history/sessions/bench-long/export?format=markdown")

    db_bytes = sum(p.stat().st_size for p in pathlib.Path(a.data_dir).rglob("*") if p.is_file())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Operator pages at scale",
        "",
        "Generated by `bench/ui.sh`; do not edit by hand. Issue 5 asks that the pages stay responsive",
        "with 10,000 sessions: this seeds a gateway (release build, SQLite default, NoOp policy) through",
        "its own `/v1/messages` and times each page and API call as the server renders it (no browser).",
        "",
        f"- Date: {now}",
        f"- Commit: `{a.commit}`",
        f"- Seeded: {a.sessions:,} one-turn sessions (every tenth with a Bash tool call) and one session",
        f"  of {a.long_turns} turns that resends its whole conversation each turn, in {seed_secs:.1f} s;",
        f"  the data dir (SQLite, WAL) then held {db_bytes / 2**20:.0f} MiB.",
        f"- Each row: {a.runs} sequential GETs with the admin key on a keep-alive connection; median",
        "  and slowest in milliseconds, and the size of the response.",
        "",
        "| what | request | median ms | slowest ms | bytes |",
        "|---|---|--:|--:|--:|",
    ]
    for label, path, med, worst, size in rows:
        shown = path if len(path) < 60 else path[:57] + "…"
        lines.append(f"| {label} | `{shown}` | {med:.1f} | {worst:.1f} | {size:,} |")
    lines.append("")
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
