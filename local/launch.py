"""Start `python -m local.run` as a child process and wait for its READY line (tests and benchmarks).

The stack runs in its own session, so stopping it reaches its workers, DynamoDB Local and S3 too.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The stack chooses these itself; a developer's shell values would make a run depend on the machine.
STACK_CHOOSES = (
    "LOCAL_NOW",
    "DYNAMODB_ENDPOINT",
    "S3_ENDPOINT_URL",
    "PUBLIC_BASE_URL",
    "VIBER_API_URL",
    "PORT",
    "TABLE_NAME",
    "DATA_BUCKET",
    "STAGE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
)


@dataclass
class StackProcess:
    """A running local stack: its base URL, the process, and every line it printed so far."""

    url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)


def _stop(process: subprocess.Popen[str], timeout: float = 30) -> None:
    if process.poll() is None:
        # SIGTERM lets local.run stop its workers and DynamoDB Local cleanly.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: only what it started
            process.wait()


@contextlib.contextmanager
def running_stack(
    args: Sequence[str] = ("--port", "0", "--in-memory"),
    env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    timeout: float = 120,
) -> Iterator[StackProcess]:
    """A fresh stack (real clock, random signing key, in-memory data); stopped when the block ends.

    `on_line` sees every line the stack prints, for as long as it runs.
    """
    environment = {name: value for name, value in os.environ.items() if name not in STACK_CHOOSES}
    environment.update(TOKEN_SIGNING_KEY=secrets.token_urlsafe(48), PYTHONUNBUFFERED="1")
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "local.run", *args],
        cwd=ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    ready: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        # Keep draining for the stack's whole life, or it would block on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if on_line is not None:
                on_line(line)
            if line.startswith("READY "):
                ready.put(line.split()[1])
        ready.put(None)

    threading.Thread(target=read, name="local-stack-output", daemon=True).start()
    try:
        try:
            url = ready.get(timeout=timeout)
        except queue.Empty:
            url = None
        if url is None:
            printed = "".join(output)
            raise RuntimeError(f"the local stack did not print READY within {timeout:.0f} s:\n{printed}")
        yield StackProcess(url, process, output)
    finally:
        _stop(process)
