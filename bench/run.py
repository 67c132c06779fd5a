"""`make bench`: what production's cold start costs, against floors measured in the same run, and gates.

Measured on what `sam build` produces (bench/host_build.py builds this machine's architecture with the
same makefile method, bytecode included), laid out as Lambda lays it out and read-only:

- DynamoDB requests of a readings page and of a save of four meters (botocore events, moto);
- botocore clients a fresh container makes over a resident's first six requests (goal: one);
- the cold start end to end, a fresh process to its first answer against DynamoDB Local, over a floor
  handler with the same libraries and requests through one client (bench/floors/), in pairs: web_api's
  readings page, viber_webhook's typed reading (a Viber user linked to 77777, the reply to a local fake
  of Viber's API), ivr_handler's account confirmation (a signed keypad webhook);
- each function's import over its floor's import, both with the function's collector policy;
- the import from the built layer without bytecode (as before) and from the source tree, for scale;
- bench/local_stack.py's figures, when that module exists;
- bench/billing_import.py's: the billing import over raw BatchWriteItem (gated), the print run's rate.

Writes bench/results.json, prints it, and exits 1 when a goal is missed.

Another function is measured the same way: a floor in bench/floors/<name>/app.py that sends what its
first request sends through one client, a `measure_<name>()` with `measured(build, name, LogicalId,
endpoint)`, `cold_start_of(subject, first_request, ...)` and `imports_of(...)`, called in main(), and
its `cold_start.<name>.ratio` in GOALS. A value the function reads from SSM in AWS (`<NAME>_PARAMETER`)
needs a bench value in BENCH_PARAMETERS.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import copy
import hashlib
import hmac
import importlib
import importlib.util
import io
import itertools
import json
import os
import platform
import secrets
import statistics
import sys
import sysconfig
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from bench.cold_start import (
    Container,
    Event,
    clients_and_requests,
    cold_start,
    import_times,
    lambda_container,
    paired_ratio,
    paired_ratios,
    quartiles,
    run,
)
from bench.environment import SIGNING_KEY, moto_environment
from bench.host_build import (
    TEMPLATE,
    Build,
    build_for_host,
    function_properties,
    lambda_runtime,
    without_bytecode,
)
from local.tables import load_template

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
FLOORS = ROOT / "bench" / "floors"
PUBLIC_BASE_URL = "http://127.0.0.1:3000"  # CloudFront's address in AWS: the phone's signatures cover it
# What the functions read from SSM Parameter Store in AWS (`<NAME>_PARAMETER`): bench values, no secrets.
PARAMETER_SUFFIX = "_PARAMETER"
BENCH_PARAMETERS = {
    "TOKEN_SIGNING_KEY": SIGNING_KEY,
    "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
    "VIBER_AUTH_TOKEN": "bench-viber-auth-token",
    "TWILIO_AUTH_TOKEN": "bench-twilio-auth-token",
}
# Dotted paths into results.json and the most each may be.
GOALS: dict[str, float] = {
    "ddb_requests.readings_page": 2,
    "ddb_requests.readings_page_warm": 2,
    "ddb_requests.save_account_readings": 3,
    "ddb_requests.save_account_readings_warm": 3,
    "clients_per_container.web_api": 1,
    "cold_import_ratio.web_api": 1.25,
    "cold_start.web_api.ratio": 1.3,
    "cold_start.viber_webhook.ratio": 1.3,
    "cold_start.ivr_handler.ratio": 1.3,
}
# Gated only when bench/local_stack.py exists and reports them.
LOCAL_STACK_GOALS: dict[str, float] = {
    "local_stack.p99_over_single_p50": 50,
    "local_stack.refused": 0,
}
SAVED_ROWS = {
    "rows": [{"meter_id": f"77777.{n}", "value": v} for n, v in enumerate(("6200", "205", "106", "53"), 1)]
}


def progress(message: str) -> None:
    """A line on stderr while the benchmark runs (stdout gets the results)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---- DynamoDB requests per web request (moto, in this process) -------------------------------------


