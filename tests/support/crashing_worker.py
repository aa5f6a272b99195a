"""A worker built like the services' (``create_app``, ``contiguous``) whose agent fails once.

    python -m tests.support.crashing_worker worker

It reads ``returns-inbound`` and appends each value it handles to the file named by
``PROBE_SEEN``, one per line. The first time it meets the value ``poison`` it creates
the file ``PROBE_MARKER`` and raises, as a fault that nobody handled would; after that
it handles ``poison`` like any other value.
"""

from __future__ import annotations

import os
from pathlib import Path

import faust

from services.runtime.context import Runtime
from services.runtime.faust_app import contract_topic, create_app, register_health
from services.runtime.ordered import contiguous
from services.runtime.run import run


class InjectedFault(RuntimeError):
    """What a bug or an unforeseen broker error would raise in a handler."""


def build_app(runtime: Runtime) -> faust.App:
    app = create_app("probe", runtime)
    source = contract_topic(app, runtime, "returns-inbound")
    seen, marker = Path(os.environ["PROBE_SEEN"]), Path(os.environ["PROBE_MARKER"])

    @app.agent(source, name="probe-records")
    async def handle(stream: faust.StreamT[bytes]) -> None:
        async for event in contiguous(app, stream):
            value = event.message.value
            if value == b"poison" and not marker.exists():  # noqa: ASYNC240 - a test's files
                marker.touch()  # noqa: ASYNC240
                raise InjectedFault("the handler failed")
            with seen.open("a") as out:  # noqa: ASYNC230
                out.write(value.decode() + "\n")

    register_health(app, runtime)
    return app


if __name__ == "__main__":
    run("probe", build_app)
