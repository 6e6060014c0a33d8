#!/usr/bin/env python3
"""The web inspector must not slow the receiver: `listen --capture --quiet --ui` with the page
open in a browser, against `listen --capture --quiet`, under the same wrk load, in one run.

Usage:  python3 bench/ui.py [--duration 5] [--runs 3] [--profile dist|release] [--no-build]

Each run takes turns: the plain receiver, then the receiver with --ui and the inspector page
open in headless Chromium (Playwright; /usr/bin/chromium), following the live list as events
arrive. In the plain run the browser is open too, on a blank page, so both runs share the
machine the same way. The server is pinned to core 0; wrk and the browser to core 1. The
ratio is the median of the per-pair ratios; the issue's target is >= 0.90x.
Every process started here is stopped by its PID; every measurement is bounded in time.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as suite  # noqa: E402  (the suite's helpers: wrk, pinning, process stats)

CHROMIUM = "/usr/bin/chromium"


def browser_on(url, ready, done):
    """Keeps a headless Chromium with `url` open until `done` is set."""
    from playwright.sync_api import sync_playwright
    # The browser (started from this thread) shares core 1 with wrk.
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1360, "height": 800})
        page.goto(url)
        if url != "about:blank":
            page.locator("#live").wait_for()
        rows = []
        ready.set()
        done.wait(timeout=600)
        if url != "about:blank":
            rows.append(page.locator("#count").text_content())
        browser.close()
        return rows


def measure(hookctl, tmp, ui, duration):
    port = suite.free_port()
    capture = Path(tmp) / ("ui.jsonl" if ui else "plain.jsonl")
    capture.unlink(missing_ok=True)
    argv = [hookctl, "listen", "--port", str(port), "--quiet", "--capture", str(capture)]
    if ui:
        argv.append("--ui")
    proc = subprocess.Popen(suite.pinned(0, argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready, done = threading.Event(), threading.Event()
    seen = {}
    try:
        suite.wait_port(port, proc)
        url = f"http://127.0.0.1:{port}/_hookctl/" if ui else "about:blank"
        thread = threading.Thread(target=lambda: seen.setdefault("rows", browser_on(url, ready, done)), daemon=True)
        thread.start()
        if not ready.wait(timeout=60):
            raise RuntimeError("the browser did not open the page within 60 s")
        cpu0 = suite.cpu_seconds(proc.pid)
        result = suite.wrk(port, duration)
        cpu = suite.cpu_seconds(proc.pid) - cpu0
        peak = suite.proc_status(proc.pid, "VmHWM")
        done.set()
        thread.join(timeout=60)
    finally:
        done.set()
        suite.stop(proc)
    reqs = max(result["requests"], 1)
    errors = result["err_status"] + result["err_connect"] + result["err_read"]
    return {"rps": result["rps"], "cpu_us": cpu / reqs * 1e6, "peak_kib": peak, "errors": errors,
            "page": (seen.get("rows") or [None])[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk measurement")
    ap.add_argument("--runs", type=int, default=3, help="pairs of runs (median ratio)")
    ap.add_argument("--profile", default="dist", choices=["dist", "release"])
    ap.add_argument("--no-build", action="store_true", help="use the binary already built")
    ap.add_argument("--binary", help="measure this hookctl binary (implies --no-build)")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("chromium is missing: apt-get install -y chromium")
    target = Path(os.environ.get("CARGO_TARGET_DIR", suite.ROOT / "target"))
    hookctl = args.binary or str(target / args.profile / "hookctl")
    if not args.no_build and not args.binary:
        suite.log(f"building hookctl ({args.profile} profile)...")
        subprocess.run(["cargo", "build", "--profile", args.profile, "--features", "jemalloc", "--quiet"], cwd=suite.ROOT, check=True)
    pairs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            plain = measure(hookctl, tmp, False, args.duration)
            ui = measure(hookctl, tmp, True, args.duration)
            suite.log(f"run {i + 1}: plain {plain['rps']:.0f}/s, --ui with the page open {ui['rps']:.0f}/s "
                      f"(page showed {ui['page']!r}), ratio {ui['rps'] / plain['rps']:.3f}")
            pairs.append((plain, ui))
    ratios = [u["rps"] / p["rps"] for p, u in pairs]
    med = lambda key, side: statistics.median(pair[side][key] for pair in pairs)  # noqa: E731
    lines = [
        f"wrk -c64 -d{args.duration}s, {args.runs} pairs, {args.profile} profile, {os.cpu_count()} cores; "
        "server on core 0, wrk and Chromium on core 1.", "",
        "| receiver | req/s | CPU/req | peak RSS | errors |", "|---|---|---|---|---|",
        f"| `listen --capture FILE --quiet` (browser on a blank page) | {med('rps', 0):.0f} | {med('cpu_us', 0):.1f} µs | "
        f"{med('peak_kib', 0) / 1024:.1f} MiB | {sum(p[0]['errors'] for p in pairs)} |",
        f"| `listen --capture FILE --quiet --ui` (inspector page open) | {med('rps', 1):.0f} | {med('cpu_us', 1):.1f} µs | "
        f"{med('peak_kib', 1) / 1024:.1f} MiB | {sum(p[1]['errors'] for p in pairs)} |",
        "", f"Ratio (--ui / plain, median of the pairs): **{statistics.median(ratios):.3f}×** "
        f"(range {min(ratios):.3f}–{max(ratios):.3f}×; target ≥ 0.90×).",
    ]
    table = "\n".join(lines)
    suite.RESULTS.mkdir(parents=True, exist_ok=True)
    (suite.RESULTS / "ui.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
