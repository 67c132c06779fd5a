"""Powertools' idempotency on the template's IdempotencyTable, built lazily from the settings.

Viber re-sends callbacks, telephony providers retry webhooks, EventBridge may fire twice: a door wraps
the service call of such an entry point with `@idempotent(...)`, keyed on what identifies the
delivery (Viber's `message_token`, a call's `CallSid` + step, a window's id). The persistence layer uses
the container's one DynamoDB client, and is made on the first call, not at import.
Set `POWERTOOLS_IDEMPOTENCY_DISABLED=1` to switch it off (unit tests do).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_EXPIRY_SECONDS = 24 * 3600
_lambda_context: list[Any] = []  # the invocation's context, so an in-progress record expires with it


class AlreadyInProgress(Exception):
    """The same key is being handled right now by another invocation: that one answers.

    Powertools' own exception, translated so that a door can catch it without importing Powertools'
    idempotency package (which loads boto3) at cold start.
    """


def register_lambda_context(context: Any) -> None:
    """Tell idempotency how long this invocation may still run (call it at the top of a handler)."""
    _lambda_context[:] = [context]


@functools.lru_cache(maxsize=1)
def persistence_layer() -> Any:
    """The DynamoDB persistence layer on the idempotency table, sharing the container's client."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from ekc.config import storage_settings
    from ekc.storage import dynamodb_client

    return DynamoDBPersistenceLayer(
        table_name=storage_settings().idempotency_table, boto3_client=dynamodb_client()
    )


def idempotent(
    data_keyword_argument: str,
    *,
    key_jmespath: str | None = None,
    expires_after_seconds: int = DEFAULT_EXPIRY_SECONDS,
    output_serializer: Any = None,
) -> Callable[[F], F]:
    """Make a function run once per key of its `data_keyword_argument`; repeats get the first answer.

    `key_jmespath` picks the key out of that argument (a dict); the whole argument otherwise.
    """

    def decorate(function: F) -> F:
        wrapped: Callable[..., Any] | None = None
        config_of: list[Any] = [None]
        layer_of: list[Any] = [None]

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal wrapped
            # Rebuilt when the persistence layer is (a test's new container): the old one's client is gone.
            if wrapped is None or layer_of[0] is not persistence_layer():
                layer_of[0] = persistence_layer()
                from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

                config = IdempotencyConfig(
                    event_key_jmespath=key_jmespath or "",
                    expires_after_seconds=expires_after_seconds,
                    raise_on_no_idempotency_key=True,
                )
                wrapped = idempotent_function(
                    data_keyword_argument=data_keyword_argument,
                    persistence_store=layer_of[0],
                    config=config,
                    output_serializer=output_serializer,
                )(function)
                config_of[0] = config
            if _lambda_context:
                config_of[0].register_lambda_context(_lambda_context[0])
            from aws_lambda_powertools.utilities.idempotency.exceptions import (
                IdempotencyAlreadyInProgressError,
            )

            try:
                return wrapped(*args, **kwargs)
            except IdempotencyAlreadyInProgressError as exc:
                raise AlreadyInProgress() from exc

        return call  # type: ignore[return-value]

    return decorate
