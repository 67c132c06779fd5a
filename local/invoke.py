"""Send one event to a function of the running local stack and print what it returned.

    python -m local.invoke WindowCloseFunction tests/events/eventbridge_scheduled.json
    make invoke FUNCTION=WindowCloseFunction EVENT=tests/events/eventbridge_scheduled.json

It posts the event to `/_local/invoke/<LogicalId>` (Lambda's Invoke API, synchronously) and exits
1 when the function failed, as `aws lambda invoke` reports a FunctionError.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__.splitlines()[0])
    parser.add_argument("function", help="the function's logical id in template.yaml, e.g. WebApiFunction")
    parser.add_argument("event", nargs="?", help="a JSON file with the event ('-' reads stdin; default {})")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or 3000),
        help="the stack's port (default $PORT or 3000)",
    )
    return parser.parse_args(argv)


def _event(source: str | None) -> bytes:
    if not source:
        return b"{}"
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    json.loads(text)  # refuse a broken file here, with its own error, not the stack's 400
    return text.encode("utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Post the event, print the answer; 0 when the function succeeded."""
    args = _parse_args(argv)
    try:
        body = _event(args.event)
    except (OSError, ValueError) as exc:
        print(f"Cannot read the event: {exc}", file=sys.stderr)
        return 2
    url = f"http://127.0.0.1:{args.port}/_local/invoke/{args.function}"
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=960) as response:  # noqa: S310 - a local http URL
            failed = response.headers.get("X-Amz-Function-Error")
            payload = json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        print(f"{exc.code}: {exc.read().decode('utf-8', 'replace')}", file=sys.stderr)
        return 1
    except urllib.error.URLError as exc:
        print(f"No local stack answers on {url} ({exc.reason}); start it with `make run`.", file=sys.stderr)
        return 1
    print(json.dumps(payload, ensure_ascii=False, indent=2))
    if failed:
        print(f"{args.function} failed ({failed}): see the stack's output for its traceback", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
