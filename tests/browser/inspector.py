#!/usr/bin/env python3
"""The web inspector in a real browser: Debian's Chromium, driven headless by Playwright.

    python3 tests/browser/inspector.py HOOKCTL_BINARY ARTIFACT_DIR [TEST ...]

Run by tests/cli/inspector.rs (cargo test). Each test starts its own `hookctl listen --ui` or
`hookctl inspect` on 127.0.0.1:0 and a capturing `hookctl listen --json` as the target when it
sends something. Nothing sleeps to synchronise: the page is waited on with Playwright's
auto-waiting `expect`, processes on the lines they print, always with a timeout.
Screenshots go to ARTIFACT_DIR. Ends with "N passed, N failed"; exits 1 on a failure, 2 when
Chromium or Playwright is missing.
"""

import base64
import http.client
import http.server
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

CHROMIUM = os.environ.get("HOOKCTL_CHROMIUM", "/usr/bin/chromium")
WAIT = 15  # seconds for anything that should happen soon
HERE = Path(__file__).resolve().parent

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    print("MISSING: Playwright for Python (pip install -r tests/browser/requirements.txt)")
    sys.exit(2)
if not Path(CHROMIUM).exists():
    print(f"MISSING: Chromium at {CHROMIUM} (apt-get install -y chromium)")
    sys.exit(2)

BIN = sys.argv[1]
ARTIFACTS = Path(sys.argv[2])
ONLY = set(sys.argv[3:])
ARTIFACTS.mkdir(parents=True, exist_ok=True)
expect.set_options(timeout=WAIT * 1000)


class Lines:
    """A stream's lines, read by a thread, waited on with a timeout."""

    def __init__(self, stream):
        self.q = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for raw in iter(stream.readline, b""):
            self.q.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.q.put(None)

    def wait_for(self, what, pred):
        deadline = time.monotonic() + WAIT
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.q.get(timeout=max(0.01, left))
            except queue.Empty:
                line = None
                left = 0
            if line is None and left <= 0 or line is None:
                raise AssertionError(f"timed out waiting for {what}; saw {self.seen!r}")
            self.seen.append(line)
            if pred(line):
                return line


