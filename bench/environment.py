"""The layer's settings for a benchmark that runs the handlers in this process, on moto."""

from __future__ import annotations

import os

SIGNING_KEY = "bench-signing-key-0123456789abcdef0123456789"


# Addresses another benchmark may have left pointing at a DynamoDB Local or S3 it has since stopped.
ENDPOINTS = ("DYNAMODB_ENDPOINT", "S3_ENDPOINT_URL", "MAIL_ENDPOINT_URL")


def moto_environment(**extra: str) -> None:
    """Fake credentials, the template's table name, a bench signing key, cheap passwords, and `extra`;
    no endpoint (moto answers in this process) and no settings or connections cached from before."""
    for name in ENDPOINTS:
        os.environ.pop(name, None)
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
    from ekc.config import clear_settings
    from ekc.storage import forget

    clear_settings()
    forget()
