#!/usr/bin/env python3
"""End-to-end latency of the relay path, on loopback:

    provider POST -> hookctl serve -> hookctl listen --source --forward-to -> app

Each event is timed from the moment the provider starts its POST to the moment the app has read
the forwarded request, both measured with one clock in this process. The same client and app are
also timed with the provider posting straight to the app (the baseline, in the same run), so the
relay's share is visible.

Usage:  python3 bench/source.py [--events 500] [--interval 0.01] [--max-seconds 60] [--bin PATH]

Bounded in count (--events) and in time (--max-seconds). The binary defaults to target/dist,
then target/release (build it with `cargo build --release`). Every process started here is
stopped by its PID. Results are printed and written to bench/results/source.json.
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BODY = (ROOT / "bench" / "payload.json").read_bytes()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class App(BaseHTTPRequestHandler):
    """The app behind --forward-to: notes when each numbered request has been read."""

    seen = {}
    lock = threading.Lock()
    arrived = threading.Condition(lock)
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        self.rfile.read(length)
        now = time.perf_counter()
        n = self.headers.get("x-bench-n")
        with App.arrived:
            if n is not None:
                App.seen[int(n)] = now
            App.arrived.notify_all()
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def wait_for(n, deadline):
    with App.arrived:
        while n not in App.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            App.arrived.wait(left)
        return App.seen[n]


def read_lines(stream, sink):
    for line in iter(stream.readline, b""):
        sink.append(line.decode(errors="replace").rstrip("\n"))


def wait_line(lines, prefix, proc, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(lines):
            if line.startswith(prefix):
                return line
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early: {lines}")
        time.sleep(0.01)
    raise RuntimeError(f"no line starting with {prefix!r}: {lines}")


def start(argv, env=None):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    lines = []
    threading.Thread(target=read_lines, args=(proc.stderr, lines), daemon=True).start()
    return proc, lines


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(url, events, interval, deadline, first):
    """POSTs `events` numbered events to url, one at a time, and returns the latencies (ms)."""
    rest = url.split("://", 1)[1]
    authority, _, path = rest.partition("/")
    host, port = authority.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    latencies = []
    for i in range(events):
        n = first + i
        if time.monotonic() > deadline:
            log(f"time limit reached after {i} events")
            break
        started = time.perf_counter()
        conn.request(
            "POST",
            "/" + path,
            body=BODY,
            headers={"content-type": "application/json", "x-bench-n": str(n)},
        )
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"event {n}: {response.status}")
        arrived = wait_for(n, deadline + 5)
        if arrived is None:
            raise RuntimeError(f"event {n} never reached the app")
        latencies.append((arrived - started) * 1000)
        time.sleep(interval)
    conn.close()
    return latencies


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(latencies):
    return {
        "events": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 3),
        "p99_ms": round(percentile(latencies, 99), 3),
        "max_ms": round(max(latencies), 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--interval", type=float, default=0.01, help="pause between events (s)")
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--bin", type=Path)
    args = parser.parse_args()
    if not 1 <= args.events <= 100_000:
        parser.error("--events must be from 1 to 100000")
    if not 0 <= args.interval <= 10 or not 1 <= args.max_seconds <= 3600:
        parser.error("--interval must be 0-10 s and --max-seconds 1-3600")
    binary = args.bin
    if binary is None:
        for profile in ("dist", "release"):
            candidate = ROOT / "target" / profile / "hookctl"
            if candidate.exists():
                binary = candidate
                break
    if binary is None or not binary.exists():
        sys.exit("no hookctl binary: cargo build --release, or pass --bin")
    binary = str(binary)

    app = ThreadingHTTPServer(("127.0.0.1", 0), App)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    app_url = f"http://127.0.0.1:{app.server_address[1]}"
    deadline = time.monotonic() + args.max_seconds
    procs = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            serve, serve_err = start([binary, "serve", "--port", "0", "--data", f"{tmp}/data"])
            procs.append(serve)
            relay = wait_line(serve_err, "listening on ", serve).split(" ", 2)[2].strip()
            created = json.loads(
                subprocess.run(
                    [binary, "channel", "new", "--json", "--server", relay],
                    check=True,
                    capture_output=True,
                    timeout=10,
                ).stdout
            )
            # The token goes through the environment, not the command line.
            env = dict(os.environ, HOOKCTL_SOURCE_TOKEN=created["token"])
            listen, listen_err = start(
                [binary, "listen", "--no-port", "--quiet", "--source", created["url"],
                 "--forward-to", app_url],
                env=env,
            )
            procs.append(listen)
            wait_line(listen_err, "connected to ", listen)
            # Warm-up, then the two measured paths in the same run.
            measure(created["url"], 20, 0, deadline, first=1_000_000)
            log(f"relay path: {args.events} events, {args.interval * 1000:.0f} ms apart")
            relayed = measure(created["url"], args.events, args.interval, deadline, first=0)
            log("baseline: the same client posting straight to the app")
            direct = measure(app_url + "/direct", args.events, args.interval, deadline,
                             first=2_000_000)
    finally:
        for proc in reversed(procs):
            stop(proc)
        app.shutdown()
    result = {
        "path": "provider POST -> serve -> listen --source --forward-to -> app (loopback)",
        "binary": binary,
        "relay": summary(relayed),
        "direct": summary(direct),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "source.json").write_text(json.dumps(result, indent=2) + "\n")
    for name in ("relay", "direct"):
        r = result[name]
        print(f"{name:7} {r['events']:5} events  p50 {r['p50_ms']:.2f} ms  "
              f"p99 {r['p99_ms']:.2f} ms  max {r['max_ms']:.2f} ms")


if __name__ == "__main__":
    main()
