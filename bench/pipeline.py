"""The whole pipeline under a steady load: end-to-end latency, and the rate it sustains.

For each rate of a ladder (returns per second, all crossings, the simulator's realistic
mix), the four services start as processes on fresh topics, every location is opened
wide (no deferral), and the simulator submits on ``returns-inbound`` for ``--seconds``
after a warm-up. Then the topics are read back from the first offset:

- **latency** of each complete group submitted in the measured span, from its first
  submission (the record's timestamp on ``returns-inbound``) to ``screened``, to
  placement's first decision and to ``legal-aid-requested``: p50 and p95;
- **lag**: every 2 s, the consumer lag of each service on its input topic, summed
  over the crossings. The rate is *sustained* when the total lag at the end of the
  measured span is within ``--lag-slack`` seconds of input of the lag at its start
  (a backlog that grows with time never drains while the load lasts), and every
  measured group was decided by placement before the drain deadline.

The highest sustained rate of the ladder is reported last. Usage::

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 python -m bench.pipeline --rates 20,35,50
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition

from bench.common import cleanup, new_runtime, start
from services.observe import Journeys, Stage, percentile
from services.runtime.context import Runtime
from services.simulator import Simulation, SimulationConfig, load_profile, timing_from
from services.top.reader import LagProbe, TopicReader
from services.upstream import KafkaSubmitter
from tests.support.load import open_every_location

WARM_UP_SECONDS = 10.0
DRAIN_SECONDS = 120.0
STAGES: tuple[Stage, ...] = ("screened", "placement", "legal_aid")


@dataclass
class RateResult:
    rate: float
    sent: int
    seconds: float
    lag_start: int
    lag_end: int
    lag_peak: int
    undecided: int
    latencies: dict[Stage, list[float]] = field(default_factory=dict)
    notify_steps: list[float] = field(default_factory=list)  # placed -> legal aid
    rss_mb: dict[str, float] = field(default_factory=dict)  # each service's, at the end

    def sustained(self, slack_seconds: float) -> bool:
        growth = self.lag_end - self.lag_start
        return growth <= slack_seconds * self.rate and self.undecided == 0

    def line(self, slack_seconds: float) -> str:
        parts = [f"{self.rate:>5g}/s  sent {self.sent:>5}"]
        for stage in STAGES:
            values = self.latencies.get(stage, [])
            p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
            parts.append(
                f"{stage} p50 {_s(p50)} p95 {_s(p95)} p99 {_s(p99)} ({len(values)})"
                if values
                else f"{stage} -"
            )
        steps = self.notify_steps
        parts.append(
            f"(notify's own step p50 {_s(percentile(steps, 50))} p95 {_s(percentile(steps, 95))})"
        )
        parts.append(
            f"lag start {self.lag_start} end {self.lag_end} peak {self.lag_peak}; "
            f"undecided {self.undecided}; "
            f"{'sustained' if self.sustained(slack_seconds) else 'NOT sustained'}"
        )
        if self.rss_mb:
            parts.append(
                "RSS " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in self.rss_mb.items())
            )
        return "  ".join(parts)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


class LagSampler:
    """Total consumer lag of the four services, sampled every ``interval`` seconds."""

    def __init__(self, runtime: Runtime, interval: float = 2.0) -> None:
        self.samples: list[tuple[float, int]] = []
        self._probe = LagProbe(runtime.settings, runtime.topology.lanes)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            lags = self._probe.measure()
            total = sum(lag or 0 for lanes in lags.values() for lag in lanes.values())
            self.samples.append((time.time(), total))

    def around(self, at: float) -> int:
        """The sample closest to wall-clock time ``at``."""
        if not self.samples:
            return 0
        return min(self.samples, key=lambda sample: abs(sample[0] - at))[1]

    def peak(self, start: float, end: float) -> int:
        return max((lag for at, lag in self.samples if start <= at <= end), default=0)

    def __enter__(self) -> LagSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._probe.close()


def rss_mb(pid: int) -> float | None:
    """A process's resident set size in MB (Linux), None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@contextmanager
def pipeline(runtime: Runtime, rss: dict[str, float] | None = None) -> Iterator[None]:
    """The four services, ready, with every location open; `rss` gets each one's RSS
    as the load ends."""
    services = [
        start("intake", runtime),
        start("screening", runtime),  # the production wait window: 10 minutes
        start("placement", runtime),
        start("notify", runtime),
    ]
    try:
        for service in services:
            service.wait_ready()
        open_every_location(runtime)
        yield
        for service in services:
            assert service.process is not None
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.service} died:\n{service.tail()}")
            measured = rss_mb(service.process.pid)
            if rss is not None and measured is not None:
                rss[service.service] = measured
    finally:
        for service in services:
            service.kill()


