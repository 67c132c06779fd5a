"""`make close-window`: close every window that has closed by now, on the running local stack.

Beside `make run` (in another terminal): asks WindowCloseFunction, through the stack's
`POST /_local/invoke/WindowCloseFunction`, which windows are closed and not finished, closes each
shard by shard (showing progress), and prints per window what the bots did, the export's rows and
where to download the export. `ORG=` and `MONTH=` narrow it, `REDO=1` starts a finished window over,
and `NOW=<ISO time>` pretends a later time (the local stack only: the function refuses it in AWS),
e.g. `make close-window NOW=2026-11-27T00:01` (no offset: Kyiv time).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

FUNCTION = "WindowCloseFunction"
SHARDS = 32  # ekc.storage.keys.ORG_SHARDS; the function's answer says so too
SHARDS_PER_CALL = 8  # a call per eight shards, so progress shows while a large window closes
KYIV = ZoneInfo("Europe/Kyiv")

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


class StackError(RuntimeError):
    """The local stack could not be asked (not running, too old, or the function failed)."""


def http_invoke(base_url: str, timeout: float = 960) -> Invoke:
    """Invoke the function through the local stack's Lambda-like Invoke route."""
    if not base_url.startswith(("http://", "https://")):
        raise StackError(f"{base_url!r} is not an http:// address of the local stack")
    url = f"{base_url.rstrip('/')}/_local/invoke/{FUNCTION}"

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - checked above
            url, data=json.dumps(event).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - checked above
                payload = json.loads(answer.read() or b"null")
                failed = answer.headers.get("X-Amz-Function-Error")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise StackError(
                    f"{url} answered 404: the local stack does not know {FUNCTION} (or has no "
                    "/_local/invoke route yet). Is this `make run` from the same checkout?"
                ) from exc
            raise StackError(
                f"{url} answered {exc.code}: {exc.read().decode(errors='replace')[:500]}"
            ) from exc
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            raise StackError(
                f"cannot reach the local stack at {base_url} ({exc}). Is `make run` running?"
            ) from exc
        if failed:
            message = payload.get("errorMessage") if isinstance(payload, dict) else payload
            raise StackError(f"{FUNCTION} failed: {message}")
        if not isinstance(payload, dict):
            raise StackError(f"{FUNCTION} answered {payload!r}")
        return payload

    return invoke


def parse_now(text: str | None) -> str | None:
    """An ISO time with its offset; one without an offset is taken as Kyiv time."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=KYIV)
    return moment.isoformat()


def _kyiv(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(KYIV).strftime("%Y-%m-%d %H:%M:%S")


class Progress:
    """A bar of shards done, redrawn in place on a terminal, a line per step otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()

    def show(self, done: int, total: int) -> None:
        """Draw the bar."""
        bar = "#" * done + "." * (total - done)
        line = f"  shards [{bar}] {done}/{total}"
        if self.tty:
            self.out.write("\r" + line)
            if done == total:
                self.out.write("\n")
        else:
            self.out.write(line + "\n")
        self.out.flush()


def _checked(answer: dict[str, Any]) -> dict[str, Any]:
    error = answer.get("error")
    if error:
        raise StackError(f"{FUNCTION} refused: {json.dumps(error, ensure_ascii=False)}")
    return answer


def _describe(window: dict[str, Any], out: TextIO, written: int = 0) -> None:
    bots = window.get("bots") or {}
    skipped = {k: v for k, v in bots.items() if k not in ("written", "written_before") and v}
    out.write(
        f"  bot readings: {written} written by this run, "
        f"{window['bot_readings']} in the export"
        + (
            f"; no bot reading: {', '.join(f'{n} {k}' for k, n in sorted(skipped.items()))}"
            if skipped
            else ""
        )
        + "\n"
    )
    out.write(
        f"  export rows: {window['export_rows']} ({window['rows_without_reading']} without a reading)\n"
    )
    out.write(f"  export:   {window['location']}\n")
    out.write(f"  manifest: {window['manifest_location']}\n\n")


def close_windows(
    invoke: Invoke,
    *,
    org: str | None = None,
    month: str | None = None,
    now: str | None = None,
    redo: bool = False,
    out: TextIO = sys.stdout,
) -> list[dict[str, Any]]:
    """Close every closed, unfinished window (or the one named), printing progress; the final reports."""
    asked: dict[str, Any] = {k: v for k, v in {"org": org, "month": month, "now": now}.items() if v}
    plan = _checked(invoke({**asked, "plan": True}))
    now = now or plan["now"]  # every call then agrees on the time, as one run would
    asked["now"] = now
    windows = plan["windows"]
    pending = [w for w in windows if w["state"] != "done" or redo]
    out.write(
        f"Window close at {_kyiv(now)} Kyiv time: {len(windows)} closed windows, {len(pending)} to close.\n"
    )
    finished = []
    for window in windows:
        name = f"{window['org']} {window['month']} (closed {_kyiv(window['closed_at'])})"
        target = {**asked, "org": window["org"], "month": window["month"]}
        if window not in pending:
            out.write(f"{name}: already closed, nothing changed\n")
            _describe(window, out)
            finished.append(window)
            continue
        out.write(f"{name}\n")
        progress = Progress(out)
        total = int(window.get("shards") or SHARDS)
        if redo:
            _checked(invoke({**target, "redo": True, "shards": []}))
        progress.show(int(window.get("shards_done") or 0) if not redo else 0, total)
        written = 0
        for start in range(0, total, SHARDS_PER_CALL):
            shards = list(range(start, min(start + SHARDS_PER_CALL, total)))
            report = _checked(invoke({**target, "shards": shards}))["windows"][0]
            written += int(report["bot_readings_written_now"])
            progress.show(report["shards_done"], total)
        if report["state"] != "done":
            # Shards held by another run (the stack's own schedule may be at it): it finishes them.
            out.write(
                f"  not finished: {report['shards_done']}/{total} shards done; another run holds the rest "
                "(the stack's schedule, or a run that stopped: its hold lapses within 3 minutes). "
                "Run this again shortly.\n\n"
            )
            finished.append(report)
            continue
        _describe(report, out, written)
        finished.append(report)
    return finished


def main(argv: Sequence[str] | None = None, invoke: Invoke | None = None, out: TextIO = sys.stdout) -> int:
    """Parse the arguments (or ORG/MONTH/NOW/REDO from make), close the windows, say what happened."""
    parser = argparse.ArgumentParser(prog="make close-window", description=__doc__.splitlines()[0])
    port = os.environ.get("PORT") or "3000"
    parser.add_argument("--url", default=f"http://127.0.0.1:{port}", help="the local stack (default: $PORT)")
    parser.add_argument("--org", default=os.environ.get("ORG") or None, help="only this organization")
    parser.add_argument("--month", default=os.environ.get("MONTH") or None, help="only this month, YYYY-MM")
    parser.add_argument("--now", default=os.environ.get("NOW") or None, help="pretend it is this ISO time")
    parser.add_argument(
        "--redo", action="store_true", default=bool(os.environ.get("REDO")), help="start over"
    )
    args = parser.parse_args(argv)
    if args.redo and not (args.org and args.month):
        parser.error("REDO needs ORG and MONTH")
    try:
        now = parse_now(args.now)
    except ValueError:
        parser.error(
            f"NOW={args.now!r} is not an ISO time such as 2026-11-27T00:01 or 2026-11-27T00:01+02:00"
        )
    try:
        close_windows(
            invoke or http_invoke(args.url), org=args.org, month=args.month, now=now, redo=args.redo, out=out
        )
    except StackError as exc:
        print(f"make close-window: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
