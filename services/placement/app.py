"""Placement's wiring (skeleton: joins its consumer group and reads its inputs)."""

from __future__ import annotations

import faust

from services.runtime.context import Runtime
from services.runtime.faust_app import contract_topic, create_app, register_health


def build_app(runtime: Runtime) -> faust.App:
    app = create_app("placement", runtime)
    source = contract_topic(app, runtime, "screened")

    @app.agent(source, name="placement-skeleton")
    async def consume(stream: faust.StreamT[bytes]) -> None:
        async for _ in stream:
            pass

    register_health(app)
    return app
