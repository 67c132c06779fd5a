"""The phone lines' figures: DynamoDB requests per call step (warm), the interpreter's accuracy, cold import.

`measure()` drives whole calls through the real `ivr_handler` (tests/phone_driver.py, signed webhooks
as API Gateway delivers them) against moto tables built from template.yaml, counting DynamoDB requests
per webhook with botocore's `before-call` event, in a warm container (a first call has filled the
organizations' cache and made the client); and scores the speech interpreter on
tests/unit/data/transcripts.json (bench/speech.py's scoring). `cold_import()` times the handler's import
against the libraries it must load, alternating in fresh interpreters.

`python -m bench.phone` prints both.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.environment import moto_environment

ROOT = Path(__file__).resolve().parent.parent
GOAL_PER_STEP = 2
# The account's entry, once per call: the guess reserved (read + conditional ADD), the account's query,
# the reservation given back.
GOAL_ACCOUNT_ENTRY = 4
# Dotted paths into measure()'s result, as bench/run.py gates them.
GOALS = {
    "ddb_requests.ivr_step": GOAL_PER_STEP,
    "ddb_requests.ivr_account_entry": GOAL_ACCOUNT_ENTRY,
    "speech_interpreter.wrong_values": 0,
}
ENTRY_STEPS = ("keypad: account confirmed, menu", "voice: account confirmed, menu")
TOKEN = "bench-twilio-auth-token"

# What ivr_handler must load whatever we write: Powertools' logger and metrics, pydantic settings, the
# time zone database and twilio's TwiML and validator.
BASELINE_IMPORTS = """
import aws_lambda_powertools.logging
import aws_lambda_powertools.metrics
import pydantic, pydantic_settings
import zoneinfo; zoneinfo.ZoneInfo("Europe/Kyiv")
import twilio.twiml.voice_response, twilio.request_validator
"""
APP_IMPORT = "import functions.ivr_handler.app"
TIMER = "import time; _t = time.perf_counter()\n{body}\nprint(time.perf_counter() - _t)"


def _environment() -> None:
    moto_environment(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL="https://cabinet.example.test")


def ddb_requests() -> dict[str, Any]:
    """DynamoDB requests of each webhook of whole calls on both lines, warm; the worst one is `ivr_step`."""
    _environment()
    import boto3
    import botocore.session
    import pynamodb.connection.base as pynamodb_base
    from moto import mock_aws

    calls: Counter[str] = Counter()
    session = botocore.session.get_session()
    session.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
    pynamodb_base.get_session = lambda: session  # every PynamoDB connection counts on this session

    from ekc import clock
    from ekc.config import clear_settings
    from ekc.storage import forget
    from functions.ivr_handler import app
    from local.seed import seed_demo
    from local.tables import create_tables
    from tests.integration.conftest import NOW
    from tests.phone_driver import PhoneCall, handler_transport

    clock.now = lambda: NOW + timedelta(minutes=1)
    steps: dict[str, int] = {}
    operations: dict[str, dict[str, int]] = {}

    def counted(label: str, action: Callable[[], Any]) -> None:
        calls.clear()
        action()
        steps[label] = sum(calls.values())
        operations[label] = dict(calls)

    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name="eu-central-1"))
        clear_settings()
        forget()
        seed_demo(NOW)
        forget()  # the seed filled the organizations' cache: start as a new container
        transport = handler_transport(app.lambda_handler)
        # A new container: its first account lookup also reads the organizations and makes the client.
        first = PhoneCall(transport, "keypad", token=TOKEN)
        first.dial()
        first.press("77777#")
        calls.clear()
        first.press("1")
        cold_lookup = sum(calls.values())

        keypad = PhoneCall(transport, "keypad", token=TOKEN)
        counted("keypad: call comes in", keypad.dial)
        counted("keypad: account keyed", lambda: keypad.press("77777#"))
        counted("keypad: account confirmed, menu", lambda: keypad.press("1"))
        counted("keypad: repeat key", lambda: keypad.press("9"))
        counted("keypad: kind chosen", lambda: keypad.press("2"))
        counted("keypad: reading keyed, read back", lambda: keypad.press("205*5#"))
        counted("keypad: reading confirmed, saved", lambda: keypad.press("1"))
        calls.clear()
        keypad.retry()  # the provider sends the save's webhook again: the core reads the first save's marker
        retried_save, retried_ops = sum(calls.values()), dict(calls)
        counted("keypad: another meter, menu", lambda: keypad.press("1"))
        counted("keypad: silence at the menu", keypad.wait)
        counted("keypad: kind chosen (water)", lambda: keypad.press("3"))
        counted("keypad: implausible reading keyed", lambda: keypad.press("900#"))
        counted("keypad: confirmed, questioned", lambda: keypad.press("1"))
        counted("keypad: question confirmed, saved", lambda: keypad.press("1"))
        counted("keypad: goodbye", lambda: keypad.press("2"))

        voice = PhoneCall(transport, "voice", caller="+380536223351", token=TOKEN)
        counted("voice: call comes in", voice.dial)
        counted("voice: account said", lambda: voice.say("сім сім сім сім сім"))
        counted("voice: account confirmed, menu", lambda: voice.say("так"))
        counted("voice: kind said", lambda: voice.say("світло"))
        counted("voice: unreadable number", lambda: voice.say("двісті пядесят"))
        counted("voice: reading said, read back", lambda: voice.say("шість тисяч двісті"))
        counted("voice: correction said, read back", lambda: voice.say("ні, шість тисяч двісті десять"))
        counted("voice: reading confirmed, saved", lambda: voice.say("так"))

        unknown = PhoneCall(transport, "keypad", caller="+380501234567", token=TOKEN)
        unknown.dial()
        unknown.press("12345#")
        calls.clear()
        unknown.press("1")
        not_found = sum(calls.values())
        not_found_ops = dict(calls)
    return {
        # The worst of a caller's steps but the account's entry; it and the two rarer paths below apart.
        "ivr_step": max(n for label, n in steps.items() if label not in ENTRY_STEPS),
        "account_entry": max(steps[label] for label in ENTRY_STEPS),
        "steps": steps,
        "account_lookup_cold_container": cold_lookup,
        # A failed entry keeps its reservation: read + reserve + lookup (typos and guesses).
        "account_not_found": not_found,
        # A provider's retry of a save: the core's query, its refused transaction, the marker's read.
        "retried_save": retried_save,
        "operations": {**operations, "account_not_found": not_found_ops, "retried_save": retried_ops},
    }


def interpreter() -> dict[str, Any]:
    """The speech interpreter on the transcript set: accuracy, wrong values (must be 0), reasons."""
    from bench.speech import _ours, load_cases, score

    cases = load_cases()
    whole = score(_ours, cases)
    holdout = score(_ours, [c for c in cases if c.get("set") == "holdout"])
    return {
        "cases": whole["cases"],
        "accuracy": whole["accuracy"],
        "wrong_values": whole["wrong_values"],
        "reason_matches": whole["reason_matches"],
        "holdout_accuracy": holdout["accuracy"],
    }


def measure() -> dict[str, Any]:
    """The phone's figures for `make bench`: requests per step (goal at most 2, warm) and the interpreter."""
    with contextlib.redirect_stdout(io.StringIO()):  # the handler's log and metric lines are not results
        requests = ddb_requests()
    return {
        "ddb_requests": {
            "ivr_step": requests["ivr_step"],
            "ivr_account_entry": requests["account_entry"],
            "ivr": requests,
        },
        "speech_interpreter": interpreter(),
        "goals": GOALS,
    }


def _time_import(body: str) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'common' / 'python'}",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "AWS_DEFAULT_REGION": "eu-central-1",
    }
    out = subprocess.run(
        [sys.executable, "-c", TIMER.format(body=body)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def cold_import(rounds: int = 9) -> dict[str, float]:
    """Median import seconds of ivr_handler and of its baseline, alternating, after a warm-up of each."""
    _time_import(BASELINE_IMPORTS)
    _time_import(APP_IMPORT)  # also writes the .pyc files, as a deployed package has them
    app, base = [], []
    for _ in range(rounds):
        base.append(_time_import(BASELINE_IMPORTS))
        app.append(_time_import(APP_IMPORT))
    app_s, base_s = statistics.median(app), statistics.median(base)
    return {
        "app_seconds": round(app_s, 4),
        "baseline_seconds": round(base_s, 4),
        "ratio": round(app_s / base_s, 3),
    }


if __name__ == "__main__":
    results = measure()
    results["cold_import"] = {"ivr_handler": cold_import()}
    print(json.dumps(results, indent=2, ensure_ascii=False))
    for dotted, goal in GOALS.items():
        section, name = dotted.split(".")
        if results[section][name] > goal:
            print(f"goal missed: {dotted} {results[section][name]} > {goal}")