def ddb_requests() -> dict[str, Any]:
    """DynamoDB requests of one readings page and one save of 4 meters, cold container and warm."""
    moto_environment()
    import boto3
    import botocore.session
    import pynamodb.connection.base as pynamodb_base
    from moto import mock_aws

    calls: Counter[str] = Counter()
    session = botocore.session.get_session()
    session.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))

    from ekc import clock
    from ekc.config import clear_settings
    from ekc.storage import forget
    from functions.web_api import app
    from local.seed import seed_demo
    from local.tables import create_tables
    from tests.integration.conftest import NOW, Browser

    saved_now, saved_get_session = clock.now, pynamodb_base.get_session
    clock.now = lambda: NOW + timedelta(minutes=1)
    # Every PynamoDB connection then shares this session, and so the counter.
    pynamodb_base.get_session = lambda: session
    try:
        with mock_aws():
            create_tables(boto3.client("dynamodb", region_name="eu-central-1"))
            clear_settings()
            forget()
            seed_demo(NOW)
            web = Browser(app.lambda_handler)
            web.sign_in()

            def measure(
                method: str, path: str, body: Any = None, cold: bool = False
            ) -> tuple[int, dict[str, int]]:
                if cold:  # a new container: nothing cached
                    forget()
                calls.clear()
                answer = web.call(method, path, body)
                assert answer.status == 200, answer.raw
                return sum(calls.values()), dict(calls)

            page_cold, page_cold_ops = measure("GET", "/api/accounts/77777", cold=True)
            page_warm, page_warm_ops = measure("GET", "/api/accounts/77777")
            save_cold, save_cold_ops = measure("POST", "/api/accounts/77777/readings", SAVED_ROWS, cold=True)
            save_warm, save_warm_ops = measure("POST", "/api/accounts/77777/readings", SAVED_ROWS)
    finally:
        clock.now, pynamodb_base.get_session = saved_now, saved_get_session
        clear_settings()
        forget()
    return {
        "readings_page": page_cold,
        "readings_page_warm": page_warm,
        "save_account_readings": save_cold,
        "save_account_readings_warm": save_warm,
        "operations": {
            "readings_page": page_cold_ops,
            "readings_page_warm": page_warm_ops,
            "save_account_readings": save_cold_ops,
            "save_account_readings_warm": save_warm_ops,
        },
    }


# ---- the demo on DynamoDB Local, and the containers that use it ----------------------------------------


@contextlib.contextmanager
def layer_on_dynamodb_local(endpoint: str) -> Iterator[None]:
    """This process's layer (settings, connections) pointed at DynamoDB Local, as the bench seeds with."""
    from ekc.config import clear_settings
    from ekc.storage import forget
    from local.dynamodb import LOCAL_CREDENTIALS

    saved = dict(os.environ)
    os.environ.update(
        DYNAMODB_ENDPOINT=endpoint,
        AWS_ACCESS_KEY_ID=LOCAL_CREDENTIALS["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=LOCAL_CREDENTIALS["aws_secret_access_key"],
        TABLE_NAME="MainTable",
        TOKEN_SIGNING_KEY=SIGNING_KEY,
    )
    for name in ("ARGON2_MEMORY_KIB", "ARGON2_TIME_COST"):  # production's password cost, as the app has
        os.environ.pop(name, None)
    clear_settings()
    forget()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        clear_settings()
        forget()


@contextlib.contextmanager
def demo_on_dynamodb_local() -> Iterator[tuple[str, str]]:
    """DynamoDB Local in memory with the tables of template.yaml and the demo seeded now: (endpoint, kind)."""
    from local.dynamodb import client, start_dynamodb
    from local.seed import seed_demo
    from local.tables import create_tables

    with start_dynamodb(in_memory=True) as dynamodb:
        create_tables(client(dynamodb.endpoint))
        with layer_on_dynamodb_local(dynamodb.endpoint):
            seed_demo(datetime.now(UTC))
        yield dynamodb.endpoint, dynamodb.kind


def warm_up_dynamodb(endpoint: str, rounds: int = 150) -> None:
    """Run the reads and writes the containers will send until DynamoDB Local's JVM has compiled them."""
    from local.dynamodb import client

    dynamodb = client(endpoint)
    catalog = {"pk": {"S": "CATALOG"}, "sk": {"S": "ORGANIZATIONS"}}
    scratch = {"pk": {"S": "BENCH#warm-up"}, "sk": {"S": "BENCH"}}
    for _ in range(rounds):
        dynamodb.put_item(TableName="MainTable", Item={**scratch, "type": {"S": "Bench"}})
        dynamodb.get_item(TableName="MainTable", Key=catalog)
        dynamodb.batch_get_item(RequestItems={"MainTable": {"Keys": [catalog, scratch]}})
        dynamodb.transact_get_items(
            TransactItems=[{"Get": {"TableName": "MainTable", "Key": key}} for key in (scratch, catalog)]
        )
        dynamodb.query(
            TableName="MainTable",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "ACC#77777"}},
        )
    dynamodb.delete_item(TableName="MainTable", Key=scratch)


