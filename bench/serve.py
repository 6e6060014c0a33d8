#!/usr/bin/env python3
"""hookctl serve benchmarks: ingest next to listen --capture, fan-out latency, idle subscriber memory.

Usage:  python3 bench/serve.py [--duration 5] [--runs 3] [--subscribers 1000] [--rate 100]
                               [--seconds 10] [--idle 10000] [--hookctl PATH] [--quick]

1. Ingest: wrk (64 keep-alive connections, the 511-byte payment_success payload) posts to one
   serve channel, and, in the same run, to `listen --capture FILE --quiet`; both store every
   event before answering. Target: serve >= 0.7x listen.
2. Fan-out: SUBSCRIBERS subscriptions to one channel, RATE events/s for SECONDS posted over one
   keep-alive connection (bench/serve-load); every subscriber must get every event once and in
   order. Reports p50/p99/max delivery latency, from just before the POST to the arrival.
   Target: p99 <= 100 ms for 1,000 subscribers at 100 events/s.
3. Idle: IDLE subscriptions held open; serve's resident memory with them all connected, minus
   its memory before. Target: <= 100 MiB for 10,000.

The server runs on core 0, the load on core 1 (taskset). Every process started here is stopped
by its PID; every step is bounded in time. Results go to bench/results/serve-*.json.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as common  # noqa: E402  (bench/run.py: wrk, pinning, /proc readers)

ROOT = common.ROOT
LOAD_DIR = ROOT / "bench" / "serve-load"


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, n))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def start_serve(hookctl, data, port, *extra):
    argv = common.pinned(0, [str(hookctl), "serve", "--port", str(port), "--data", str(data), *extra])
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    common.wait_port(port, proc)
    return proc


def new_channel(port):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/new", method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        created = json.load(r)
    return created["channel"], created["token"]


def ingest(args, hookctl, tmp):
    """serve and listen --capture under the same wrk load, alternating, median of runs."""
    serve_rps, listen_rps, rows = [], [], []
    for i in range(args.runs):
        port = common.free_port()
        data = Path(tmp) / f"ingest-{i}"
        proc = start_serve(hookctl, data, port)
        try:
            channel, _ = new_channel(port)
            pid = proc.pid
            cpu0 = common.cpu_seconds(pid)
            result = common.wrk(port, args.duration, f"/{channel}")
            cpu = common.cpu_seconds(pid) - cpu0
            peak = common.proc_status(pid, "VmHWM")
        finally:
            common.stop(proc)
        serve_rps.append(result["rps"])
        rows.append({"what": "serve", "rps": result["rps"], "p99_us": result["lat_p99_us"],
                     "cpu_us": cpu / max(result["requests"], 1) * 1e6, "peak_kib": peak,
                     "errors": result["err_status"] + result["err_connect"] + result["err_read"]})
        port = common.free_port()
        capture = Path(tmp) / f"listen-{i}.jsonl"
        measured = common.measure_server(
            [str(hookctl), "listen", "--port", str(port), "--capture", str(capture), "--quiet"],
            port, args.duration)
        listen_rps.append(measured["rps"])
        rows.append({"what": "listen --capture --quiet", **measured})
    s, l = statistics.median(serve_rps), statistics.median(listen_rps)
    # CPU per request moves far less than req/s on a shared machine: its ratio is the
    # throughput ratio when the server's core is the limit.
    serve_cpu = statistics.median(r["cpu_us"] for r in rows if r["what"] == "serve")
    listen_cpu = statistics.median(r["cpu_us"] for r in rows if r["what"] != "serve")
    return {"serve_rps": s, "listen_capture_rps": l, "ratio": s / l,
            "serve_cpu_us": serve_cpu, "listen_cpu_us": listen_cpu, "cpu_ratio": listen_cpu / serve_cpu,
            "target": 0.7, "pass": s / l >= 0.7 and listen_cpu / serve_cpu >= 0.7, "runs": rows}


def fanout(args, hookctl, load, tmp):
    port = common.free_port()
    proc = start_serve(hookctl, Path(tmp) / "fanout", port)
    try:
        channel, token = new_channel(port)
        cpu0 = common.cpu_seconds(proc.pid)
        out = subprocess.run(
            common.pinned(1, [str(load), "fanout", f"127.0.0.1:{port}", channel, token,
                              str(args.subscribers), str(args.rate), str(args.seconds)]),
            capture_output=True, text=True, timeout=args.seconds + 180,
        )
        cpu = common.cpu_seconds(proc.pid) - cpu0
        peak = common.proc_status(proc.pid, "VmHWM")
    finally:
        common.stop(proc)
    if out.returncode != 0:
        raise RuntimeError(f"serve-load fanout failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update({"serve_cpu_s": cpu, "serve_peak_kib": peak, "target_p99_ms": 100,
                   "pass": result["missing"] == 0 and result["out_of_order"] == 0
                   and result["p99_ms"] <= 100})
    return result


def idle(args, hookctl, load, tmp):
    port = common.free_port()
    proc = start_serve(hookctl, Path(tmp) / "idle", port, "--max-connections", str(args.idle + 100))
    holder = None
    try:
        channel, token = new_channel(port)
        before = common.proc_status(proc.pid, "VmRSS")
        holder = subprocess.Popen(
            common.pinned(1, [str(load), "idle", f"127.0.0.1:{port}", channel, token, str(args.idle)]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = holder.stdout.readline()
        if not line.startswith("{"):
            raise RuntimeError(f"serve-load idle failed: {line}{holder.stderr.read()}")
        time.sleep(1)  # let serve settle after the connection burst before reading its memory
        with_subs = common.proc_status(proc.pid, "VmRSS")
        peak = common.proc_status(proc.pid, "VmHWM")
    finally:
        if holder is not None:
            holder.stdin.close()
            try:
                holder.wait(30)
            except subprocess.TimeoutExpired:
                holder.kill()
                holder.wait()
        common.stop(proc)
    added_mib = (with_subs - before) / 1024
    return {"subscribers": args.idle, "rss_before_mib": before / 1024,
            "rss_with_subscribers_mib": with_subs / 1024, "added_mib": added_mib,
            "per_subscriber_kib": (with_subs - before) / args.idle, "peak_mib": peak / 1024,
            "target_mib": 100, "pass": with_subs / 1024 <= 100}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk measurement")
    ap.add_argument("--runs", type=int, default=3, help="ingest runs (median)")
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=100.0, help="events per second in the fan-out")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the fan-out")
    ap.add_argument("--idle", type=int, default=10_000, help="idle subscribers held")
    ap.add_argument("--hookctl", type=Path, help="binary to measure (default: build --release)")
    ap.add_argument("--only", choices=["ingest", "fanout", "idle"])
    ap.add_argument("--quick", action="store_true", help="1 ingest run of 2 s, a 5 s fan-out")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.runs, args.seconds = 2, 1, 5.0
    raise_fd_limit(args.idle + args.subscribers + 1000)
    hookctl = args.hookctl
    if hookctl is None:
        common.log("building hookctl (release) ...")
        subprocess.run(["cargo", "build", "--release", "--features", "jemalloc", "--quiet"], cwd=ROOT, check=True)
        hookctl = target_dir() / "release" / "hookctl"
    common.log("building bench/serve-load (release) ...")
    load_target = target_dir() / "serve-load"
    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path",
                    str(LOAD_DIR / "Cargo.toml"), "--target-dir", str(load_target)], check=True)
    load = load_target / "release" / "serve-load"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "ingest"):
            common.log(f"ingest: serve vs listen --capture, {args.runs} x {args.duration}s ...")
            results["ingest"] = ingest(args, hookctl, tmp)
        if args.only in (None, "fanout"):
            common.log(f"fan-out: {args.subscribers} subscribers, {args.rate}/s for {args.seconds}s ...")
            results["fanout"] = fanout(args, hookctl, load, tmp)
        if args.only in (None, "idle"):
            common.log(f"idle: {args.idle} subscribers ...")
            results["idle"] = idle(args, hookctl, load, tmp)
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    out = common.RESULTS / f"serve-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "runs"} for k, v in results.items()},
                     indent=2))
    common.log(f"wrote {out}")


if __name__ == "__main__":
    main()
