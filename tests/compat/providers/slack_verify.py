"""Checks Slack samples with the Slack SDK for Python's SignatureVerifier.

    hookctl send slack:event_callback.message --secret S --dry-run | python3 slack_verify.py S

Reads capture lines (hookctl's --dry-run output) on stdin and prints `ok ...` for each, or
exits 1 naming the first one the SDK rejects.
"""

import json
import sys

from slack_sdk.signature import SignatureVerifier


def main() -> int:
    verifier = SignatureVerifier(signing_secret=sys.argv[1])
    count = 0
    for line in sys.stdin:
        event = json.loads(line)
        headers = {name.lower(): value for name, value, *_ in event["headers"]}
        body = event["body"]
        if not verifier.is_valid(
            body=body,
            timestamp=headers.get("x-slack-request-timestamp", ""),
            signature=headers.get("x-slack-signature", ""),
        ):
            print(f"FAIL slack_sdk rejected {event.get('id') or event.get('type')}")
            return 1
        count += 1
        print(f"ok slack_sdk verified {event.get('type') or 'slash command'}")
    if count == 0:
        print("FAIL no events on stdin")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