def function_environment(logical_id: str, endpoint: str) -> dict[str, str]:
    """The function's environment from template.yaml, plus what Lambda sets and DynamoDB Local's address."""
    from local.dynamodb import LOCAL_CREDENTIALS

    template = load_template(TEMPLATE)
    properties = function_properties(template, logical_id)
    parameters = {name: str(p["Default"]) for name, p in template["Parameters"].items() if "Default" in p}
    parameters["StageName"] = "bench"
    environment = {}
    for name, value in ((properties.get("Environment") or {}).get("Variables") or {}).items():
        if isinstance(value, str | int | float):
            environment[name] = str(value)
        elif isinstance(value, dict) and value.get("Ref") in parameters:
            environment[name] = parameters[value["Ref"]]
        elif isinstance(value, dict) and value.get("Ref") in template["Resources"]:
            environment[name] = value["Ref"]  # a table: the local tables are named by their logical id
        elif name.endswith(PARAMETER_SUFFIX):
            # In AWS the value comes from SSM at its first use (one GetParameter, not measured here):
            # the bench gives the variable itself, a bench value, so the settings never look for SSM.
            setting = name.removesuffix(PARAMETER_SUFFIX)
            if setting not in BENCH_PARAMETERS:
                raise RuntimeError(f"{logical_id} reads {setting} from SSM: give it a bench value in run.py")
            environment[setting] = BENCH_PARAMETERS[setting]
    environment.update(
        AWS_LAMBDA_FUNCTION_NAME=f"bench-{logical_id}",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(properties.get("MemorySize", 128)),
        AWS_EXECUTION_ENV=f"AWS_Lambda_{properties['Runtime']}",
        AWS_REGION="eu-central-1",
        AWS_DEFAULT_REGION="eu-central-1",
        AWS_ACCESS_KEY_ID=LOCAL_CREDENTIALS["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=LOCAL_CREDENTIALS["aws_secret_access_key"],
        DYNAMODB_ENDPOINT=endpoint,
    )
    return environment


def http_event(method: str, path: str, body: Any = None, cookie: str | None = None) -> Event:
    """An API Gateway HTTP API (v2) event, as tests/events/http_api_v2.json shapes it."""
    from tests.integration.conftest import Browser

    return Browser(handler=None, cookie=cookie).event(method, path, body)


def resident_first_requests() -> list[Event]:
    """A resident's first six requests: sign in, me, accounts, readings page, save, a meter's history."""
    from local.seed import DEMO_EMAIL, DEMO_PASSWORD

    return [
        http_event("POST", "/api/auth/signin", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}),
        http_event("GET", "/api/me"),
        http_event("GET", "/api/accounts"),
        http_event("GET", "/api/accounts/77777"),
        http_event("POST", "/api/accounts/77777/readings", SAVED_ROWS),
        http_event("GET", "/api/accounts/77777/meters/77777.1/history"),
    ]


# ---- bytecode in the build -------------------------------------------------------------------------------


