"""Configuration: one pydantic model of the environment, read once per cold start."""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache

from pydantic import BaseModel, Field, SecretStr, field_validator


class Settings(BaseModel):
    """Everything the functions read from their environment."""

    table_name: str = "MainTable"
    dynamodb_endpoint: str | None = None
    aws_region: str = "eu-central-1"
    token_signing_key: SecretStr = Field(min_length=32)
    public_base_url: str = "http://127.0.0.1:3000"
    viber_chat_uri: str = "ekc-kremenchuk"
    stage: str = "dev"
    # A fixed starting point for the clock, for demos and tests of the local stack only.
    local_now: datetime | None = None
    web_qr_token_days: int = 60
    session_days: int = 30
    # An invoice QR may be scanned on a shared or borrowed phone: its session is short.
    qr_session_hours: int = 12
    link_failures_allowed: int = 5
    link_failure_window_minutes: int = 15
    signin_failures_allowed: int = 10
    org_cache_seconds: int = 60
    # argon2id cost: RFC 9106's second recommended option (64 MiB, 3 passes). Lower only in tests.
    argon2_memory_kib: int = Field(default=65536, ge=8192)
    argon2_time_cost: int = Field(default=3, ge=1)

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("local_now")
    @classmethod
    def _local_only(cls, value: datetime | None) -> datetime | None:
        # A frozen clock in production would break "last submission wins".
        if value is not None and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            raise ValueError("LOCAL_NOW is for the local stack only, never in AWS")
        if value is not None and value.tzinfo is None:
            raise ValueError("LOCAL_NOW needs a UTC offset, e.g. 2026-11-01T12:00:00+02:00")
        return value


_ENV_NAMES = {
    "table_name": "TABLE_NAME",
    "dynamodb_endpoint": "DYNAMODB_ENDPOINT",
    "aws_region": "AWS_REGION",
    "token_signing_key": "TOKEN_SIGNING_KEY",
    "public_base_url": "PUBLIC_BASE_URL",
    "viber_chat_uri": "VIBER_CHAT_URI",
    "stage": "STAGE",
    "local_now": "LOCAL_NOW",
    "argon2_memory_kib": "ARGON2_MEMORY_KIB",
    "argon2_time_cost": "ARGON2_TIME_COST",
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings from the environment once; tests call get_settings.cache_clear()."""
    values = {field: os.environ[env] for field, env in _ENV_NAMES.items() if os.environ.get(env)}
    if "aws_region" not in values and os.environ.get("AWS_DEFAULT_REGION"):
        values["aws_region"] = os.environ["AWS_DEFAULT_REGION"]
    return Settings(**values)
