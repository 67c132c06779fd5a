"""The export's assembly in the data bucket: S3Files.compose against moto's S3, beside the fake's."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ekc.exceptions import StorageUnavailable
from ekc.storage import files as s3files
from ekc.storage.files import get_files
from tests.fakes import FakeFiles

BUCKET = "readings-data-test"


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The stage's data bucket in moto."""
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    with mock_aws():
        client = boto3.client("s3", region_name="eu-central-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        yield client


@pytest.mark.parametrize("sizes", [[10, 0, 300], [6_000_000, 7_000_000, 5, 9_000_000]])
def test_files_compose_writes_head_and_parts_in_order_as_one_object(bucket: Any, sizes: list[int]) -> None:
    # Given parts of an export (small ones, and ones that need a multipart upload past 8 MiB)
    files, fake = get_files(), FakeFiles()
    parts = []
    for n, size in enumerate(sizes):
        data = os.urandom(size)
        key = f"work/exports/gas/2026-11/{n:02d}-0000.csv"
        files.put(key, data, "text/csv")
        fake.put(key, data, "text/csv")
        parts.append(key)
    # When they are composed behind a header
    composed = files.compose("exports/gas/2026-11.csv", parts, "text/csv; charset=utf-8", head=b"h\r\n")
    # Then the object is the header and the parts, byte for byte, and its size and SHA-256 say so
    whole = files.get("exports/gas/2026-11.csv")
    expected = b"h\r\n" + b"".join(fake.get(p) or b"" for p in parts)
    assert whole == expected
    assert (composed.size, composed.sha256) == (len(expected), hashlib.sha256(expected).hexdigest())
    # And the fake of the unit tests composes the same
    assert fake.compose("x.csv", parts, "text/csv", head=b"h\r\n") == composed
    head = bucket.head_object(Bucket=BUCKET, Key="exports/gas/2026-11.csv")
    assert head["ContentType"] == "text/csv; charset=utf-8"


def test_files_compose_with_a_missing_part_writes_nothing(bucket: Any) -> None:
    # Given one large part written and a second one missing
    files = get_files()
    files.put("work/a.csv", os.urandom(9_000_000), "text/csv")
    # When composing fails half-way
    with pytest.raises(StorageUnavailable):
        files.compose("exports/el/2026-11.csv", ["work/a.csv", "work/missing.csv"], "text/csv")
    # Then there is no export and no upload left open
    assert files.get("exports/el/2026-11.csv") is None
    assert bucket.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_files_location_is_s3_in_aws_and_http_on_the_local_stack(
    bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert get_files().location("exports/el/2026-11.csv") == f"s3://{BUCKET}/exports/el/2026-11.csv"
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:4566/")
    from ekc.config import data_settings

    data_settings.cache_clear()
    s3files.forget()
    link = get_files().location("exports/el/2026-11.csv")
    assert link.startswith(f"http://127.0.0.1:4566/{BUCKET}/exports/el/2026-11.csv?")
    assert "X-Amz-Signature=" in link