def bytecode_counts(folder: Path) -> dict[str, int]:
    """Modules in a built folder, and how many have an unchecked-hash .pyc of this Python beside them."""
    modules = list(folder.rglob("*.py"))
    compiled = 0
    for module in modules:
        pyc = Path(importlib.util.cache_from_source(str(module)))
        if pyc.is_file():
            header = pyc.read_bytes()[:8]
            compiled += header[:4] == importlib.util.MAGIC_NUMBER and header[4:8] == b"\x01\0\0\0"
    return {"modules": len(modules), "unchecked_hash_pyc": compiled}


# ---- bench/local_stack.py, when present ------------------------------------------------------------------


def local_stack_figures() -> dict[str, Any] | None:
    """bench.local_stack.measure()'s figures, or None when that module does not exist (yet)."""
    if importlib.util.find_spec("bench.local_stack") is None:
        return None
    progress("the local stack (bench/local_stack.py)")
    return importlib.import_module("bench.local_stack").measure()


# ---- the doors' and the rules' own benchmarks ------------------------------------------------------------

# Module, where its figures go in results.json, and its goals (dotted paths into results.json).
# Each module's measure() returns a dict; the DynamoDB request counts join `ddb_requests`.
EXTRAS: tuple[tuple[str, str, dict[str, float]], ...] = (
    ("bench.viber", "ddb_requests", {"ddb_requests.viber_reading_message": 3}),
    ("bench.speech", "speech", {"speech.wrong_values": 0}),
    ("bench.plausibility", "plausibility", {"plausibility.new.genuine_questioned": 0}),
    (
        "bench.phone",
        "phone",
        {
            "phone.ddb_requests.ivr_step": 2,
            "phone.ddb_requests.ivr_account_entry": 4,
            "phone.speech_interpreter.wrong_values": 0,
        },
    ),
    # 100,000 meters on DynamoDB Local (some 20 minutes): its figures' names start with "window_close.".
    (
        "bench.window_close",
        "window_close",
        {"window_close.ratio_to_raw_writes": 1.5, "window_close.reads_per_botless_meter": 0},
    ),
)


def extra_figures(results: dict[str, Any], goals: dict[str, float]) -> None:
    """Run each door's and rule's own benchmark that exists, adding its figures and goals."""
    for module, key, its_goals in EXTRAS:
        if importlib.util.find_spec(module) is None:
            continue
        progress(f"{module.removeprefix('bench.')} ({module.replace('.', '/')}.py)")
        with contextlib.redirect_stdout(io.StringIO()):  # their own printouts and metric lines
            figures = importlib.import_module(module).measure()
        if key == "ddb_requests":
            operations = figures.pop("operations", {})
            results["ddb_requests"].update(figures)
            results["ddb_requests"].setdefault("operations", {}).update(operations)
        else:
            results[key] = {name.removeprefix(f"{key}."): value for name, value in figures.items()}
        goals.update(its_goals)


# ---- goals -----------------------------------------------------------------------------------------------


