"""The invoice print run: every account's two QR codes and their links, for the billing centre's printer.

For one organization's accounts (or the whole city's) and a billing month, writes `links.csv` (account,
both links, the captions and where each goes on the invoice) and per account four images named by the
account: `viber/<account>.png|svg` (bottom right, "внести через Viber") and `web/<account>.png|svg`
(bottom left, "внести на сайт"). The links are the ones `qrcodes.viber_link`/`web_link` make, signed the
way the Viber door and the cabinet check them. Images are made in worker processes: ~6 ms a code.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ekc import clock
from ekc.config import link_settings
from ekc.domain.months import Month
from ekc.services import qrcodes
from ekc.services.qr_images import png, qr_rows, svg
from ekc.storage import get_stores
from ekc.storage.keys import ORG_SHARDS
from ekc.storage.ports import Files, Stores
from ekc.tokens import web_token_expiry

# What the seed's invoice shows under each code, and where it goes (docs/billing-import.md).
PLACES = {
    qrcodes.QrKind.VIBER: ("внести через Viber", "bottom right"),
    qrcodes.QrKind.WEB: ("внести на сайт", "bottom left"),
}
CSV_HEADER = (
    "account",
    "viber_link",
    "viber_caption",
    "viber_place",
    "viber_png",
    "viber_svg",
    "web_link",
    "web_caption",
    "web_place",
    "web_png",
    "web_svg",
)
BATCH = 200  # accounts per task handed to a worker process

Progress = Callable[[int, int], None]  # (accounts done, accounts in all)


class Sink(Protocol):
    """Where the print run's files go: a folder, or a prefix of the data bucket."""

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Write one file by its relative name."""
        ...


@dataclass(frozen=True, slots=True)
class FolderSink:
    """Files under a local folder (made as needed)."""

    root: Path

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Write `root/name`."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


@dataclass(frozen=True, slots=True)
class BucketSink:
    """Files under a prefix of the data bucket, e.g. `print/2026-11/city/`."""

    files: Files
    prefix: str

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Write `prefix + name`."""
        self.files.put(self.prefix + name, data, content_type)


@dataclass(frozen=True, slots=True)
class PrintRun:
    """What a print run wrote."""

    month: Month
    organization: str | None  # None: the whole city
    accounts: int
    files: int
    expires: datetime  # when the web links stop signing in


def run_folder(month: Month, organization: str | None) -> str:
    """The conventional place of a run: `print/<YYYY-MM>/<organization or city>/`."""
    return f"print/{month}/{organization or 'city'}/"


def accounts_of(organization: str | None, stores: Stores) -> list[str]:
    """Account numbers with a live meter of the organization (or of any): its index's 32 shards, no Scan."""
    orgs = [organization] if organization else sorted(stores.catalogue.organizations())
    shards = [(org, shard) for org in orgs for shard in range(ORG_SHARDS)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        found = pool.map(
            lambda s: {k.account for k in stores.accounts.meter_keys(*s, bots_only=False)}, shards
        )
        numbers: set[str] = set().union(*found)
    return sorted(numbers, key=lambda n: (len(n), n))


def _images(batch: list[tuple[str, str, str]]) -> list[tuple[str, bytes, str]]:
    """In a worker: the four images of each (account, Viber link, web link)."""
    out = []
    for number, viber, web in batch:
        for kind, link in ((qrcodes.QrKind.VIBER, viber), (qrcodes.QrKind.WEB, web)):
            rows = qr_rows(link)
            out.append((f"{kind}/{number}.png", png(rows), "image/png"))
            out.append((f"{kind}/{number}.svg", svg(rows), "image/svg+xml"))
    return out


def _batches(items: list[tuple[str, str, str]]) -> Iterator[list[tuple[str, str, str]]]:
    for i in range(0, len(items), BATCH):
        yield items[i : i + BATCH]


def print_run(
    month: Month,
    sink: Sink,
    *,
    organization: str | None = None,
    accounts: Iterable[str] | None = None,
    stores: Stores | None = None,
    now: datetime | None = None,
    processes: int | None = None,
    progress: Progress | None = None,
) -> PrintRun:
    """Write links.csv and every account's QR images for `month`; images made in `processes` workers."""
    now = now or clock.now()
    numbers = list(accounts) if accounts is not None else accounts_of(organization, stores or get_stores())
    links = [(n, qrcodes.viber_link(n, now), qrcodes.web_link(n, now)) for n in numbers]
    report = progress or (lambda *_: None)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for number, viber, web in links:
        row: list[str] = [number]
        for kind, link in ((qrcodes.QrKind.VIBER, viber), (qrcodes.QrKind.WEB, web)):
            caption, place = PLACES[kind]
            row += [link, caption, place, f"{kind}/{number}.png", f"{kind}/{number}.svg"]
        writer.writerow(row)
    workers = processes or os.cpu_count() or 1
    written = 0
    done = 0
    report(0, len(links))
    # forkserver: a worker starts from a clean process, not a fork of this one's threads and clients.
    context = multiprocessing.get_context("forkserver")
    with (
        ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool,
        ThreadPoolExecutor(max_workers=8) as writers,
    ):
        drawn = pool.map(_images, _batches(links)) if workers > 1 else map(_images, _batches(links))
        for batch, images in zip(_batches(links), drawn, strict=True):
            # Writing (a disk, or S3 over the network) overlaps with the workers drawing the next batch.
            list(writers.map(lambda f: sink.put(*f), images))
            written += len(images)
            done += len(batch)
            report(done, len(links))
    sink.put("links.csv", out.getvalue().encode("utf-8"), "text/csv; charset=utf-8")
    expires = web_token_expiry(now, link_settings().web_qr_token_days)
    return PrintRun(month, organization, len(links), written + 1, expires)
