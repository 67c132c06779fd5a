"""The whole system on one machine: `python -m local.run` (or `make run`).

DynamoDB Local and moto's S3 with the tables and buckets of template.yaml, the demo data, each
function in its own worker processes, its schedules fired, and one HTTP front door serving the API
routes, the cabinet and the local tools. Prints `READY <url>` once it serves, for tests to wait on.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from local.dynamodb import client as dynamodb_client
from local.dynamodb import start_dynamodb
from local.gateway import Gateway
from local.mailbox import MAILBOX
from local.mailbox import MOUNT as MAILBOX_MOUNT
from local.mailbox import environment as mailbox_environment
from local.runtime import DEFAULT_MAX_WORKERS, FunctionConfig, InvokeResult, Runtime, lambda_environment
from local.s3 import ENDPOINT_VARIABLE, PendingS3, create_buckets
from local.s3 import client as s3_client
from local.schedule import Scheduler, report_skipped
from local.server import LocalServer, make_server
from local.tables import create_tables
from local.template import (
    BUCKET_TYPE,
    ROOT,
    TABLE_TYPE,
    TEMPLATE_PATH,
    Function,
    Resolver,
    ScheduleEvent,
    bucket_name,
    functions,
    http_routes,
    load_template,
    local_buckets,
    parameter_default,
    ref_variables,
    resources_of_type,
    response_headers,
    schedule_events,
)

DEFAULT_DATA_DIR = ROOT / ".local" / "ddb"
SECRET_MARKERS = ("KEY", "SECRET", "TOKEN", "PASSWORD")
KEY_FILE_NAME = "token-signing-key"
# Each function gets its own template value in its own workers; this is only the stack's fallback.
PER_FUNCTION = ("POWERTOOLS_SERVICE_NAME",)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or 3000),
        help="port of the gateway on 127.0.0.1 (0 picks a free one; default $PORT or 3000)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where DynamoDB Local keeps its data between runs (default .local/ddb; `make reset` wipes it)",
    )
    parser.add_argument(
        "--in-memory", action="store_true", help="keep DynamoDB Local's data in memory only (for tests)"
    )
    parser.add_argument(
        "--template",
        type=Path,
        default=TEMPLATE_PATH,
        help="the SAM template to run (default template.yaml); CodeUri and layers are relative to its folder",
    )
    parser.add_argument("--no-seed", action="store_true", help="leave the tables empty (no demo data)")
    parser.add_argument(
        "--max-workers",
        type=int,
        default=DEFAULT_MAX_WORKERS,
        help="worker processes per function at most, unless the template sets ReservedConcurrentExecutions "
        f"(default {DEFAULT_MAX_WORKERS})",
    )
    return parser.parse_args(argv)


def _is_secret(name: str) -> bool:
    return any(marker in name for marker in SECRET_MARKERS)


def _shown(name: str, value: str) -> str:
    return f"****({len(value)} chars)" if _is_secret(name) else value


def _signing_key(data_dir: Path | None) -> tuple[str, str]:
    """A random dev signing key, kept beside the data so QR links and sessions survive restarts."""
    if data_dir is None:
        return secrets.token_urlsafe(48), "random, in memory"
    key_file = data_dir / KEY_FILE_NAME
    if not key_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(48), encoding="utf-8")
    return key_file.read_text(encoding="utf-8").strip(), f"random, kept in {_relative(key_file)}"


def _relative(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(ROOT))
    return str(path)


def _template_defaults(functions_: Iterable[Function]) -> dict[str, str]:
    """Template values every function shares (e.g. TABLE_NAME), for the stack's own process (the seed)."""
    values: dict[str, set[str | None]] = {}
    for function in functions_:
        for name, value in function.environment.items():
            values.setdefault(name, set()).add(value)
    return {
        name: next(iter(found)) for name, found in values.items() if len(found) == 1 and None not in found
    }


