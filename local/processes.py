"""Helpers for the servers the stack starts as child processes (DynamoDB Local, moto's S3)."""

from __future__ import annotations

import collections
import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence

PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port that is free on the loopback interface right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_taken(port: int) -> bool:
    """True when something already listens on 127.0.0.1:port."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, so a killed stack leaves no server behind.

    Linux sends it when the *thread* that started the child ends: start servers from the main thread.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_server(command: Sequence[str], name: str) -> tuple[subprocess.Popen[bytes], collections.deque[str]]:
    """Start a server process whose output is drained in the background; the process and its last lines."""
    process = subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent if sys.platform == "linux" else None,
    )
    output: collections.deque[str] = collections.deque(maxlen=200)

    def drain() -> None:
        # Keep reading so the server never blocks on a full pipe; keep the tail for error messages.
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.decode("utf-8", "replace").rstrip())

    threading.Thread(target=drain, name=f"{name}-output", daemon=True).start()
    return process, output


def terminate(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
