#!/usr/bin/env python3
"""Makes docs/inspector.png, the README's screenshot of the inspector:

    python3 tests/browser/screenshot.py HOOKCTL_BINARY docs/inspector.png

A listen with --ui, --verify stripe and --forward-to an app (another listen) receives a few
signed sample events; the page is shot with the newest one open.
"""

import sys
from pathlib import Path

sys.argv = [sys.argv[0], sys.argv[1], "/tmp", *sys.argv[2:]]
import inspector as t  # noqa: E402  (the browser tests' helpers)


def main():
    out = Path(sys.argv[3])
    secret = "whsec_readme_secret"
    app = t.Target()
    ui = t.Hookctl("listen", "--port", "0", "--ui", "-q", "--verify", "stripe", "--verify-mode", "warn",
                   "--forward-to", app.url, env={"HOOKCTL_SECRET": secret})
    try:
        env = {"HOOKCTL_SECRET": secret}
        sends = [["payment_success"], ["order_shipped", "--set", "data.carrier=DHL"], ["payment_failed"],
                 ["refund_created"], ["order_created"], ["payment_success", "--set", "data.amount=990"]]
        for args in sends:
            cmd = ["send", *args, "--to", ui.url + "/webhooks/stripe", "--sign", "stripe"]
            if args[0] == "payment_failed":
                cmd = ["send", *args, "--to", ui.url + "/webhooks/stripe"]
            t.subprocess.run([t.BIN, *cmd], env={**env, "PATH": t.os.environ.get("PATH", "")},
                             capture_output=True, timeout=t.WAIT, check=False)
        with t.sync_playwright() as p:
            b = t.Browser(p)
            page = b.page(ui.ui)
            t.expect(t.rows(page)).to_have_count(len(sends))
            t.rows(page).nth(0).click()
            t.expect(page.locator("#verdict")).to_be_visible()
            page.set_viewport_size({"width": 1280, "height": 720})
            page.screenshot(path=str(out))
            b.close()
    finally:
        ui.stop()
        app.stop()


if __name__ == "__main__":
    main()
