"""A local stand-in for API Gateway (HTTP API, payload 2.0) plus CloudFront's static origin.

Requests matching a route of template.yaml become the same event API Gateway sends, and go to the
same `lambda_handler`; everything else is a file from `frontend/`. It knows nothing of the domain.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import mimetypes
import os
import secrets
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.tables import ROOT, Function, Route

# API Gateway refuses larger payloads with 413 before the function runs.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Measured on real HTTP APIs: only these reach the function as text; everything else, a missing
# Content-Type and application/x-www-form-urlencoded included, arrives base64-encoded.
TEXT_CONTENT_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
LOCAL_PREFIX = "/_local/"
ACCOUNT_ID = "123456789012"
# What CloudFront's Managed-SecurityHeadersPolicy adds to the cabinet's files (less HSTS: this is HTTP).
STATIC_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-XSS-Protection", "1; mode=block"),
)
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}

Handler = Callable[[dict[str, Any], Any], Any]
HandlerLoader = Callable[[Function], Handler]


@dataclass
class Request:
    """An HTTP request as the gateway sees it, independent of any server."""

    method: str
    target: str  # the request line's target: raw path plus raw query string
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    client_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    @property
    def raw_path(self) -> str:
        """The path exactly as sent (still percent-encoded)."""
        return _split_target(self.target)[0]

    @property
    def raw_query(self) -> str:
        """The query string exactly as sent, without `?`."""
        return _split_target(self.target)[1]


def _split_target(target: str) -> tuple[str, str]:
    """Path and query of a request target; `//x` is a path here, not a host as urlsplit would read it."""
    if not target.startswith("/"):
        parts = urlsplit(target)  # the absolute form, `http://host/path?query`, that proxies send
        return parts.path or "/", parts.query
    path, _, query = target.partition("#")[0].partition("?")
    return path, query


@dataclass
class Response:
    """An HTTP response: status, header lines (repeatable, e.g. Set-Cookie) and body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    route: str = "-"  # what served it, for the log line


LocalApp = Callable[[Request], Response]


def json_response(status: int, payload: Any, route: str = "-") -> Response:
    """A JSON response, the way API Gateway writes its own errors."""
    return Response(status, [("Content-Type", "application/json")], json.dumps(payload).encode(), route)


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


@dataclass(frozen=True)
class Match:
    """A route chosen for a request, with its decoded path parameters."""

    route: Route
    path_parameters: dict[str, str]


class RouteTable:
    """API Gateway's route selection: the most specific path wins, literal segments before parameters."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)
        self._patterns = [(route, _segments(route.path)) for route in self.routes]

    def prefixes(self) -> set[str]:
        """First path segments owned by the API (e.g. `api`); `""` when a route starts with a parameter."""
        firsts = set()
        for _, pattern in self._patterns:
            first = pattern[0] if pattern else ""
            firsts.add("" if first.startswith("{") else first)
        return firsts

    def owns(self, raw_path: str) -> bool:
        """True when the path belongs to the API, so a miss answers API Gateway's 404, not a static file."""
        prefixes = self.prefixes()
        if "" in prefixes:
            return True
        first = _segments(raw_path)[0] if _segments(raw_path) else ""
        return unquote(first) in prefixes

    def match(self, method: str, raw_path: str) -> Match | None:
        """The best route for METHOD and path, or None (API Gateway then answers 404)."""
        segments = _segments(raw_path)
        best: tuple[tuple[int, ...], Match] | None = None
        for route, pattern in self._patterns:
            if route.method not in (method, "ANY"):
                continue
            parameters = _match_segments(pattern, segments)
            if parameters is None:
                continue
            # Per position: literal 2 > {param} 1 > {greedy+} 0, compared left to right;
            # then an exact method beats ANY.
            rank = (*(_segment_rank(part) for part in pattern), int(route.method == method))
            if best is None or rank > best[0]:
                best = (rank, Match(route, parameters))
        return best[1] if best else None


