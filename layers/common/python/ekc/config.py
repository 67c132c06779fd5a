"""Settings per concern, each read from the environment by pydantic once per cold start.

A function reads only the concerns it uses (the web API never needs the Viber token, the window close
never needs the Twilio one), so a setting missing for one door cannot break another. A variable's name
is its field's name in capitals (`table_name` <- `TABLE_NAME`): no hand-kept map.

Secrets, and values only known after deployment, come from the environment locally and in AWS from
SSM Parameter Store: when `TOKEN_SIGNING_KEY` is unset but `TOKEN_SIGNING_KEY_PARAMETER` names a
parameter, its (decrypted) value is read through Powertools' parameters utility (cached by it). The
cabinet's public address is one such value: CloudFront's domain cannot be passed to a function the
API it fronts depends on without a cycle, so the template writes it to a parameter instead.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PARAMETER_SUFFIX = "_PARAMETER"


class _SsmParameters(PydanticBaseSettingsSource):
    """Fields whose value is unset but whose `<NAME>_PARAMETER` names an SSM parameter."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Not used: __call__ reads every field at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            if os.environ.get(name.upper()):
                continue
            parameter = os.environ.get(name.upper() + PARAMETER_SUFFIX)
            if parameter:
                from aws_lambda_powertools.utilities import parameters  # only where a secret lives in SSM

                values[name] = parameters.get_parameter(parameter, decrypt=True, max_age=300)
        return values


class _Env(BaseSettings):
    """A concern's settings: fields read from the environment variables of the same name."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then SSM parameters; no .env files in Lambda."""
        return init_settings, env_settings, _SsmParameters(settings_cls)


# A base address is kept without its trailing slash, so paths can be appended as "/...".
BaseUrl = Annotated[str, AfterValidator(lambda value: value.rstrip("/"))]


