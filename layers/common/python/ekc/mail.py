"""Letters to residents through Amazon SES (API v2) with boto3; locally the same calls reach a fake
mailbox (`local/mailbox.py`) at MAIL_ENDPOINT_URL, so the code that sends is the code that runs in AWS."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from ekc.config import MailSettings, mail_settings
from ekc.exceptions import StorageUnavailable
from ekc.observability import logger


@dataclass(frozen=True, slots=True)
class Letter:
    """A plain-text letter to one address."""

    to: str
    subject: str
    text: str


class Mailer(Protocol):
    """Sends letters."""

    def send(self, letter: Letter) -> str:
        """Send one letter; its message id. StorageUnavailable("mail_unavailable") when it could not go."""
        ...


class SesMailer:
    """Amazon SES v2 `SendEmail`, one client per container, short timeouts (the resident is waiting)."""

    def __init__(self, settings: MailSettings, client: Any | None = None) -> None:
        self._settings = settings
        self._client = client

    def _ses(self) -> Any:
        if self._client is None:
            import boto3  # imported on use: only recovery sends mail
            from botocore.config import Config

            timeout = self._settings.mail_timeout_seconds
            self._client = boto3.client(
                "sesv2",
                region_name=self._settings.aws_region,
                endpoint_url=self._settings.mail_endpoint_url,
                config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2}),
            )
        return self._client

    def send(self, letter: Letter) -> str:
        """Send one letter through SES; its message id."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._ses().send_email(
                FromEmailAddress=self._settings.mail_from,
                Destination={"ToAddresses": [letter.to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": letter.subject, "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": letter.text, "Charset": "UTF-8"}},
                    }
                },
            )
        except (BotoCoreError, ClientError) as exc:
            # The address is never logged: a log line is no place for personal data.
            logger.warning("mail not sent", extra={"why": type(exc).__name__})
            raise StorageUnavailable("mail_unavailable") from exc
        return str(answer.get("MessageId", ""))


@lru_cache(maxsize=1)
def get_mailer() -> Mailer:
    """The container's mailer (SES, or the fake mailbox's endpoint locally)."""
    return SesMailer(mail_settings())
