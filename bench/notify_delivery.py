"""Notify's webhook delivery on a real broker: deliveries per second, and placed -> webhook delay.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 .venv/bin/python -m bench.notify_delivery

Each run gets its own topics (a fresh prefix, deleted afterwards), starts notify as a real process
(`python -m services.notify worker`) and one local partner (an HTTP server on 127.0.0.1
that answers 200 at once), then:

1. burst: publishes `--burst` placed families at once (each causes a legal-aid and a
   vaccination request) and measures deliveries per second, from the first `placed`
   sent to the last webhook received;
2. paced: publishes `--paced` families at `--rate` per second and measures, for each
   legal-aid request, the delay from sending its `placed` to the partner receiving it.

It prints each run and the medians over `--runs` runs. Nothing is left running.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from services.runtime.publishing import EventProducer
from tests.integration.test_notify_support import placed_event, screened_event
from tests.support.kafka import scratch_runtime
from tests.support.services import ServiceProcess


@dataclass
class Partner:
    """Arrival time of every webhook, by (event type, group id)."""

    arrivals: dict[tuple[str, str], float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


@contextmanager
def partner_server() -> Iterator[tuple[Partner, str]]:
    partner = Partner()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with partner.lock:
                key = (event["event_type"], event["data"]["group_id"])
                partner.arrivals.setdefault(key, time.monotonic())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield partner, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def wait_for(partner: Partner, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while partner.count() < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {partner.count()} of {count} webhooks after {timeout} s")
        time.sleep(0.01)


def one_run(bootstrap: str, burst: int, paced: int, rate: float, workdir: Path) -> dict[str, float]:
    groups = range(1, burst + paced + 1)
    with (
        scratch_runtime(bootstrap) as runtime,
        partner_server() as (partner, url),
        EventProducer(runtime.router) as producer,
    ):
        partners = workdir / "partners.toml"
        partners.write_text(
            f'[[partners]]\npartner_id = "bench"\nurl = "{url}"\nsecret = "bench"\n'
            'event_types = ["legal-aid-requested", "care-requested"]\nlocations = ["CJS"]\n'
        )
        notify = ServiceProcess(
            "notify",
            runtime,
            workdir / "notify.log",
            env_extra={"RETURNS_PARTNERS_FILE": str(partners), "RETURNS_LOG_LEVEL": "warn"},
        )
        notify.start()
        try:
            for g in groups:
                producer.publish("screened", screened_event(g))
            producer.flush()
            started = time.monotonic()
            for g in groups[:burst]:
                producer.publish("placed", placed_event(g))
            producer.flush()
            wait_for(partner, 2 * burst, timeout=300)
            throughput = 2 * burst / (max(partner.arrivals.values()) - started)
            sent = {}
            for g in groups[burst:]:
                sent[placed_event(g).data.group_id] = time.monotonic()
                producer.publish("placed", placed_event(g))
                producer.flush()
                time.sleep(1 / rate)
            wait_for(partner, 2 * (burst + paced), timeout=300)
        finally:
            notify.stop()
    delays = [partner.arrivals[("legal-aid-requested", gid)] - t for gid, t in sent.items()]
    quantiles = statistics.quantiles(delays, n=100)
    return {"deliveries_per_s": throughput, "p50_s": quantiles[49], "p95_s": quantiles[94]}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--burst", type=int, default=300, help="families placed at once")
    parser.add_argument("--paced", type=int, default=100, help="families placed one by one")
    parser.add_argument("--rate", type=float, default=20.0, help="paced placements per second")
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    results = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="notify-bench-") as workdir:
            result = one_run(bootstrap, args.burst, args.paced, args.rate, Path(workdir))
        results.append(result)
        print(f"run {run}: " + ", ".join(f"{k} {v:.3f}" for k, v in result.items()), flush=True)
    print(
        f"median of {args.runs} runs ({args.burst} families burst, {args.paced} paced at "
        f"{args.rate:g}/s, 2 webhooks per family): "
        + ", ".join(f"{k} {statistics.median(r[k] for r in results):.3f}" for k in results[0])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