def _segment_rank(part: str) -> int:
    if part.startswith("{") and part.endswith("+}"):
        return 0
    return 1 if part.startswith("{") else 2


def _match_segments(pattern: list[str], segments: list[str]) -> dict[str, str] | None:
    parameters: dict[str, str] = {}
    for index, part in enumerate(pattern):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[index:]
            if not rest:
                return None
            parameters[part[1:-2]] = unquote("/".join(rest))
            return parameters
        if index >= len(segments):
            return None
        segment = segments[index]
        if part.startswith("{") and part.endswith("}"):
            if not segment:
                return None
            parameters[part[1:-1]] = unquote(segment)
        elif unquote(segment) != part:
            return None
    return parameters if len(pattern) == len(segments) else None


def _is_text(content_type: str) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    return base.startswith("text/") or base in TEXT_CONTENT_TYPES


def build_event(
    request: Request, match: Match, request_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """The API Gateway HTTP API payload 2.0 event for a matched request."""
    now = now or datetime.now(UTC)
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            # Payload 2.0 moves cookies out of the headers into a list.
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {request.client_ip}" if forwarded else request.client_ip
    host = headers.get("host", "127.0.0.1")
    headers.setdefault("x-forwarded-port", host.rsplit(":", 1)[1] if ":" in host else "80")
    headers.setdefault("x-forwarded-proto", "http")
    headers["x-amzn-trace-id"] = f"Root=1-{int(now.timestamp()):08x}-{secrets.token_hex(12)}"

    route = match.route
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query: dict[str, str] = {}
    for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
        # Repeated query parameters arrive comma-joined, like repeated headers.
        query[key] = f"{query[key]},{value}" if key in query else value
    if query:
        event["queryStringParameters"] = query
    domain = host.split(":", 1)[0]
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": "local",
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.client_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    if request.body:
        text = None
        if _is_text(headers.get("content-type", "")):
            with contextlib.suppress(UnicodeDecodeError):
                text = request.body.decode("utf-8")
        event["body"] = text if text is not None else base64.b64encode(request.body).decode("ascii")
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


def to_response(result: Any, route: str = "-") -> Response:
    """Turn a handler's return value into HTTP, as API Gateway does for payload 2.0."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Payload 2.0 infers a 200 JSON answer from anything without a statusCode.
        body = result if isinstance(result, str) else json.dumps(result)
        return Response(200, [("Content-Type", "application/json")], body.encode("utf-8"), route)
    status = result["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {result['statusCode']!r} is not an HTTP status")
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw_body = result.get("body")
    if raw_body is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw_body)
    else:
        body = str(raw_body).encode("utf-8")
    return Response(status, headers, body, route)


class LambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function: Function, request_id: str) -> None:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.function_name = function.logical_id
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function.logical_id}"
        self.memory_limit_in_mb = function.memory_size
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function.logical_id}"
        self.log_stream_name = "local"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's Timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@contextlib.contextmanager
def _environment(overlay: Mapping[str, str]) -> Iterator[None]:
    """Set variables for the duration of a cold start, then put the process environment back."""
    saved = {name: os.environ.get(name) for name in overlay}
    os.environ.update(overlay)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class ModuleLoader:
    """Imports a function's handler the way Lambda would: its layers on the path, its environment set.

    Locally all functions share one process, so each function's template values (e.g. its
    POWERTOOLS_SERVICE_NAME) are applied while its module is imported, the moment Powertools reads
    them. Values only CloudFormation knows are left to the process environment, and variables named
    in `pinned` (set by the developer's shell) are never overridden.
    """

    def __init__(self, root: Path = ROOT, pinned: Collection[str] = ()) -> None:
        self.root = root
        self.pinned = frozenset(pinned)

    def add_to_path(self, function: Function) -> None:
        """Make the project and the function's layers importable (Lambda's /var/task and /opt/python)."""
        for path in [str(self.root), *(str((self.root / layer).resolve()) for layer in function.layers)]:
            if path not in sys.path:
                sys.path.insert(0, path)

    def __call__(self, function: Function) -> Handler:
        """Import the function's module and return its handler."""
        self.add_to_path(function)
        overlay = {
            name: value
            for name, value in function.environment.items()
            if value is not None and name not in self.pinned
        }
        with _environment(overlay):
            module = importlib.import_module(function.module)
        return getattr(module, function.attribute)


