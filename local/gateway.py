"""The local front door, a WSGI app: what CloudFront, API Gateway and Lambda's Invoke API do, on one origin.

In order: local-only tools mounted under `/_local/...`; the template's HTTP API routes, whose events
go to the functions' workers; API Gateway's 404 for other API paths; the cabinet's files. Answers
that CloudFront would serve carry the template's response headers policy. It knows nothing of the
domain.

Mounting a local tool (a simulator, a fake provider's API, a mail page) takes any WSGI app:

    from werkzeug.wrappers import Request, Response

    @Request.application
    def viber_fake(request: Request) -> Response:
        # request.path is relative to the mount ("/pa/send_message"); request.root_path is "/_local/viber"
        return Response('{"status":0}', content_type="application/json")

    gateway.mount("/_local/viber", viber_fake)

A tool calls a function the way its real caller would: over HTTP to the function's route (a chat
simulator posts to the real webhook at PUBLIC_BASE_URL), or, for a non-HTTP function, with
`gateway.invoke(logical_id, event)` in Python or `POST /_local/invoke/<LogicalId>` over HTTP.
"""

from __future__ import annotations

import json
import sys
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from local.apigw import RouteTable, api_error, build_event, raw_path, to_response
from local.runtime import InvokeResult
from local.server import SERVED_BY
from local.static import serve_static
from local.template import ROOT, ResponseHeader, Route

LOCAL_PREFIX = "/_local/"

Invoker = Callable[[str, Any], InvokeResult]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _json(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False)
    return Response(body, status, headers=dict(headers or {}), content_type="application/json")


class Gateway:
    """Serves the template's routes through the functions, local-only tools, and the static cabinet."""

    def __init__(
        self,
        routes: Iterable[Route],
        invoke: Invoker,
        static_dir: Path | None = ROOT / "frontend",
        response_headers: Iterable[ResponseHeader] = (),
        functions: Iterable[str] = (),
    ) -> None:
        self.table = RouteTable(routes)
        self.invoke = invoke
        self.static_dir = static_dir
        self.response_headers = list(response_headers)
        self.functions = sorted({*functions, *(route.function.logical_id for route in self.table.routes)})
        # Extra sections of the `/_local/routes` listing (schedules, workers), by name.
        self.status: dict[str, Callable[[], Any]] = {}
        self._mounts: dict[str, WSGIApp] = {}
        self.mount(LOCAL_PREFIX + "routes", self._list_routes)
        self.mount(LOCAL_PREFIX + "invoke", self._invoke_over_http)

    def mount(self, prefix: str, app: WSGIApp) -> None:
        """Serve a local-only WSGI app under `/_local/<name>`; it sees paths relative to its prefix."""
        if not prefix.startswith(LOCAL_PREFIX) or prefix.rstrip("/") + "/" == LOCAL_PREFIX:
            raise ValueError(f"local-only apps live under {LOCAL_PREFIX}<name>, not {prefix}")
        self._mounts[prefix.rstrip("/")] = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The WSGI entry point."""
        path_info = environ.get("PATH_INFO") or "/"
        for prefix, app in self._mounts.items():
            if path_info == prefix or path_info.startswith(prefix + "/"):
                environ[SERVED_BY] = prefix.removeprefix(LOCAL_PREFIX)
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path_info[len(prefix) :]
                return app(environ, start_response)
        response = self.handle(Request(environ))
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Answer a request that no local tool took: an API route, API Gateway's 404, or a file."""
        path = raw_path(request)
        if (request.environ.get("PATH_INFO") or "/").startswith(LOCAL_PREFIX):
            request.environ[SERVED_BY] = "local"
            return api_error(404, "Not Found")
        match = self.table.match(request.method, path)
        if match is not None:
            response = self._call_route(request, match)
        elif self.table.owns(path):
            request.environ[SERVED_BY] = "apigw"
            response = api_error(404, "Not Found")
        else:
            request.environ[SERVED_BY] = "static"
            response = serve_static(self.static_dir, request, path)
        self._add_cdn_headers(response)
        return response

    def _call_route(self, request: Request, match: Any) -> Response:
        """One API Gateway -> Lambda round trip: the event to the function's worker, its answer to HTTP."""
        function = match.route.function.logical_id
        request.environ[SERVED_BY] = function
        gateway_request_id = str(uuid.uuid4())
        event = build_event(request, match, gateway_request_id)
        result = self.invoke(function, event)
        response: Response | None = None
        if result.ok:
            try:
                response = to_response(result.payload)
            except (ValueError, TypeError) as exc:
                print(
                    f"{function} answered {match.route.route_key} with no valid response: {exc}",
                    file=sys.stderr,
                )
        else:
            error = result.payload or {}
            print(
                f"{function} failed on {match.route.route_key}: {error.get('errorType')}: "
                f"{error.get('errorMessage')}",
                file=sys.stderr,
            )
        if response is None:  # API Gateway's answer to any failed invocation
            response = api_error(500, "Internal Server Error")
        response.headers["Apigw-Requestid"] = gateway_request_id
        return response

    def _add_cdn_headers(self, response: Response) -> None:
        # CloudFront's response headers policy: Override replaces the origin's header, else fills a gap.
        for header in self.response_headers:
            if header.override or header.name not in response.headers:
                response.headers[header.name] = header.value

    @Request.application
    def _list_routes(self, request: Request) -> Response:
        routes = [
            {
                "route": route.route_key,
                "function": route.function.logical_id,
                "code_uri": route.function.code_uri,
                "handler": route.function.handler,
            }
            for route in self.table.routes
        ]
        listing: dict[str, Any] = {
            "routes": routes,
            "functions": self.functions,
            "local": sorted(self._mounts),
        }
        for name, provider in self.status.items():
            listing[name] = provider()
        return _json(200, listing)

    @Request.application
    def _invoke_over_http(self, request: Request) -> Response:
        """`POST /_local/invoke/<LogicalId>` with the event as body: Lambda's Invoke API, synchronously."""
        name = request.path.strip("/")
        if request.method != "POST":
            return _json(405, {"message": "POST the event as JSON"}, {"Allow": "POST"})
        if name not in self.functions:
            return _json(404, {"message": f"Function not found: {name}", "functions": self.functions})
        try:
            event = json.loads(request.get_data() or b"{}")
        except ValueError as exc:
            return _json(400, {"message": f"the body is not JSON: {exc}"})
        try:
            result = self.invoke(name, event)
        except Exception as exc:  # the runtime itself failed, not the function
            traceback.print_exc()
            return _json(500, {"message": f"{type(exc).__name__}: {exc}"})
        headers = {"X-Amz-Executed-Version": "$LATEST", "X-Amzn-Requestid": result.request_id}
        if not result.ok:
            # As Lambda's Invoke API: still 200, the error object as payload, and this header.
            headers["X-Amz-Function-Error"] = "Unhandled"
        return _json(200, result.payload, headers)  # it came from the worker as JSON
