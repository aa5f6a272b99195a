"""What every chaos scenario shares: a broker of its own, fresh topics, the services as
processes with several workers, a realistic burst, quiescence, and the row it earns.

A scenario runs as::

    with chaos_broker("kill") as broker, ChaosStack(broker.bootstrap, workdir) as stack:
        burst = stack.burst(people=1000, rate=15, seed=1, fault=inject)  # fault: a thread
        stack.wait_quiescent()
        row = stack.row("process kills", fault_end=burst.fault_end)

``inject(stack, started)`` runs in a thread while the burst is submitted (``started``:
the burst's wall-clock start) and returns the wall-clock time its fault ended. The row
counts what a user checks afterwards:

- **lost**: a submission intake accepted with no ``person-returned``, and a group all of
  whose members were recorded with no ``screened``;
- **duplicated**: records whose ``event_id`` was already seen on the same topic, over
  every topic the services write (``Row.duplicates`` per topic);
- **mismatches**: ``returns audit verify --grace-minutes 0`` (run as the CLI), which also
  checks each group's completeness (a placement or deferral for an accepted group, legal
  aid for a placed or fear-referred one); ``incomplete`` counts the same from the log
  directly, so the figure never rests on verify alone;
- **time to recover**: from the fault's end until every service's consumer lag is 0.

Workers that exit on their own (not killed by the fault) are started again by a
supervisor, as an orchestrator would; ``Row.restarts`` counts them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from schemas.codec import decode_any
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from services.simulator import Simulation, SimulationConfig, Surge, load_profile, timing_from
from services.top.reader import LagProbe
from tests.chaos.settings import READY_SECONDS
from tests.integration.test_notify_support import FAST, PartnerServer
from tests.support.kafka import delete_topics, fresh_runtime
from tests.support.services import ServiceProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO_ROOT / "infra" / "kafka" / "kafka.sh"
CHAOS_DIR = REPO_ROOT / ".work" / "chaos"
BROKERS_DIR = REPO_ROOT / ".work" / "kafka"
RETURNS = REPO_ROOT / ".venv" / "bin" / "returns"

WORKERS: Mapping[str, int] = {"intake": 1, "screening": 2, "placement": 2, "notify": 1}
OUTPUT_TOPICS = (
    "person-returned",
    "intake-rejected",
    "screened",
    "placed",
    "placement-deferred",
    "placement-withdrawn",
    "legal-aid-requested",
    "care-requested",
    "request-updated",
    "notification-delivered",
    "notification-failed",
)
"""Every topic the services write: duplicates are counted on each."""
DECISION_TOPICS = OUTPUT_TOPICS[2:9]
GROUP_WAIT_MINUTES = "0.25"  # screening's gathering window: 15 s (production: 10 min)
PARTNER_PATHS = ("/legal-aid", "/care")


# ---------------------------------------------------------------- the row


@dataclass
class Row:
    """One scenario's result, as printed and written to ``.work/chaos/table.md``."""

    scenario: str
    lost: int
    duplicated: int
    mismatches: int
    recover_s: float | None
    submitted: int = 0
    groups: int = 0
    incomplete: int = 0
    restarts: int = 0
    duplicates: dict[str, int] = field(default_factory=dict)  # per topic
    mismatch_categories: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    HEADER = (
        "| scenario | lost | duplicated (same id) | mismatches | time to recover | "
        "submitted | groups | incomplete | notes |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )

    def recover_text(self) -> str:
        return "not recovered" if self.recover_s is None else f"{self.recover_s:.1f} s"

    def markdown(self) -> str:
        notes = "; ".join(self.notes + self._breakdowns())
        return (
            f"| {self.scenario} | {self.lost} | {self.duplicated} | {self.mismatches} | "
            f"{self.recover_text()} | {self.submitted} | {self.groups} | {self.incomplete} | "
            f"{notes} |"
        )

    def line(self) -> str:
        return (
            f"{self.scenario:<28} lost {self.lost:>3}  duplicated {self.duplicated:>4}  "
            f"mismatches {self.mismatches:>3}  recovered {self.recover_text():>13}  "
            f"({self.submitted} submitted, {self.groups} groups, {self.incomplete} incomplete)"
            + "".join(f"\n    {note}" for note in self.notes + self._breakdowns())
        )

    def _breakdowns(self) -> list[str]:
        parts = []
        if self.duplicates:
            parts.append("dup " + ", ".join(f"{t} {n}" for t, n in sorted(self.duplicates.items())))
        if self.mismatch_categories:
            cats = sorted(self.mismatch_categories.items())
            parts.append("verify " + ", ".join(f"{c} {n}" for c, n in cats))
        if self.restarts:
            parts.append(f"{self.restarts} worker(s) restarted after exiting on their own")
        return parts


def write_table(row: Row, path: Path = CHAOS_DIR / "table.md") -> None:
    """Add (or replace) ``row`` in the markdown table at ``path``, and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = path.read_text().splitlines() if path.exists() else []
    rows = [ln for ln in lines if ln.startswith("| ") and not ln.startswith("| scenario")]
    rows = [ln for ln in rows if not ln.startswith(f"| {row.scenario} |")] + [row.markdown()]
    path.write_text(Row.HEADER + "\n" + "\n".join(rows) + "\n")
    print("\n" + row.line(), flush=True)


# ---------------------------------------------------------------- a broker of its own


def _free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


@dataclass
class Broker:
    """A single local KRaft broker from the Maven jars, in ``.work/kafka/chaos-<name>``;
    it can be stopped (SIGTERM) or killed (SIGKILL) and started again on the same ports
    and data."""

    state_dir: Path
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "KAFKA_STATE_DIR": str(self.state_dir),
            "KAFKA_START_TIMEOUT": "90",
            "PYTHON": os.environ.get("PYTHON", sys.executable),
        }

    def _sh(self, command: str) -> None:
        result = subprocess.run(
            ["bash", str(KAFKA_SH), command],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"kafka.sh {command}: {result.stdout}{result.stderr}")

    def up(self) -> None:
        self._sh("up")

    def down(self) -> None:
        self._sh("down")

    def pid(self) -> int | None:
        try:
            return int((self.state_dir / "broker.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def signal(self, sig: signal.Signals, wait: float = 60.0) -> None:
        """Send ``sig`` to the broker and wait until it has exited."""
        pid = self.pid()
        if pid is None:
            raise RuntimeError("the broker is not running")
        os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie (exited, not yet reaped by kafka.sh's shell) counts as gone
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@contextmanager
def chaos_broker(name: str) -> Iterator[Broker]:
    """A fresh broker of the scenario's own (its state dir wiped first), stopped after."""
    state_dir = BROKERS_DIR / f"chaos-{name}"
    port, controller = _free_ports(2)
    broker = Broker(state_dir, port, controller)
    with suppress(RuntimeError):
        broker.down()  # one left behind by a killed run
    shutil.rmtree(state_dir, ignore_errors=True)
    broker.up()
    try:
        yield broker
    finally:
        try:
            broker.down()
        except RuntimeError:
            pid = broker.pid()
            if pid is not None and _alive(pid):
                os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------- the burst


@dataclass
class Submitted:
    """What the burst handed to ``returns-inbound``: submission id -> group id, sizes."""

    submissions: dict[str, str] = field(default_factory=dict)
    group_sizes: dict[str, int] = field(default_factory=dict)
    crossings: dict[str, str] = field(default_factory=dict)  # group -> crossing


@dataclass
class Burst:
    started: float  # wall clock
    ended: float
    fault_end: float | None
    sent: int
    failed: int


Fault = Callable[["ChaosStack", float], float | None]
"""Runs in a thread once the burst has begun (given its wall-clock start); returns when
its fault ended (wall clock)."""


class RandomKeySubmitter:
    """Submissions on ``returns-inbound`` under random keys, as upstream systems send them;
    remembers each one for the row."""

    def __init__(self, runtime: Runtime, submitted: Submitted) -> None:
        self._producer = EventProducer(runtime.router, client_id="chaos-upstream")
        self._submitted = submitted

    def __call__(self, record: dict[str, Any]) -> None:
        raw = json.dumps(record).encode()
        self._producer.publish_bytes(
            "returns-inbound", raw, key=str(uuid.uuid4()), crossing=record["crossing"]
        )
        group = record["group_id"]
        self._submitted.submissions[record["submission_id"]] = group
        self._submitted.group_sizes[group] = int(record["group_size"])
        self._submitted.crossings[group] = record["crossing"]

    def close(self) -> None:
        self._producer.flush(timeout=120)
        self._producer.close()


# ---------------------------------------------------------------- the stack


class LagSampler:
    """Total consumer lag of every service, sampled every second (None when unreadable)."""

    def __init__(self, runtime: Runtime, interval: float = 1.0) -> None:
        self.samples: list[tuple[float, int | None]] = []
        self._probe = LagProbe(runtime.settings, runtime.topology.lanes)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="lag-sampler")

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            lags = self._probe.measure()
            values = [lag for lanes in lags.values() for lag in lanes.values()]
            total = None if any(v is None for v in values) else sum(v or 0 for v in values)
            self.samples.append((time.time(), total))

    def latest(self) -> int | None:
        return self.samples[-1][1] if self.samples else None

    def recovered_at(self, since: float) -> float | None:
        """The first moment at or after ``since`` with every lag 0."""
        return next((at for at, lag in self.samples if at >= since and lag == 0), None)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._probe.close()