def _lookup(results: dict[str, Any], dotted: str) -> Any:
    value: Any = results
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def missed_goals(results: dict[str, Any], goals: dict[str, float]) -> list[str]:
    """Each goal whose figure is above its limit, or missing."""
    missed = []
    for name, limit in goals.items():
        value = _lookup(results, name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            missed.append(f"{name}: not measured (got {value!r}), goal <= {limit}")
        elif value > limit:
            missed.append(f"{name}: {value} > {limit}")
    return missed


# ---- the run ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """A function as the benchmark runs it: built, and beside it its floor (bench/floors/<name>/app.py)."""

    name: str
    logical_id: str
    function: Container
    floor: Container
    source_tree: Container


def measured(
    build: Build, name: str, logical_id: str, endpoint: str, extra: dict[str, str] | None = None
) -> Measured:
    """A function's container from the build (its /var/task and the layers), and its floor's.

    `extra`: environment the bench itself decides (a local fake's address), for both alike.
    """
    template = load_template(TEMPLATE)
    properties = function_properties(template, logical_id)
    environment = function_environment(logical_id, endpoint) | (extra or {})
    layer_ids = [layer["Ref"] for layer in properties.get("Layers") or [] if isinstance(layer, dict)]
    layers = [build.layers[layer_id] for layer_id in layer_ids]
    sources = [ROOT / template["Resources"][layer_id]["Properties"]["ContentUri"] for layer_id in layer_ids]
    # sys.path as Lambda orders it: /var/task, the layers' /opt/python, then the runtime's own packages.
    layers = [*layers, lambda_runtime()]
    function = lambda_container(name, build.functions[logical_id], layers, environment, properties["Handler"])
    # The floor's app.py first, then the built function's folder for its own packages (viberbot, twilio).
    floor_layers = [build.functions[logical_id], *layers]
    floor = lambda_container("floor", FLOORS / name, floor_layers, environment, "app.lambda_handler")
    # The source tree as a developer runs it: the function's folder, the layers' sources, the venv's packages.
    source_tree = Container(
        "source_tree",
        (ROOT / properties["CodeUri"], *sources, Path(sysconfig.get_paths()["purelib"])),
        environment,
        function.module,
        function.handler,
        write_bytecode=True,
    )
    return Measured(name, logical_id, function, floor, source_tree)


def cold_start_of(
    subject: Measured, first_request: Callable[[], Event], pairs: int, step: Callable[[str], None]
) -> dict[str, Any]:
    """A fresh container of the function to the answer of `first_request`, over its floor's, in pairs."""
    # The floor must send what the function sends, or the ratio compares different work.
    checked = [run(c, [first_request()], instrument=True) for c in (subject.function, subject.floor)]
    sent, floor_sent = (r.answers[0]["operations"] for r in checked)
    if Counter(sent) != Counter(floor_sent) or checked[1].clients != 1:
        raise RuntimeError(
            f"the floor no longer matches {subject.name}'s first request: it sends {sent}, the floor "
            f"{floor_sent} through {checked[1].clients} clients; update bench/floors/{subject.name}/app.py"
        )
    step(f"{subject.name}: cold start end to end (a fresh process to its first answer), {pairs} pairs")
    figures = cold_start(subject.function, subject.floor, first_request, pairs=pairs, progress=step)
    return {**figures, "operations": sent, "clients": checked[0].clients}


def imports_of(subject: Measured, build: Build, rounds: int, step: Callable[[str], None]) -> dict[str, Any]:
    """The function's import over its floor's (same collector policy), and with other bytecode at hand."""
    floor_gc_on = replace(
        subject.floor, name="floor_gc_on", environment={**subject.floor.environment, "BENCH_FLOOR_GC": "on"}
    )
    step(
        f"{subject.name}: imports against its floor (collector as {subject.name}'s, and on), {rounds} rounds"
    )
    times, cpu = import_times([subject.function, subject.floor, floor_gc_on], rounds=rounds, progress=step)
    # For scale, fewer rounds: the built layer without its bytecode (as sam built it before) and the
    # source tree with the venv's packages (a developer's checkout, bytecode written as it goes).
    bare = without_bytecode(build)
    relocated = tuple(
        bare.directory / path.relative_to(build.directory) if path.is_relative_to(build.directory) else path
        for path in subject.function.paths
    )
    no_bytecode = replace(subject.function, name="built_without_bytecode", paths=relocated)
    scale_rounds = max(5, rounds // 4)
    step(f"{subject.name}: imports without bytecode and from the source tree, {scale_rounds} rounds")
    scale, _ = import_times(
        [subject.function, no_bytecode, subject.source_tree], rounds=scale_rounds, progress=step
    )
    name = subject.name
    seconds = {key: round(statistics.median(values), 4) for key, values in times.items()}
    seconds |= {key: round(statistics.median(scale[key]), 4) for key in (no_bytecode.name, "source_tree")}
    return {
        "ratio": paired_ratio(times, name, "floor"),
        "ratio_quartiles": quartiles(paired_ratios(times, name, "floor")),
        "cpu_ratio": paired_ratio(cpu, name, "floor"),
        "ratio_vs_floor_with_gc_on": paired_ratio(times, name, "floor_gc_on"),
        "seconds": seconds,
        "bytecode_speedup": paired_ratio(scale, no_bytecode.name, name),
        "built_over_source_tree": paired_ratio(scale, name, "source_tree"),
    }


def measure_web_api(build: Build, endpoint: str, pairs: int, rounds: int) -> dict[str, Any]:
    """web_api: clients over a resident's first requests, cold start to a readings page, imports."""
    subject = measured(build, "web_api", "WebApiFunction", endpoint)
    progress("web_api: botocore clients over a fresh container's first six requests")
    first = clients_and_requests(subject.function, resident_first_requests())
    cookie = first.pop("cookie")
    if not cookie:
        raise RuntimeError("signing in as the demo resident gave no session cookie")

    def readings_page() -> Event:
        return http_event("GET", "/api/accounts/77777", cookie=cookie)

    return {
        "clients": first,
        "cold_start": cold_start_of(subject, readings_page, pairs, progress),
        "imports": imports_of(subject, build, rounds, progress),
    }


# ---- viber_webhook: a linked resident types a reading -----------------------------------------------

VIBER_ID = "bench-viber-user-000000=="
# The meters of 77777 and a value each that the demo takes as plausible today (as SAVED_ROWS).
VIBER_READINGS = tuple((row["meter_id"], row["value"]) for row in SAVED_ROWS["rows"])


class _QuietRequests(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""


@contextlib.contextmanager
def viber_fake() -> Iterator[str]:
    """local/viber_fake.py's Viber REST API on a free port of this machine: its base URL (VIBER_API_URL)."""
    from local.viber_fake import ViberFake, wsgi_app

    fake = ViberFake(auth_token=lambda: BENCH_PARAMETERS["VIBER_AUTH_TOKEN"])
    server = make_server("127.0.0.1", 0, wsgi_app(fake), handler_class=_QuietRequests)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/pa"
    finally:
        server.shutdown()
        server.server_close()


def viber_states(endpoint: str) -> dict[str, str]:
    """Link VIBER_ID to 77777 as a resident does (the invoice QR's conversation_started, through the
    layer's services), and the signed tracking_data of each meter's "type the reading" step."""
    from ekc.channels import viber_chat
    from ekc.services import qrcodes

    with layer_on_dynamodb_local(endpoint):
        now = datetime.now(UTC)
        context = qrcodes.viber_link("77777", now).split("context=", 1)[1]
        turn = viber_chat.started(VIBER_ID, context, subscribed=True, now=now)
        if not turn.person_id:
            raise RuntimeError("the bench's Viber user was not linked to 77777")
        return {
            meter: viber_chat.encode_state(
                viber_chat.ChatState(turn.person_id, viber_chat.Step.METER, account="77777", meter=meter),
                VIBER_ID,
                now,
            )
            for meter, _ in VIBER_READINGS
        }


def viber_callback(body: dict[str, Any]) -> Event:
    """The API Gateway event of a callback Viber signed (X-Viber-Content-Signature over the raw body)."""
    from tests.integration.conftest import EVENT

    raw = json.dumps(body, ensure_ascii=False)
    token = BENCH_PARAMETERS["VIBER_AUTH_TOKEN"].encode()
    event = copy.deepcopy(EVENT)
    event.update(routeKey="POST /viber/webhook", rawPath="/viber/webhook", body=raw, isBase64Encoded=False)
    event["requestContext"]["http"].update(method="POST", path="/viber/webhook")
    event["headers"] = {
        **event["headers"],
        "content-type": "application/json",
        "x-viber-content-signature": hmac.new(token, raw.encode(), hashlib.sha256).hexdigest(),
    }
    return event


def measure_viber(build: Build, endpoint: str, pairs: int, rounds: int) -> dict[str, Any]:
    """viber_webhook: cold start to the answer of a linked resident's typed reading, imports.

    The first callback after a cold start is a resident's message (conversation_started comes once per
    person); the typed reading is the one they wait for, and it sends what a cold container must: the
    account's page, the catalogue, the save, and the confirmation to Viber's API (a local fake here).
    Each meter takes at most 20 readings a day from residents: the callbacks take turns on the four.
    """
    if 4 + 1 + pairs > len(VIBER_READINGS) * 20:  # the check, the warm-up and the pairs
        raise RuntimeError(f"--pairs {pairs}: more readings than 77777's meters take in a day")
    states = viber_states(endpoint)
    tokens = itertools.count(7_000_000_000_000_000_000 + time.time_ns() % 10**15)
    turns = itertools.cycle(VIBER_READINGS)

    def typed_reading() -> Event:
        meter, value = next(turns)
        return viber_callback(
            {
                "event": "message",
                "timestamp": int(time.time() * 1000),
                "message_token": next(tokens),
                "sender": {"id": VIBER_ID, "name": "Bench", "language": "uk", "api_version": 10},
                "message": {"type": "text", "text": value, "tracking_data": states[meter]},
            }
        )

    with viber_fake() as api_url:
        subject = measured(
            build, "viber_webhook", "ViberWebhookFunction", endpoint, {"VIBER_API_URL": api_url}
        )
        return {
            "cold_start": cold_start_of(subject, typed_reading, pairs, progress),
            "imports": imports_of(subject, build, rounds, progress),
        }


# ---- ivr_handler: a caller confirms the account number they keyed in ------------------------------------

IVR_CALLER = "+380671234567"


def ivr_account_confirmed() -> Event:
    """The keypad line's webhook after the caller pressed 1 to "is 77777 right?", signed as Twilio signs it.

    A call's first webhook (the greeting) sends no DynamoDB request; this is the first that does, in
    every call: the entry reserved against the caller's and the account's budgets, the account's page
    (and, cold, the catalogue), the reservation given back.
    """
    from twilio.request_validator import RequestValidator

    from ekc.channels import phone
    from ekc.services import calls
    from tests.phone_driver import ACCOUNT_SID, KEYPAD_NUMBER, event_for

    token = BENCH_PARAMETERS["TWILIO_AUTH_TOKEN"]
    sid = "CA" + secrets.token_hex(16)
    state = calls.CallState(step=calls.Step.ACCOUNT_CHECK, turn=2, account="77777")
    expires = datetime.now(UTC) + timedelta(hours=1)
    signed_state = phone.encode_state(state, sid, calls.Line.KEYPAD, token, expires)
    url = f"{PUBLIC_BASE_URL}{phone.PATHS[calls.Line.KEYPAD]}?{phone.STATE_PARAMETER}={signed_state}"
    form = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": "in-progress",
        "Called": KEYPAD_NUMBER,
        "Caller": IVR_CALLER,
        "Digits": "1",
        "Direction": "inbound",
        "FinishedOnKey": "",
        "From": IVR_CALLER,
        "FromCountry": "UA",
        "To": KEYPAD_NUMBER,
        "ToCountry": "UA",
        "msg": "Gather End",
    }
    signature = RequestValidator(token).compute_signature(url, form)
    return event_for(url, form, {"X-Twilio-Signature": signature})


def measure_ivr(build: Build, endpoint: str, pairs: int, rounds: int) -> dict[str, Any]:
    """ivr_handler: cold start to the answer of a call's account confirmation (keypad line), imports."""
    subject = measured(build, "ivr_handler", "IvrFunction", endpoint)
    return {
        "cold_start": cold_start_of(subject, ivr_account_confirmed, pairs, progress),
        "imports": imports_of(subject, build, rounds, progress),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure, write bench/results.json, print it, and exit 1 if a goal is missed."""
    parser = argparse.ArgumentParser(description="make bench")
    parser.add_argument("--rebuild", action="store_true", help="sam build again even if nothing changed")
    parser.add_argument("--pairs", type=int, default=21, help="cold start pairs (at least 9)")
    parser.add_argument("--rounds", type=int, default=21, help="import rounds")
    args = parser.parse_args(argv)
    if args.pairs < 9:
        parser.error("--pairs must be at least 9")

    load_at_start = os.getloadavg()[0]
    build = build_for_host(progress=progress, force=args.rebuild)
    progress("DynamoDB requests per web request (moto)")
    with contextlib.redirect_stdout(io.StringIO()):  # the handler's log and metric lines are not results
        requests = ddb_requests()
    progress("DynamoDB Local in memory, the demo seeded, its JVM warmed up")
    # The floors' bytecode too, so both sides of every ratio load compiled modules.
    compileall.compile_dir(FLOORS, quiet=1)
    with demo_on_dynamodb_local() as (endpoint, dynamodb_kind):
        warm_up_dynamodb(endpoint)
        web_api = measure_web_api(build, endpoint, args.pairs, args.rounds)
        doors = {
            "viber_webhook": measure_viber(build, endpoint, args.pairs, args.rounds),
            "ivr_handler": measure_ivr(build, endpoint, args.pairs, args.rounds),
        }
    stack = local_stack_figures()
    progress("the billing import against raw BatchWriteItem, the print run's codes (bench/billing_import.py)")
    from bench import billing_import  # imported here: it starts its own DynamoDB Local

    with contextlib.redirect_stdout(io.StringIO()):
        billing = billing_import.measure()

    imports = web_api["imports"]
    results: dict[str, Any] = {
        "ddb_requests": requests,
        "clients_per_container": {
            "web_api": web_api["clients"]["clients"],
            "detail": {"web_api": web_api["clients"]},
        },
        "cold_start": {"web_api": web_api["cold_start"]},
        # The function's import over its floor's, both with its collector policy (the gated one), and
        # over the floor with the collector on, as the benchmark compared before.
        "cold_import_ratio": {
            "web_api": imports["ratio"],
            "web_api_vs_floor_with_gc_on": imports["ratio_vs_floor_with_gc_on"],
            "web_api_in_cpu_time": imports["cpu_ratio"],
            "web_api_quartiles": imports["ratio_quartiles"],
        },
        "cold_import_seconds": {"web_api": imports["seconds"]},
        # The built layer's import with its bytecode against without (as sam built it before) and
        # against the source tree with the venv's packages (a developer's checkout).
        "layer_import": {
            "web_api": {
                "bytecode_speedup": imports["bytecode_speedup"],
                "built_over_source_tree": imports["built_over_source_tree"],
            }
        },
        "bytecode": {
            name: bytecode_counts(path) for name, path in {**build.layers, **build.functions}.items()
        },
        "environment": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            # Other work on the machine widens the spread of every ratio (see their quartiles).
            "load_average": [round(load_at_start, 2), round(os.getloadavg()[0], 2)],
            "dynamodb": dynamodb_kind,
            "build": str(build.directory.relative_to(ROOT)),
        },
    }
    for name, door in doors.items():  # the other doors' functions, measured as web_api is
        results["cold_start"][name] = door["cold_start"]
        results["cold_import_ratio"] |= {
            name: door["imports"]["ratio"],
            f"{name}_vs_floor_with_gc_on": door["imports"]["ratio_vs_floor_with_gc_on"],
            f"{name}_in_cpu_time": door["imports"]["cpu_ratio"],
            f"{name}_quartiles": door["imports"]["ratio_quartiles"],
        }
        results["cold_import_seconds"][name] = door["imports"]["seconds"]
        results["layer_import"][name] = {
            "bytecode_speedup": door["imports"]["bytecode_speedup"],
            "built_over_source_tree": door["imports"]["built_over_source_tree"],
        }
    results["import"], results["qr"] = billing["import"], billing["qr"]
    goals = dict(GOALS) | billing_import.GOALS
    if stack is not None:
        results["local_stack"] = stack
        goals.update(LOCAL_STACK_GOALS)
    extra_figures(results, goals)
    results["goals"] = goals
    missed = missed_goals(results, goals)
    results["missed"] = missed
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    for line in missed:
        print(f"goal missed: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
