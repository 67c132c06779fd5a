"""The layer's settings for a benchmark that runs the handlers in this process, on moto."""

from __future__ import annotations

import os

SIGNING_KEY = "bench-signing-key-0123456789abcdef0123456789"


def moto_environment(**extra: str) -> None:
    """Fake credentials, the template's table name, a bench signing key, cheap passwords, and `extra`."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="eu-central-1",
        AWS_REGION="eu-central-1",
        TABLE_NAME="MainTable",
        TOKEN_SIGNING_KEY=SIGNING_KEY,
        POWERTOOLS_METRICS_NAMESPACE="Bench",
        ARGON2_MEMORY_KIB="8192",
        ARGON2_TIME_COST="1",
        **extra,
    )
