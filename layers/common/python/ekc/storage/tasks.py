"""The window close's queue (SQS): work one invocation hands to others when it cannot finish in time."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ekc.exceptions import StorageUnavailable

BATCH = 10  # SendMessageBatch takes at most ten messages
ATTEMPTS = 5


@lru_cache(maxsize=1)
def _client() -> Any:
    import boto3  # only the window close pays for it
    from botocore.config import Config

    from ekc.config import storage_settings

    return boto3.client(
        "sqs",
        region_name=storage_settings().aws_region,
        config=Config(retries={"mode": "adaptive", "max_attempts": 5}, connect_timeout=3, read_timeout=10),
    )


class SqsTasks:
    """Tasks as JSON messages on one queue."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, tasks: list[Mapping[str, object]]) -> None:
        """SendMessageBatch, ten a request; entries SQS did not take are sent again with back-off."""
        for start in range(0, len(tasks), BATCH):
            entries = {
                str(n): json.dumps(task, sort_keys=True)
                for n, task in enumerate(tasks[start : start + BATCH])
            }
            for attempt in range(ATTEMPTS):
                try:
                    answer = _client().send_message_batch(
                        QueueUrl=self.queue_url,
                        Entries=[{"Id": n, "MessageBody": body} for n, body in entries.items()],
                    )
                except Exception as exc:
                    raise StorageUnavailable() from exc
                failed = {f["Id"] for f in answer.get("Failed", [])}
                entries = {n: body for n, body in entries.items() if n in failed}
                if not entries:
                    break
                time.sleep(0.1 * 2**attempt)
            else:
                raise StorageUnavailable()


def forget() -> None:
    """Drop the cached client (a test's new container)."""
    _client.cache_clear()