def choose_environment(
    base_url: str,
    data_dir: Path | None,
    functions_: Sequence[Function],
    template: Mapping[str, Any],
    environ: Mapping[str, str],
) -> dict[str, tuple[str, str]]:
    """The dev default of every setting, as name -> (value, where it came from); set ones win."""
    key, key_source = _signing_key(data_dir) if not environ.get("TOKEN_SIGNING_KEY") else ("", "")
    defaults: dict[str, tuple[str, str]] = {
        # DynamoDB Local accepts only letters and digits in the access key id.
        "AWS_ACCESS_KEY_ID": ("local", "dummy"),
        "AWS_SECRET_ACCESS_KEY": ("local", "dummy"),
        "AWS_REGION": ("eu-central-1", "default"),
        "AWS_DEFAULT_REGION": ("eu-central-1", "default"),
        "TABLE_NAME": ("MainTable", "default"),
        "STAGE": ("local", "default"),
        "TOKEN_SIGNING_KEY": (key, key_source),
        "PUBLIC_BASE_URL": (base_url, "this gateway"),
        "VIBER_CHAT_URI": (
            parameter_default(template, "ViberChatUri") or "local-chat",
            "template.yaml parameter default",
        ),
        "VIBER_AUTH_TOKEN": ("local-viber-auth-token", "dummy"),
        # Where the local fake of Viber's REST API is mounted (the chat simulator provides it).
        "VIBER_API_URL": (f"{base_url}/_local/viber/pa", "this gateway"),
        "TWILIO_AUTH_TOKEN": ("local-twilio-auth-token", "dummy"),
        **mailbox_environment(base_url),
        "POWERTOOLS_SERVICE_NAME": ("local", "fallback; each function's workers get their template value"),
        # No X-Ray daemon runs locally; the tracer would only complain.
        "POWERTOOLS_TRACE_DISABLED": ("true", "default"),
    }
    for name, value in _template_defaults(functions_).items():
        if name not in PER_FUNCTION:
            defaults[name] = (value, "template.yaml")
    chosen = {}
    for name, (value, source) in defaults.items():
        chosen[name] = (environ[name], "from the environment") if environ.get(name) else (value, source)
    return chosen


def _print_environment(chosen: Mapping[str, tuple[str, str]]) -> None:
    print("Environment (values already set in the shell win):")
    width = max(len(name) for name in chosen)
    for name, (value, source) in chosen.items():
        print(f"  {name.ljust(width)} = {_shown(name, value)}  ({source})")
    if os.environ.get("LOCAL_NOW"):
        print(f"  {'LOCAL_NOW'.ljust(width)} = {os.environ['LOCAL_NOW']}  (from the environment: demo clock)")
    else:
        print(f"  {'LOCAL_NOW'.ljust(width)} unset: the real clock")


def _now() -> datetime:
    """The seed's moment: LOCAL_NOW (with its UTC offset) or the real time."""
    text = os.environ.get("LOCAL_NOW")
    if not text:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise SystemExit(f"LOCAL_NOW={text!r} needs a UTC offset, e.g. 2026-11-24T23:04:36+02:00")
    return moment


def _demo_clock(
    started: datetime, real_start: float, now: Callable[[], float] = time.time
) -> Callable[[], dict[str, str]]:
    """LOCAL_NOW for a worker starting now: the demo clock has run on since the stack started.

    Each worker's clock starts at its own LOCAL_NOW, so workers started later agree with earlier ones.
    """

    def environment() -> dict[str, str]:
        return {"LOCAL_NOW": (started + timedelta(seconds=now() - real_start)).isoformat()}

    return environment


def _seed(now: datetime) -> dict[str, Any] | None:
    try:
        from local.seed import seed_demo
    except ModuleNotFoundError as exc:
        if exc.name != "local.seed":
            raise
        print("NOTICE: local/seed.py is missing: no demo data", file=sys.stderr)
        return None
    return seed_demo(now)


def _print_demo(demo: Mapping[str, Any] | None) -> None:
    if not demo:
        return
    logins = demo.get("logins") or []
    if logins:
        print("Demo logins (e-mail / password):")
        for email, password in logins:
            print(f"  {email} / {password}")
    links = demo.get("links") or {}
    if links:
        print("Demo links (invoice QR codes):")
        width = max(len(name) for name in links)
        for name, url in links.items():
            print(f"  {name.ljust(width)}  {url}")
    for key, value in demo.items():
        if key not in ("logins", "links"):
            print(f"{key}: {value}")


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # A test runner or a process manager stops us with SIGTERM: clean up as for Ctrl-C.
    raise KeyboardInterrupt


def _start_database(stack: contextlib.ExitStack, data_dir: Path | None, in_memory: bool) -> tuple[str, str]:
    """DynamoDB's endpoint and a word on where the data lives; an endpoint set in the shell is used as is."""
    if os.environ.get("DYNAMODB_ENDPOINT"):
        return os.environ["DYNAMODB_ENDPOINT"], "from the environment"
    ddb = start_dynamodb(data_dir=data_dir, in_memory=in_memory)
    stack.callback(ddb.stop)
    os.environ["DYNAMODB_ENDPOINT"] = ddb.endpoint
    if ddb.kind == "moto":
        return ddb.endpoint, "moto, in memory only"
    where = "in memory" if ddb.data_dir is None else f"data in {_relative(ddb.data_dir)}"
    return ddb.endpoint, f"DynamoDB Local, {where}"


def _start_s3(stack: contextlib.ExitStack, pending: PendingS3 | None) -> tuple[str, str]:
    """S3's endpoint and where it came from; an endpoint set in the shell is used as is."""
    if pending is None:
        return os.environ[ENDPOINT_VARIABLE], "from the environment"
    s3 = pending.ready()
    stack.callback(s3.stop)
    os.environ[ENDPOINT_VARIABLE] = s3.endpoint
    return s3.endpoint, "moto's S3, in memory only"


