"""Reminders through the window close's real handler: moto's DynamoDB, and Viber as a real HTTP server.

The Viber side is `local/viber_fake.py` (the local stack's fake of Viber's REST API, which checks the
auth token, receiver and text as Viber does and records each body) served on a thread on 127.0.0.1:
the reminders' urllib sender posts to it exactly as it would post to chatapi.viber.com.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import boto3
import pytest

from local.seed import demo_organizations
from local.viber_fake import ViberFake, wsgi_app
from tests.integration.conftest import NOW
from tests.integration.test_window_close import BUCKET, Context

EVENTS = Path(__file__).parent.parent / "events"
SCHEDULE = json.loads((EVENTS / "eventbridge_schedule.json").read_text())
REMIND = json.loads((EVENTS / "window_close_reminders.json").read_text())  # an operator's "send them now"
TOKEN = "reminder-test-auth-token"
_ORGS, MONTH = demo_organizations(NOW)
ENDS = next(o for o in _ORGS if o.id == "electricity").rule.bounds(MONTH)[1]
T48 = ENDS - timedelta(hours=47)  # electricity's (and water's) 48-hour reminder is due; gas's is not
VIBER_ID = "vb-reminded-user=="


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on the test's output."""


@pytest.fixture
def viber(monkeypatch: pytest.MonkeyPatch) -> Iterator[ViberFake]:
    """The fake Viber API on a real socket; VIBER_API_URL and the token point the sender at it."""
    fake = ViberFake(auth_token=lambda: TOKEN)
    server = make_server("127.0.0.1", 0, wsgi_app(fake), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("VIBER_API_URL", f"http://127.0.0.1:{server.server_port}/pa")
    monkeypatch.setenv("VIBER_AUTH_TOKEN", TOKEN)
    from ekc.config import clear_settings

    clear_settings()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def resident(table: Any, demo: dict[str, Any], clock_at: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A Viber user linked to the demo account 77777 (nothing handed in for the month), clock at T48."""
    from ekc.config import close_settings
    from ekc.services import viber_people
    from ekc.storage import get_stores

    stores = get_stores()
    person = viber_people.person_for(VIBER_ID, stores=stores, now=NOW).person_id
    account = stores.accounts.get_account("77777")
    assert account is not None
    stores.people.link(person, account, NOW)
    s3 = boto3.client("s3", region_name="eu-central-1")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    monkeypatch.setenv("CLOSE_WORKERS", "1")
    monkeypatch.setenv("CLOSE_LOOKBACK_WINDOWS", "1")
    close_settings.cache_clear()
    clock_at(T48)
    return person


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    from functions.window_close import app

    return app.lambda_handler(copy.deepcopy(event), Context())


def _reminders_sent(viber: ViberFake) -> list[dict[str, Any]]:
    return [b for b in viber.sent if b.get("receiver") == VIBER_ID]


def test_reminders_the_schedule_sends_each_once_through_viber_rest(
    viber: ViberFake, resident: str, table: Any
) -> None:
    # When EventBridge's schedule fires 47 hours before the electricity (and water) window ends
    answer = _invoke({**SCHEDULE, "id": "reminder-run-1"})
    # Then Viber's send_message got one message per organization due, in Viber's JSON
    rounds = {(r["org"], r["hours_before_close"]): r["sent"] for r in answer["reminders"]["rounds"]}
    assert rounds == {("electricity", 48): 1, ("water", 48): 1}
    sent = _reminders_sent(viber)
    assert len(sent) == 2
    electricity = next(b for b in sent if "Кременчукенергозбут" in b["text"])
    assert {k: electricity[k] for k in ("receiver", "type", "min_api_version", "sender")} == {
        "receiver": VIBER_ID,
        "type": "text",
        "min_api_version": 1,
        "sender": {"name": "ВАСя"},
    }
    assert "• о/р 77777: Електроенергія, лічильник електроенергії" in electricity["text"]
    assert "якщо не подасте, бот внесе 6\u00a0116,000 кВт·год" in electricity["text"]
    assert "Введення показників" in [b["ActionBody"] for b in electricity["keyboard"]["Buttons"]]
    # And each is marked, with a TTL, before it went
    markers = table.query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"REMINDED#{VIBER_ID}"}
    )["Items"]
    assert sorted(m["sk"] for m in markers) == [f"electricity#{MONTH}#48", f"water#{MONTH}#48"]
    assert all(int(m["ttl"]) > ENDS.timestamp() for m in markers)
    # When the schedule fires again (a new event 15 minutes later, and the same event delivered twice)
    _invoke({**SCHEDULE, "id": "reminder-run-2"})
    _invoke({**SCHEDULE, "id": "reminder-run-2"})
    # Then nothing more went
    assert len(_reminders_sent(viber)) == 2


def test_reminders_not_subscribed_answer_marks_the_user_and_nothing_more_goes(
    viber: ViberFake, resident: str, table: Any
) -> None:
    # Given Viber answers the next send with status 6 (the user unsubscribed meanwhile)
    viber.failures.append({"count": 1, "status": 6})
    answer = _invoke(REMIND)
    # Then the first round's send is counted as failed, the identity says unsubscribed, and the second
    # round (water) does not even try
    assert [(r["org"], r["sent"], r["failed"]) for r in answer["rounds"]] == [
        ("electricity", 0, 1),
        ("water", 0, 0),
    ]
    assert answer["rounds"][0]["failures"] == {"receiver_not_subscribed": 1}
    identity = table.get_item(Key={"pk": f"VIBER#{VIBER_ID}", "sk": "IDENTITY"})["Item"]
    assert identity["subscribed"] is False
    # When the 24-hour reminders are due
    from ekc import clock

    clock_moment = ENDS - timedelta(hours=23)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", lambda: clock_moment)
        later = _invoke(REMIND)
    # Then there is nobody to send them to
    assert [r["sent"] + r["failed"] for r in later["rounds"]] == [0, 0]
    assert viber.sent == []


def test_reminders_sender_posts_viber_json_with_the_token_and_reads_the_status(viber: ViberFake) -> None:
    from ekc.config import ViberSettings
    from ekc.viber_api import HttpViberSender, Sent

    sender = HttpViberSender(ViberSettings())
    # A message Viber takes
    assert sender.send("vb-x==", {"text": "Привіт", "keyboard": None}) == Sent(True)
    assert viber.sent == [
        {
            "receiver": "vb-x==",
            "min_api_version": 1,
            "sender": {"name": "ВАСя"},
            "type": "text",
            "text": "Привіт",
        }
    ]
    # A wrong token: Viber answers HTTP 200 with status 2, which is a failure
    wrong = HttpViberSender(ViberSettings(viber_auth_token="not-the-token"))
    assert wrong.send("vb-x==", {"text": "Привіт"}) == Sent(False, "status_2")
    # An HTTP error, and nobody listening
    viber.failures.append({"count": 1, "http": 503})
    assert sender.send("vb-x==", {"text": "Привіт"}) == Sent(False, "http_503")
    gone = HttpViberSender(ViberSettings(viber_api_url="http://127.0.0.1:9/pa"))
    assert gone.send("vb-x==", {"text": "Привіт"}) == Sent(False, "connection")
