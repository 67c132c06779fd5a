"""The data bucket: exports to the utilities and imports from billing, through one S3 client."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from ekc.config import data_settings
from ekc.exceptions import StorageUnavailable
from ekc.storage.ports import Composed

# Pieces of a composed object are uploaded in parts of this size (S3 wants at least 5 MiB but the last;
# 10,000 parts of 8 MiB allow 80 GB, far more than a country's largest export of ~3 GB).
UPLOAD_PART_BYTES = 8 * 1024 * 1024
READ_CHUNK_BYTES = 1024 * 1024
LOCAL_LINK_SECONDS = 7 * 24 * 3600


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

    def compose(self, key: str, parts: list[str], content_type: str, head: bytes = b"") -> Composed:
        """Stream `head` and the parts into one object: 1 PutObject, or a multipart upload past 8 MiB.

        Memory stays at one upload part, whatever the size; the object appears only when complete.
        """
        client = _client()
        digest, size = hashlib.sha256(), 0
        buffer = bytearray()
        upload_id: str | None = None
        uploaded: list[dict[str, Any]] = []

        def send(data: bytes) -> None:
            nonlocal upload_id
            if upload_id is None:
                upload_id = client.create_multipart_upload(
                    Bucket=self.bucket, Key=key, ContentType=content_type
                )["UploadId"]
            number = len(uploaded) + 1
            answer = client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )
            uploaded.append({"PartNumber": number, "ETag": answer["ETag"]})

        try:
            for chunk in self._pieces(head, parts):
                digest.update(chunk)
                size += len(chunk)
                buffer += chunk
                while len(buffer) >= UPLOAD_PART_BYTES:
                    send(bytes(buffer[:UPLOAD_PART_BYTES]))
                    del buffer[:UPLOAD_PART_BYTES]
            if upload_id is None:
                client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer), ContentType=content_type)
            else:
                if buffer:
                    send(bytes(buffer))
                client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": uploaded}
                )
        except Exception as exc:
            if upload_id is not None:
                # What an abort cannot remove, the bucket's lifecycle rule does after a day.
                with contextlib.suppress(Exception):
                    client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            if isinstance(exc, StorageUnavailable):
                raise
            raise StorageUnavailable() from exc
        return Composed(size, digest.hexdigest())

    def _pieces(self, head: bytes, parts: list[str]) -> Iterator[bytes]:
        if head:
            yield head
        client = _client()
        for part in parts:
            body = client.get_object(Bucket=self.bucket, Key=part)["Body"]
            yield from body.iter_chunks(READ_CHUNK_BYTES)

    def location(self, key: str) -> str:
        """`s3://bucket/key` in AWS (operators open it in the console); locally, an http:// address a
        browser or curl can download from the stack's S3 (signed for a week: the local S3 wants that)."""
        if data_settings().s3_endpoint_url:
            return str(
                _client().generate_presigned_url(
                    "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=LOCAL_LINK_SECONDS
                )
            )
        return f"s3://{self.bucket}/{key}"


@lru_cache(maxsize=1)
def get_files() -> S3Files:
    """The data bucket of this stage."""
    return S3Files()


def forget() -> None:
    """Drop the cached client and bucket (a test's new container)."""
    _client.cache_clear()
    get_files.cache_clear()