def function_configs(
    functions_: Iterable[Function],
    environ: Mapping[str, str],
    pinned: Iterable[str],
    max_workers: int,
    base: Path = ROOT,
) -> list[FunctionConfig]:
    """How to run each function's workers: its code and layers, its environment, its limits."""
    configs = []
    for function in functions_:
        reserved = function.reserved_concurrency
        if reserved == 0:
            print(
                f"NOTICE: {function.logical_id} has ReservedConcurrentExecutions 0 (throttled in AWS); "
                "locally it gets one worker",
                file=sys.stderr,
            )
        code_dir = str((base / function.code_uri).resolve())
        configs.append(
            FunctionConfig(
                name=function.logical_id,
                handler=function.handler,
                path=(code_dir, *(str((base / layer).resolve()) for layer in function.layers)),
                environment=lambda_environment(environ, function.environment, pinned),
                timeout=function.timeout,
                memory_size=function.memory_size,
                max_workers=max(1, reserved if reserved is not None else max_workers),
                cwd=code_dir,
            )
        )
    return configs


def _add_layers_to_path(functions_: Iterable[Function], base: Path) -> None:
    """The seed writes through the layer's package, like the functions do."""
    for function in functions_:
        for layer in function.layers:
            path = str((base / layer).resolve())
            if path not in sys.path:
                sys.path.insert(0, path)


def _fire(runtime: Runtime) -> Callable[[ScheduleEvent, dict[str, Any]], None]:
    def fire(schedule: ScheduleEvent, event: dict[str, Any]) -> None:
        result: InvokeResult = runtime.invoke(schedule.function.logical_id, event)
        outcome = "ok" if result.ok else f"FAILED {result.error_type}: {result.payload.get('errorMessage')}"
        stamp = datetime.now().astimezone().strftime("%H:%M:%S")
        print(
            f"{stamp} schedule {schedule.function.logical_id}.{schedule.event_name} "
            f"({schedule.expression}) {outcome} {result.duration_ms:.0f}ms",
            file=sys.stderr,
            flush=True,
        )

    return fire


def _print_urls(base: str, endpoint: str, s3_endpoint: str, scheduler: Scheduler) -> None:
    print("\nThe local stack is up:")
    print(f"  cabinet   {base}/")
    print(f"  API       {base}/api/")
    print(f"  OpenAPI   {base}/api/openapi.json")
    print(f"  routes    {base}/_local/routes  (functions, workers, schedules)")
    print(
        f"  invoke    make invoke FUNCTION=<LogicalId> EVENT=<event.json>  ({base}/_local/invoke/<LogicalId>)"
    )
    print(f"  Viber     {base}/_local/viber/  (chat simulator; the fake Viber API is under /_local/viber/pa)")
    print(f"  mail      {base}{MAILBOX_MOUNT}/  (letters the cabinet sent)")
    print(f"  DynamoDB  aws dynamodb list-tables --endpoint-url {endpoint}")
    print(f"  S3        aws s3 ls --endpoint-url {s3_endpoint}")
    for item in scheduler.upcoming():
        print(f"  schedule  {item['function']}.{item['event']} {item['expression']}, next at {item['next']}")
    if not (ROOT / "frontend" / "index.html").is_file():
        print("NOTICE: frontend/index.html is missing: the cabinet page answers 404", file=sys.stderr)


STACK_ENV = ROOT / ".local" / "stack.env"
STACK_ENV_NAMES = (
    "TABLE_NAME",
    "IDEMPOTENCY_TABLE",
    "DATA_BUCKET",
    "AWS_REGION",
    "PUBLIC_BASE_URL",
    "LOCAL_NOW",
)


def _write_stack_env(stack: contextlib.ExitStack, url: str, endpoint: str, s3_endpoint: str) -> None:
    """Leave the running stack's endpoints for the local tools; removed when the stack stops."""
    values = {"STACK_URL": url, "DYNAMODB_ENDPOINT": endpoint, "S3_ENDPOINT_URL": s3_endpoint}
    values |= {name: os.environ[name] for name in STACK_ENV_NAMES if os.environ.get(name)}
    STACK_ENV.parent.mkdir(parents=True, exist_ok=True)
    STACK_ENV.write_text("".join(f"{name}={value}\n" for name, value in values.items()), encoding="utf-8")
    stack.callback(lambda: STACK_ENV.unlink(missing_ok=True))