class StorageSettings(_Env):
    """DynamoDB: the main table, the idempotency table, where they are."""

    table_name: str = "MainTable"
    idempotency_table: str = "IdempotencyTable"
    dynamodb_endpoint: str | None = None
    aws_region: str = Field(
        default="eu-central-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )
    org_cache_seconds: int = 60


class ClockSettings(_Env):
    """The server's clock."""

    # A fixed starting point for the clock, for demos and tests of the local stack only.
    local_now: datetime | None = None

    @field_validator("local_now")
    @classmethod
    def _local_only(cls, value: datetime | None) -> datetime | None:
        # A frozen clock in production would break "last submission wins".
        if value is not None and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            raise ValueError("LOCAL_NOW is for the local stack only, never in AWS")
        if value is not None and value.tzinfo is None:
            raise ValueError("LOCAL_NOW needs a UTC offset, e.g. 2026-11-01T12:00:00+02:00")
        return value


class LinkSettings(_Env):
    """The invoice's QR links: the signing key, where they point, how long the web one lasts."""

    token_signing_key: SecretStr = Field(min_length=32)
    public_base_url: BaseUrl = "http://127.0.0.1:3000"
    viber_chat_uri: str = "ekc-kremenchuk"
    web_qr_token_days: int = 60
    # The QR codes the web cabinet shows a linked person: tied to that person's link, and short-lived.
    cabinet_qr_token_days: int = 30


class WebSettings(_Env):
    """The web cabinet's sessions and sign-in."""

    session_days: int = 30
    # An invoice QR may be scanned on a shared or borrowed phone: its session is short.
    qr_session_hours: int = 12
    # Wrong passwords per e-mail in the current 15-minute window and the previous one.
    signin_failures_allowed: int = 10
    signin_window_minutes: int = 15
    # argon2id cost: RFC 9106's second recommended option (64 MiB, 3 passes). Lower only in tests.
    argon2_memory_kib: int = Field(default=65536, ge=8192)
    argon2_time_cost: int = Field(default=3, ge=1)


class LinkingSettings(_Env):
    """Budgets on guessing an account's SRC code (every door that links by account + SRC).

    Each allows that many wrong guesses in its current window and the previous one together; the
    windows and the arithmetic are in docs/decisions.md ("Guessing"). Lowering a city budget lowers
    the expected number of accounts an attacker links; raising it is a decision to write down.
    """

    # Account + SRC code alone: a person's one mistake a day, an account's one a month, the city's ten.
    link_code_person_failures: int = Field(default=1, ge=0)
    link_code_account_failures: int = Field(default=1, ge=0)
    link_code_city_failures: int = Field(default=10, ge=0)
    # Account + SRC code + the holder's surname from the invoice (asked once the code alone may not be
    # judged): a person's five a day, an account's three a month, the city's twenty a day.
    link_holder_person_failures: int = Field(default=5, ge=0)
    link_holder_account_failures: int = Field(default=3, ge=0)
    link_holder_city_failures: int = Field(default=20, ge=0)


class ViberSettings(_Env):
    """The Viber public account's bot."""

    viber_auth_token: SecretStr = Field(min_length=1)
    viber_api_url: BaseUrl = "https://chatapi.viber.com/pa"
    viber_bot_name: str = "ВАСя"
    viber_bot_avatar: str | None = None
    viber_timeout_seconds: float = 3.0


class PhoneLines(_Env):
    """The phone lines' numbers as residents are told them: no secret, so the web can read them alone."""

    keypad_phone_number: str = ""
    voice_phone_number: str = ""


class TelephonySettings(PhoneLines):
    """The keypad and voice lines' webhooks."""

    twilio_auth_token: SecretStr = Field(min_length=1)
    # The public address the provider calls: the webhook signature covers it.
    public_base_url: BaseUrl = "http://127.0.0.1:3000"
    # The robot's voice: a Google voice speaks Ukrainian with SSML; slower than usual for elderly callers.
    phone_voice: str = "Google.uk-UA-Standard-A"
    phone_language: str = "uk-UA"
    phone_speech_rate: str = "90%"
    # Failed account entries allowed per calling number and per account in a window and the one before.
    phone_entry_failures_allowed: int = 5
    phone_entry_window_minutes: int = 15
    # How long a call's state in its action URLs stays good (the provider ends calls after 4 hours).
    phone_state_hours: int = 4


class MailSettings(_Env):
    """Letters to residents (password recovery): Amazon SES through boto3; locally a fake mailbox."""

    # The SES-verified sender; empty means no letters can go out, so recovery is not offered.
    mail_from: str = ""
    # Local stack only: the fake mailbox's SES endpoint (local/mailbox.py); unset in AWS.
    mail_endpoint_url: str | None = None
    aws_region: str = Field(
        default="eu-central-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )
    mail_timeout_seconds: float = 3.0
    # A recovery link works once, for this long.
    recovery_link_minutes: int = Field(default=60, ge=5)
    # Letters per e-mail, per sender's address and for the whole city, in the current hour and the
    # previous one together (docs/decisions.md): enough for a resident's retries, too few to flood.
    recovery_per_email: int = Field(default=3, ge=0)
    recovery_per_address: int = Field(default=10, ge=0)
    recovery_per_city: int = Field(default=500, ge=0)
    recovery_window_minutes: int = Field(default=60, ge=1)

    @property
    def enabled(self) -> bool:
        """Whether recovery letters can be sent at all."""
        return bool(self.mail_from.strip())


class DataSettings(_Env):
    """The bucket of exports to utilities and imports from billing."""

    data_bucket: str = "meter-readings-data"
    s3_endpoint_url: str | None = None
    aws_region: str = Field(
        default="eu-central-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )


class CloseSettings(_Env):
    """The window close: which windows it looks at, how it spreads its work, when it gives up a run."""

    # Set by Lambda itself: its presence means "in AWS", where an operator's `now` is refused.
    aws_lambda_function_name: str | None = None
    # The fan-out queue (SQS); unset, a run does what its time allows and the next run resumes.
    close_queue_url: str | None = None
    # How many of each organization's most recent closed windows every run checks for unfinished work.
    close_lookback_windows: int = Field(default=2, ge=1, le=12)
    # Wait this long after a window's last second: longer than any door's request may run (web_api's
    # Timeout is 10 s), so a reading decided inside the window is written before any bot looks.
    close_grace_seconds: int = Field(default=30, ge=0)
    # Shards worked on at once in one invocation (threads; the work is waiting on DynamoDB).
    close_workers: int = Field(default=8, ge=1, le=32)
    # Stop starting new work this long before the invocation's time limit.
    close_margin_seconds: int = Field(default=60, ge=5)
    # A shard taken by a run is left alone by others this long; the run renews it every sixth of it
    # while working, so a run that died frees its shards within this time.
    close_lease_seconds: int = Field(default=180, ge=30)
    # A shard handed to the queue waits at most this long for a worker before any run may take it.
    close_queue_lease_seconds: int = Field(default=2 * 3600, ge=60)
    # Meters per bot transaction (a history Put, the month's winner and a meter Update each: DynamoDB's
    # 100 actions take up to 33). The capacity cost is the same whatever the size; the full size makes
    # a third of the requests, and after the window closed a resident's race (which cancels one
    # transaction, written again at once without that meter) is rare. Measured: docs/scale.md.
    close_meters_per_transaction: int = Field(default=33, ge=1, le=33)
    # Rows per part object of an export (a part is written, and recorded, as one piece of progress).
    close_part_rows: int = Field(default=50_000, ge=1)
    # A window still unfinished this long after it closed raises the alarm.
    close_unfinished_alarm_hours: int = Field(default=24, ge=1)

    @property
    def in_aws(self) -> bool:
        """Whether this runs in AWS Lambda (an operator's pretended time is then refused)."""
        return bool(self.aws_lambda_function_name)


class ReminderSettings(_Env):
    """Viber reminders before a window closes (docs/viber.md, "Reminders")."""

    # Hours before a window's end at which a reminder goes out, e.g. "48,24"; empty: no reminders.
    reminder_hours: str = "48,24"
    # Messages a second at most. Viber allows a bot's broadcast 500 requests per 10 seconds and says no
    # figure for send_message beyond status 12 "too many requests": a fifth of the broadcast rate.
    reminder_rate_per_second: float = Field(default=10.0, gt=0, le=50)
    # A reminder's "sent" marker is kept this long (well past its window), then DynamoDB's TTL drops it.
    reminder_keep_days: int = Field(default=60, ge=7)
    # Stop starting new reminders this long before the invocation's time limit.
    reminder_margin_seconds: int = Field(default=30, ge=1)

    @field_validator("reminder_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip() and not (part.strip().isdigit() and 0 < int(part) <= 24 * 14):
                raise ValueError("REMINDER_HOURS is whole hours, 1..336, separated by commas (e.g. 48,24)")
        return value

    @property
    def offsets(self) -> tuple[int, ...]:
        """The hours before a window's end, largest first, each once."""
        return tuple(sorted({int(p) for p in self.reminder_hours.split(",") if p.strip()}, reverse=True))


@lru_cache(maxsize=1)
def storage_settings() -> StorageSettings:
    """DynamoDB settings, read once."""
    return StorageSettings()


@lru_cache(maxsize=1)
def clock_settings() -> ClockSettings:
    """The clock's settings, read once."""
    return ClockSettings()


@lru_cache(maxsize=1)
def link_settings() -> LinkSettings:
    """QR link settings (and the signing key), read once."""
    return LinkSettings()


@lru_cache(maxsize=1)
def web_settings() -> WebSettings:
    """Web session settings, read once."""
    return WebSettings()


@lru_cache(maxsize=1)
def linking_settings() -> LinkingSettings:
    """Linking rate limits, read once."""
    return LinkingSettings()


@lru_cache(maxsize=1)
def viber_settings() -> ViberSettings:
    """Viber bot settings, read once."""
    return ViberSettings()


@lru_cache(maxsize=1)
def telephony_settings() -> TelephonySettings:
    """Telephony settings, read once."""
    return TelephonySettings()


@lru_cache(maxsize=1)
def phone_lines() -> PhoneLines:
    """The phone lines' numbers, read once."""
    return PhoneLines()


@lru_cache(maxsize=1)
def mail_settings() -> MailSettings:
    """Mail settings, read once."""
    return MailSettings()


@lru_cache(maxsize=1)
def data_settings() -> DataSettings:
    """Export/import bucket settings, read once."""
    return DataSettings()


@lru_cache(maxsize=1)
def close_settings() -> CloseSettings:
    """Window close settings, read once."""
    return CloseSettings()


@lru_cache(maxsize=1)
def reminder_settings() -> ReminderSettings:
    """Reminder settings, read once."""
    return ReminderSettings()


ALL_SETTINGS = (
    storage_settings,
    clock_settings,
    link_settings,
    web_settings,
    linking_settings,
    viber_settings,
    telephony_settings,
    data_settings,
    close_settings,
    phone_lines,
    mail_settings,
    reminder_settings,
)


def clear_settings() -> None:
    """Forget every concern's settings (tests change the environment between cases)."""
    for getter in ALL_SETTINGS:
        getter.cache_clear()
