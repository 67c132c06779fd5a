"""The local stack's Lambda-like runtime with real worker processes, on a tiny fake template.

The fake functions (tests/fakes/local_stack) share a layer module with module-level state and
answer what their process sees; the tests assert those facts, never durations.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local.run import function_configs
from local.runtime import FunctionConfig, InvokeResult, Runtime
from local.schedule import Scheduler
from local.template import Resolver, functions, load_template, schedule_events

FAKE = Path(__file__).resolve().parents[1] / "fakes" / "local_stack"
REFS = {"Things": "Things", "DataBucket": "data-bucket"}


def _functions() -> list[Any]:
    template = load_template(FAKE / "template.yaml")
    return functions(template, Resolver(template, REFS, region="eu-central-1"))


def _runtime(pinned: dict[str, str] | None = None) -> Runtime:
    environ = {**os.environ, **(pinned or {})}
    configs = function_configs(_functions(), environ, pinned or {}, max_workers=4, base=FAKE)
    return Runtime(configs, "eu-central-1")


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    """Both fake functions' pools, one warm worker each."""
    runtime = _runtime()
    assert runtime.warm() == {}
    yield runtime
    runtime.close()


def _in_parallel(runtime: Runtime, calls: list[tuple[str, dict[str, Any]]]) -> list[InvokeResult]:
    results: list[InvokeResult | None] = [None] * len(calls)

    def call(index: int) -> None:
        results[index] = runtime.invoke(*calls[index])

    threads = [threading.Thread(target=call, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]


def test_runtime_runs_each_function_in_its_own_process_with_its_own_environment(runtime: Runtime) -> None:
    # When each function is invoked, alpha three times
    alphas = [runtime.invoke("AlphaFunction", {}) for _ in range(3)]
    beta = runtime.invoke("BetaFunction", {})

    # Then each ran in its own process with its own service name, read at import
    assert all(result.ok for result in [*alphas, beta])
    alpha = alphas[-1].payload
    assert alpha["service_at_import"] == "alpha" and beta.payload["service_at_import"] == "beta"
    assert alpha["pid"] != beta.payload["pid"] and alpha["pid"] != os.getpid()
    # And module state of the shared layer is not shared: alpha counted 3 calls, beta its own 1
    assert alpha["calls"] == 3 and beta.payload["calls"] == 1
    # And the environment is the stack's + Globals + the function's own, template values resolved
    assert alpha["environment"] | {"S3_ENDPOINT_URL": None, "PINNED_BY_SHELL": None} == {
        "SHARED": "from-globals",
        "OVERRIDDEN": "from-alpha",
        "TABLE_NAME": "Things",
        "DATA_BUCKET": "data-bucket",
        "S3_ENDPOINT_URL": None,
        "TZ": ":UTC",
        "PINNED_BY_SHELL": None,
    }
    assert beta.payload["environment"]["OVERRIDDEN"] == "from-globals"
    # And as in Lambda: the code folder is the working directory, the repository is not importable
    assert alpha["cwd"] == str(FAKE / "functions" / "alpha")
    assert alpha["repository_importable"] is False and alpha["local_package_loaded"] is False
    assert (alpha["function_name"], alpha["memory_limit_in_mb"]) == ("AlphaFunction", 256)
    assert 0 < alpha["remaining_ms"] <= 30_000


def test_runtime_lets_the_developers_shell_win_over_the_template() -> None:
    # Given OVERRIDDEN set in the shell that started the stack
    runtime = _runtime(pinned={"OVERRIDDEN": "from-shell", "PINNED_BY_SHELL": "yes"})
    try:
        facts = runtime.invoke("AlphaFunction", {}).payload
    finally:
        runtime.close()
    # Then the function sees the shell's value, not its template value
    assert facts["environment"]["OVERRIDDEN"] == "from-shell"
    assert facts["environment"]["PINNED_BY_SHELL"] == "yes"


def test_runtime_keeps_handler_output_off_the_result_channel(capfd: pytest.CaptureFixture[str]) -> None:
    # Given workers started while this test captures the stack's own stdout
    runtime = _runtime()
    # When a handler prints a structured log line on its stdout while answering
    try:
        result = runtime.invoke("BetaFunction", {"hello": "світ"})
    finally:
        runtime.close()
    # Then the answer is intact, and the line went to the stack's own output
    assert result.ok and result.payload["event"] == {"hello": "світ"}
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    assert {"level": "INFO", "service": "beta", "message": "handled"} in lines


def test_runtime_runs_invocations_of_one_function_at_once(runtime: Runtime, tmp_path: Path) -> None:
    # Given two invocations that each wait until both have arrived (or give up alone)
    event = {"rendezvous": str(tmp_path / "meeting"), "peers": 2}

    # When they are sent together
    first, second = _in_parallel(runtime, [("AlphaFunction", event), ("AlphaFunction", event)])

    # Then each met the other: they ran at the same time, in two workers
    assert first.ok and second.ok
    assert first.payload["seen"] == second.payload["seen"] == 2
    assert first.payload["pid"] != second.payload["pid"]


def test_runtime_caps_a_function_at_its_reserved_concurrency(runtime: Runtime, tmp_path: Path) -> None:
    # Given alpha's ReservedConcurrentExecutions of 3 and five invocations that each wait for all five
    event = {"rendezvous": str(tmp_path / "crowd"), "peers": 5, "wait": 1}
    results = _in_parallel(runtime, [("AlphaFunction", event)] * 5)
    # Then all were answered, by no more than three workers
    assert all(result.ok for result in results)
    assert len({result.payload["pid"] for result in results}) <= 3
    assert runtime.stats()["AlphaFunction"]["max"] == 3


def test_runtime_replaces_a_crashed_worker_and_answers_the_error(runtime: Runtime) -> None:
    before = runtime.invoke("AlphaFunction", {}).payload["pid"]
    # When the handler's process dies mid-invocation
    crashed = runtime.invoke("AlphaFunction", {"crash": True})
    # Then the caller gets Lambda's error, and the next call runs in a fresh worker
    assert not crashed.ok and crashed.error_type == "Runtime.ExitError"
    after = runtime.invoke("AlphaFunction", {})
    assert after.ok and after.payload["pid"] != before and after.payload["calls"] == 1
    assert runtime.stats()["AlphaFunction"]["crashes"] == 1


def test_runtime_stops_a_worker_that_outlives_the_timeout(runtime: Runtime) -> None:
    before = runtime.invoke("BetaFunction", {}).payload["pid"]
    # When beta (Timeout: 2) sleeps past its timeout
    late = runtime.invoke("BetaFunction", {"sleep": 4})
    # Then Lambda's timeout error, and the worker was replaced
    assert not late.ok and late.error_type == "Sandbox.Timedout"
    assert late.payload["errorMessage"].endswith("Task timed out after 2.00 seconds")
    after = runtime.invoke("BetaFunction", {})
    assert after.ok and after.payload["pid"] != before


def test_runtime_reports_a_raised_error_and_keeps_the_worker(runtime: Runtime) -> None:
    before = runtime.invoke("AlphaFunction", {}).payload["pid"]
    failed = runtime.invoke("AlphaFunction", {"raise": "no such meter"})
    assert not failed.ok and failed.error_type == "RuntimeError"
    assert failed.payload["errorMessage"] == "no such meter" and failed.payload["stackTrace"]
    # A handled exception does not end the container in Lambda either
    assert runtime.invoke("AlphaFunction", {}).payload["pid"] == before


def test_runtime_reports_a_failed_cold_start() -> None:
    # Given a function whose handler module does not exist
    config = FunctionConfig(
        "Broken", "missing.handler", (str(FAKE / "functions" / "alpha"),), dict(os.environ)
    )
    runtime = Runtime([config])
    try:
        # When it is warmed and invoked
        errors = runtime.warm()
        result = runtime.invoke("Broken", {})
    finally:
        runtime.close()
    # Then both say why, as Lambda's init error does
    assert errors["Broken"].startswith("Runtime.ImportModuleError: No module named 'missing'")
    assert not result.ok and result.error_type == "Runtime.ImportModuleError"


def test_scheduler_fires_the_fake_schedules_into_their_function(runtime: Runtime) -> None:
    # Given the fake template's schedules and a clock that is already past their first times
    started = datetime(2026, 11, 24, 21, 4, 36, tzinfo=UTC)
    answers: list[InvokeResult] = []
    done = threading.Event()

    def fire(schedule: Any, event: dict[str, Any]) -> None:
        answers.append(runtime.invoke(schedule.function.logical_id, event))
        if len(answers) == 2:
            done.set()

    scheduler = Scheduler(schedule_events(_functions()), fire, "eu-central-1", clock=lambda: started)
    assert set(scheduler.skipped) == {"BetaFunction.Paused"}

    # When the minute rule and the 02:30-Kyiv scheduler are both due
    scheduler.tick(datetime(2026, 11, 25, 0, 31, tzinfo=UTC))
    assert done.wait(timeout=60)

    # Then beta received EventBridge's Scheduled Event and the Scheduler's filled-in Input
    events = sorted((answer.payload["event"] for answer in answers), key=lambda event: "at" in event)
    rule_event, scheduler_event = events
    assert rule_event["detail-type"] == "Scheduled Event" and rule_event["source"] == "aws.events"
    assert rule_event["resources"] == ["arn:aws:events:eu-central-1:123456789012:rule/BetaFunctionEvery"]
    assert rule_event["time"] == (started + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert scheduler_event == {"at": "2026-11-25T00:30:00Z"}
    assert all(answer.payload["function"] == "beta" for answer in answers)
