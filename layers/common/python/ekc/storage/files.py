"""The data bucket: exports to the utilities and imports from billing, through one S3 client."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ekc.config import data_settings
from ekc.exceptions import StorageUnavailable


@lru_cache(maxsize=1)
def _client() -> Any:
    import boto3  # only the functions that move files pay for it
    from botocore.config import Config

    settings = data_settings()
    return boto3.client(
        "s3",
        region_name=settings.aws_region,
        endpoint_url=settings.s3_endpoint_url,
        config=Config(retries={"mode": "adaptive", "max_attempts": 5}, connect_timeout=3, read_timeout=30),
    )


class S3Files:
    """Objects of the data bucket by key (`exports/<org>/<YYYY-MM>.csv`, `imports/...`)."""

    def __init__(self, bucket: str | None = None) -> None:
        self.bucket = bucket or data_settings().data_bucket

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        """Write (or replace) an object: 1 PutObject."""
        try:
            _client().put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, Metadata=metadata or {}
            )
        except Exception as exc:  # botocore raises many kinds; all mean "not written"
            raise StorageUnavailable() from exc

    def get(self, key: str) -> bytes | None:
        """An object's bytes, or None if there is none: 1 GetObject."""
        client = _client()
        try:
            return client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        except Exception as exc:
            raise StorageUnavailable() from exc

    def keys(self, prefix: str) -> list[str]:
        """Every key under a prefix, in order: ListObjectsV2, paged."""
        found: list[str] = []
        try:
            for page in (
                _client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            ):
                found += [item["Key"] for item in page.get("Contents", [])]
        except Exception as exc:
            raise StorageUnavailable() from exc
        return found


@lru_cache(maxsize=1)
def get_files() -> S3Files:
    """The data bucket of this stage."""
    return S3Files()


def forget() -> None:
    """Drop the cached client and bucket (a test's new container)."""
    _client.cache_clear()
    get_files.cache_clear()
