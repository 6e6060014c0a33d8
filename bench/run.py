#!/usr/bin/env python3
"""hookctl benchmark suite: measures hookctl next to a baseline in the same run and prints ratios.

Usage:  python3 bench/run.py [--duration 5] [--runs 3] [--replay-lines 1000000] [--quick]

Receivers are driven by wrk (64 keep-alive connections, the 511-byte payment_success payload from
bench/payload.json) against the raw hyper baseline server in bench/baseline-server.
Server and load generator are pinned to different cores when taskset is available. Senders are
compared with oha against the same baseline server. Every process started here is stopped by its
PID; every measurement is bounded in time.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
HOOKCTL = ROOT / "target" / "dist" / "hookctl"
BASELINE_DIR = ROOT / "target" / "bench-baseline"
BASELINE = BASELINE_DIR / "release" / "baseline-server"
PAYLOAD = BENCH / "payload.json"
POST_LUA = BENCH / "post.lua"
RESULTS = ROOT / "bench" / "results"
TICKS = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pinned(core, argv):
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(core)] + argv
    return argv


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"port {port} never accepted connections")


def proc_status(pid, key):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError):
        return 0.0


def stop(proc, sig=signal.SIGTERM, timeout=10.0):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wrk(port, duration, path="/webhook"):
    env = dict(os.environ, PAYLOAD=str(PAYLOAD))
    out = subprocess.run(
        pinned(1, ["wrk", "-t1", "-c64", f"-d{duration}s", "-s", str(POST_LUA),
                   f"http://127.0.0.1:{port}{path}"]),
        env=env, capture_output=True, text=True, timeout=duration + 30,
    ).stdout
    for line in out.splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line[len("WRKJSON "):])
    raise RuntimeError("wrk printed no WRKJSON line:\n" + out)


def measure_server(argv, port, duration, stdout=subprocess.DEVNULL, shell_pipe=False):
    """Starts a receiver, loads it with wrk, returns rps, CPU µs/request, idle and peak RSS."""
    if shell_pipe:
        # The reader is pinned with the load generator, so the server's core stays its own.
        reader = " ".join(pinned(1, ["cat"]))
        proc = subprocess.Popen(" ".join(pinned(0, argv)) + f" | {reader} > /dev/null", shell=True,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        server_pid = lambda: int(subprocess.run(  # noqa: E731
            ["pgrep", "-P", str(proc.pid), "-f", "hookctl|baseline-server"], capture_output=True, text=True
        ).stdout.split()[0])
    else:
        proc = subprocess.Popen(pinned(0, argv), stdout=stdout, stderr=subprocess.DEVNULL)
        server_pid = lambda: proc.pid  # noqa: E731
    try:
        wait_port(port, proc)
        pid = server_pid()
        idle = proc_status(pid, "VmRSS")
        cpu0 = cpu_seconds(pid)
        result = wrk(port, duration)
        cpu = cpu_seconds(pid) - cpu0
        peak = proc_status(pid, "VmHWM")
    finally:
        if shell_pipe:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        else:
            stop(proc)
    reqs = max(result["requests"], 1)
    return {"rps": result["rps"], "cpu_us": cpu / reqs * 1e6, "idle_kib": idle, "peak_kib": peak,
            "errors": result["err_status"] + result["err_connect"] + result["err_read"]}


def baseline_argv(port, *extra):
    return [str(BASELINE), "--addr", f"127.0.0.1:{port}", "--rt", "current", *extra]


def hookctl_listen(port, *extra):
    return [str(HOOKCTL), "listen", "--port", str(port), *extra]


def receivers(args, tmp):
    rows = []
    scenarios = [
        ("listen --quiet", lambda p: hookctl_listen(p, "--quiet"), None, {}),
        ("listen --capture FILE --quiet", lambda p: hookctl_listen(p, "--quiet", "--capture", f"{tmp}/cap.jsonl"), 0.80, {}),
        # References from the issue, measured the same way: the raw baseline with its own
        # JSONL capture (a write and flush per request) and with pretty printing to a pipe.
        ("reference: baseline --capture FILE --flush line", lambda p: baseline_argv(p, "--capture", f"{tmp}/base.jsonl", "--flush", "line"), None, {}),
        ("listen --capture FILE --fsync --quiet", lambda p: hookctl_listen(p, "--quiet", "--fsync", "--capture", f"{tmp}/fsync.jsonl"), None, {}),
        ("listen (pretty) > file", lambda p: hookctl_listen(p), 0.50, {"stdout": "file"}),
        ("listen (pretty) | pipe", lambda p: hookctl_listen(p), 0.50, {"pipe": True}),
        ("reference: baseline --print pretty | pipe", lambda p: baseline_argv(p, "--print", "pretty"), None, {"pipe": True}),
        ("listen --json > file", lambda p: hookctl_listen(p, "--json"), 0.65, {"stdout": "file"}),
        ("listen --json | pipe", lambda p: hookctl_listen(p, "--json"), 0.65, {"pipe": True}),
    ]
    def baseline_one():
        port = free_port()
        return measure_server(baseline_argv(port), port, args.duration)

    for name, argv, target, how in scenarios:
        def one():
            port = free_port()
            # Every run starts from empty capture files, so page-cache pressure from earlier
            # runs does not weigh on later ones.
            for leftover in Path(tmp).glob("*.jsonl"):
                leftover.unlink()
            if how.get("stdout") == "file":
                with open(f"{tmp}/stdout.out", "wb") as out:
                    return measure_server(argv(port), port, args.duration, stdout=out)
            return measure_server(argv(port), port, args.duration, shell_pipe=how.get("pipe", False))
        ours, base, spread = paired(args.runs, one, baseline_one, rate=lambda r: r["rps"])
        ratio = ours["rps"] / base["rps"]
        log(f"{name}: {ours['rps']:.0f} req/s vs baseline {base['rps']:.0f} -> {ratio:.2f}x "
            f"(pairs {spread[0]:.2f}-{spread[1]:.2f}x)")
        rows.append((name, ours, base, ratio, target, spread))
    return rows


def oha_rps(port, n):
    oha = shutil.which("oha") or str(Path.home() / ".cargo/bin/oha")
    if not Path(oha).exists():
        return None
    out = subprocess.run(
        pinned(1, [oha, "-n", str(n), "-c", "64", "-m", "POST", "-D", str(PAYLOAD),
                   "-H", "content-type: application/json", "--no-tui", "--output-format", "json",
                   f"http://127.0.0.1:{port}/webhook"]),
        capture_output=True, text=True, timeout=300,
    )
    try:
        return json.loads(out.stdout)["summary"]["requestsPerSec"]
    except (ValueError, KeyError):
        log("oha output not understood: " + out.stdout[:300] + out.stderr[:300])
        return None


def hookctl_rate(argv):
    """Runs a hookctl sender pinned to core 1 under /usr/bin/time; returns the rate from its
    JSON summary and its peak RSS (KiB)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + pinned(1, argv), capture_output=True,
                         text=True, timeout=900)
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    summary = json.loads(lines[-1])
    assert summary["kind"] == "summary", summary
    return summary["rate_per_s"], peak_of(out)


