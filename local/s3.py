"""S3 on this machine: moto's server in its own process, in memory, with the template's buckets.

The functions find it through S3_ENDPOINT_URL. Buckets behind CloudFront (the cabinet's files) are
not made: the local gateway serves `frontend/` itself.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local.processes import free_port, port_taken, start_server, terminate
from local.template import BUCKET_TYPE, bucket_name, local_buckets, resources_of_type

# moto accepts any credentials; these keep a developer's real ones out of the picture.
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
ENDPOINT_VARIABLE = "S3_ENDPOINT_URL"


@dataclass
class LocalS3:
    """A running local S3: its endpoint and how to stop it."""

    endpoint: str
    _stop: Callable[[], None] = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Stop the server (idempotent); its data is gone with it."""
        if not self._stopped:
            self._stopped = True
            self._stop()

    def __enter__(self) -> LocalS3:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def client(endpoint: str, region: str = "eu-central-1", **config: Any) -> Any:
    """A boto3 S3 client for the local endpoint (path-style addressing: no DNS for bucket hosts)."""
    import boto3
    from botocore.config import Config

    config = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, **config)
    return boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config, **LOCAL_CREDENTIALS)


def _answers(endpoint: str) -> bool:
    try:
        client(endpoint, connect_timeout=1, read_timeout=2).list_buckets()
    except Exception:  # not up yet: refused, reset or half-started
        return False
    return True


class PendingS3:
    """moto's S3 server, started but perhaps not answering yet: start it early, wait for it later."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._launch()

    def _launch(self) -> None:
        self.chosen = self.port or free_port()
        if port_taken(self.chosen):
            raise RuntimeError(f"moto's S3 cannot start: port {self.chosen} is taken")
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.chosen)]
        self.process, self.output = start_server(command, "s3")

    def stop(self) -> None:
        """Stop the server whether or not it came up (idempotent)."""
        terminate(self.process)

    def ready(self, timeout: float = 60.0) -> LocalS3:
        """Wait until it answers; another free port is tried if the chosen one was taken meanwhile."""
        for attempt in range(3):
            endpoint = f"http://127.0.0.1:{self.chosen}"
            deadline = time.monotonic() + timeout
            while self.process.poll() is None:
                if _answers(endpoint):
                    return LocalS3(endpoint, functools.partial(terminate, self.process))
                if time.monotonic() > deadline:
                    terminate(self.process)
                    lines = "\n".join(self.output)
                    raise TimeoutError(f"moto's S3 did not answer within {timeout:.0f} s:\n{lines}")
                time.sleep(0.1)
            time.sleep(0.5)  # its last lines, still being drained, say why it stopped
            lines = "\n".join(self.output)
            if self.port or "Address already in use" not in lines or attempt == 2:
                raise RuntimeError(f"moto's S3 exited at start:\n{lines}")
            self._launch()
        raise AssertionError("unreachable")


def start_s3(port: int = 0, timeout: float = 60.0) -> LocalS3:
    """Start moto's server for S3 on `port` (0: any free one) and wait until it answers.

    Call it from the main thread: the server is told to stop when the thread that started it ends.
    """
    return PendingS3(port).ready(timeout)


def create_buckets(
    s3: Any, template: Mapping[str, Any], names: Mapping[str, str] | None = None, region: str = "eu-central-1"
) -> dict[str, str]:
    """Create the template's buckets the functions use (absent ones), with their versioning; id -> name."""
    resources = resources_of_type(template, BUCKET_TYPE)
    created = {}
    for logical_id in local_buckets(template):
        name = (names or {}).get(logical_id) or bucket_name(logical_id)
        arguments: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(**arguments)
        versioning = ((resources[logical_id].get("Properties") or {}).get("VersioningConfiguration")) or {}
        if versioning.get("Status") in ("Enabled", "Suspended"):
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
        created[logical_id] = name
    return created
