"""The outbox's in-process sender: the embedded satisfaction API's store, called without HTTP.

The records take the same checks as over HTTP (the API's own models, its caller, clock and
hall profiles) and land through the same idempotent store functions, one transaction a batch;
only the HTTP round trip into this same process (and its JSON and thread hops) is gone. An
answer maps as `http_sender`'s does: a record the API refuses (422, 409) is refused for good,
a store that cannot write is retried.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from controller.app.outbox import RATINGS, RETRY_ERRORS, SERVED, Send, SendResult
from controller.domain.errors import AuthError, CommandRejected, StoreError
from controller.satisfaction import ingest
from controller.satisfaction.auth import SatisfactionCaller
from controller.satisfaction.deps import SatisfactionContext
from controller.satisfaction.models import RatingCreate
from controller.satisfaction.models_served import ServedTicketCreate


def local_sender(context: SatisfactionContext, caller: SatisfactionCaller) -> Send:
    """A Send storing batches straight into the embedded API's store as `caller`."""

    def send(stream: str, records: list[dict[str, Any]]) -> SendResult:
        max_future = dt.timedelta(minutes=context.settings.max_future_minutes)
        try:
            if stream == RATINGS:
                ingest.ingest_batch(
                    context.engine,
                    caller=caller,
                    records=[RatingCreate.model_validate(r) for r in records],
                    profiles=context.profiles,
                    now=context.now(),
                    max_future=max_future,
                )
            elif stream == SERVED:
                ingest.store_served_tickets(
                    context.engine,
                    caller=caller,
                    tickets=[ServedTicketCreate.model_validate(r) for r in records],
                    profiles=context.profiles,
                    now=context.now(),
                    max_future=max_future,
                )
            else:
                return SendResult(False, detail=f"unknown stream {stream}")
        except ValidationError as err:
            return SendResult(False, detail=f"HTTP 422: {err}"[:300])
        except AuthError as err:  # the hall's own caller: a wiring fault, kept and retried
            return SendResult(False, retry=True, detail=f"{type(err).__name__}: {err}"[:300])
        except StoreError as err:
            return SendResult(False, retry=True, detail=f"satisfaction store: {err}"[:300])
        except CommandRejected as err:  # RecordRefused, RatingConflict / ServedConflict: parked
            retry = err.reason in RETRY_ERRORS  # a hall the registry does not serve (yet)
            return SendResult(False, retry=retry, detail=f"{err.reason}: {err.message}"[:300])
        return SendResult(True)

    return send


def embedded_sender(context: SatisfactionContext, outbox_token: str) -> Send:
    """The in-process sender acting as the caller `outbox_token` is at the embedded API."""
    return local_sender(context, context.tokens.caller_for(f"Bearer {outbox_token}"))
