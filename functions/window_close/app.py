"""The window close: EventBridge's schedule, the fan-out queue's tasks, and operators' re-runs.

Three kinds of event, two services (`ekc.services.closing`, `ekc.services.reminders`):
- the schedule (every 15 minutes): finish every window that has closed and is not finished, then send
  the Viber reminders due before the open windows close (docs/viber.md, "Reminders");
- a batch from the queue: shards (or a compose) that another invocation handed over;
- an operator's event (the Lambda console's test event, or `make close-window` locally):
  `{"org": "electricity", "month": "2026-11"}` closes that window (or resumes it), `"redo": true`
  starts a finished one over, `{}` does what the schedule does. Locally only (never in AWS),
  `"now"` pretends a later time, `"plan": true` only lists the windows, `"shards": [...]` narrows.
  `{"reminders": true}` (with `"org"`, and locally `"now"`) sends the reminders due and closes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ekc.config import close_settings
from ekc.domain.months import Month
from ekc.exceptions import DomainError
from ekc.idempotency import AlreadyInProgress, idempotent, register_lambda_context
from ekc.observability import logger
from ekc.services import closing, reminders
from ekc.storage import keys


class OperatorEvent(BaseModel):
    """An operator's re-run: which window (or all), and the local stack's extras."""

    model_config = ConfigDict(extra="forbid")

    org: str | None = Field(default=None, min_length=1, max_length=64)
    month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    redo: bool = False
    plan: bool = False
    shards: list[int] | None = Field(default=None, max_length=keys.ORG_SHARDS)
    now: AwareDatetime | None = None
    reminders: bool = False


def _error(code: str, **params: object) -> dict[str, Any]:
    return {"error": {"code": code, "params": {k: str(v) for k, v in params.items()}}}


def _operator(event: dict[str, Any], time_left: Callable[[], float]) -> dict[str, Any]:
    try:
        asked = OperatorEvent.model_validate(event)
    except ValidationError as exc:
        details = [{"loc": list(e.get("loc", ())), "type": e.get("type")} for e in exc.errors()]
        return {"error": {"code": "invalid_event", "details": details}}
    if asked.now is not None and close_settings().in_aws:
        # A pretended time would close windows early, for real: the local stack's tool only.
        return _error("now_not_allowed")
    if asked.redo and (asked.org is None or asked.month is None):
        return _error("redo_needs_org_and_month")
    logger.info("window close asked by an operator", extra={"asked": asked.model_dump(mode="json")})
    if asked.reminders:
        return reminders.send_due(now=asked.now, org_id=asked.org, time_left=time_left).as_dict()
    try:
        report = closing.close_windows(
            org_id=asked.org,
            month=Month.parse(asked.month) if asked.month else None,
            redo=asked.redo,
            shards=asked.shards,
            plan_only=asked.plan,
            now=asked.now,
            time_left=time_left,
        )
    except closing.CloseIncomplete as exc:
        return exc.report.as_dict()  # the operator reads which shards failed; a re-run resumes them
    except DomainError as exc:
        return _error(exc.code, **exc.params)
    return report.as_dict()


@idempotent("event", key_jmespath="id")
def _scheduled(*, event: dict[str, Any], time_left: Callable[[], float]) -> dict[str, Any]:
    """One scheduled run per EventBridge event id: a second delivery gets the first's answer.

    The close first (it finishes windows that closed), then the reminders of the open ones with the
    time left; a close that failed in part still lets the reminders go, then fails the run.
    """
    try:
        report = closing.close_windows(time_left=time_left).as_dict()
    except closing.CloseIncomplete:
        _remind(time_left)
        raise
    return {**report, "reminders": _remind(time_left)}


def _remind(time_left: Callable[[], float]) -> dict[str, Any]:
    """The reminders due now; a failure here is logged and never undoes the close's answer."""
    try:
        return reminders.send_due(time_left=time_left).as_dict()
    except Exception:
        logger.exception("reminders failed; the next scheduled run tries again (markers prevent repeats)")
        return {"error": "reminders_failed"}


def _queued(event: dict[str, Any], time_left: Callable[[], float]) -> dict[str, Any]:
    records = event.get("Records") or []
    tasks, ids = [], []
    for record in records:
        try:
            task = json.loads(record["body"])
            Month.parse(str(task["month"]))
        except (KeyError, TypeError, ValueError):
            logger.error(
                "unreadable task on the window close queue", extra={"message_id": record.get("messageId")}
            )
            continue  # delivering it again would not make it readable
        tasks.append(task)
        ids.append(record["messageId"])
    outcome = closing.run_tasks(tasks, time_left=time_left)
    # SQS delivers the failed ones again (ReportBatchItemFailures), then moves them to the dead letters.
    return {"batchItemFailures": [{"itemIdentifier": ids[n]} for n in outcome.failed]}


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The Lambda entry point."""
    register_lambda_context(context)

    def time_left() -> float:
        return context.get_remaining_time_in_millis() / 1000

    if "Records" in event:
        return _queued(event, time_left)
    if event.get("detail-type") == "Scheduled Event":
        try:
            return _scheduled(event=event, time_left=time_left)
        except AlreadyInProgress:
            # EventBridge delivered the same event twice and the first is still at work: not a failure.
            logger.info("scheduled run already in progress", extra={"event_id": event.get("id")})
            return {"skipped": "already_in_progress", "event_id": event.get("id")}
    return _operator(event, time_left)
