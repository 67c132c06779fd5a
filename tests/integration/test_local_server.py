"""The local stack's HTTP server over real sockets: kept-alive connections, one write per answer, backlog."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from local.server import LocalServer, _RequestHandler, make_server


def echo_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A WSGI app that answers what it was given."""
    body = environ["wsgi.input"].read()
    seen = {
        "path": environ["PATH_INFO"],
        "raw": environ["RAW_URI"],
        "accept": environ.get("HTTP_ACCEPT"),
        "cookie": environ.get("HTTP_COOKIE"),
        "body": body.decode(),
    }
    payload = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


class Writes:
    """What the server sent on each connection, write by write, and whether Nagle was off."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.nodelay: list[int] = []


class _CountingWriter:
    def __init__(self, inner: Any, log: Writes) -> None:
        self.inner, self.log = inner, log

    def write(self, data: bytes) -> int:
        self.log.writes.append(bytes(data))
        return self.inner.write(data)

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()

    @property
    def closed(self) -> bool:
        return self.inner.closed


@pytest.fixture
def served() -> Iterator[tuple[LocalServer, Writes]]:
    """The echo app on a free port, with every write the server makes recorded."""
    log = Writes()

    class Recording(_RequestHandler):
        def setup(self) -> None:
            super().setup()
            log.nodelay.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            self.wfile = _CountingWriter(self.wfile, log)

    server = make_server("127.0.0.1", 0, echo_app)
    server.RequestHandlerClass = Recording
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, log
    server.shutdown()
    server.server_close()


def test_server_keeps_the_connection_and_writes_each_answer_once(served: tuple[LocalServer, Writes]) -> None:
    server, log = served
    host, port = server.server_address[:2]
    # Given one connection
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.connect()
    first_socket = connection.sock
    # When three requests go over it
    bodies = []
    for number in range(3):
        connection.request("POST", f"/echo/{number}?x=1", body=f"body {number}")
        response = connection.getresponse()
        bodies.append(json.loads(response.read()))
        assert response.status == 200 and response.getheader("Connection") is None
    # Then the same socket carried all three, each answer in a single write with TCP_NODELAY on
    assert connection.sock is first_socket
    connection.close()
    assert [body["raw"] for body in bodies] == ["/echo/0?x=1", "/echo/1?x=1", "/echo/2?x=1"]
    assert [body["body"] for body in bodies] == ["body 0", "body 1", "body 2"]
    assert len(log.writes) == 3 and log.nodelay == [1]
    for number, write in enumerate(log.writes):
        head, _, body = write.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and json.loads(body)["body"] == f"body {number}"


def test_server_joins_repeated_headers_and_decodes_chunked_bodies(served: tuple[LocalServer, Writes]) -> None:
    server, _ = served
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(
            b"POST /x HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\nAccept: application/json\r\n"
            b"Cookie: a=1\r\nCookie: b=2\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        answer = b"".join(iter(lambda: raw.recv(65536), b""))
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body["accept"] == "text/html,application/json"  # as API Gateway joins repeated headers
    assert body["cookie"] == "a=1; b=2"
    assert body["body"] == "hello world"


def test_server_refuses_a_body_larger_than_api_gateway_takes(served: tuple[LocalServer, Writes]) -> None:
    server, _ = served
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 20000000\r\n\r\n")
        answer = b"".join(iter(lambda: raw.recv(65536), b""))  # the server closes the connection
    assert answer.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in answer


def test_server_answers_head_with_the_length_of_get_and_no_body(served: tuple[LocalServer, Writes]) -> None:
    server, log = served
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/same")
    get = connection.getresponse()
    get_length, get_body = get.getheader("Content-Length"), get.read()
    assert int(get_length) == len(get_body) > 0
    connection.request("HEAD", "/same")
    head = connection.getresponse()
    assert head.getheader("Content-Length") == get_length and head.read() == b""
    connection.close()
    assert log.writes[-1].endswith(b"\r\n\r\n")


def test_server_queues_a_burst_of_connections_while_busy() -> None:
    # Given a server that has bound and listens but accepts nothing yet (all its threads are busy)
    server = make_server("127.0.0.1", 0, echo_app)
    host, port = server.server_address[:2]
    clients = []
    try:
        # When a hundred clients connect at once
        for _ in range(100):
            client = socket.socket()
            client.settimeout(5)
            client.connect((host, port))  # a full listen queue would leave this hanging, then fail
            clients.append(client)
        # Then the kernel took every one into the listen queue: none was refused or left waiting
        assert len(clients) == 100
    finally:
        for client in clients:
            client.close()
        server.server_close()
