"""``returns top``: per crossing, what comes in, what is decided, how far behind, how fast.

Mount it with ``app.command("top")(top)``; ``python -m services.top`` runs it on its own.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Annotated

import typer
from kafka.errors import KafkaError
from rich.console import Console, RenderableType
from rich.live import Live

from services.observe import Observer
from services.runtime.context import Runtime, build_runtime
from services.runtime.settings import Settings
from services.top.reader import LagProbe, TopicReader
from services.top.view import render

REFRESH_SECONDS = 1.0
CATCH_UP_SECONDS = 60.0  # --once: the longest wait to read up to the end offsets
ONCE_SAMPLE_SECONDS = 3.0  # --once: then what arrives meanwhile, for a rate of whole seconds
WIDE = 200  # columns when the output is not a terminal (a file, a pipe, a test)


def top(
    bootstrap: Annotated[
        str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="the Kafka cluster")
    ] = "127.0.0.1:9092",
    prefix: Annotated[
        str, typer.Option(envvar="RETURNS_TOPIC_PREFIX", help="the stack's topic prefix")
    ] = "",
    window: Annotated[
        float,
        typer.Option(min=5.0, help="seconds of history behind counts and p95s (and kept)"),
    ] = 60.0,
    from_beginning: Annotated[
        bool, typer.Option(help="read the topics from their first offset, not from now")
    ] = False,
    once: Annotated[
        bool,
        typer.Option(help="read up to the end, then 3 s more; print one frame and exit"),
    ] = False,
) -> None:
    """Watch the pipeline live, per crossing: rates, decisions, consumer lag, end-to-end p95."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=WIDE)
    runtime = build_runtime(
        replace(Settings.from_env(), bootstrap_servers=bootstrap, topic_prefix=prefix)
    )
    now = time.time()
    observer = Observer(
        [c.code for c in runtime.reference.crossings],
        window,
        now=now,
        observed_from=None if from_beginning else now,
    )
    try:
        _show(console, runtime, observer, from_beginning=from_beginning, once=once)
    except KafkaError as exc:
        console.print(f"[red]Kafka at {bootstrap}: {type(exc).__name__}: {exc}[/red]")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        return


def _show(
    console: Console, runtime: Runtime, observer: Observer, *, from_beginning: bool, once: bool
) -> None:
    """One frame after catching up (``once``), or a frame every second until interrupted."""
    settings = runtime.settings
    source = settings.bootstrap_servers + (
        f" · prefix {settings.topic_prefix}" if settings.topic_prefix else ""
    )
    with (
        TopicReader(settings, from_beginning=from_beginning) as reader,
        LagProbe(settings, runtime.topology.lanes) as probe,
    ):
        if not once:
            _watch(console, reader, probe, observer, source)
            return
        for event in reader.read_until_caught_up(CATCH_UP_SECONDS):
            observer.add(event)
        _take(reader, observer, ONCE_SAMPLE_SECONDS)
        console.print(_frame(observer, reader, probe, source, live=False))


def _watch(
    console: Console, reader: TopicReader, probe: LagProbe, observer: Observer, source: str
) -> None:
    """Redraw every second until interrupted."""
    with Live(console=console, auto_refresh=False) as live:
        while True:
            _take(reader, observer, REFRESH_SECONDS)
            live.update(_frame(observer, reader, probe, source, live=True), refresh=True)


def _take(reader: TopicReader, observer: Observer, seconds: float) -> None:
    """Feed the observer whatever arrives in the next ``seconds``."""
    due = time.monotonic() + seconds
    while (left := due - time.monotonic()) > 0:
        for event in reader.poll(left):
            observer.add(event)


def _frame(
    observer: Observer, reader: TopicReader, probe: LagProbe, source: str, *, live: bool
) -> RenderableType:
    lags = probe.measure()
    notes: list[str] = []
    if reader.missing:
        notes.append(
            f"no such topics: {', '.join(reader.missing)} (another --prefix? `make topics`?)"
        )
    if probe.last_error:
        notes.append(f"consumer lag unavailable: {probe.last_error}")
    snapshot = observer.snapshot(time.time())
    return render(snapshot, lags, source=source, notes=tuple(notes), live=live)
