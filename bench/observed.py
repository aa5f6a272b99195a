"""What tracing and metrics cost per consumed event: `instrument.observed`, timed alone.

Each call handles one fake message carrying a ``traceparent`` header, sets the crossing
and the return time as the services do, and does nothing else. Timed with the tracer
provider the services install (spans recorded, none exported), with a batch exporter
that discards them (what OTLP costs in the handling loop), and, for comparison, with no
provider at all (spans off). Each setting runs in its own process, since a process gets
one tracer provider. Times are CPU time of the process, so that other work on the
machine does not count. Usage::

    python bench/observed.py --events 20000
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from services.runtime import instrument, telemetry
from services.runtime.settings import Settings

SETTINGS = ("none", "recorded", "exported")
TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    headers: list[tuple[str, bytes]]


class Discarding(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def install(setting: str) -> None:
    if setting == "recorded":
        telemetry.configure_tracing("bench")
    elif setting == "exported":
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Discarding()))
        trace.set_tracer_provider(provider)


def per_event_us(events: int, rounds: int = 5) -> float:
    settings = Settings()
    returned_at = datetime(2026, 11, 27, 22, 58, tzinfo=UTC)
    messages = [
        Message("returns.person-returned", n % 12, n, [("traceparent", TRACEPARENT)])
        for n in range(events)
    ]
    medians = []
    for _ in range(rounds):
        began = time.process_time()
        for message in messages:
            with instrument.observed(settings, "screening", "gather", message) as seen:
                seen.crossing = "ELP"
                seen.returned_at = returned_at
        medians.append((time.process_time() - began) / events * 1e6)
    return statistics.median(medians)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--setting", choices=SETTINGS, help="(one setting, in this process)")
    args = parser.parse_args()
    if args.setting:
        install(args.setting)
        print(f"{per_event_us(args.events):.1f}")
        return
    for setting in SETTINGS:
        out = subprocess.run(  # noqa: S603 (this script, run again)
            [sys.executable, __file__, "--events", str(args.events), "--setting", setting],
            check=True,
            capture_output=True,
            text=True,
        )
        print(f"instrument.observed, spans {setting}: {out.stdout.strip()} µs per event")


if __name__ == "__main__":
    main()
