"""A month of returns, partners and shelters, compressed into minutes, and its resources report.

    make month            # or: .venv/bin/python -m bench.simulated_month --minutes 4

On a broker of its own (the Maven-jar broker of the tests), the four services start with
notify's legal-aid deadlines divided by ``--scale`` (10,800 by default: 4 real minutes are
30 days). `returns simulate` then plays El Paso and San Ysidro returns, INM and the
shelters (`bench/month/profile.toml`: caps below demand at Ciudad Juarez) and the legal-aid
partners (`bench/month/partners.toml`: acceptance delays, a share of declines, a share
that never answers, first contacts and closures), all on the same compressed clock. Then
`returns audit report --resources` reads the log in Spanish and English into
``.work/month/``, and `returns audit verify` checks every decision.

What stays on the real clock: placement counts its daily caps by real local days, so a
group deferred for the cap waits until the run ends; the non-refoulement interview is due
24 h after the real `returned_at`, so no interview becomes overdue within the run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from services.runtime.settings import REPO_ROOT, WORK_DIR

# A broker of its own, apart from the tests' (read when tests.support.broker is imported).
os.environ.setdefault("RETURNS_TEST_BROKER_DIR", str(WORK_DIR / "kafka" / "month-broker"))

from tests.support.broker import broker_for_tests
from tests.support.kafka import scratch_runtime
from tests.support.services import ServiceProcess

HERE = Path(__file__).resolve().parent / "month"
OUT = WORK_DIR / "month"
WEBHOOK_PORT = 8799  # bench/month/partners.toml points here


class _Receiver(BaseHTTPRequestHandler):
    """The partners' webhook endpoint: takes every request (the partners' reports are
    played by the simulator from the log)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def _deadlines(scale: float) -> dict[str, str]:
    """Notify's legal-aid deadlines (docs/CONTRACT.md) on the compressed clock."""
    return {
        "RETURNS_LEGAL_AID_ACCEPT_MINUTES": str(120 / scale),
        "RETURNS_LEGAL_AID_INTERVIEW_ACCEPT_MINUTES": str(60 / scale),
        "RETURNS_LEGAL_AID_URGENT_HOURS": str(72 / scale),
        "RETURNS_LEGAL_AID_NORMAL_HOURS": str(240 / scale),
        "RETURNS_NOTIFY_TICK_SECONDS": "1",
        "RETURNS_GROUP_WAIT_MINUTES": "0.25",
    }


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    began = time.monotonic()
    done = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True)  # noqa: S603
    print(
        f"$ {' '.join(command[1:6])} ... exit {done.returncode} in {time.monotonic() - began:.0f} s"
    )
    return done


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0, help="real minutes of traffic")
    parser.add_argument("--scale", type=float, default=10_800.0, help="simulated per real second")
    parser.add_argument("--rate", type=float, default=1.0, help="people per real second")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", WEBHOOK_PORT), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env_extra = {"RETURNS_PARTNERS_FILE": str(HERE / "partners.toml"), **_deadlines(args.scale)}
    try:
        with broker_for_tests() as broker, scratch_runtime(broker.bootstrap_servers) as runtime:
            services = [
                ServiceProcess(name, runtime, OUT / f"{name}.log", env_extra=env_extra).start(
                    wait=False
                )
                for name in ("intake", "screening", "placement", "notify")
            ]
            try:
                for service in services:
                    service.wait_ready(timeout=180)
                env = {
                    **os.environ,
                    "KAFKA_BOOTSTRAP_SERVERS": runtime.settings.bootstrap_servers,
                    "RETURNS_TOPIC_PREFIX": runtime.settings.topic_prefix,
                }
                start = datetime.now(UTC)
                returns = [str(Path(sys.executable).with_name("returns"))]
                simulated = _run(
                    [
                        sys.executable,
                        "-m",
                        "services.simulator",
                        "--rate", str(args.rate),
                        "--duration", f"{args.minutes * 60:.0f}s",
                        "--crossings", "ELP,SAN",
                        "--inm",
                        "--profile", str(HERE / "profile.toml"),
                        "--delay-profile", "immediate",
                        "--seed", str(args.seed),
                        "--partners-file", str(HERE / "partners.toml"),
                        "--notify-url", services[-1].url,
                        "--clock-scale", str(args.scale),
                        "--accept-delay", "lognormal:30m..4h",
                        "--decline-share", "0.1",
                        "--silent-share", "0.05",
                        "--contact-delay", "lognormal:6h..36h",
                        "--close-delay", "2d..10d",
                        "--partners-linger", "60s",
                    ],
                    env,
                )  # fmt: skip
                print(simulated.stdout[-2500:], simulated.stderr[-1500:], sep="\n")
                if simulated.returncode != 0:
                    return simulated.returncode
                time.sleep(10)  # the last reports and placements reach the log
                first = start.date().isoformat()
                last = (start + timedelta(days=31)).date().isoformat()
                for lang in ("es", "en"):
                    report = _run(
                        [
                            *returns, "audit", "report", "--resources",
                            "--from", first, "--to", last,
                            "--from-timestamp", start.isoformat(),
                            "--clock-scale", str(args.scale),
                            "--lang", lang, "--format", "all", "--out", str(OUT),
                        ],
                        env,
                    )  # fmt: skip
                    if report.returncode != 0:
                        print(report.stderr[-2000:])
                        return report.returncode
                verified = _run([*returns, "audit", "verify"], env)
                print(verified.stdout[-2500:])
                print(f"the report: {OUT / 'resources-es.md'} and {OUT / 'resources-en.md'}")
                return verified.returncode
            finally:
                for service in services:
                    service.stop()
    finally:
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
