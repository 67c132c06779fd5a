"""Lambda-like execution environments: each function runs in its own worker processes, one event at a time.

A `FunctionPool` keeps warm workers of one function and starts more on demand, up to its maximum
(the template's ReservedConcurrentExecutions, or `DEFAULT_MAX_WORKERS`), as Lambda scales out
containers; callers beyond that wait for a free worker (Lambda would throttle them). A worker is a
fresh interpreter running this file as a script (`python local/runtime.py`, so the `local` package
is never imported there) with the function's own environment and `sys.path` (CodeUri first, then
its layers, then the installed packages, as /var/task and /opt/python), so nothing (module caches,
Powertools' service name) leaks between functions.

Events and results travel as length-prefixed JSON over a private socket, never over stdout:
the handler's prints, Powertools' logs and EMF metric lines go to the stack's own output.
A handler that outlives the function's Timeout is killed, as Lambda does, and its caller gets the
error; so is a worker that crashed. Either way fresh workers take its place: at once in the
background if it was the function's last, else on demand.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_ID = "123456789012"
DEFAULT_MAX_WORKERS = 8
# Lambda's own limit on init is 10 s; a shared 2-core machine starting eight workers at once needs more.
INIT_TIMEOUT_SECONDS = 120.0
IDLE_SECONDS = 600.0  # idle workers beyond the first are stopped after this, as Lambda reclaims containers
_FRAME = struct.Struct(">I")


# ---- the channel between the stack and a worker -----------------------------------------------------


def send_message(channel: socket.socket, message: Mapping[str, Any]) -> None:
    """Send one JSON message, length first, in one write."""
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    channel.sendall(_FRAME.pack(len(data)) + data)


def _read_exactly(channel: socket.socket, size: int) -> bytes | None:
    chunks, missing = [], size
    while missing:
        chunk = channel.recv(min(missing, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def receive_message(channel: socket.socket) -> dict[str, Any] | None:
    """The next message, or None when the other side has closed the channel."""
    header = _read_exactly(channel, _FRAME.size)
    if header is None:
        return None
    data = _read_exactly(channel, _FRAME.unpack(header)[0])
    return None if data is None else json.loads(data)


def lambda_error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """An exception as Lambda reports it to the invoker."""
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


# ---- inside a worker ----------------------------------------------------------------------------------


class LambdaContext:
    """The context object a handler receives (the parts handlers and Powertools read)."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.function_name: str = fields["function_name"]
        self.function_version: str = fields.get("function_version", "$LATEST")
        self.invoked_function_arn: str = fields["invoked_function_arn"]
        self.memory_limit_in_mb: int = fields["memory_limit_in_mb"]
        self.aws_request_id: str = fields["aws_request_id"]
        self.log_group_name: str = fields["log_group_name"]
        self.log_stream_name: str = fields["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline_ms: int = fields["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's Timeout."""
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _import_handler(init: Mapping[str, Any]) -> Callable[[Any, Any], Any]:
    # What Lambda has on the path: the code (/var/task), the layers (/opt/python), the runtime's
    # packages; not this repository, so an import of `functions` or `local` fails here as in AWS.
    own = {"", str(ROOT), str(Path(__file__).resolve().parent), os.getcwd()}
    sys.path[:] = [*init["path"], *(entry for entry in sys.path if entry not in own)]
    module_name, _, attribute = init["handler"].rpartition(".")
    module = importlib.import_module(module_name)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise AttributeError(f"Handler '{attribute}' missing on module '{module_name}'")
    return handler


def worker_main(channel_fd: int) -> int:
    """A worker's life: import the handler (the cold start), then answer events until the channel closes."""
    # Ctrl-C in the terminal reaches the whole process group; the stack stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = socket.socket(fileno=channel_fd)
    try:
        return _serve(channel)
    except (BrokenPipeError, ConnectionResetError):
        return 0  # the stack went away mid-answer: nobody is left to answer


def _serve(channel: socket.socket) -> int:
    init = receive_message(channel)
    if init is None:
        return 0
    started = time.perf_counter()
    try:
        handler = _import_handler(init)
    except Exception as exc:  # Lambda's Runtime.ImportModuleError / init error: reported, then exit
        traceback.print_exc()
        send_message(channel, {"type": "init_error", "error": lambda_error(exc, "Runtime.ImportModuleError")})
        return 1
    send_message(channel, {"type": "ready", "init_ms": round((time.perf_counter() - started) * 1000, 1)})
    while True:
        message = receive_message(channel)
        if message is None:  # the stack closed the channel (or died): this container is gone
            return 0
        context = LambdaContext(message["context"])
        try:
            result = handler(message["event"], context)
        except Exception as exc:
            # Lambda writes the error to the function's log, then answers the invoker with it.
            print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exc()
            answer = {"type": "error", "error": lambda_error(exc)}
        else:
            answer = {"type": "result", "result": result}
        sys.stdout.flush()
        try:
            send_message(channel, answer)
        except (TypeError, ValueError) as exc:  # the result is not JSON: Lambda's Runtime.MarshalError
            send_message(channel, {"type": "error", "error": lambda_error(exc, "Runtime.MarshalError")})


# ---- in the stack: workers and pools --------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionConfig:
    """What it takes to run one function's workers."""

    name: str
    handler: str  # `app.lambda_handler`
    path: tuple[str, ...]  # CodeUri, then the layers' folders
    environment: Mapping[str, str]  # the worker's whole environment
    timeout: float = 3.0
    memory_size: int = 128
    max_workers: int = DEFAULT_MAX_WORKERS
    cwd: str | None = None  # Lambda runs in /var/task, the CodeUri

    def context(self, request_id: str, region: str) -> dict[str, Any]:
        """The fields of the LambdaContext of one invocation."""
        return {
            "function_name": self.name,
            "function_version": "$LATEST",
            "invoked_function_arn": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{self.name}",
            "memory_limit_in_mb": self.memory_size,
            "aws_request_id": request_id,
            "log_group_name": f"/aws/lambda/{self.name}",
            "log_stream_name": "",  # the worker's own, filled in by the pool
            "deadline_ms": int((time.time() + self.timeout) * 1000),
        }


@dataclass
class InvokeResult:
    """The outcome of one invocation: the handler's return value, or Lambda's error object."""

    function: str
    request_id: str
    ok: bool
    payload: Any  # the result when ok, else {"errorMessage", "errorType", ...}
    duration_ms: float = 0.0
    init_ms: float | None = None  # set when this invocation paid a cold start
    worker_pid: int | None = None

    @property
    def error_type(self) -> str | None:
        """Lambda's errorType when the invocation failed."""
        return None if self.ok else str(self.payload.get("errorType"))


class WorkerFailed(Exception):
    """A worker could not start its handler, or died, or was killed."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("errorMessage", "worker failed"))
        self.error = error


class Worker:
    """One warm 'container': a process running `worker_main`, and our end of its channel."""

    def __init__(self, config: FunctionConfig, spawn_environment: Mapping[str, str] | None = None) -> None:
        self.config = config
        ours, theirs = socket.socketpair()
        environment = {**config.environment, **(spawn_environment or {})}
        try:
            self.process = subprocess.Popen(
                # This file as a script: the worker never imports the `local` package, so handler code
                # that reaches into this repository fails here as it would in Lambda.
                [sys.executable, "-u", str(Path(__file__).resolve()), str(theirs.fileno())],
                env=environment,
                cwd=config.cwd,
                stdin=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
            )
        finally:
            theirs.close()
        self.channel = ours
        self.last_used = time.monotonic()
        self.init_ms: float | None = None
        # One log stream per container, as in CloudWatch.
        self.log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.process.pid

    def start(self) -> float:
        """Send the handler to import and wait for the cold start; its milliseconds, or WorkerFailed."""
        try:
            send_message(self.channel, {"handler": self.config.handler, "path": list(self.config.path)})
            self.channel.settimeout(INIT_TIMEOUT_SECONDS)
            answer = receive_message(self.channel)
        except (OSError, TimeoutError) as exc:
            self.kill()
            raise WorkerFailed(lambda_error(exc, "Runtime.InitError")) from exc
        if answer is None or answer.get("type") != "ready":
            self.kill()
            error = (answer or {}).get("error") or {
                "errorMessage": f"the worker exited during init (exit code {self.process.poll()})",
                "errorType": "Runtime.ExitError",
            }
            raise WorkerFailed(error)
        self.init_ms = float(answer["init_ms"])
        return self.init_ms

    def invoke(self, event: Any, context: dict[str, Any]) -> dict[str, Any]:
        """Run one event; the worker's answer, or WorkerFailed when it timed out or died."""
        try:
            send_message(self.channel, {"event": event, "context": context})
            self.channel.settimeout(max(0.001, context["deadline_ms"] / 1000 - time.time()))
            answer = receive_message(self.channel)
        except TimeoutError as exc:
            self.kill()
            message = f"{context['aws_request_id']} Task timed out after {self.config.timeout:.2f} seconds"
            print(f"{self.config.name}: {message}; the worker was stopped, as Lambda does", file=sys.stderr)
            raise WorkerFailed({"errorMessage": message, "errorType": "Sandbox.Timedout"}) from exc
        except OSError as exc:
            answer = None
            error = exc
        else:
            error = None
        if answer is None:
            self.kill()
            message = f"the worker exited (exit code {self.process.returncode}) without answering"
            print(f"{self.config.name}: {message}; a fresh worker replaces it", file=sys.stderr)
            raise WorkerFailed({"errorMessage": message, "errorType": "Runtime.ExitError"}) from error
        self.last_used = time.monotonic()
        return answer

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Close the channel (the worker exits on its own); kill it if it does not."""
        with contextlib.suppress(OSError):
            self.channel.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Stop the process now."""
        with contextlib.suppress(OSError):
            self.channel.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@dataclass
class _PoolState:
    idle: list[Worker] = field(default_factory=list)
    busy: set[Worker] = field(default_factory=set)
    starting: int = 0
    cold_starts: int = 0
    crashes: int = 0


class FunctionPool:
    """Warm workers of one function: reused when idle, started on demand up to `max_workers`."""

    def __init__(
        self,
        config: FunctionConfig,
        region: str = "eu-central-1",
        spawn_environment: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.config = config
        self.region = region
        self.spawn_environment = spawn_environment
        self._state = _PoolState()
        self._changed = threading.Condition()
        self._closed = False

    def _size(self) -> int:
        return len(self._state.idle) + len(self._state.busy) + self._state.starting

    def _start_worker(self) -> Worker:
        """A new worker, cold-started; the caller holds a `starting` slot."""
        overrides = self.spawn_environment() if self.spawn_environment else None
        try:
            worker = Worker(self.config, overrides)
        except OSError as exc:  # e.g. the CodeUri folder is missing
            raise WorkerFailed(lambda_error(exc, "Runtime.InitError")) from exc
        worker.start()
        return worker

    def _acquire(self) -> tuple[Worker, float | None]:
        """An idle worker, or a new one while under the maximum, or wait for one to come free."""
        with self._changed:
            while True:
                if self._closed:
                    raise WorkerFailed({"errorMessage": "the stack is stopping", "errorType": "Stopping"})
                while self._state.idle:
                    worker = self._state.idle.pop()  # the most recently used: the warmest
                    if worker.alive():
                        self._state.busy.add(worker)
                        return worker, None
                    self._state.crashes += 1
                if self._size() < self.config.max_workers:
                    self._state.starting += 1
                    break
                self._changed.wait()
        try:
            worker = self._start_worker()
        except BaseException:
            with self._changed:
                self._state.starting -= 1
                self._changed.notify()
            raise
        with self._changed:
            self._state.starting -= 1
            self._state.cold_starts += 1
            self._state.busy.add(worker)
        return worker, worker.init_ms

    def _release(self, worker: Worker, healthy: bool) -> None:
        with self._changed:
            self._state.busy.discard(worker)
            if healthy and not self._closed:
                self._state.idle.append(worker)
            else:
                self._state.crashes += not healthy
            self._changed.notify()
        if not healthy and not self._closed:
            # A fresh worker takes the dead one's place in the background if it was the function's last,
            # so the function stays warm; more come on demand.
            threading.Thread(target=self.warm, name=f"replace-{self.config.name}", daemon=True).start()

    def warm(self) -> str | None:
        """Make sure one idle worker is ready (the cold start at the stack's start); the error, if any."""
        with self._changed:
            if self._state.idle or self._state.busy or self._closed:
                return None
            self._state.starting += 1
        try:
            worker = self._start_worker()
        except WorkerFailed as exc:
            return f"{exc.error.get('errorType')}: {exc.error.get('errorMessage')}"
        finally:
            with self._changed:
                self._state.starting -= 1
                self._changed.notify()
        with self._changed:
            self._state.cold_starts += 1
            if self._closed:
                worker.stop()
            else:
                self._state.idle.append(worker)
            self._changed.notify()
        return None

    def invoke(self, event: Any) -> InvokeResult:
        """Run one event on a worker of this function, as one Lambda invocation."""
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        try:
            worker, init_ms = self._acquire()
        except WorkerFailed as exc:
            print(f"{self.config.name}: init failed: {exc.error.get('errorMessage')}", file=sys.stderr)
            return InvokeResult(self.config.name, request_id, False, exc.error)
        context = self.config.context(request_id, self.region)
        context["log_stream_name"] = worker.log_stream
        try:
            answer = worker.invoke(event, context)
        except WorkerFailed as exc:
            self._release(worker, healthy=False)
            duration = (time.perf_counter() - started) * 1000
            return InvokeResult(self.config.name, request_id, False, exc.error, duration, init_ms, worker.pid)
        self._release(worker, healthy=True)
        duration = (time.perf_counter() - started) * 1000
        if answer.get("type") == "result":
            return InvokeResult(
                self.config.name, request_id, True, answer.get("result"), duration, init_ms, worker.pid
            )
        error = dict(answer.get("error") or {})
        error["requestId"] = request_id
        return InvokeResult(self.config.name, request_id, False, error, duration, init_ms, worker.pid)

    def reap(self, idle_seconds: float = IDLE_SECONDS, keep: int = 1) -> int:
        """Stop workers idle for longer than `idle_seconds`, keeping `keep` warm; how many stopped."""
        now = time.monotonic()
        with self._changed:
            stale = [w for w in self._state.idle if now - w.last_used > idle_seconds]
            stale = stale[: max(0, len(self._state.idle) - keep)]
            for worker in stale:
                self._state.idle.remove(worker)
        for worker in stale:
            worker.stop()
        return len(stale)

    def stats(self) -> dict[str, int]:
        """Workers idle, busy and starting; cold starts and crashes so far."""
        with self._changed:
            return {
                "idle": len(self._state.idle),
                "busy": len(self._state.busy),
                "starting": self._state.starting,
                "max": self.config.max_workers,
                "cold_starts": self._state.cold_starts,
                "crashes": self._state.crashes,
            }

    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        with self._changed:
            return [worker.pid for worker in [*self._state.idle, *self._state.busy]]

    def close(self) -> None:
        """Stop every idle worker now, and busy ones as they finish."""
        with self._changed:
            self._closed = True
            idle, self._state.idle = self._state.idle, []
            busy = list(self._state.busy)
            self._changed.notify_all()
        for worker in idle:
            worker.stop()
        for worker in busy:
            worker.kill()


class Runtime:
    """Every function's pool, by logical id; what the gateway and the scheduler invoke."""

    def __init__(
        self,
        configs: Iterable[FunctionConfig],
        region: str = "eu-central-1",
        spawn_environment: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.pools = {config.name: FunctionPool(config, region, spawn_environment) for config in configs}
        self._reaper: threading.Thread | None = None
        self._stopping = threading.Event()

    def __contains__(self, name: object) -> bool:
        return name in self.pools

    def invoke(self, name: str, event: Any) -> InvokeResult:
        """Run one event on the named function (KeyError when there is no such function)."""
        return self.pools[name].invoke(event)

    def warm(self) -> dict[str, str]:
        """Cold-start one worker of every function, in parallel; logical id -> error for those that failed."""
        errors: dict[str, str] = {}

        def start(name: str, pool: FunctionPool) -> None:
            error = pool.warm()
            if error:
                errors[name] = error

        threads = [
            threading.Thread(target=start, args=item, name=f"warm-{item[0]}") for item in self.pools.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return errors

    def start_reaper(self, idle_seconds: float = IDLE_SECONDS) -> None:
        """Stop long-idle extra workers in the background, as Lambda reclaims idle containers."""

        def run() -> None:
            while not self._stopping.wait(min(60.0, idle_seconds)):
                for pool in self.pools.values():
                    pool.reap(idle_seconds)

        self._reaper = threading.Thread(target=run, name="reaper", daemon=True)
        self._reaper.start()

    def stats(self) -> dict[str, dict[str, int]]:
        """Each pool's counts."""
        return {name: pool.stats() for name, pool in self.pools.items()}

    def close(self) -> None:
        """Stop every worker."""
        self._stopping.set()
        for pool in self.pools.values():
            pool.close()


def lambda_environment(
    base: Mapping[str, str],
    function_environment: Mapping[str, str | None],
    pinned: Iterable[str] = (),
) -> dict[str, str]:
    """A function's environment: the stack's, then the template's values, except names the shell pinned.

    Template values only CloudFormation knows (None) leave the stack's value in place. TZ is UTC,
    as Lambda sets it.
    """
    pinned = frozenset(pinned)
    environment = dict(base)
    for name, value in function_environment.items():
        if value is not None and name not in pinned:
            environment[name] = value
    environment["TZ"] = ":UTC"
    return environment


if __name__ == "__main__":
    sys.exit(worker_main(int(sys.argv[1])))