def submitted_at(runtime: Runtime) -> dict[str, float]:
    """Each group's first submission time: its earliest record on ``returns-inbound``."""
    name = runtime.settings.topic("returns-inbound")
    consumer = KafkaConsumer(
        bootstrap_servers=runtime.settings.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        max_poll_records=5000,
    )
    try:
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        first: dict[str, float] = {}
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    group = record.key.decode()
                    at = record.timestamp / 1000
                    first[group] = min(first.get(group, at), at)
        return first
    finally:
        consumer.close()


def read_journeys(runtime: Runtime, span: tuple[float, float], sent: dict[str, float]) -> Journeys:
    """Every journey, read from the first offset until the measured groups are decided."""
    journeys = Journeys(keep=None)
    measured = {g for g, at in sent.items() if span[0] <= at < span[1]}
    with TopicReader(runtime.settings, from_beginning=True) as reader:
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            for event in reader.poll(0.5):
                journeys.add(event)
            if reader.caught_up() and not list(undecided(journeys, measured)):
                break
    return journeys


def undecided(journeys: Journeys, groups: Iterable[str]) -> Iterator[str]:
    """Groups of ``groups`` complete but not yet screened, or accepted and not yet placed."""
    for group in groups:
        journey = journeys.get(group)
        if journey is None or not journey.complete:
            continue
        if "screened" not in journey.reached or (
            journey.decision == "accepted" and "placement" not in journey.reached
        ):
            yield group


def one_rate(rate: float, seconds: float, seed: int) -> RateResult:
    runtime = new_runtime()
    crossings = tuple(c.code for c in runtime.reference.crossings)
    profile = load_profile(None)
    config = SimulationConfig(
        rate=rate,
        duration=WARM_UP_SECONDS + seconds,
        crossings=crossings,
        profile=profile,
        # Realistic delays after returned_at and several sources; each family sent whole,
        # so that the latency measured is the pipeline's, not a family's spread.
        timing=timing_from(profile, member_spread=(0.0, 0.0), spread_share=0.0),
        seed=seed,
    )
    rss: dict[str, float] = {}
    with pipeline(runtime, rss), LagSampler(runtime) as lag:
        with KafkaSubmitter(runtime.router) as submit:
            began = time.time()
            stats = Simulation(config, runtime.reference, submit).run()
        if stats.failed:
            raise RuntimeError(f"{stats.failed} submissions failed: {stats.last_error}")
        span = (began + WARM_UP_SECONDS, began + WARM_UP_SECONDS + seconds)
        sent = submitted_at(runtime)
        journeys = read_journeys(runtime, span, sent)
    measured = [g for g, at in sent.items() if span[0] <= at < span[1]]
    result = RateResult(
        rate=rate,
        sent=stats.sent,
        seconds=seconds,
        lag_start=lag.around(span[0]),
        lag_end=lag.around(span[1]),
        lag_peak=lag.peak(*span),
        undecided=len(list(undecided(journeys, measured))),
        rss_mb=rss,
    )
    for stage in STAGES:
        values = []
        for group in measured:
            journey = journeys.get(group)
            if journey is None or not journey.complete or stage not in journey.reached:
                continue
            values.append(max(0.0, journey.reached[stage] - sent[group]))
        result.latencies[stage] = values
    result.notify_steps = [
        journey.reached["legal_aid"] - journey.reached["placed"]
        for group in measured
        if (journey := journeys.get(group)) is not None
        and {"placed", "legal_aid"} <= journey.reached.keys()
    ]
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10,20,30,40,50", help="returns per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured span per rate")
    parser.add_argument("--lag-slack", type=float, default=5.0, help="seconds of input")
    parser.add_argument("--seed", type=int, default=20_191_129)
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    results = []
    try:
        for rate in rates:
            result = one_rate(rate, args.seconds, args.seed)
            results.append(result)
            print(result.line(args.lag_slack), flush=True)
    finally:
        cleanup()
    held = [r.rate for r in results if r.sustained(args.lag_slack)]
    best = max(held, default=None)
    print(
        "highest sustained rate of the ladder: "
        + (f"{best:g} returns/s" if best is not None else "none")
        + f" (median legal-aid p95 over sustained rates: "
        f"{_s(statistics.median(p) if (p := _p95s(results, held)) else None)})"
    )
    return 0


def _p95s(results: list[RateResult], held: list[float]) -> list[float]:
    return [
        p
        for r in results
        if r.rate in held and (p := percentile(r.latencies.get("legal_aid", []), 95)) is not None
    ]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
