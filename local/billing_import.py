"""`make import DIR=<folder>`: load the billing centre's CSV files into the running stack's table.

Each `*.csv` of the folder (not the `*.report.csv` this writes) is imported by the same service the
deployed function runs on an S3 event, in dependency order (organizations, accounts, meters, told by
their headers), with its report written beside it. It talks to DynamoDB directly: the stack's DynamoDB
Local (DYNAMODB_ENDPOINT, as `make run` prints it), or with --aws the table of your AWS credentials.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from local.cli_env import prepare, progress_line

ORDER = ("organizations", "accounts", "meters")


def _kind(path: Path) -> int:
    """Where a file goes in the order (unknown headers last: they are refused with a report)."""
    from ekc.domain.billing_files import FileRefused, read_file

    try:
        return ORDER.index(str(read_file(path.read_bytes()).kind))
    except FileRefused:
        return len(ORDER)


def main(argv: Sequence[str] | None = None) -> int:
    """Import every CSV of the folder; exit 1 if a file was refused whole."""
    parser = argparse.ArgumentParser(
        prog="python -m local.billing_import", description=__doc__.splitlines()[0]
    )
    parser.add_argument("folder", type=Path, help="folder with organizations/accounts/meters CSV files")
    parser.add_argument(
        "--aws", action="store_true", help="use AWS (TABLE_NAME) instead of DYNAMODB_ENDPOINT"
    )
    parser.add_argument(
        "--allow-mass-retire",
        action="store_true",
        help="retire the missing meters even when they are more than 10%% of the live ones",
    )
    args = parser.parse_args(argv)
    prepare(aws=args.aws, need_dynamodb=True)
    from ekc.services.billing_import import REPORT_SUFFIX, import_file

    if not args.folder.is_dir():
        print(f"{args.folder} is not a folder", file=sys.stderr)
        return 2
    inputs = sorted(p for p in args.folder.glob("*.csv") if not p.name.endswith(REPORT_SUFFIX))
    if not inputs:
        print(f"No *.csv files in {args.folder}", file=sys.stderr)
        return 2
    refused_whole = 0
    for path in sorted(inputs, key=lambda p: (_kind(p), p.name)):
        print(f"{path}:", file=sys.stderr)
        started = time.perf_counter()
        result = import_file(
            path.read_bytes(), progress=progress_line, allow_mass_retire=args.allow_mass_retire
        )
        report = path.with_name(path.name.removesuffix(".csv") + REPORT_SUFFIX)
        report.write_bytes(result.report)
        seconds = time.perf_counter() - started
        if result.file_error is not None:
            refused_whole += 1
            print(f"  REFUSED: {result.file_error.message}; nothing written", file=sys.stderr)
        else:
            print(f"  {result.kind}: {result.counts} in {seconds:.1f} s", file=sys.stderr)
        if result.counts.resealed or result.counts.notified:
            print(
                f"  {result.counts.resealed} re-sealed (bots off), {result.counts.notified} people told",
                file=sys.stderr,
            )
        if result.retire_held_back:
            print(
                f"  NOT RETIRED: {result.retire_held_back} meters missing from the file, too many to be "
                "believed; check the file, then --allow-mass-retire",
                file=sys.stderr,
            )
        if result.refused or result.file_error:
            print(f"  report: {report}", file=sys.stderr)
    return 1 if refused_whole else 0


if __name__ == "__main__":
    sys.exit(main())
