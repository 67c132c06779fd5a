"""Shared by the fake functions through their layer: module state that must stay inside one function."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# Read at import, as Powertools reads its service name.
SERVICE_AT_IMPORT = os.environ.get("POWERTOOLS_SERVICE_NAME")
CALLS: list[str] = []  # this process's invocations: one function's workers must never share it
VARIABLES = ("SHARED", "OVERRIDDEN", "TABLE_NAME", "DATA_BUCKET", "S3_ENDPOINT_URL", "TZ", "PINNED_BY_SHELL")


def _rendezvous(folder: Path, peers: int, wait_seconds: float = 20.0) -> int:
    """Announce this invocation and wait for `peers` in all; how many this one saw (fewer when alone)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{os.getpid()}-{time.time_ns()}").touch()
    deadline = time.monotonic() + wait_seconds
    while len(list(folder.iterdir())) < peers and time.monotonic() < deadline:
        time.sleep(0.02)
    return len(list(folder.iterdir()))


def answer(function: str, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Do what the event asks (an HTTP event: its JSON body), then say what this process sees."""
    CALLS.append(context.aws_request_id)
    asks = json.loads(event.get("body") or "{}") if "routeKey" in event else event
    if asks.get("crash"):
        os._exit(7)
    if asks.get("raise"):
        raise RuntimeError(asks["raise"])
    if asks.get("sleep"):
        time.sleep(asks["sleep"])
    if asks.get("record"):
        with open(asks["record"], "a", encoding="utf-8") as out:
            out.write(json.dumps({"function": function, "pid": os.getpid(), "event": event}) + "\n")
    seen = None
    if asks.get("rendezvous"):
        seen = _rendezvous(Path(asks["rendezvous"]), int(asks.get("peers", 2)), float(asks.get("wait", 20)))
    if asks.get("put"):
        import boto3

        s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT_URL"])
        s3.put_object(Bucket=os.environ["DATA_BUCKET"], Key=asks["put"], Body=function.encode())
    # A structured log line on stdout, as Powertools' Logger writes: it must not disturb the answer.
    print(json.dumps({"level": "INFO", "service": SERVICE_AT_IMPORT, "message": "handled"}), flush=True)
    return {
        "function": function,
        "pid": os.getpid(),
        "service_at_import": SERVICE_AT_IMPORT,
        "calls": len(CALLS),
        "seen": seen,
        "environment": {name: os.environ.get(name) for name in VARIABLES},
        "repository_importable": importlib.util.find_spec("functions") is not None,
        "local_package_loaded": "local" in sys.modules,
        "cwd": os.getcwd(),
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "event": event,
    }