@dataclass
class _Slot:
    """One warm 'container' per function: a handler, and a lock because Lambda runs one event at a time."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    handler: Handler | None = None


class Gateway:
    """Serves the template's routes through their handlers, local-only apps, and the static cabinet."""

    def __init__(
        self,
        routes: Iterable[Route],
        static_dir: Path | None = ROOT / "frontend",
        loader: HandlerLoader | None = None,
    ) -> None:
        self.table = RouteTable(routes)
        self.static_dir = static_dir
        self.loader = loader or ModuleLoader()
        self._slots: dict[str, _Slot] = {route.function.logical_id: _Slot() for route in self.table.routes}
        self._mounts: dict[str, LocalApp] = {}
        self.mount(LOCAL_PREFIX + "routes", self._list_routes)

    def mount(self, prefix: str, app: LocalApp) -> None:
        """Serve a local-only tool (a simulator page, a fake provider API) under `/_local/...`."""
        if not prefix.startswith(LOCAL_PREFIX):
            raise ValueError(f"local-only apps live under {LOCAL_PREFIX}, not {prefix}")
        self._mounts[prefix.rstrip("/")] = app

    def warm(self) -> dict[str, str]:
        """Cold-start every function now; returns logical id -> error for those that failed."""
        errors = {}
        for logical_id, function in {r.function.logical_id: r.function for r in self.table.routes}.items():
            try:
                with self._slots[logical_id].lock:
                    self._handler(function)
            except Exception as exc:  # reported now, and retried on the next request
                traceback.print_exc()
                errors[logical_id] = f"{type(exc).__name__}: {exc}"
        return errors

    def _handler(self, function: Function) -> Handler:
        slot = self._slots[function.logical_id]
        if slot.handler is None:
            slot.handler = self.loader(function)
        return slot.handler

    def handle(self, request: Request) -> Response:
        """Answer one request: local-only apps, then API routes, then the static files."""
        path = request.raw_path
        for prefix, app in self._mounts.items():
            if path == prefix or path.startswith(prefix + "/"):
                return app(request)
        if path.startswith(LOCAL_PREFIX):
            return json_response(404, {"message": "Not Found"})
        match = self.table.match(request.method, path)
        if match is not None:
            return self.invoke(request, match)
        if self.table.owns(path):
            return json_response(404, {"message": "Not Found"})
        return serve_static(self.static_dir, request)

    def invoke(self, request: Request, match: Match) -> Response:
        """Call the route's handler with the API Gateway event, as one Lambda invocation."""
        function = match.route.function
        request_id = str(uuid.uuid4())
        slot = self._slots[function.logical_id]
        with slot.lock:
            started = time.monotonic()
            try:
                handler = self._handler(function)
                event = build_event(request, match, request_id)
                result = handler(event, LambdaContext(function, request_id))
                response = to_response(result, function.logical_id)
            except Exception:  # any failure is API Gateway's 500; the traceback goes to stderr
                print(f"{function.logical_id} failed on {match.route.route_key}:", file=sys.stderr)
                traceback.print_exc()
                response = json_response(500, {"message": "Internal Server Error"}, function.logical_id)
            elapsed = time.monotonic() - started
        if elapsed > function.timeout:
            print(
                f"WARNING {function.logical_id} took {elapsed:.1f} s on {match.route.route_key}; "
                f"its Timeout is {function.timeout} s, so Lambda would have stopped it",
                file=sys.stderr,
            )
        response.headers.append(("Apigw-Requestid", request_id))
        return response

    def _list_routes(self, request: Request) -> Response:
        routes = [
            {
                "route": route.route_key,
                "function": route.function.logical_id,
                "handler": route.function.module,
            }
            for route in self.table.routes
        ]
        return json_response(200, {"routes": routes, "local": sorted(self._mounts)}, "local")


