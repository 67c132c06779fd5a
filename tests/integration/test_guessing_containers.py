"""Parallel guesses from four "containers" (processes, each with its own DynamoDB client) against
Amazon's DynamoDB Local: the budgets' conditional ADDs hold under real concurrency, not only in the fake.

Before the reservation, 40 simultaneous guesses were judged 5-8 times (limit 5) and 40 simultaneous
passwords 13 times (limit 10): the counters were read, then written.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from local.dynamodb import LOCAL_CREDENTIALS, client, start_dynamodb
from local.tables import create_tables
from tests.conftest import TEST_ENV

CONTAINERS = 4
THREADS = 10  # per container: 40 requests at once


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A fresh in-memory DynamoDB Local with the template's tables (make deps installs it)."""
    with start_dynamodb(in_memory=True) as ddb:
        if ddb.kind != "dynamodb-local":
            pytest.fail("DynamoDB Local is needed (make deps; Java): moto's server does not serialize writes")
        create_tables(client(ddb.endpoint))
        yield ddb.endpoint


def _environment(endpoint: str) -> dict[str, str]:
    return {
        **TEST_ENV,
        "DYNAMODB_ENDPOINT": endpoint,
        "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
        "POWERTOOLS_METRICS_NAMESPACE": "MeterReadingsTest",
    }


TASKS = ("code", "holder", "signin")


def _container(env: dict[str, str], start: Any, results: Any, first: int) -> None:
    """One container: its own process and DynamoDB client; for each task, THREADS requests that wait
    until all 40 of every container are ready."""
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.update(env)
    from ekc.config import clear_settings
    from ekc.domain.identity import PersonCaller
    from ekc.exceptions import DomainError, StorageUnavailable, TooManyAttempts
    from ekc.services import accounts, auth
    from ekc.storage import forget

    # A container of its own: settings, client and stores made here, nothing inherited.
    clear_settings()
    forget()
    auth._hasher.cache_clear()

    def request(task: str, n: int) -> str:
        start.wait()
        try:
            if task == "code":
                accounts.link_account(PersonCaller(f"guesser-{n}"), f"88888{n:03d}")
            elif task == "holder":
                accounts.link_account(PersonCaller(f"guesser-{n}"), f"88888{n:03d}", holder="Мельник")
            else:
                auth.sign_in("victim@example.com", "wrong-password")
        except TooManyAttempts:
            return "paused"
        except StorageUnavailable:
            return "unavailable"
        except DomainError as exc:
            return {"link_refused": "judged", "bad_credentials": "judged"}.get(exc.code, exc.code)
        except Exception as exc:  # counted and shown by the test, never lost with its thread
            return f"error: {type(exc).__name__}: {exc}"
        return "linked"

    for task in TASKS:
        outcomes: list[str] = []
        threads = [
            threading.Thread(target=lambda n=n, t=task, into=outcomes: into.append(request(t, n)))
            for n in range(first, first + THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results.put((task, outcomes))


@pytest.fixture(scope="module")
def bursts(seeded: str) -> dict[str, Counter[str]]:
    """Each task's 40 requests from 4 processes, released together; outcomes counted per task."""
    context = multiprocessing.get_context("forkserver")  # fresh processes, forked fast
    start, results = context.Barrier(CONTAINERS * THREADS), context.Queue()
    env = _environment(seeded)
    processes = [
        context.Process(target=_container, args=(env, start, results, 100 + c * THREADS))
        for c in range(CONTAINERS)
    ]
    for process in processes:
        process.start()
    outcomes: dict[str, Counter[str]] = {task: Counter() for task in TASKS}
    for _ in range(CONTAINERS * len(TASKS)):
        task, found = results.get(timeout=300)
        outcomes[task].update(found)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return outcomes


@pytest.fixture(scope="module")
def seeded(endpoint: str) -> str:
    """88888 (SRC 640, holder Петренко) and a login whose password is not 'wrong-password'."""
    saved = dict(os.environ)
    os.environ.update(_environment(endpoint))
    os.environ.pop("AWS_SESSION_TOKEN", None)
    try:
        from ekc.config import clear_settings
        from ekc.domain.model import Account
        from ekc.services import auth
        from ekc.storage import forget, get_stores

        clear_settings()
        forget()
        stores = get_stores()
        stores.accounts.put_account(
            Account("88888", "640", "Петренко О. І.", "вул. Соборна, буд. 10", "Кременчук", "05366")
        )
        auth._hasher.cache_clear()
        auth.sign_up("victim@example.com", "right-password-1", stores=stores)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        forget()
    return endpoint


def test_containers_codes_alone_at_one_account_are_judged_once(bursts: dict[str, Counter[str]]) -> None:
    # Given 40 guesses of 88888's SRC code, from 40 identities in 4 containers, released at once
    outcomes = bursts["code"]
    # Then the account's code-alone budget (one a month) judged one; the rest were asked for a surname
    # ("unavailable": a transaction conflict still there after three retries, answered "try again")
    assert outcomes["judged"] == 1, outcomes
    assert outcomes["holder_needed"] + outcomes["unavailable"] == 39, outcomes


def test_containers_guesses_with_a_surname_are_judged_at_most_three_times(
    bursts: dict[str, Counter[str]],
) -> None:
    # Given 40 guesses of 88888's SRC code and holder, from 40 identities in 4 containers, at once
    outcomes = bursts["holder"]
    # Then the account's budget with a surname (three a month) judged three, not more
    assert outcomes["judged"] == 3, outcomes
    assert outcomes["paused"] + outcomes["unavailable"] == 37, outcomes


def test_containers_wrong_passwords_are_judged_at_most_ten_times(bursts: dict[str, Counter[str]]) -> None:
    # Given 40 wrong passwords for one e-mail from 4 containers at once
    outcomes = bursts["signin"]
    # Then ten were checked (the e-mail's budget), the rest refused unchecked
    assert outcomes["judged"] == 10, outcomes
    assert outcomes["paused"] + outcomes["unavailable"] == 30, outcomes
