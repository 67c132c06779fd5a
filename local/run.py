"""The whole system on one machine: `python -m local.run` (or `make run`).

DynamoDB Local with the tables of template.yaml, the demo data, and the gateway serving the
functions' routes and the cabinet. Prints `READY <url>` once it serves, for tests to wait on.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from local.dynamodb import client, start_dynamodb
from local.gateway import Gateway, GatewayServer, ModuleLoader, make_server
from local.tables import ROOT, Route, create_tables, http_routes, parameter_default, table_env_vars

DEFAULT_DATA_DIR = ROOT / ".local" / "ddb"
SECRET_MARKERS = ("KEY", "SECRET", "TOKEN", "PASSWORD")
KEY_FILE_NAME = "token-signing-key"
# Each function's template value is applied at its cold start; this is only the process-wide fallback.
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


def _template_defaults(routes: Sequence[Route]) -> dict[str, str]:
    """Template values shared by every function (e.g. POWERTOOLS_METRICS_NAMESPACE), as process defaults."""
    values: dict[str, set[str | None]] = {}
    for function in {route.function.logical_id: route.function for route in routes}.values():
        for name, value in function.environment.items():
            values.setdefault(name, set()).add(value)
    return {
        name: next(iter(found)) for name, found in values.items() if len(found) == 1 and None not in found
    }


def choose_environment(
    base_url: str, data_dir: Path | None, routes: Sequence[Route], environ: Mapping[str, str]
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
            parameter_default("ViberChatUri") or "local-chat",
            "template.yaml parameter default",
        ),
        "VIBER_AUTH_TOKEN": ("local-viber-auth-token", "dummy"),
        # Where the local fake of Viber's REST API is mounted (the chat simulator provides it).
        "VIBER_API_URL": (f"{base_url}/_local/viber/pa", "this gateway"),
        "TWILIO_AUTH_TOKEN": ("local-twilio-auth-token", "dummy"),
        "POWERTOOLS_SERVICE_NAME": ("local", "fallback; each function's template value applies to it"),
        # No X-Ray daemon runs locally; the tracer would only complain.
        "POWERTOOLS_TRACE_DISABLED": ("true", "default"),
    }
    for name, value in _template_defaults(routes).items():
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


def _print_urls(base: str, endpoint: str) -> None:
    print("\nThe local stack is up:")
    print(f"  cabinet   {base}/")
    print(f"  API       {base}/api/")
    print(f"  OpenAPI   {base}/api/openapi.json")
    print(f"  routes    {base}/_local/routes")
    print(f"  Viber     {base}/_local/viber/  (chat simulator; the fake Viber API is under /_local/viber/pa)")
    print(f"  phone     {base}/_local/phone/  (simulator of the keypad and voice lines)")
    print(f"  DynamoDB  aws dynamodb list-tables --endpoint-url {endpoint}")
    if not (ROOT / "frontend" / "index.html").is_file():
        print("NOTICE: frontend/index.html is missing: the cabinet page answers 404", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Start everything, print where it is, serve until Ctrl-C or SIGTERM."""
    args = _parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # A shell script's background job inherits SIGINT ignored; Ctrl-C and `kill -INT` must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        # Bound first: the port is part of PUBLIC_BASE_URL, which the seed prints in QR links.
        server: GatewayServer = make_server("127.0.0.1", args.port)
    except OSError as exc:
        print(f"Cannot listen on 127.0.0.1:{args.port}: {exc}. Try `make run PORT=3001`.", file=sys.stderr)
        return 1
    pinned = frozenset(os.environ)
    data_dir = None if args.in_memory else args.data_dir.resolve()
    names = {logical: os.environ[var] for var, logical in table_env_vars().items() if os.environ.get(var)}
    routes = http_routes(table_names=names)
    chosen = choose_environment(server.url, data_dir, routes, os.environ)
    os.environ.update({name: value for name, (value, _) in chosen.items()})

    with contextlib.ExitStack() as stack:
        stack.callback(server.server_close)
        try:
            endpoint, where = _start_database(stack, data_dir, args.in_memory)
            _print_environment(chosen)
            print(f"  {'DYNAMODB_ENDPOINT'.ljust(max(map(len, chosen)))} = {endpoint}  ({where})")
            tables = create_tables(client(endpoint, os.environ["AWS_REGION"]), names)
            print("Tables from template.yaml: " + ", ".join(f"{k} -> {v}" for k, v in tables.items()))
            loader = ModuleLoader(ROOT, pinned)
            for route in routes:
                # The seed writes through the layer's package, like the functions do.
                loader.add_to_path(route.function)
            demo = _seed(_now())

            gateway = Gateway(routes, ROOT / "frontend", loader)
            for logical_id, error in gateway.warm().items():
                print(
                    f"WARNING: {logical_id} failed its cold start ({error}); its routes answer 500",
                    file=sys.stderr,
                )
            # Later: local-only tools (the Viber chat and phone keypad simulators) mount here,
            # e.g. gateway.mount("/_local/viber", ...), serving VIBER_API_URL's fake too.
            from local import phone_simulator, viber_fake

            viber_fake.mount(gateway)
            gateway.mount(phone_simulator.PREFIX, phone_simulator.app)
            server.gateway = gateway

            _print_urls(server.url, endpoint)
            _print_demo(demo)
            print("Press Ctrl-C to stop.")
            print(f"READY {server.url}", flush=True)
            server.serve_forever()
        except KeyboardInterrupt:
            print("\nStopping the local stack…", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