def peak_rss_of(argv):
    """Runs argv under /usr/bin/time with stdout discarded; returns (wall seconds, peak RSS
    KiB)."""
    started = time.monotonic()
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, timeout=900)
    return time.monotonic() - started, peak_of(out)


def peak_of(finished):
    """The peak RSS (KiB) that /usr/bin/time -f %M printed last on stderr."""
    return int(finished.stderr.strip().splitlines()[-1])


def write_capture(path, lines):
    payload = PAYLOAD.read_text().strip()
    head = ('{"v":1,"kind":"event","id":"evt_%08d","type":"payment_success",'
            '"received_at":"2026-01-01T00:00:00.000Z","method":"POST","path":"/webhook",'
            '"headers":[["content-type","application/json"],["user-agent","bench"]],"body":')
    body = json.dumps(payload)
    with open(path, "w") as f:
        for i in range(lines):
            f.write(head % i + body + ',"status":200}\n')


def paired(runs, ours_fn, other_fn, rate=lambda r: r):
    """Runs two measurements by turns, `runs` times, so a machine that drifts during the suite
    weighs on both alike. Returns the run of each with the median `rate` (the upper of the two
    middle ones for an even count) and the lowest and highest ratio of one pair, so noise
    between runs shows in the table. The other side is `None` when it never measured a rate."""
    pairs = [(ours_fn(), other_fn()) for _ in range(runs)]
    ratios = [rate(o) / rate(t) for o, t in pairs if rate(t)]

    def median(results):
        return sorted(results, key=rate)[len(results) // 2]

    if not ratios:
        return median([o for o, _ in pairs]), None, None
    return median([o for o, _ in pairs]), median([t for _, t in pairs]), (min(ratios), max(ratios))


def senders(args, tmp):
    rows = []
    port = free_port()
    base = subprocess.Popen(pinned(0, baseline_argv(port)), stderr=subprocess.DEVNULL)
    try:
        wait_port(port, base)
        n = args.send_count
        url = f"http://127.0.0.1:{port}/webhook"

        def send(count):
            rate, _ = hookctl_rate([str(HOOKCTL), "send", "payment_success", "--count", str(count),
                                    "--concurrency", "64", "--to", url, "--json", "-q"])
            return rate

        ours, oha, spread = paired(args.runs, lambda: send(n), lambda: oha_rps(port, n) or 0)
        rows.append(("send --count %d --concurrency 64" % n, ours, oha, 0.90, None, spread))
        log(f"send: {ours:.0f}/s vs oha {oha}")
        cap = f"{tmp}/replay.jsonl"
        write_capture(cap, args.replay_lines)
        size_mb = os.path.getsize(cap) / 1e6
        wall, peak = peak_rss_of([str(HOOKCTL), "replay", cap, "--dry-run", "--json"])
        rows.append((f"replay --dry-run --json ({args.replay_lines} lines, {size_mb:.0f} MB)",
                     args.replay_lines / wall, 200_000.0, 1.0, peak, None))
        log(f"replay dry-run: {args.replay_lines / wall:.0f} lines/s, peak {peak} KiB")

        # Pinned and timed (by its own summary) the same way as send.
        peaks = []

        def replay():
            rate, peak = hookctl_rate([str(HOOKCTL), "replay", cap, "--to", url,
                                       "--concurrency", "64", "--json", "-q"])
            peaks.append(peak)
            return rate

        replay_rate, send_same, spread = paired(args.runs, replay, lambda: send(args.replay_lines))
        rows.append((f"replay {args.replay_lines} lines --concurrency 64", replay_rate, send_same,
                     0.90, max(peaks), spread))
        log(f"replay: {replay_rate:.0f}/s vs send {send_same:.0f}/s, peak {max(peaks)} KiB")
    finally:
        stop(base)
    return rows


def startup(args, tmp):
    def mean_ms(argv, n):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times)
    version = mean_ms([str(HOOKCTL), "--version"], 50)
    port = free_port()
    listen = subprocess.Popen(hookctl_listen(port, "--quiet"), stderr=subprocess.DEVNULL)
    try:
        wait_port(port, listen)
        send = mean_ms([str(HOOKCTL), "send", "payment_success", "--to",
                        f"http://127.0.0.1:{port}/webhook"], 30)
    finally:
        stop(listen)
    return version, send


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk measurement")
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--send-count", type=int, default=100_000)
    ap.add_argument("--replay-lines", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="1 run of 2 s, 20k events, 100k lines")
    ap.add_argument("--only", choices=["receivers", "senders"], help="run one half of the suite")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.runs, args.send_count, args.replay_lines = 2, 1, 20_000, 100_000
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk (and cargo install oha for the send comparison)")
    log("building hookctl (dist profile: fat LTO) and the baseline server (release)...")
    subprocess.run(["cargo", "build", "--profile", "dist", "--features", "jemalloc", "--quiet"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path",
                    str(BENCH / "baseline-server" / "Cargo.toml"), "--target-dir", str(BASELINE_DIR)],
                   check=True)
    with tempfile.TemporaryDirectory() as tmp:
        recv = receivers(args, tmp) if args.only != "senders" else []
        send = senders(args, tmp) if args.only != "receivers" else []
        version_ms, send_ms = startup(args, tmp)
    lines = [f"Run on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, wrk -c64 -d{args.duration}s, "
             f"median of {args.runs}; ratios are against the baseline measured in the same run, "
             "each of its runs taking turns with one of hookctl's; the range is the lowest and "
             "highest ratio of one such pair.", "",
             "| receiver | req/s | baseline req/s | ratio | range | target | CPU/req | idle RSS | peak RSS |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, ours, base, ratio, target, spread in recv:
        cell = name.replace("|", "\\|")  # a `|` in a table cell is escaped, even in code
        lines.append(f"| `{cell}` | {ours['rps']:.0f} | {base['rps']:.0f} | **{ratio:.2f}×** | "
                     f"{spread[0]:.2f}–{spread[1]:.2f}× | "
                     f"{'≥ %.2f×' % target if target else '–'} | {ours['cpu_us']:.1f} µs | "
                     f"{ours['idle_kib'] / 1024:.1f} MiB | {ours['peak_kib'] / 1024:.1f} MiB |")
    lines += ["", f"Senders: medians of {args.runs} runs, each pair run back to back; the range is the "
              "lowest and highest ratio of one pair.", "",
              "| sender | rate | compared with | ratio | range | target | peak RSS |",
              "|---|---|---|---|---|---|---|"]
    for name, ours, other, target, peak_kib, spread in send:
        peak = f"{peak_kib / 1024:.1f} MiB" if peak_kib else "–"
        if other is None:
            lines.append(f"| `{name}` | {ours:.0f}/s | oha not installed | – | – | ≥ {target:.2f}× | {peak} |")
            continue
        ref = "200k lines/s" if "dry-run" in name else f"{other:.0f}/s"
        low_high = f"{spread[0]:.2f}–{spread[1]:.2f}×" if spread else "–"
        lines.append(f"| `{name}` | {ours:.0f}/s | {ref} | **{ours / other:.2f}×** | {low_high} | "
                     f"≥ {target:.2f}× | {peak} |")
    lines += ["", f"`hookctl --version`: {version_ms:.1f} ms (target < 5 ms); "
              f"`send` of one event to a local listen: {send_ms:.1f} ms (target < 15 ms)."]
    table = "\n".join(lines)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
