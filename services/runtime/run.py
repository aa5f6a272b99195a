"""The single entry point behind every service's ``__main__`` and ``returns run``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import faust

from services.reference import ReferenceDataError
from services.runtime.admin import ensure_changelogs
from services.runtime.context import Runtime, build_runtime
from services.runtime.keeper import CANNOT_START
from services.runtime.settings import ConfigurationError
from services.runtime.telemetry import configure_tracing

AppBuilder = Callable[[Runtime], faust.App]


def run(service: str, build: AppBuilder, argv: Sequence[str] | None = None) -> None:
    """Build ``service``'s app and hand the command line to faust (``worker`` by default)."""
    try:
        runtime = build_runtime()
        configure_tracing(service)
        app = build(runtime)
    except (ReferenceDataError, ConfigurationError) as exc:
        print(f"{service}: cannot start: {exc}", file=sys.stderr)
        raise SystemExit(CANNOT_START) from None
    args = list(sys.argv[1:] if argv is None else argv) or ["worker"]
    if args[0] == "worker":
        _declare_changelogs(app, runtime)
    if args[0] == "worker" and "-l" not in args and "--loglevel" not in args:
        args += ["-l", runtime.settings.log_level]
    sys.argv = [f"returns-{service}", *args]
    app.main()


def _declare_changelogs(app: faust.App, runtime: Runtime) -> None:
    changelogs = {}
    for table in app.tables.values():
        topic = table.changelog_topic
        partitions = topic.partitions or runtime.topology.lane_partitions
        config = {key: str(value) for key, value in (topic.config or {}).items()}
        changelogs[topic.get_topic_name()] = (partitions, config)
    ensure_changelogs(runtime.settings.bootstrap_servers, changelogs, runtime.settings.security)
