"""One fresh Lambda container, as a process: import a handler from the given paths, then handle events.

Run by bench/cold_start.py as `python -I -S -B bench/container.py`, a JSON spec on stdin: isolated
(no PYTHON* variables, no site-packages, no script folder on sys.path) and writing no bytecode, as
Lambda's read-only /opt and /var/task allow none. Only the standard library is imported here before the
handler, so what is timed is what the handler's own import and first requests cost.

The spec names `paths` (prepended to sys.path, e.g. [/var/task, /opt/python]), `module` and
`handler`, the `events` to handle one after the other (a browser's cookie and CSRF token carried from
answer to answer), `instrument`: count botocore clients and DynamoDB operations by patching botocore
in this measuring process, never in the app, and `watch_compiles`: list the modules that had to be
compiled from source (the build test's check that the bytecode is used). It prints one line
`BENCH-RESULT <json>` with CLOCK_MONOTONIC times in nanoseconds, comparable with the parent's, and
the process's CPU times.
"""

import time

STARTED = time.clock_gettime_ns(time.CLOCK_MONOTONIC)

import copy  # noqa: E402 - the clock is read first, before anything else is loaded
import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

MARKER = "BENCH-RESULT "
SESSION_COOKIE = "__Host-session"


def now() -> int:
    """CLOCK_MONOTONIC in nanoseconds: the same clock in every process of this machine."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


class Context:
    """The parts of Lambda's context object that Powertools reads."""

    def __init__(self, name: str, request: int) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:eu-central-1:123456789012:function:{name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = f"00000000-0000-4000-8000-{request:012d}"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        """As if the whole timeout were left."""
        return 10_000


class Instruments:
    """botocore clients made and DynamoDB operations sent, counted from outside the app."""

    def __init__(self) -> None:
        import botocore.session

        self.clients = 0
        self.operations: list[str] = []
        original = botocore.session.Session.create_client

        def counting_create_client(session: object, *args: object, **kwargs: object) -> object:
            client = original(session, *args, **kwargs)
            self.clients += 1
            client.meta.events.register("before-call", self._count_operation)
            return client

        botocore.session.Session.create_client = counting_create_client

    def _count_operation(self, model: object, **_: object) -> None:
        self.operations.append(model.name)


class Browser:
    """Carries the session cookie and the CSRF token from one answer to the next event."""

    def __init__(self) -> None:
        self.cookie: str | None = None
        self.csrf: str | None = None

    def prepare(self, event: dict) -> dict:
        """The event with the cookie and CSRF token of earlier answers, if there were any."""
        event = copy.deepcopy(event)
        if self.cookie:
            event["cookies"] = [self.cookie]
        if self.csrf and event["requestContext"]["http"]["method"] != "GET":
            event.setdefault("headers", {})["x-csrf-token"] = self.csrf
        return event

    def read(self, answer: dict) -> None:
        """Keep what a browser would keep from an answer."""
        for cookie in answer.get("cookies") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            if name == SESSION_COOKIE:
                self.cookie = f"{name}={value}" if value else None
        body = answer.get("body") or ""
        if body.startswith("{"):
            payload = json.loads(body)
            if isinstance(payload.get("csrf"), str):
                self.csrf = payload["csrf"]


def watch_compiles() -> set[str]:
    """Record every module that has to be compiled from its source (no usable bytecode beside it)."""
    from importlib import machinery

    compiled: set[str] = set()
    original = machinery.SourceFileLoader.source_to_code

    def recording_source_to_code(
        loader: object, data: bytes, path: str, *args: object, **kw: object
    ) -> object:
        compiled.add(str(path))
        return original(loader, data, path, *args, **kw)

    machinery.SourceFileLoader.source_to_code = recording_source_to_code
    return compiled


def main() -> None:
    """Import the handler, handle the events, print the times."""
    spec = json.load(sys.stdin)
    sys.path[:0] = spec["paths"]
    os.chdir(spec["paths"][0])  # Lambda runs the handler in /var/task
    compiled = watch_compiles() if spec.get("watch_compiles") else None
    instruments = Instruments() if spec.get("instrument") else None
    import_started, import_started_cpu = now(), time.process_time_ns()
    module = importlib.import_module(spec["module"])
    handler = getattr(module, spec["handler"])
    imported, imported_cpu = now(), time.process_time_ns()
    browser = Browser()
    answers = []
    for number, event in enumerate(spec.get("events", [])):
        sent = len(instruments.operations) if instruments else 0
        answer = handler(browser.prepare(event), Context(spec["module"], number))
        answered, answered_cpu = now(), time.process_time_ns()
        browser.read(answer)
        answers.append(
            {
                "status": answer.get("statusCode"),
                "at": answered,
                "cpu": answered_cpu,
                "operations": instruments.operations[sent:] if instruments else None,
            }
        )
    result = {
        "started": STARTED,
        "import_started": import_started,
        "imported": imported,
        "import_cpu": imported_cpu - import_started_cpu,
        "answers": answers,
        "clients": instruments.clients if instruments else None,
        "cookie": browser.cookie,
        "compiled_from_source": None if compiled is None else sorted(compiled),
    }
    sys.stdout.write(MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
