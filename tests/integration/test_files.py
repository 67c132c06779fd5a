"""The data bucket through S3Files, against moto's S3 with the bucket's name from the settings."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from ekc.exceptions import StorageUnavailable
from ekc.storage.files import get_files


def test_files_put_get_and_list_by_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the stage's data bucket
    monkeypatch.setenv("DATA_BUCKET", "readings-data-test")
    with mock_aws():
        boto3.client("s3", region_name="eu-central-1").create_bucket(
            Bucket="readings-data-test", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        files = get_files()
        # When an export and its manifest are written, and read back
        files.put("exports/gas/2026-11.csv", "рахунок;лічильник\n".encode(), "text/csv; charset=utf-8")
        files.put("exports/gas/2026-11.manifest.json", b"{}", "application/json", {"run": "r-1"})
        # Then they are there, listed in order, and an absent key is None, not an error
        assert files.get("exports/gas/2026-11.csv") == "рахунок;лічильник\n".encode()
        assert files.keys("exports/gas/") == ["exports/gas/2026-11.csv", "exports/gas/2026-11.manifest.json"]
        assert files.get("exports/gas/2026-10.csv") is None


def test_files_without_a_bucket_says_storage_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a bucket name that does not exist
    monkeypatch.setenv("DATA_BUCKET", "no-such-bucket")
    # Then writing is refused as "not written", never as success
    with mock_aws(), pytest.raises(StorageUnavailable):
        get_files().put("exports/x.csv", b"x", "text/csv")
