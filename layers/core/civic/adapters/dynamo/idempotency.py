"""Powertools idempotency on the Idempotency table: a retried request replays the first answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from civic.settings import Settings

RECORD_TTL_SECONDS = 24 * 3600


class IdempotencyConflict(Exception):
    """The key was used before with another body (`reused`), or its first request is still running."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind  # "reused" | "in_progress"


def idempotent(settings: Settings) -> Callable[[Callable[[dict], dict]], Callable[..., dict]]:
    """Decorate `fn(request: dict) -> dict`; `request["key"]` is the idempotency key and
    `request["body"]` is compared on replay. The wrapper takes `(request, context=None)`."""
    import boto3
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    layer = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table,
        boto3_client=boto3.client("dynamodb", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url),
    )
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="body",
        expires_after_seconds=RECORD_TTL_SECONDS,
        raise_on_no_idempotency_key=True,
    )

    def decorate(fn: Callable[[dict], dict]) -> Callable[..., dict]:
        once = idempotent_function(data_keyword_argument="request", persistence_store=layer, config=config)(fn)

        def run(request: dict, context=None) -> dict:
            if context is not None:  # in Lambda: in-progress records expire with the invocation
                config.register_lambda_context(context)
            try:
                return once(request=request)
            except IdempotencyValidationError:
                raise IdempotencyConflict("reused") from None
            except IdempotencyAlreadyInProgressError:
                raise IdempotencyConflict("in_progress") from None

        return run

    return decorate
