"""Intake's wiring: the ``returns-inbound`` agent, the idempotency table, the HTTP API."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Never

import faust

from schemas.envelope import Envelope, utc_now
from schemas.rejections import SubmissionOrigin
from services.intake.auth import TokenFile, TokenRegistry
from services.intake.handling import IntakeHandler
from services.intake.http import Tokens, register_routes
from services.intake.responses import count_responses
from services.intake.retention import RetainedSubmissions, retain_for
from services.keys import KeyStore, key_store
from services.keys.kafka_log import KeyLogUnavailable
from services.keys.sealing import seal_for_log
from services.runtime import telemetry
from services.runtime.consume import Handled, consume
from services.runtime.context import Runtime
from services.runtime.due_on_disk import index_path
from services.runtime.faust_app import (
    contract_topic,
    create_app,
    register_health,
    scratch_dir,
    send_event,
)
from services.runtime.instrument import decided

log = logging.getLogger(__name__)


def build_app(runtime: Runtime) -> faust.App:
    app = create_app("intake", runtime)
    inbound = contract_topic(app, runtime, "returns-inbound")
    outputs = {
        name: contract_topic(app, runtime, name) for name in ("person-returned", "intake-rejected")
    }
    partitions = runtime.topology.lane_partitions
    seen = RetainedSubmissions(
        app.Table("submissions", key_type=str, value_type=bytes, partitions=partitions),
        app.Table("submission-expiry", key_type=str, value_type=bytes, partitions=partitions),
        retain_for(os.environ),
        index_at=index_path(scratch_dir(app, "due"), "submissions"),
    )

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def rebuild_expiry(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        seen.forget_index()  # rebuilt from the recovered table on its next use

    keys = key_store(
        runtime.settings.bootstrap_servers,
        runtime.settings.topic_prefix,
        patient=True,
        cache_dir=scratch_dir(app, "person-keys"),
    )

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def keys_may_be_missing(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        keys.lanes_changed()  # streams are stopped here: nothing is sealed until the read

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def catch_up_keys(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        await catch_up_on_takeover(keys)

    async def emit(name: str, envelope: Envelope[Any]) -> None:
        if name == "person-returned":
            # The one way out for a person's record: sealed with the case's key, which is
            # on the key topic (acknowledged) before the record is published.
            envelope = await asyncio.to_thread(seal_for_log, keys, envelope, utc_now)
        await send_event(outputs[name], name, runtime, envelope)

    handler = IntakeHandler(runtime.reference, seen, emit)

    async def take_submission(message: Any) -> Handled[Never]:
        origin = SubmissionOrigin(
            channel="kafka", topic=message.topic, partition=message.partition, offset=message.offset
        )
        now = datetime.now(UTC)
        seen.at(message.partition, now)
        seen.expire_due(message.partition, now)  # never consulted once expired
        outcome = await handler.handle(message.value, message.key, origin, now)
        decided("intake", outcome.status, outcome.crossing)
        return Handled(crossing=outcome.crossing, returned_at=outcome.returned_at)

    consume(
        app,
        runtime,
        inbound,
        take_submission,
        service="intake",
        step="validate",
        name="intake-submissions",
    )

    async def forward(raw: bytes, group_id: str, crossing: str) -> None:
        route = runtime.router.route("returns-inbound", group_id, crossing)
        sent = await inbound.send(
            key=route.key, value=raw, partition=route.partition, headers=telemetry.inject()
        )
        await sent  # the 202 promises the submission is durably on returns-inbound

    register_routes(app, handler, _tokens(), forward)
    register_health(app, runtime)
    count_responses(app, "intake")
    return app


async def catch_up_on_takeover(keys: KeyStore) -> None:
    """Lanes changed hands: read the key topic to its end before sealing for them.

    A case with no key in the cache gets a new one without a read of the topic
    (docs/adr/0034), so the keys the lanes' previous worker wrote must be here first.
    The previous worker acknowledged them before it gave the lanes up (faust waits for
    the events in progress when partitions are revoked), so before this assignment.
    `KeyStore.lanes_changed` (also called on revocation, while the streams are stopped)
    makes every seal wait for a read begun after it; if the read fails here, the first
    record to seal reads the topic itself, and is not processed while that fails.
    """
    keys.lanes_changed()
    try:
        await asyncio.to_thread(keys.refresh)
    except KeyLogUnavailable as exc:
        log.warning("could not read the key topic after a rebalance: %s", exc)


def _tokens() -> Tokens:
    path = os.environ.get("RETURNS_INTAKE_TOKENS_FILE")
    if not path:
        log.warning(
            "RETURNS_INTAKE_TOKENS_FILE is not set: POST /v1/returns answers 401 to everyone"
        )
        return TokenRegistry({})
    return TokenFile(Path(path))