class Hookctl:
    """A hookctl process that announces its address on stderr."""

    def __init__(self, *args, env=None):
        full_env = {"PATH": os.environ.get("PATH", ""), "NO_COLOR": "1", "HOME": tempfile.gettempdir()}
        full_env.update(env or {})
        self.proc = subprocess.Popen([BIN, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=full_env, cwd=WORK)
        self.stdout = Lines(self.proc.stdout)
        self.stderr = Lines(self.proc.stderr)
        self.ui = None
        if "--ui" in args or args[0] == "inspect":
            line = self.stderr.wait_for("the inspector's URL", lambda l: l.startswith("inspector on "))
            self.ui = line.split()[2]
        if args[0] == "listen":
            line = self.stderr.wait_for("listening on", lambda l: l.startswith("listening on "))
            self.url = line.split()[2]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Target:
    """A capturing `hookctl listen --json`: every request it gets, as events, in order."""

    def __init__(self):
        self.h = Hookctl("listen", "--port", "0", "--json", "--ready-json")
        self.h.stdout.wait_for("the ready record", lambda l: '"kind":"ready"' in l)
        self.url = self.h.url

    def next_event(self):
        line = self.h.stdout.wait_for("a delivery at the target", lambda l: '"kind":"event"' in l)
        return json.loads(line)

    def stop(self):
        self.h.stop()


def post(url, path, body, headers=()):
    """Sends one request with exactly these header bytes and body bytes."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=WAIT)
    conn.putrequest("POST", path, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def body_of(record):
    if "body_base64" in record:
        return base64.b64decode(record["body_base64"])
    return record.get("body", "").encode()


def end_to_end(headers):
    drop = {"host", "content-length"}
    return sorted((h[0].lower(), h[2] if len(h) > 2 else h[1]) for h in headers if h[0].lower() not in drop)


class Browser:
    def __init__(self, playwright):
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        self.pages = []

    def page(self, url, dark=False):
        context = self.browser.new_context(viewport={"width": 1360, "height": 800},
                                           color_scheme="dark" if dark else "light",
                                           accept_downloads=True)
        page = context.new_page()
        page.dialogs = []
        page.foreign = []
        origin = re.match(r"https?://[^/]+", url).group(0)

        def on_dialog(d):
            page.dialogs.append(d.message)
            d.dismiss()

        def on_request(r):
            if not r.url.startswith(origin) and not r.url.startswith(("data:", "blob:")):
                page.foreign.append(r.url)

        page.on("dialog", on_dialog)
        page.on("request", on_request)
        page.goto(url)
        self.pages.append(page)
        return page

    def close(self):
        self.browser.close()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def rows(page):
    return page.locator("#rows .row[data-key]")


def search(page, q):
    """Types a search and waits until the list shows its result."""
    page.locator("#q").fill(q)
    expect(page.locator("#list")).to_have_attribute("data-q", q)


# ---------------------------------------------------------------------------------------
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def live_update_and_newest_selected(b):
    ui = Hookctl("listen", "--port", "0", "--ui", "--capture", "live.jsonl", "-q")
    try:
        page = b.page(ui.ui)
        expect(page.locator("#live")).to_have_text("live")
        expect(page.locator("#empty")).to_be_visible()
        post(ui.url, "/hooks/one", b'{"id":"evt_first","type":"order.created"}', [("Content-Type", "application/json")])
        expect(rows(page)).to_have_count(1)
        expect(page.locator("#detail h2")).to_contain_text("/hooks/one")
        post(ui.url, "/hooks/two", b'{"id":"evt_second","type":"order.paid"}', [("Content-Type", "application/json")])
        expect(rows(page)).to_have_count(2)
        # The newest is selected while the user has not picked one...
        expect(page.locator("#detail h2")).to_contain_text("/hooks/two")
        expect(page.locator("#rows .row.sel")).to_contain_text("evt_second")
        # ...and stays where the user put it (k/j move; j goes to the older one).
        page.locator("#list").focus()
        page.keyboard.press("j")
        expect(page.locator("#detail h2")).to_contain_text("/hooks/one")
        post(ui.url, "/hooks/three", b'{"id":"evt_third","type":"order.shipped"}', [("Content-Type", "application/json")])
        expect(rows(page)).to_have_count(3)
        expect(page.locator("#detail h2")).to_contain_text("/hooks/one")
        page.keyboard.press("k")
        expect(page.locator("#detail h2")).to_contain_text("/hooks/two")
        page.keyboard.press("Enter")
        expect(page.locator("#detail")).to_be_focused()
        assert page.dialogs == [] and page.foreign == [], (page.dialogs, page.foreign)
        shot(page, "live")
        # Nothing under /_hookctl/ was a delivery: the capture holds the three events only.
        lines = [json.loads(l) for l in (WORK / "live.jsonl").read_text().splitlines()]
        assert [l["id"] for l in lines] == ["evt_first", "evt_second", "evt_third"], lines
    finally:
        ui.stop()


@test
def detail_search_and_filter_in_the_url(b):
    ui = Hookctl("listen", "--port", "0", "--ui", "-q", "--respond", "200,503,200,200")
    try:
        post(ui.url, "/stripe", b'{"id":"evt_a","type":"payment.succeeded","amount":4200,"note":"caf\xc3\xa9 au lait"}',
             [("Content-Type", "application/json"), ("X-Env", "prod")])
        post(ui.url, "/stripe", b'{"id":"evt_b","type":"payment.failed"}', [("Content-Type", "application/json")])
        post(ui.url, "/github", b'{"id":"evt_c","type":"push","ref":"main"}', [("Content-Type", "application/json")])
        post(ui.url, "/bin", b"\x00\x01\x02binary\xff", [("Content-Type", "application/octet-stream"), ("X-Raw", b"a\xffb")])
        page = b.page(ui.ui)
        expect(rows(page)).to_have_count(4)
        # Detail: headers, pretty JSON keeping the exact text, the raw request, hex for binary.
        page.locator("#rows .row", has_text="evt_a").click()
        expect(page.locator("#headers")).to_contain_text("x-env")
        expect(page.locator("#headers")).to_contain_text("prod")
        expect(page.locator("#body .j-key").first).to_have_text('"id"')
        expect(page.locator("#body")).to_contain_text('"amount": 4200')
        expect(page.locator("#body")).to_contain_text("café au lait")
        page.locator("#tab-raw").click()
        expect(page.locator("#raw")).to_contain_text("POST /stripe HTTP/1.1")
        page.locator("#rows .row", has_text="/bin").click()
        expect(page.locator("#hex")).to_contain_text("00 01 02 62 69 6e 61 72 79 ff")
        expect(page.locator("#headers")).to_contain_text("not UTF-8")
        # Search: by type glob, status, header, free text; the count says how many match.
        page.locator("#list").focus()
        page.keyboard.press("/")
        expect(page.locator("#q")).to_be_focused()
        page.keyboard.type("type=payment.*")
        expect(rows(page)).to_have_count(2)
        expect(page.locator("#count")).to_have_text("2 of 4")
        assert "q=type%3Dpayment.*" in page.url or "q=type=payment.*" in page.url, page.url
        search(page, "status=5xx")
        expect(rows(page)).to_have_count(1)
        expect(rows(page).first).to_contain_text("evt_b")
        search(page, "header.x-env=prod")
        expect(rows(page)).to_have_count(1)
        search(page, "AU LAIT")
        expect(rows(page)).to_have_count(1)
        expect(rows(page).first).to_contain_text("evt_a")
        search(page, "path=/github")
        expect(rows(page)).to_have_count(1)
        shot(page, "search")
        # The filter is in the URL: a new page opened at it shows the same rows.
        other = b.page(page.url)
        expect(other.locator("#q")).to_have_value("path=/github")
        expect(rows(other)).to_have_count(1)
        expect(rows(other).first).to_contain_text("evt_c")
        other.locator("#q").fill("status=abc")
        expect(other.locator("#error")).to_contain_text("status=abc")
    finally:
        ui.stop()


@test
def replay_reaches_the_target_byte_for_byte(b):
    target = Target()
    ui = Hookctl("listen", "--port", "0", "--ui", "--capture", "replay.jsonl", "-q")
    try:
        body = b'{"id":"evt_r","type":"invoice.paid","text":"line\\nbreak \xe2\x98\x83"}\n'
        post(ui.url, "/hooks/replay?x=1&y=%20", body, [("Content-Type", "application/json"), ("X-Trace", "t-1")])
        page = b.page(ui.ui)
        expect(rows(page)).to_have_count(1)
        expect(page.locator("#detail h2")).to_contain_text("/hooks/replay")
        page.locator("#target").fill(target.url)
        page.locator("#list").focus()
        page.keyboard.press("r")
        expect(page.locator("#replay-result")).to_contain_text("200 from " + target.url + "/hooks/replay?x=1&y=%20")
        got = target.next_event()
        original = json.loads((WORK / "replay.jsonl").read_text().splitlines()[0])
        assert body_of(got) == body, body_of(got)
        assert got["path"] == "/hooks/replay" and got["query"] == "x=1&y=%20", got
        assert end_to_end(got["headers"]) == end_to_end(original["headers"]), (got["headers"], original["headers"])
        # Several checked events at once, with the button.
        post(ui.url, "/hooks/second", b"second", [("Content-Type", "text/plain")])
        expect(rows(page)).to_have_count(2)
        for i in range(2):
            rows(page).nth(i).locator("input[type=checkbox]").check()
        page.locator("#btn-replay-checked").click()
        expect(page.locator(".result.ok")).to_have_count(2)
        seen = {body_of(target.next_event()) for _ in range(2)}
        assert seen == {body, b"second"}, seen
        shot(page, "replay")
    finally:
        ui.stop()
        target.stop()


@test
def edit_and_resend_is_signed_sent_and_recorded(b):
    target = Target()
    secret = "whsec_" + base64.b64encode(b"inspector-test-secret").decode()
    ui = Hookctl("listen", "--port", "0", "--ui", "--capture", "edit.jsonl", "-q", env={"HOOKCTL_SECRET": secret})
    try:
        post(ui.url, "/hooks/edit", b'{"id":"evt_orig","type":"order.created","amount":1}',
             [("Content-Type", "application/json"), ("Webhook-Id", "msg_1")])
        page = b.page(ui.ui)
        expect(rows(page)).to_have_count(1)
        expect(page.locator("#detail h2")).to_contain_text("/hooks/edit")
        page.locator("#target").fill(target.url)
        page.locator("#list").focus()
        page.keyboard.press("e")
        expect(page.locator("#edit-form")).to_be_visible()
        page.locator("#edit-body").fill('{"id":"evt_orig","type":"order.created","amount":999}')
        page.locator("#edit-headers").fill("Content-Type: application/json\nWebhook-Id: msg_1\nX-Edited: yes")
        page.locator("#edit-path").fill("/hooks/edited?v=2")
        page.locator("#edit-sign").select_option("standard")
        # The secret never reaches the page.
        assert secret not in page.content()
        page.locator("#edit-send").click()
        expect(page.locator("#edit-result")).to_contain_text("200 from " + target.url)
        got = target.next_event()
        assert body_of(got) == b'{"id":"evt_orig","type":"order.created","amount":999}', got
        assert got["path"] == "/hooks/edited" and got["query"] == "v=2", got
        names = [h[0].lower() for h in got["headers"]]
        assert "x-edited" in names and "webhook-signature" in names and "webhook-timestamp" in names, names
        # The target's capture verifies with the same secret: the signature is real.
        (WORK / "edited-target.jsonl").write_text(json.dumps(got) + "\n")
        verify = subprocess.run([BIN, "verify", "edited-target.jsonl", "--scheme", "standard"], cwd=WORK,
                                env={"PATH": os.environ.get("PATH", ""), "HOOKCTL_SECRET": secret, "NO_COLOR": "1"},
                                capture_output=True, timeout=WAIT)
        assert verify.returncode == 0, verify
        # Recorded as a new event linked to its original, and listed.
        expect(rows(page)).to_have_count(2)
        expect(rows(page).first).to_contain_text("/hooks/edited?v=2")
        lines = [json.loads(l) for l in (WORK / "edit.jsonl").read_text().splitlines()]
        # The original's id is its Webhook-Id.
        assert lines[0]["id"] == "msg_1" and lines[-1]["edited_from"] == "msg_1", lines
        rows(page).first.click()
        expect(page.locator("#detail")).to_contain_text("edited from")
        shot(page, "edit")
    finally:
        ui.stop()
        target.stop()


@test
def copy_as_curl_reproduces_the_request_through_bash(b):
    target = Target()
    ui = Hookctl("listen", "--port", "0", "--ui", "--capture", "curl.jsonl", "-q")
    try:
        text = "{\"q\":\"it's \\\"quoted\\\" $(touch pwned) `id` \\\\ \xe2\x98\x83\",\n\t\"n\":1}\n".encode("latin-1")
        post(ui.url, "/c/../path-as-is?a='1'&b=$x", text,
             [("Content-Type", "application/json"), ("X-Quote", "it's \"here\""), ("X-Empty", ""), ("X-Raw", b"\xff\xfe ok"),
              ("User-Agent", "provider/1.0")])
        post(ui.url, "/binary", bytes(range(256)), [("Content-Type", "application/octet-stream")])
        page = b.page(ui.ui)
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        expect(rows(page)).to_have_count(2)
        originals = [json.loads(l) for l in (WORK / "curl.jsonl").read_text().splitlines()]
        page.locator("#target").fill(target.url)
        for i, original in enumerate(reversed(originals)):
            rows(page).nth(i).click()
            page.locator("#btn-curl").click()
            expect(page.locator("#curl-text")).to_contain_text("curl ")
            command = page.locator("#curl-text").text_content()
            if i == 0:
                clip = page.evaluate("navigator.clipboard.readText()")
                assert clip == command, (clip, command)
            run = subprocess.run(["bash", "-c", command], cwd=WORK, capture_output=True, timeout=WAIT)
            assert run.returncode == 0, run
            got = target.next_event()
            assert body_of(got) == body_of(original), (body_of(got), body_of(original))
            assert got["method"] == original["method"] and got["path"] == original["path"], got
            assert got.get("query") == original.get("query"), (got.get("query"), original.get("query"))
            assert end_to_end(got["headers"]) == end_to_end(original["headers"]), (got["headers"], original["headers"])
        assert not (WORK / "pwned").exists()
        shot(page, "curl")
    finally:
        ui.stop()
        target.stop()


def har_validator():
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT6
    schemas = HERE / "har-schema"
    registry = Registry().with_resources(
        (p.name, Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT6))
        for p in schemas.glob("*.json"))
    return jsonschema.Draft6Validator(json.loads((schemas / "har.json").read_text()), registry=registry,
                                      format_checker=jsonschema.FormatChecker())


@test
def har_export_is_valid_har_1_2_and_imports_back(b):
    ui = Hookctl("listen", "--port", "0", "--ui", "-q")
    try:
        post(ui.url, "/h/1?x=1", b'{"id":"evt_h1","type":"a.b"}', [("Content-Type", "application/json")])
        post(ui.url, "/h/2", b"\xff\x00binary", [("Content-Type", "application/octet-stream")])
        page = b.page(ui.ui)
        expect(rows(page)).to_have_count(2)
        with page.expect_download() as download:
            page.locator("#btn-har").click()
        path = WORK / "export.har"
        download.value.save_as(path)
        har = json.loads(path.read_text())
        errors = [f"{list(e.path)}: {e.message}" for e in har_validator().iter_errors(har)]
        assert errors == [], errors
        assert har["log"]["version"] == "1.2" and len(har["log"]["entries"]) == 2, har
        assert har["log"]["entries"][0]["request"]["url"] == ui.url + "/h/1?x=1", har["log"]["entries"][0]
        with page.expect_download() as download:
            page.locator("#btn-jsonl").click()
        download.value.save_as(WORK / "export.jsonl")
        assert len((WORK / "export.jsonl").read_text().splitlines()) == 2
    finally:
        ui.stop()
    # `hookctl inspect FILE.har` shows the same events.
    inspect = Hookctl("inspect", "export.har", "--port", "0")
    try:
        page = b.page(inspect.ui)
        expect(rows(page)).to_have_count(2)
        expect(rows(page).nth(1)).to_contain_text("evt_h1")
        rows(page).nth(0).click()
        expect(page.locator("#hex")).to_contain_text("ff 00 62 69 6e 61 72 79")
    finally:
        inspect.stop()


INJECTIONS = [
    "<script>alert('script')</script>",
    "<img src=x onerror=alert('img')>",
    "<svg onload=alert('svg')></svg>",
    "\"><iframe src=\"http://evil.example/frame\"></iframe>",
    "javascript:alert('href')",
    "<a href=\"javascript:alert('a')\">click</a>",
    "<link rel=stylesheet href=http://evil.example/x.css>",
    "{{constructor.constructor('alert(1)')()}}",
    "\u202egnp.exe",
]


@test
def script_injection_runs_nothing_and_makes_no_node(b):
    ui = Hookctl("listen", "--port", "0", "--ui", "-q")
    try:
        body = json.dumps({"id": INJECTIONS[0], "type": INJECTIONS[1], "payloads": INJECTIONS}).encode()
        headers = [("Content-Type", "application/json")] + [(f"X-Evil-{i}", v.encode()) for i, v in enumerate(INJECTIONS)]
        assert post(ui.url, "/%3Cscript%3Ealert(1)%3C/script%3E?q=%3Cimg/src=x/onerror=alert(2)%3E", body, headers) == 200
        post(ui.url, "/plain", INJECTIONS[3].encode(), [("Content-Type", "text/html")])
        page = b.page(ui.ui)
        expect(rows(page)).to_have_count(2)
        for i in range(2):
            rows(page).nth(i).click()
            for tab in ("#tab-body", "#tab-raw", "#tab-hex"):
                page.locator(tab).click()
            page.locator("#btn-edit").click()
            expect(page.locator("#edit-form")).to_be_visible()
            page.locator("#btn-curl").click()
            expect(page.locator("#curl-text")).to_be_visible()
        page.locator("#tab-body").click()
        expect(page.locator("#headers")).to_contain_text(INJECTIONS[0])
        # A bidi override is shown as an escape, not applied.
        expect(page.locator("#headers")).to_contain_text("\\u{202e}gnp.exe")
        expect(page.locator("#body")).to_contain_text("onerror=alert")
        search(page, "onerror")
        expect(rows(page)).to_have_count(1)
        nodes = page.evaluate("""() => ({
            scripts: Array.from(document.scripts, s => s.src),
            foreign: document.querySelectorAll('img, iframe, svg, object, embed, link[href*="evil"], [onerror], [onload], [onclick]').length,
            js: document.querySelectorAll('a[href^="javascript:"]').length,
        })""")
        assert [s.rsplit("/", 1)[-1] for s in nodes["scripts"]] == ["app.js"], nodes
        assert nodes["foreign"] == 0 and nodes["js"] == 0, nodes
        assert page.dialogs == [], page.dialogs
        assert page.foreign == [], page.foreign
        shot(page, "injection")
    finally:
        ui.stop()


ATTACKER = """<!doctype html><title>attacker</title>
<form id="f" method="POST" action="{replay}" enctype="text/plain">
<input name='{{"keys":[0],"url":"{target}","x":"' value='"}}'></form>
<script>
fetch("{replay}", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
  body: JSON.stringify({{keys: [0], url: "{target}"}})}}).finally(() => {{
  fetch("{replay}", {{method: "POST", headers: {{"Content-Type": "application/json", "X-Hookctl-Token": "guess"}},
    body: JSON.stringify({{keys: [0], url: "{target}"}})}}).catch(() => {{}}).finally(() => {{
    fetch("{session}").then(r => r.text()).then(t => {{ document.title = "LEAKED " + t; }}).catch(() => {{ document.title = "blocked"; }})
      .finally(() => document.getElementById("f").submit());
  }});
}});
</script>"""


@test
def a_cross_origin_replay_gets_403(b):
    target = Target()
    # On a port of its own: a browser's /favicon.ico after the refused form post is not a delivery.
    ui = Hookctl("listen", "--port", "0", "--ui", "--ui-port", "0", "-q", "--capture", "xorigin.jsonl")
    page_html = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = page_html["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        post(ui.url, "/secret", b'{"id":"evt_secret"}', [("Content-Type", "application/json")])
        page_html["html"] = ATTACKER.format(replay=ui.ui + "api/replay", session=ui.ui + "api/session", target=target.url)
        page = b.browser.new_page()
        statuses = []
        page.on("response", lambda r: statuses.append((r.request.method, r.url, r.status)) if "/_hookctl/" in r.url else None)
        with page.expect_response(lambda r: r.request.method == "POST" and "api/replay" in r.url and r.request.resource_type == "document"):
            page.goto(f"http://127.0.0.1:{attacker.server_address[1]}/")
        replays = [s for (m, u, s) in statuses if m == "POST" and u.endswith("api/replay")]
        assert replays and all(s == 403 for s in replays), statuses
        assert "LEAKED" not in page.title(), page.title()
        page.screenshot(path=str(ARTIFACTS / "cross-origin.png"))
        # Nothing reached the target: the next thing it sees is a replay the real page makes.
        real = b.page(ui.ui)
        expect(rows(real)).to_have_count(1)
        post(ui.url, "/marker", b"marker", [("Content-Type", "text/plain")])
        expect(rows(real)).to_have_count(2)
        expect(real.locator("#detail h2")).to_contain_text("/marker")
        real.locator("#target").fill(target.url)
        real.locator("#list").focus()
        real.keyboard.press("r")
        expect(real.locator("#replay-result")).to_contain_text("200")
        assert body_of(target.next_event()) == b"marker"
    finally:
        attacker.shutdown()
        ui.stop()
        target.stop()


@test
def a_hundred_thousand_events_stay_responsive(b):
    path = WORK / "big.jsonl"
    with path.open("w") as f:
        for i in range(100_000):
            f.write(json.dumps({"v": 1, "kind": "event", "id": f"evt_{i:06d}", "type": "bulk.test" if i % 10 else "bulk.tenth",
                                "received_at": "2026-12-06T05:41:00.000Z", "method": "POST", "path": f"/bulk/{i}",
                                "headers": [["content-type", "application/json"]], "body": json.dumps({"n": i}), "status": 200}) + "\n")
    inspect = Hookctl("inspect", "big.jsonl", "--port", "0")
    try:
        page = b.page(inspect.ui)
        expect(page.locator("#count")).to_have_text("100,000 events")
        expect(rows(page).first).to_contain_text("evt_099999")
        # Only the rows on screen are in the page.
        assert rows(page).count() < 100, rows(page).count()
        page.locator("#list").evaluate("e => { e.scrollTop = e.scrollHeight; }")
        expect(page.locator("#rows .row", has_text="evt_000000")).to_have_count(1)
        page.locator("#list").evaluate("e => { e.scrollTop = e.scrollHeight / 2; }")
        expect(page.locator("#rows .row", has_text=re.compile(r"evt_04\d{4}|evt_05\d{4}")).first).to_be_visible()
        search(page, "type=bulk.tenth")
        expect(page.locator("#count")).to_have_text("10,000 of 100,000")
        page.locator("#list").focus()
        for _ in range(5):
            page.keyboard.press("j")
        expect(page.locator("#detail h2")).to_contain_text("/bulk/99940")
        shot(page, "hundred-thousand")
        # A line appended by another process (a listen writing the capture) shows up live.
        with path.open("a") as f:
            f.write(json.dumps({"v": 1, "kind": "event", "id": "evt_appended", "type": "bulk.tenth",
                                "method": "POST", "path": "/appended", "body": ""}) + "\n")
        expect(page.locator("#count")).to_have_text("10,001 of 100,001")
    finally:
        inspect.stop()


@test
def relayed_provider_events_show_up_live(b):
    """listen --source: an event a provider sends to a `hookctl serve` channel appears live."""
    relay = subprocess.Popen([BIN, "serve", "--port", "0", "--data", str(WORK / "relay")],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env={"PATH": os.environ.get("PATH", ""), "NO_COLOR": "1"}, cwd=WORK)
    ui = None
    try:
        relay_url = Lines(relay.stderr).wait_for("serve's address", lambda l: l.startswith("listening on ")).split()[2]
        made = subprocess.run([BIN, "channel", "new", "--json", "--server", relay_url], capture_output=True,
                              timeout=WAIT, check=True)
        channel = json.loads(made.stdout)
        ui = Hookctl("listen", "--port", "0", "--source", channel["url"], "--token", channel["token"], "--ui", "-q")
        if not any(l.startswith("connected to ") for l in ui.stderr.seen):
            ui.stderr.wait_for("the subscription", lambda l: l.startswith("connected to "))
        page = b.page(ui.ui)
        expect(page.locator("#live")).to_have_text("live")
        channel_path = "/" + channel["url"].removeprefix("http://").split("/", 1)[1]
        status = post(relay_url, channel_path + "/github/push?from=relay", b'{"ref":"refs/heads/main"}',
                      [("Content-Type", "application/json"), ("X-GitHub-Event", "push"),
                       ("X-GitHub-Delivery", "72d3162e-relayed")])
        assert status == 200, status
        expect(rows(page)).to_have_count(1)
        expect(page.locator("#rows .row.sel")).to_contain_text("push")
        expect(page.locator("#detail h2")).to_contain_text("/github/push?from=relay")
        expect(page.locator("#detail")).to_contain_text("72d3162e-relayed")
        expect(page.locator("#detail")).not_to_contain_text(channel["token"])
        assert page.dialogs == [] and page.foreign == [], (page.dialogs, page.foreign)
        shot(page, "relayed")
    finally:
        if ui:
            ui.stop()
        relay.terminate()
        relay.wait(timeout=WAIT)


@test
def dark_theme_follows_the_system(b):
    ui = Hookctl("listen", "--port", "0", "--ui", "-q")
    try:
        post(ui.url, "/dark", b'{"id":"evt_dark","type":"theme.dark"}', [("Content-Type", "application/json")])
        light = b.page(ui.ui)
        dark = b.page(ui.ui, dark=True)
        for p in (light, dark):
            expect(rows(p)).to_have_count(1)
        bg = lambda p: p.evaluate("getComputedStyle(document.body).backgroundColor")
        assert bg(light) == "rgb(255, 255, 255)" and bg(dark) != bg(light), (bg(light), bg(dark))
        shot(dark, "dark")
    finally:
        ui.stop()


def main():
    global WORK
    passed = failed = 0
    with sync_playwright() as playwright:
        browser = Browser(playwright)
        try:
            for fn in TESTS:
                if ONLY and fn.__name__ not in ONLY:
                    continue
                WORK = Path(tempfile.mkdtemp(prefix="hookctl-browser-"))
                browser.pages = []
                try:
                    fn(browser)
                    passed += 1
                    print(f"ok   {fn.__name__}", flush=True)
                except Exception:
                    for i, page in enumerate(browser.pages):
                        try:
                            page.screenshot(path=str(ARTIFACTS / f"FAILED-{fn.__name__}-{i}.png"))
                        except Exception:
                            pass
                    failed += 1
                    print(f"FAIL {fn.__name__}\n{traceback.format_exc()}", flush=True)
        finally:
            browser.close()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


WORK = Path(tempfile.gettempdir())
if __name__ == "__main__":
    main()
