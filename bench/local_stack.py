"""The local stack under concurrent callers: one caller's latency against fifty at once.

Starts `python -m local.run` in memory on a free port, signs the demo user in, then times
`GET /api/accounts/77777`: first one caller on one kept-alive connection, then rounds of fifty
callers, each on its own new connection, released together. The figure that matters is
p99(fifty at once) / p50(one caller): on 2 cores a CPU-bound server can at best reach about 25.

    python -m bench.local_stack            # prints progress on stderr and the results as JSON
    from bench.local_stack import measure  # the same figures as a flat dict
"""

from __future__ import annotations

import http.client
import json
import math
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from local.launch import running_stack

PATH = "/api/accounts/77777"
DEMO_LOGIN = {"email": "demo@example.com", "password": "demo12345"}
GOALS = {"p99_over_single_p50": 50, "refused": 0}
# Any of these means the server refused or dropped the connection rather than answering.
REFUSALS = (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine, TimeoutError)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _sign_in(host: str, port: int) -> str:
    """The demo user's session cookie (`name=value`)."""
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        body = json.dumps(DEMO_LOGIN)
        connection.request("POST", "/api/auth/signin", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"sign-in answered {response.status}: {payload[:200]!r}")
        cookie = response.getheader("Set-Cookie") or ""
        return cookie.split(";", 1)[0]
    finally:
        connection.close()


def _get(connection: http.client.HTTPConnection, cookie: str) -> int:
    connection.request("GET", PATH, headers={"Cookie": cookie, "Accept": "application/json"})
    response = connection.getresponse()
    response.read()
    return response.status


def single_caller(host: str, port: int, cookie: str, requests: int = 50, warmup: int = 20) -> list[float]:
    """Milliseconds of `requests` sequential GETs on one kept-alive connection, after a warm-up."""
    connection = http.client.HTTPConnection(host, port, timeout=60)
    timings = []
    try:
        for index in range(warmup + requests):
            started = time.perf_counter()
            status = _get(connection, cookie)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                raise RuntimeError(f"GET {PATH} answered {status}")
            if index >= warmup:
                timings.append(elapsed)
    finally:
        connection.close()
    return timings


def single_caller_new_connections(host: str, port: int, cookie: str, requests: int = 50) -> list[float]:
    """Milliseconds of `requests` sequential GETs, each on a new connection (connecting included)."""
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        connection = http.client.HTTPConnection(host, port, timeout=60)
        try:
            status = _get(connection, cookie)
        finally:
            connection.close()
        timings.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"GET {PATH} answered {status}")
    return timings


def concurrent_round(host: str, port: int, cookie: str, callers: int = 50) -> tuple[list[float], int, int]:
    """One round of `callers` GETs released together, each on a new connection.

    Returns the milliseconds of the answered ones, the refused or reset connections, and the answers
    other than 200.
    """
    barrier = threading.Barrier(callers)
    timings: list[float] = []
    refused = 0
    failed = 0
    lock = threading.Lock()

    def call() -> None:
        nonlocal refused, failed
        barrier.wait()
        started = time.perf_counter()
        connection = http.client.HTTPConnection(host, port, timeout=60)
        try:
            status = _get(connection, cookie)
        except REFUSALS:
            with lock:
                refused += 1
            return
        finally:
            connection.close()
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            timings.append(elapsed)
            if status != 200:
                failed += 1

    threads = [threading.Thread(target=call, name=f"caller-{n}") for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings, refused, failed


def measure_url(
    url: str, callers: int = 50, rounds: int = 5, warmup_rounds: int = 2, log: Callable[[str], None] = _log
) -> dict[str, Any]:
    """The figures against a stack already running at `url` (with the demo data)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    cookie = _sign_in(host, port)
    log("signed in as the demo user")

    single = single_caller(host, port, cookie)
    single_p50 = statistics.median(single)
    log(f"one caller, {len(single)} requests on one connection: p50 {single_p50:.1f} ms")
    # The same caller opening a connection per request: a kept-alive connection must not be slower.
    fresh = single_caller_new_connections(host, port, cookie)
    fresh_p50 = statistics.median(fresh)
    log(f"one caller, {len(fresh)} requests on new connections: p50 {fresh_p50:.1f} ms")

    # The first rounds let each function grow its pool, as Lambda scales out on a burst: new workers
    # start, then pay their first invocation's lazy set-up. They are reported on their own.
    warmup: list[float] = []
    refused = failed = 0
    for number in range(1, warmup_rounds + 1):
        answered, round_refused, round_failed = concurrent_round(host, port, cookie, callers)
        warmup += answered
        refused += round_refused
        failed += round_failed
        shown = f"{percentile(answered, 0.99):.0f}" if answered else "-"
        log(
            f"warm-up round {number}/{warmup_rounds}: p99 {shown} ms, "
            f"refused {round_refused}, not 200: {round_failed}"
        )
    timings: list[float] = []
    for number in range(1, rounds + 1):
        answered, round_refused, round_failed = concurrent_round(host, port, cookie, callers)
        timings += answered
        refused += round_refused
        failed += round_failed
        log(
            f"round {number}/{rounds}: p50 {statistics.median(answered):.0f} ms, "
            f"p99 {percentile(answered, 0.99):.0f} ms, refused {round_refused}, not 200: {round_failed}"
        )
    concurrent_p99 = percentile(timings, 0.99)
    return {
        "single_p50_ms": round(single_p50, 2),
        "single_p99_ms": round(percentile(single, 0.99), 2),
        "single_new_connection_p50_ms": round(fresh_p50, 2),
        "concurrent_p50_ms": round(statistics.median(timings), 1),
        "concurrent_p99_ms": round(concurrent_p99, 1),
        "p99_over_single_p50": round(concurrent_p99 / single_p50, 1),
        "p99_over_single_new_connection_p50": round(concurrent_p99 / fresh_p50, 1),
        "refused": refused,
        "not_200": failed,
        "warmup_p99_ms": round(percentile(warmup, 0.99), 1) if warmup else None,
        "warmup_rounds": warmup_rounds,
        "callers": callers,
        "rounds": rounds,
    }


def measure(
    callers: int = 50, rounds: int = 5, warmup_rounds: int = 2, log: Callable[[str], None] = _log
) -> dict[str, Any]:
    """Start a fresh in-memory stack, measure it, stop it; a flat dict of named figures."""
    log("starting the local stack (in memory, free port)…")
    started = time.perf_counter()
    with running_stack() as stack:
        log(f"stack up at {stack.url} after {time.perf_counter() - started:.1f} s")
        results = measure_url(stack.url, callers, rounds, warmup_rounds, log)
    log("stack stopped")
    return results


def main() -> int:
    """Measure, print the figures as JSON, and say which goals are missed."""
    results = measure()
    print(json.dumps(results, indent=2))
    for name, goal in GOALS.items():
        if results[name] > goal:
            _log(f"goal missed: {name} {results[name]} > {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
