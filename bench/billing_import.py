"""The billing import against raw BatchWriteItem, and the print run's QR codes per second.

`measure()` returns (and prints):
- `import.ratio_to_raw_writes`: the time of importing a meters file (parse, check, read what is stored,
  write, list the live meters for retirement) over the time of writing the very same items with plain
  BatchWriteItem, same thread count, in the same run, on DynamoDB Local in memory; median of paired
  rounds, each pair on fresh tables, their order alternating. Goal: at most 1.5.
- `import.meters_per_second` and the minutes 300,000 meters would take at that rate (DynamoDB Local;
  DynamoDB proper is faster per request and scales with the threads).
- `qr.accounts_per_second` of the print run (four images an account) with every CPU of this machine,
  and the minutes 300,000 accounts take at that rate; `qr.accounts_per_cpu_second`, the same work's
  CPU time in one process, which the machine's other load does not change: 300,000 accounts take
  `city_300k_cpu_minutes` divided by the free CPUs.
`python -m bench.billing_import [--meters N]` runs it alone.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOALS = {"import.ratio_to_raw_writes": 1.5}
CITY = 300_000
NOW = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)
KINDS = (
    ("electricity", "electricity", "kWh", 6),
    ("gas", "gas", "m3", 5),
    ("water", "cold_water", "m3", 5),
    ("heat", "hot_water", "m3", 5),
)


def _environment(endpoint: str, table: str) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_REGION="eu-central-1",
        AWS_DEFAULT_REGION="eu-central-1",
        DYNAMODB_ENDPOINT=endpoint,
        TABLE_NAME=table,
        TOKEN_SIGNING_KEY=os.environ.get("TOKEN_SIGNING_KEY")
        or "bench-signing-key-0123456789abcdef0123456789",
        POWERTOOLS_LOG_LEVEL="ERROR",
        POWERTOOLS_METRICS_NAMESPACE="Bench",
    )
    from ekc.config import clear_settings
    from ekc.storage import forget

    clear_settings()
    forget()


def city_files(meters: int, seed: int = 7) -> dict[str, bytes]:
    """Organizations, accounts and meters of a made-up city: about three meters an account."""
    rng = random.Random(seed)
    orgs = "organization,name,opens_offset,opens_day,closes_offset,closes_day\n" + "".join(
        f"{org},Організація {org},0,31,1,5\n" for org, *_ in KINDS
    )
    accounts = ["account,src,holder,address,city,city_code,debt,recipient,iban,purpose"]
    rows = [
        "meter,account,organization,kind,unit,serial,note,digits,next_verification,sealed_on,"
        "previous_value,previous_month"
    ]
    number, made = 100000, 0
    while made < meters:
        number += 1
        debt = f"{rng.randint(0, 300000) / 100:.2f}"
        accounts.append(
            f'{number},{rng.randint(100, 999)},Мешканець {number},"вул. Соборна, буд. {number % 300}, кв. '
            f'{number % 97}",Кременчук,05366,{debt},ТОВ «Єдина комунальна система»,'
            f'UA213223130000026007233566001,"Оплата комунальних послуг, о/р {number}"'
        )
        for n, (org, kind, unit, digits) in enumerate(KINDS[: rng.randint(2, 4)], 1):
            if made == meters:
                break
            rows.append(
                f"{number}.{n},{number},{org},{kind},{unit},{rng.randint(10**6, 10**7)},,{digits},"
                f"2029-0{rng.randint(1, 9)}-15,2023-0{rng.randint(1, 9)}-01,"
                f"{rng.randint(0, 9999)}.{rng.randint(0, 999):03d},2026-10"
            )
            made += 1
    return {
        "organizations": orgs.encode(),
        "accounts": ("\n".join(accounts) + "\n").encode(),
        "meters": ("\n".join(rows) + "\n").encode(),
    }


def _fresh_table(client: Any, name: str) -> None:
    from local.tables import create_tables

    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.delete_table(TableName=name)
    create_tables(client, names={"MainTable": name, "IdempotencyTable": f"{name}Idem"})


def _raw_items(meters_csv: bytes) -> list[dict[str, Any]]:
    """The meter items the import writes, as low-level PutRequest items (made before the clock starts)."""
    from ekc.domain.billing_files import MeterRow, meter_from_billing, read_file
    from ekc.storage import convert

    rows = [r for r in read_file(meters_csv).rows if isinstance(r, MeterRow)]
    return [convert.meter_to(meter_from_billing(row, None)).serialize() for row in rows]


def _raw_write(client: Any, table: str, items: list[dict[str, Any]], workers: int) -> float:
    """Plain BatchWriteItem of the items, 25 a request, `workers` threads, unprocessed items retried."""

    def write(chunk: list[dict[str, Any]]) -> None:
        pending = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    chunks = [items[i : i + 25] for i in range(0, len(items), 25)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(write, chunks))
    return time.perf_counter() - started


def _import(files: dict[str, bytes]) -> tuple[float, Any]:
    from ekc.services.billing_import import import_file

    import_file(files["organizations"], now=NOW)
    import_file(files["accounts"], now=NOW)
    started = time.perf_counter()
    result = import_file(files["meters"], now=NOW)
    return time.perf_counter() - started, result


def import_ratio(meters: int = 20_000, rounds: int = 3) -> dict[str, Any]:
    """Paired rounds of the import and raw writes of the same items on fresh in-memory tables."""
    import boto3
    from botocore.config import Config

    from ekc.services.billing_import import WORKERS
    from local.dynamodb import start_dynamodb

    files = city_files(meters)
    items = _raw_items(files["meters"])
    pairs = []
    with start_dynamodb(in_memory=True) as ddb:
        client = boto3.client(
            "dynamodb",
            endpoint_url=ddb.endpoint,
            region_name="eu-central-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(max_pool_connections=WORKERS * 2, retries={"mode": "standard"}),
        )
        for n in range(rounds):
            times: dict[str, float] = {}
            for what in ("import", "raw") if n % 2 == 0 else ("raw", "import"):
                name = f"Bench{what.title()}{n}"
                _fresh_table(client, name)
                if what == "raw":
                    times["raw"] = _raw_write(client, name, items, WORKERS)
                else:
                    _environment(ddb.endpoint, name)
                    times["import"], result = _import(files)
                    assert result.counts.added == meters, result.counts
                client.delete_table(TableName=name)
            pairs.append(times)
        kind = ddb.kind
    ratios = [p["import"] / p["raw"] for p in pairs]
    median_import = statistics.median(p["import"] for p in pairs)
    rate = meters / median_import
    return {
        "dynamodb": kind,
        "meters": meters,
        "rounds": [{k: round(v, 3) for k, v in p.items()} for p in pairs],
        "ratio_to_raw_writes": round(statistics.median(ratios), 3),
        "meters_per_second": round(rate),
        "city_300k_minutes": round(CITY / rate / 60, 1),
    }


def qr_rate(accounts: int = 600, processes: int | None = None) -> dict[str, Any]:
    """The print run's accounts per second with every CPU into a temporary folder, and per CPU-second.

    The wall-clock rate depends on what else the machine runs; the CPU time of one process doing the
    whole run (links, codes, images, files) does not, and tells what a machine of N free CPUs does.
    """
    from ekc.domain.months import Month
    from ekc.services.print_run import FolderSink, print_run
    from tests.fakes import FakeStores

    # The accounts' token generations (1 BatchGetItem per 100 accounts, beside 4 images an account)
    # from memory: the figure is the print run's links, codes and files.
    stores = FakeStores()
    numbers = [str(100001 + n) for n in range(accounts)]
    workers = processes or os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as folder:
        sink = FolderSink(Path(folder))
        print_run(
            Month(2026, 11), sink, accounts=numbers[:20], stores=stores, now=NOW, processes=workers
        )  # warm up
        started = time.perf_counter()
        print_run(Month(2026, 11), sink, accounts=numbers, stores=stores, now=NOW, processes=workers)
        seconds = time.perf_counter() - started
        cpu_started = time.process_time()
        print_run(Month(2026, 11), sink, accounts=numbers, stores=stores, now=NOW, processes=1)
        cpu_seconds = time.process_time() - cpu_started
    rate, per_cpu = accounts / seconds, accounts / cpu_seconds
    return {
        "accounts": accounts,
        "processes": workers,
        "accounts_per_second": round(rate, 1),
        "city_300k_minutes": round(CITY / rate / 60, 1),
        "accounts_per_cpu_second": round(per_cpu, 1),
        "city_300k_cpu_minutes": round(CITY / per_cpu / 60, 1),
        "load_average": round(os.getloadavg()[0], 2),
    }


def measure(meters: int = 20_000, rounds: int = 3, qr_accounts: int = 600) -> dict[str, Any]:
    """Both figures; prints them as JSON and returns them."""
    with contextlib.redirect_stdout(io.StringIO()):  # Powertools' metric lines are not results
        results = {"import": import_ratio(meters, rounds), "qr": qr_rate(qr_accounts), "goals": GOALS}
    print(json.dumps(results, indent=2))
    ratio = results["import"]["ratio_to_raw_writes"]
    if ratio > GOALS["import.ratio_to_raw_writes"]:
        print(f"goal missed: import.ratio_to_raw_writes: {ratio} > 1.5", file=sys.stderr)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.billing_import")
    parser.add_argument("--meters", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--qr-accounts", type=int, default=600)
    arguments = parser.parse_args()
    measure(arguments.meters, arguments.rounds, arguments.qr_accounts)
