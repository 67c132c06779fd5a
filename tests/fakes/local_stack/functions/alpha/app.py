"""A fake function for the local stack's tests: answers what its process sees (see probe.py)."""

from __future__ import annotations

import json
from typing import Any

from probe import answer


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Direct invocations get the facts; HTTP API events get them as a JSON answer."""
    facts = answer("alpha", event, context)
    if "routeKey" not in event:
        return facts
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(facts)}
