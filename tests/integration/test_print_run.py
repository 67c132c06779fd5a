"""The invoice print run: every code decodes back to a link the web door and the Viber door accept."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3

from ekc.domain.identity import PersonCaller
from ekc.domain.months import Month
from ekc.services import accounts
from ekc.services.print_run import BucketSink, FolderSink, accounts_of, print_run, run_folder
from ekc.storage.files import S3Files
from tests.integration.conftest import NOW, Browser
from tests.qr_decode import decode_png, decode_svg

MONTH = Month(2026, 11)


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_print_run_codes_decode_to_links_both_doors_accept(
    demo: Any, stores: Any, web: Browser, tmp_path: Path
) -> None:
    # Given the demo's city (77777 and 88888), printed into a folder by two worker processes
    run = print_run(MONTH, FolderSink(tmp_path), stores=stores, now=NOW, processes=2)
    # Then there is a row per account, and four images named by the account
    rows = _rows((tmp_path / "links.csv").read_bytes())
    assert [r["account"] for r in rows] == ["77777", "88888"] and run.accounts == 2 and run.files == 9
    for row in rows:
        number = row["account"]
        assert (row["viber_caption"], row["viber_place"]) == ("внести через Viber", "bottom right")
        assert (row["web_caption"], row["web_place"]) == ("внести на сайт", "bottom left")
        # Each image, PNG and SVG, decodes with zxing-cpp to exactly its link
        for kind in ("viber", "web"):
            assert row[f"{kind}_png"] == f"{kind}/{number}.png"
            assert decode_png((tmp_path / row[f"{kind}_png"]).read_bytes()) == [row[f"{kind}_link"]]
            assert decode_svg((tmp_path / row[f"{kind}_svg"]).read_bytes()) == [row[f"{kind}_link"]]
        # The web link's token signs in through the web door to that very account
        web_link = decode_png((tmp_path / f"web/{number}.png").read_bytes())[0]
        assert web_link.startswith("https://cabinet.example.test/#/qr/")
        visitor = Browser(web.handler)
        signed = visitor.call(
            "POST", "/api/auth/qr", {"token": urlsplit(web_link).fragment.removeprefix("/qr/")}
        )
        assert signed.status == 200, signed.raw
        assert visitor.call("GET", f"/api/accounts/{number}").status == 200
        # The Viber link's context links the account to a Viber user, as the Viber door does
        viber_link = decode_svg((tmp_path / f"viber/{number}.svg").read_bytes())[0]
        parts = urlsplit(viber_link)
        assert (parts.scheme, parts.netloc) == ("viber", "pa")
        query = parse_qs(parts.query)
        assert query["chatURI"] == ["ekc-test"]
        linked = accounts.link_by_token(
            PersonCaller(f"viber-{number}"), query["context"][0], stores=stores, now=NOW
        )
        assert linked.number == number


def test_print_run_for_one_organization_into_the_bucket(demo: Any, stores: Any) -> None:
    # Given the data bucket, and the demo where only 77777 has a gas meter
    s3 = boto3.client("s3", region_name="eu-central-1")
    s3.create_bucket(Bucket="print-test", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    files = S3Files("print-test")
    prefix = run_folder(MONTH, "gas")
    # When gas's accounts are printed into the bucket, in this process
    run = print_run(MONTH, BucketSink(files, prefix), organization="gas", stores=stores, now=NOW, processes=1)
    # Then only 77777 (the one gas meter) is printed, under print/2026-11/gas/
    assert accounts_of("gas", stores) == ["77777"] and run.accounts == 1
    assert files.keys(prefix) == [
        f"{prefix}links.csv",
        f"{prefix}viber/77777.png",
        f"{prefix}viber/77777.svg",
        f"{prefix}web/77777.png",
        f"{prefix}web/77777.svg",
    ]
    (row,) = _rows(files.get(f"{prefix}links.csv") or b"")
    assert decode_png(files.get(f"{prefix}viber/77777.png") or b"") == [row["viber_link"]]