class ChaosStack:
    """Fresh topics on ``bootstrap``; the services with ``workers`` each, and two partner
    webhooks (``/legal-aid``, ``/care``, every location) on a local receiver."""

    def __init__(
        self,
        bootstrap: str,
        workdir: Path,
        *,
        workers: Mapping[str, int] = WORKERS,
        env: Mapping[str, str] | None = None,
        partners_toml: Callable[[PartnerServer], str] | None = None,
        supervise: bool = True,
    ) -> None:
        self.bootstrap = bootstrap
        self.workdir = workdir
        self.workers_per_service = dict(workers)
        self.env = dict(env or {})
        self.partners = PartnerServer()
        self._partners_toml = partners_toml or default_partners
        self.supervise = supervise
        self.runtime: Runtime
        self.workers: dict[str, list[ServiceProcess]] = {}
        self.submitted = Submitted()
        self.restarts = 0
        self._killed: set[int] = set()  # id() of workers the fault has down on purpose
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self.lag: LagSampler

    # -- lifecycle

    def __enter__(self) -> ChaosStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.partners.start()
        partners_file = self.workdir / "partners.toml"
        partners_file.write_text(self._partners_toml(self.partners))
        self.runtime = fresh_runtime(self.bootstrap)
        common = {
            "RETURNS_GROUP_WAIT_MINUTES": GROUP_WAIT_MINUTES,
            "RETURNS_GROUP_GRACE_SECONDS": "2",
            "RETURNS_PARTNERS_FILE": str(partners_file),
            **FAST,
            "RETURNS_NOTIFY_SESSION_TIMEOUT": "10",
            **self.env,
        }
        for service, count in self.workers_per_service.items():
            self.workers[service] = []
            for number in range(1, count + 1):
                home = self.workdir / f"{service}-{number}"
                home.mkdir(parents=True, exist_ok=True)
                process = ServiceProcess(
                    service,
                    self.runtime,
                    home / f"{service}.log",
                    env_extra=dict(common),
                    worker_name=str(number),
                )
                self.workers[service].append(process)
                process.start(wait=False)
        for process in self.every_worker():
            process.wait_ready(timeout=READY_SECONDS)
        self.lag = LagSampler(self.runtime)
        self.lag.start()
        if self.supervise:
            self._supervisor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._supervisor.is_alive():
            self._supervisor.join(timeout=10)
        for process in self.every_worker():
            process.kill()
        self.lag.stop()
        self.partners.stop()
        try:
            delete_topics(self.runtime)
        except Exception as error:  # the broker may be gone already: its dir is wiped anyway
            print(f"topics not deleted: {error}", file=sys.stderr)

    def every_worker(self) -> list[ServiceProcess]:
        return [process for workers in self.workers.values() for process in workers]

    # -- faults

    def kill(self, process: ServiceProcess) -> None:
        """SIGKILL one worker; the supervisor leaves it down until :meth:`restart`."""
        with self._lock:
            self._killed.add(id(process))
        process.kill()

    def restart(self, process: ServiceProcess) -> None:
        with self._lock:
            process.start(wait=False)
            self._killed.discard(id(process))

    def _supervise(self) -> None:
        while not self._stop.wait(1.0):
            for process in self.every_worker():
                with self._lock:
                    gone = process.process is not None and process.process.poll() is not None
                    if gone and id(process) not in self._killed and not self._stop.is_set():
                        print(
                            f"{process.service}-{process.worker_name} exited on its own: "
                            f"{process.tail(5)}",
                            file=sys.stderr,
                        )
                        self.restarts += 1
                        process.start(wait=False)

    # -- load

    def burst(
        self,
        *,
        people: int = 1000,
        rate: float = 15.0,
        seed: int = 13,
        fault: Fault | None = None,
        member_spread: tuple[float, float] = (0.0, 20.0),
        spread_share: float | None = None,
        surges: tuple[Surge, ...] = (),
        duration: float | None = None,
    ) -> Burst:
        """About ``people`` realistic returns at ``rate`` per second over every crossing,
        late as upstreams send them (the profile's realistic delays and sources), a
        family's members sometimes up to ``member_spread`` seconds apart, under random
        keys; ``fault`` runs alongside. ``surges`` (with ``duration``) raise a crossing's
        rate for a while; every crossing then has the same base rate."""
        profile = load_profile(None)
        crossings = tuple(c.code for c in self.runtime.reference.crossings)
        config = SimulationConfig(
            rate=rate,
            duration=duration or people / rate,
            crossings=crossings,
            profile=profile,
            timing=timing_from(profile, member_spread=member_spread, spread_share=spread_share),
            seed=seed,
            surges=surges,
            weights=dict.fromkeys(crossings, 1.0) if surges else None,
        )
        submit = RandomKeySubmitter(self.runtime, self.submitted)
        started = time.time()
        fault_end: list[float | None] = [None]
        fault_error: list[BaseException] = []

        def run_fault() -> None:
            assert fault is not None
            try:
                fault_end[0] = fault(self, started)
            except BaseException as error:
                fault_error.append(error)

        injector = threading.Thread(target=run_fault, daemon=True, name="fault")
        if fault is not None:
            injector.start()
        try:
            stats = Simulation(config, self.runtime.reference, submit).run()
        finally:
            submit.close()
        if fault is not None:
            injector.join()
        if fault_error:
            raise fault_error[0]
        return Burst(started, time.time(), fault_end[0], stats.sent, stats.failed)

    def wait_quiescent(self, timeout: float = 300.0, quiet: float = 25.0) -> float:
        """Until every lag is 0 and no topic grew for ``quiet`` seconds (longer than the
        gathering window); the seconds it took."""
        began = time.monotonic()
        deadline = began + timeout
        last_ends: dict[TopicPartition, int] = {}
        still_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(2.0)
            ends = self._end_offsets()
            if ends != last_ends or self.lag.latest() != 0:
                last_ends, still_since = ends, time.monotonic()
            elif time.monotonic() - still_since >= quiet:
                return time.monotonic() - began
        raise TimeoutError(f"not quiescent after {timeout} s (lag {self.lag.latest()})")

    def _end_offsets(self) -> dict[TopicPartition, int]:
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        try:
            names = [self.runtime.settings.topic(t) for t in OUTPUT_TOPICS]
            parts = [
                TopicPartition(n, p) for n in names for p in consumer.partitions_for_topic(n) or ()
            ]
            return dict(consumer.end_offsets(parts))
        except Exception:
            return {}
        finally:
            consumer.close()

    # -- the row

    def read(self, topics: tuple[str, ...] = OUTPUT_TOPICS) -> dict[str, list[Any]]:
        """Every event of ``topics`` from the first offset, decoded, in partition order."""
        return read_all(self.bootstrap, self.runtime.settings.topic_prefix, topics)

    def verify(self) -> dict[str, Any]:
        """``returns audit verify --json --grace-minutes 0``, as a user runs it."""
        result = subprocess.run(
            [
                str(RETURNS),
                "audit",
                "verify",
                "--json",
                "--grace-minutes",
                "0",
                "--bootstrap",
                self.bootstrap,
                "--prefix",
                self.runtime.settings.topic_prefix,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=REPO_ROOT,
        )
        if result.returncode not in (0, 1):
            raise RuntimeError(f"verify failed to run: {result.stderr[-2000:]}")
        report: dict[str, Any] = json.loads(result.stdout)
        return report

    def row(self, scenario: str, fault_end: float | None) -> Row:
        events = self.read()
        report = self.verify()
        row = count(scenario, self.submitted, events)
        row.mismatches = len(report["mismatches"])
        row.mismatch_categories = dict(Counter(m["category"] for m in report["mismatches"]))
        row.restarts = self.restarts
        if fault_end is not None:
            recovered = self.lag.recovered_at(fault_end)
            row.recover_s = None if recovered is None else max(0.0, recovered - fault_end)
        return row


def default_partners(partners: PartnerServer) -> str:
    """A legal-aid partner and a care partner, each for every location."""
    return (
        f'[[partners]]\npartner_id = "legal-aid"\nurl = "{partners.url("/legal-aid")}"\n'
        'secret = "chaos-legal-aid"\nevent_types = ["legal-aid-requested"]\n\n'
        f'[[partners]]\npartner_id = "care"\nurl = "{partners.url("/care")}"\n'
        'secret = "chaos-care"\nevent_types = ["care-requested"]\n'
    )


def read_all(bootstrap: str, prefix: str, topics: tuple[str, ...]) -> dict[str, list[Any]]:
    """Every record of ``topics`` up to their current ends, decoded (undecodable: skipped)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_poll_records=5000,
    )
    names = {prefix + topic: topic for topic in topics}
    found: dict[str, list[Any]] = {topic: [] for topic in topics}
    try:
        parts = [
            TopicPartition(n, p) for n in names for p in consumer.partitions_for_topic(n) or ()
        ]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        deadline = time.monotonic() + 120
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise TimeoutError("topics not read to their end within 120 s")
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    try:
                        found[names[record.topic]].append(decode_any(record.value))
                    except Exception:
                        continue
        return found
    finally:
        consumer.close()


def count(scenario: str, submitted: Submitted, events: Mapping[str, list[Any]]) -> Row:
    """Lost, duplicated and incomplete, from what was submitted and what the log holds."""
    duplicates: dict[str, int] = {}
    for topic, topic_events in events.items():
        ids = Counter(event.event_id for event in topic_events)
        repeated = sum(n - 1 for n in ids.values())
        if repeated:
            duplicates[topic] = repeated
    recorded = {e.data.submission_id for e in events["person-returned"]}
    members = Counter[str]()
    for case in {(e.data.group_id, e.data.case_id) for e in events["person-returned"]}:
        members[case[0]] += 1
    rejected = len({e.event_id for e in events["intake-rejected"]})
    lost_submissions = [s for s in submitted.submissions if s not in recorded]
    live: dict[str, Any] = {}
    for event in events["screened"]:
        live[event.data.group_id] = event.data  # the last decision in log order is live
    complete = {
        g for g, size in submitted.group_sizes.items() if g in members and members[g] >= size
    }
    undecided = sorted(g for g in complete if g not in live)
    placed_or_deferred = {
        e.data.group_id for t in ("placed", "placement-deferred") for e in events[t]
    }
    placed = {e.data.group_id for e in events["placed"]}
    legal_aid = {e.data.group_id for e in events["legal-aid-requested"]}
    incomplete = 0
    for group, decision in live.items():
        fear = any(reason.code == "FEAR_OF_RETURN" for reason in decision.reasons)
        unplaced = decision.decision == "accepted" and group not in placed_or_deferred
        owed_legal_aid = group in placed or (decision.decision == "referred" and fear)
        incomplete += unplaced or (owed_legal_aid and group not in legal_aid)
    row = Row(
        scenario,
        lost=max(0, len(lost_submissions) - rejected) + len(undecided),
        duplicated=sum(duplicates.values()),
        mismatches=0,
        recover_s=None,
        submitted=len(submitted.submissions),
        groups=len(submitted.group_sizes),
        incomplete=incomplete,
        duplicates=duplicates,
    )
    if rejected:
        row.notes.append(f"{rejected} submissions rejected by intake")
    return row


def chaos_workdir(name: str) -> Path:
    """A fresh directory for a scenario's logs and service state."""
    path = CHAOS_DIR / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