def serve_static(static_dir: Path | None, request: Request) -> Response:
    """A file of the cabinet (index.html for folders), never anything outside `static_dir`."""
    if request.method not in ("GET", "HEAD"):
        return Response(405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")], b"")
    not_found = Response(404, [("Content-Type", "text/plain; charset=utf-8")], b"Not Found\n", "static")
    if static_dir is None:
        return not_found
    relative = unquote(request.raw_path)
    if relative.endswith("/"):
        relative += "index.html"
    parts = [part for part in relative.split("/") if part]
    # Refuse `..`, hidden files and NUL outright; the resolve() check below also catches symlinks out.
    if any(part.startswith(".") or "\x00" in part or "\\" in part for part in parts):
        return not_found
    root = static_dir.resolve()
    candidate = root.joinpath(*parts).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return not_found
    content_type = CONTENT_TYPES.get(candidate.suffix.lower())
    if content_type is None:
        content_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
    headers = [("Content-Type", content_type), ("Cache-Control", "no-cache"), *STATIC_SECURITY_HEADERS]
    return Response(200, headers, candidate.read_bytes(), "static")


class _RequestHandler(BaseHTTPRequestHandler):
    """Turns socket traffic into `Request`s for the gateway and its `Response`s back into bytes."""

    protocol_version = "HTTP/1.1"
    server_version = "local-gateway"
    timeout = 60  # a stalled client must not hold a thread forever
    server: GatewayServer

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is larger than API Gateway accepts."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, size = [], 0
            while True:
                length = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                size += length
                if size > MAX_BODY_BYTES:
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        started = time.monotonic()
        body = self._read_body()
        if body is None:
            self.close_connection = True
            response = json_response(413, {"message": "Request Entity Too Large"})
        elif self.server.gateway is None:
            response = json_response(503, {"message": "Service Unavailable"})
        else:
            request = Request(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                client_ip=self.client_address[0],
                protocol=self.request_version,
            )
            try:
                response = self.server.gateway.handle(request)
            except Exception:  # a gateway bug must still answer, like API Gateway would
                traceback.print_exc()
                response = json_response(500, {"message": "Internal Server Error"})
        self._write(response)
        self._log(response, started)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def _log(self, response: Response, started: float) -> None:
        # Method, path, status, time and who served it: never bodies, cookies or query strings,
        # which carry personal data and tokens.
        path, query = _split_target(self.path)
        query = "?…" if query else ""
        elapsed = (time.monotonic() - started) * 1000
        stamp = datetime.now().astimezone().strftime("%H:%M:%S")
        print(
            f"{stamp} {self.command} {path}{query} {response.status} {elapsed:.0f}ms {response.route}",
            file=sys.stderr,
            flush=True,
        )

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's own access log; `_log` writes one without personal data."""

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the browser went away mid-answer; nothing to tell it


class GatewayServer(ThreadingHTTPServer):
    """A threaded HTTP server whose gateway can be attached once the rest of the stack is up."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: Gateway | None = None) -> None:
        super().__init__(address, _RequestHandler)
        self.gateway = gateway

    @property
    def url(self) -> str:
        """The base URL clients use."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(host: str = "127.0.0.1", port: int = 3000, gateway: Gateway | None = None) -> GatewayServer:
    """Bind the gateway's socket now (port 0 picks a free one); requests wait until a gateway is attached."""
    return GatewayServer((host, port), gateway)