def main(argv: Sequence[str] | None = None) -> int:
    """Start everything, print where it is, serve until Ctrl-C or SIGTERM."""
    args = _parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # A shell script's background job inherits SIGINT ignored; Ctrl-C and `kill -INT` must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    real_start, demo_start = time.time(), _now()
    try:
        # Bound first: the port is part of PUBLIC_BASE_URL, which the seed prints in QR links.
        server: LocalServer = make_server("127.0.0.1", args.port)
    except OSError as exc:
        print(f"Cannot listen on 127.0.0.1:{args.port}: {exc}. Try `make run PORT=3001`.", file=sys.stderr)
        return 1
    pinned = frozenset(os.environ)
    data_dir = None if args.in_memory else args.data_dir.resolve()

    with contextlib.ExitStack() as stack:
        stack.callback(server.server_close)
        try:
            # moto's S3 starts first and comes up while the template is read and DynamoDB Local starts.
            pending_s3 = None if os.environ.get(ENDPOINT_VARIABLE) else PendingS3()
            if pending_s3 is not None:
                stack.callback(pending_s3.stop)
            template = load_template(args.template)
            base = args.template.resolve().parent  # SAM reads CodeUri and ContentUri relative to the template
            # A name set in the shell for `TABLE_NAME: !Ref MainTable` (or a bucket's variable) names it.
            table_names = {
                logical: os.environ[variable]
                for variable, logical in ref_variables(template, TABLE_TYPE).items()
                if os.environ.get(variable)
            }
            bucket_names = {
                logical: os.environ[variable]
                for variable, logical in ref_variables(template, BUCKET_TYPE).items()
                if os.environ.get(variable)
            }
            refs = {name: table_names.get(name, name) for name in resources_of_type(template, TABLE_TYPE)}
            refs |= {name: bucket_names.get(name, bucket_name(name)) for name in local_buckets(template)}
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"
            functions_ = functions(template, Resolver(template, refs, region=region))
            chosen = choose_environment(server.url, data_dir, functions_, template, os.environ)
            os.environ.update({name: value for name, (value, _) in chosen.items()})
            region = os.environ["AWS_REGION"]

            endpoint, where = _start_database(stack, data_dir, args.in_memory)
            s3_endpoint, s3_where = _start_s3(stack, pending_s3)
            _print_environment(chosen)
            width = max(map(len, chosen))
            print(f"  {'DYNAMODB_ENDPOINT'.ljust(width)} = {endpoint}  ({where})")
            print(f"  {ENDPOINT_VARIABLE.ljust(width)} = {s3_endpoint}  ({s3_where})")
            tables = create_tables(dynamodb_client(endpoint, region), table_names, template)
            print("Tables from template.yaml: " + ", ".join(f"{k} -> {v}" for k, v in tables.items()))
            buckets = create_buckets(s3_client(s3_endpoint, region), template, bucket_names, region)
            if buckets:
                print("Buckets from template.yaml: " + ", ".join(f"{k} -> {v}" for k, v in buckets.items()))

            configs = function_configs(functions_, os.environ, pinned, args.max_workers, base)
            clock = _demo_clock(demo_start, real_start) if os.environ.get("LOCAL_NOW") else None
            runtime = Runtime(configs, region, clock)
            stack.callback(runtime.close)
            # Every function's cold start runs while the seed writes the demo data.
            cold_start_errors: dict[str, str] = {}
            warming = threading.Thread(target=lambda: cold_start_errors.update(runtime.warm()), name="warm")
            warming.start()
            _add_layers_to_path(functions_, base)
            demo = None if args.no_seed else _seed(demo_start)
            warming.join()
            for logical_id, error in cold_start_errors.items():
                print(
                    f"WARNING: {logical_id} failed its cold start ({error}); it answers 500", file=sys.stderr
                )
            runtime.start_reaper()

            scheduler = Scheduler(schedule_events(functions_), _fire(runtime), region)
            report_skipped(scheduler)
            scheduler.start()
            stack.callback(scheduler.stop)

            gateway = Gateway(
                http_routes(functions_),
                runtime.invoke,
                ROOT / "frontend",
                response_headers(template),
                functions=[function.logical_id for function in functions_],
            )
            gateway.status["workers"] = runtime.stats
            gateway.status["schedules"] = scheduler.upcoming
            # Local-only tools: the Viber fake and chat simulator (VIBER_API_URL points at the fake).
            from local import viber_fake

            viber_fake.mount(gateway)
            gateway.mount(MAILBOX_MOUNT, MAILBOX.wsgi)  # the fake SES that MAIL_ENDPOINT_URL points at
            server.app = gateway

            _print_urls(server.url, endpoint, s3_endpoint, scheduler)
            _print_demo(demo)
            if data_dir is not None:
                # `make import`, `make qr` and `make close-window` in another terminal find the stack here.
                _write_stack_env(stack, server.url, endpoint, s3_endpoint)
            print("Press Ctrl-C to stop.")
            print(f"READY {server.url}", flush=True)
            server.serve_forever()
        except KeyboardInterrupt:
            print("\nStopping the local stack…", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
