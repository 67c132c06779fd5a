"""`make qr [ORG=<organization>] [MONTH=YYYY-MM] [OUT=<folder or s3://bucket/prefix/>]`: the print run.

Writes every account's Viber and web QR codes (PNG and SVG, named by account) and links.csv for the
invoice printer, for one organization's accounts or the whole city's. Links are signed with the running
stack's key (TOKEN_SIGNING_KEY, or the one `make run` keeps in .local/ddb), so the local cabinet and
Viber door accept them; accounts come from the stack's DynamoDB Local (DYNAMODB_ENDPOINT).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from local.cli_env import prepare, progress_line
from local.tables import ROOT

CITY_ACCOUNTS = 300_000


def _month(text: str) -> object:
    from ekc.domain.months import Month

    try:
        return Month.parse(text)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(f"not a month YYYY-MM: {text!r}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the print run and say how fast it went, and what that means for a city."""
    parser = argparse.ArgumentParser(prog="python -m local.print_run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--month", type=_month, default=None, help="billing month YYYY-MM (default: this month)"
    )
    parser.add_argument("--org", default=None, help="one organization's accounts (default: the whole city)")
    parser.add_argument(
        "--out", default=None, help="a folder, or s3://bucket/prefix/ (default: .local/print/...)"
    )
    parser.add_argument("--processes", type=int, default=None, help="worker processes (default: one a CPU)")
    parser.add_argument(
        "--aws", action="store_true", help="use AWS (TABLE_NAME) instead of DYNAMODB_ENDPOINT"
    )
    args = parser.parse_args(argv)
    prepare(aws=args.aws, need_dynamodb=True, need_signing_key=True)
    from ekc import clock
    from ekc.domain.months import Month
    from ekc.domain.windows import KYIV
    from ekc.services.print_run import BucketSink, FolderSink, Sink, print_run, run_folder
    from ekc.storage.files import S3Files

    now = clock.now()
    local = now.astimezone(KYIV)
    month = args.month or Month(local.year, local.month)
    sink: Sink
    if args.out and args.out.startswith("s3://"):
        bucket, _, prefix = args.out.removeprefix("s3://").partition("/")
        sink = BucketSink(
            S3Files(bucket), prefix.rstrip("/") + "/" if prefix else run_folder(month, args.org)
        )
        where = args.out
    else:
        folder = Path(args.out) if args.out else ROOT / ".local" / run_folder(month, args.org)
        sink = FolderSink(folder)
        where = str(folder)
    started = time.perf_counter()
    run = print_run(
        month,
        sink,
        organization=args.org,
        now=now,
        processes=args.processes,
        progress=lambda done, total: progress_line("accounts", done, total),
    )
    seconds = time.perf_counter() - started
    rate = run.accounts / seconds if seconds and run.accounts else 0.0
    processes = args.processes or os.cpu_count() or 1
    print(f"{run.accounts} accounts, {run.files} files in {where} ({seconds:.1f} s)", file=sys.stderr)
    print(f"web links sign in until {run.expires.astimezone(KYIV):%Y-%m-%d %H:%M} (Kyiv)", file=sys.stderr)
    if run.accounts < 1000:
        print("too few accounts to estimate a city's time: `make bench` measures the rate", file=sys.stderr)
    elif rate:
        minutes = CITY_ACCOUNTS / rate / 60
        print(
            f"{rate:.0f} accounts/s with {processes} processes: {CITY_ACCOUNTS:,} accounts would take "
            f"~{minutes:.0f} min here",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
