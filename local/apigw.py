"""API Gateway HTTP API, locally: route selection, the payload 2.0 event, and the handler's answer as HTTP.

Works on werkzeug's Request and Response, so it knows nothing of sockets or of the domain.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from local.template import ACCOUNT_ID, Route

# API Gateway refuses larger payloads with 413 before the function runs.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Measured on real HTTP APIs: only these reach the function as text; everything else, a missing
# Content-Type and application/x-www-form-urlencoded included, arrives base64-encoded.
TEXT_CONTENT_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
API_ID = "local"


def split_target(target: str) -> tuple[str, str]:
    """Path and query of a request target; `//x` is a path here, not a host as urlsplit would read it."""
    if not target.startswith("/"):
        parts = urlsplit(target)  # the absolute form, `http://host/path?query`, that proxies send
        return parts.path or "/", parts.query
    path, _, query = target.partition("#")[0].partition("?")
    return path, query


def raw_target(request: Request) -> str:
    """The request line's target exactly as sent (the server and werkzeug's test client both keep it)."""
    environ = request.environ
    query = environ.get("QUERY_STRING")
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not target:
        target = quote(request.root_path + request.path)
    # werkzeug's test client leaves the query out of RAW_URI; servers keep it in.
    return f"{target}?{query}" if query and "?" not in target else target


def raw_path(request: Request) -> str:
    """The path exactly as sent, still percent-encoded."""
    return split_target(raw_target(request))[0]


def api_error(status: int, message: str) -> Response:
    """An answer API Gateway writes itself, e.g. `{"message":"Not Found"}`."""
    return Response(json.dumps({"message": message}), status, content_type="application/json")


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

    def owns(self, path: str) -> bool:
        """True when the path belongs to the API, so a miss answers API Gateway's 404, not a static file."""
        prefixes = self.prefixes()
        if "" in prefixes:
            return True
        segments = _segments(path)
        return bool(segments) and unquote(segments[0]) in prefixes

    def match(self, method: str, path: str) -> Match | None:
        """The best route for METHOD and raw path, or None (API Gateway then answers 404)."""
        segments = _segments(path)
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
    path, query_string = split_target(raw_target(request))
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers.items():
        key = name.lower()
        if key == "cookie":
            # Payload 2.0 moves cookies out of the headers into a list.
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    client_ip = request.remote_addr or "127.0.0.1"
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {client_ip}" if forwarded else client_ip
    host = headers.get("host", "127.0.0.1")
    headers.setdefault("x-forwarded-port", host.rsplit(":", 1)[1] if ":" in host else "80")
    headers.setdefault("x-forwarded-proto", "http")
    headers["x-amzn-trace-id"] = f"Root=1-{int(now.timestamp()):08x}-{secrets.token_hex(12)}"

    route = match.route
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query: dict[str, str] = {}
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        # Repeated query parameters arrive comma-joined, like repeated headers.
        query[key] = f"{query[key]},{value}" if key in query else value
    if query:
        event["queryStringParameters"] = query
    domain = host.split(":", 1)[0]
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": path,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "sourceIp": client_ip,
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
    body = request.get_data()
    if body:
        text = None
        if _is_text(headers.get("content-type", "")):
            with contextlib.suppress(UnicodeDecodeError):
                text = body.decode("utf-8")
        event["body"] = text if text is not None else base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


def to_response(result: Any) -> Response:
    """A handler's return value as HTTP, as API Gateway turns it for payload 2.0 (ValueError if it cannot)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Payload 2.0 infers a 200 JSON answer from anything without a statusCode.
        body = result if isinstance(result, str) else json.dumps(result)
        return Response(body.encode("utf-8"), 200, content_type="application/json")
    status = result["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {result['statusCode']!r} is not an HTTP status")
    headers = Headers()
    for name, value in (result.get("headers") or {}).items():
        headers.add(str(name), str(value))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            headers.add(str(name), str(value))
    for cookie in result.get("cookies") or []:
        headers.add("Set-Cookie", str(cookie))
    raw_body = result.get("body")
    if raw_body is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw_body)
    else:
        body = str(raw_body).encode("utf-8")
    typed = "Content-Type" in headers
    response = Response(body, status, headers=headers)
    if not typed:
        del response.headers["Content-Type"]  # werkzeug's default; API Gateway adds none
    return response
