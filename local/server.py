"""A small threaded HTTP/1.1 server for one WSGI app: kept-alive connections, each answer in one write.

werkzeug's development server closes every connection after one answer; this one keeps them open as
browsers expect, writes status line, headers and body in a single send with TCP_NODELAY set (two
writes would wait for the client's delayed ACK, 40 ms on Linux), and listens with a backlog large
enough that a burst of callers is queued, not reset.
"""

from __future__ import annotations

import io
import json
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes

from local.apigw import MAX_BODY_BYTES, split_target

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
LISTEN_BACKLOG = 1024  # the kernel caps it at net.core.somaxconn (4096 on current Linux)
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})
NO_BODY_STATUSES = frozenset({204, 304})
# An app may name what answered in the environ under this key, for the access log.
SERVED_BY = "local.served_by"


def call_wsgi(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app to completion: its status line, headers and whole body."""
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
        # Nothing is sent before the app returns, so an error page may always replace the answer.
        started["status"], started["headers"] = status, headers
        return chunks.append

    iterable = app(environ, start_response)
    try:
        chunks.extend(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return started["status"], started["headers"], b"".join(chunks)


def _error(status: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json")], json.dumps({"message": message}).encode()


class _RequestHandler(BaseHTTPRequestHandler):
    """Turns socket traffic into WSGI calls and their answers back into bytes."""

    protocol_version = "HTTP/1.1"
    server_version = "local-gateway"
    disable_nagle_algorithm = True  # TCP_NODELAY on every accepted connection
    timeout = 60  # a stalled client must not hold a thread forever
    server: LocalServer

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

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, query = split_target(self.path)
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),  # PEP 3333: bytes as latin-1
            "QUERY_STRING": query,
            "RAW_URI": self.path,
            "REQUEST_URI": self.path,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name in dict.fromkeys(self.headers.keys()):
            values = self.headers.get_all(name) or []
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = values[0]
            elif key != "TRANSFER_ENCODING":
                # Repeated headers are joined, as API Gateway joins them; cookies with `; `.
                environ[f"HTTP_{key}"] = ("; " if key == "COOKIE" else ",").join(values)
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            environ["CONTENT_LENGTH"] = str(len(body))  # the app sees the decoded body
        return environ

    def _dispatch(self) -> None:
        started = time.monotonic()
        body = self._read_body()
        served_by = "-"
        if body is None:
            self.close_connection = True
            answer = _error("413 Request Entity Too Large", "Request Entity Too Large")
        elif self.server.app is None:
            answer = _error("503 Service Unavailable", "Service Unavailable")
        else:
            environ = self._environ(body)
            try:
                answer = call_wsgi(self.server.app, environ)
            except Exception:  # a bug in the app must still answer, as API Gateway would
                traceback.print_exc()
                answer = _error("500 Internal Server Error", "Internal Server Error")
            served_by = environ.get(SERVED_BY, "-")
        self._write(*answer)
        self._log(answer[0], started, served_by)

    def _write(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code = int(status.split(" ", 1)[0])
        lines = [f"{self.protocol_version} {status}", f"Server: {self.version_string()}"]
        if not any(name.lower() == "date" for name, _ in headers):
            lines.append(f"Date: {self.date_time_string()}")
        declared_length = None
        for name, value in headers:
            if name.lower() == "content-length":
                declared_length = value
            if name.lower() not in HOP_BY_HOP:
                lines.append(f"{name}: {value}")
        if code not in NO_BODY_STATUSES and not 100 <= code < 200:
            # A HEAD answer declares the length the GET would have; werkzeug computes it for us.
            length = declared_length if self.command == "HEAD" and declared_length else str(len(body))
            lines.append(f"Content-Length: {length}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        send_body = self.command != "HEAD" and code not in NO_BODY_STATUSES
        self.wfile.write(head + body if send_body else head)  # one send: no wait for a delayed ACK

    def _log(self, status: str, started: float, served_by: str) -> None:
        # Method, path, status, time and who served it: never bodies, cookies or query strings,
        # which carry personal data and tokens.
        path, query = split_target(self.path)
        query = "?…" if query else ""
        elapsed = (time.monotonic() - started) * 1000
        stamp = datetime.now().astimezone().strftime("%H:%M:%S")
        print(
            f"{stamp} {self.command} {path}{query} {status.split(' ', 1)[0]} {elapsed:.0f}ms {served_by}",
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


class LocalServer(ThreadingHTTPServer):
    """A thread per connection; the app can be attached once the rest of the stack is up (503 before)."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], app: WSGIApp | None = None) -> None:
        super().__init__(address, _RequestHandler)
        self.app = app

    @property
    def url(self) -> str:
        """The base URL clients use."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(host: str = "127.0.0.1", port: int = 3000, app: WSGIApp | None = None) -> LocalServer:
    """Bind the socket now (port 0 picks a free one); requests get 503 until an app is attached."""
    return LocalServer((host, port), app)
