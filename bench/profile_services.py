"""Where each service's CPU goes under a steady load: py-spy on the four workers.

The pipeline of `bench/pipeline.py` runs at ``--rate`` returns per second; after the
warm-up, py-spy samples each worker for ``--seconds``: the thread that holds the GIL,
without pausing the process (what a Python worker can do at most is one GIL's worth of
work, whatever its threads). Each worker's CPU time over the span is read from /proc
as well. Each sample is charged to the function on top of its Python
stack (self time), and that function to a family by its file: ours (`services/`,
`schemas/`), faust (faust and mode), aiokafka, kafka-python, pydantic,
opentelemetry, cryptography, asyncio, other stdlib, other. Prints, per service, the
split by family and the top functions. Usage::

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 python -m bench.profile_services --rate 80

py-spy is a development tool, not a dependency: install it into the virtualenv
(`uv pip install py-spy`). The collapsed stacks stay in ``--keep`` for flame graphs.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.common import cleanup, new_runtime, start
from bench.pipeline import WARM_UP_SECONDS
from services.simulator import Simulation, SimulationConfig, load_profile, timing_from
from services.top.reader import LagProbe
from services.upstream import KafkaSubmitter
from tests.support.load import open_every_location

# BENCH_PROFILE_WALL=1: every thread, waiting or not, each stack under its thread's name
# (where the time goes rather than the CPU).
WALL_CLOCK = ("--idle", "--threads")
SERVICES = ("intake", "screening", "placement", "notify")
# (family, a pattern of the file as py-spy names it: relative to its sys.path entry);
# the first that matches wins.
FAMILIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ours", re.compile(r"^(services|schemas)/")),
    ("faust", re.compile(r"^(faust|mode)/")),
    ("aiokafka", re.compile(r"^aiokafka/")),
    ("kafka-python", re.compile(r"^kafka/")),
    ("pydantic", re.compile(r"^pydantic(_core)?/")),
    ("opentelemetry", re.compile(r"^opentelemetry/")),
    ("cryptography", re.compile(r"^cryptography/")),
    ("prometheus", re.compile(r"^prometheus_client/")),
    ("asyncio", re.compile(r"^asyncio/")),
    ("threads", re.compile(r"^(concurrent/|threading\.py)")),
)
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^:()]+)(:\d+)?\)$")


@dataclass(frozen=True)
class Profile:
    service: str
    samples: int
    cores: float  # CPU seconds per second over the sampled span, all threads
    lag: tuple[int, int]  # its consumer lag at the span's start and end
    families: Counter[str]
    functions: Counter[str]

    def lines(self, top: int) -> list[str]:
        out = [
            f"{self.service}: {self.cores:.2f} cores; lag {self.lag[0]} -> {self.lag[1]}; "
            f"{self.samples} samples holding the GIL"
        ]
        split = ", ".join(
            f"{family} {count / self.samples:.0%}" for family, count in self.families.most_common()
        )
        out.append(f"  by family: {split}")
        for function, count in self.functions.most_common(top):
            out.append(f"  {count / self.samples:6.1%}  {function}")
        return out


def family_of(path: str) -> str:
    for family, pattern in FAMILIES:
        if pattern.search(path):
            return family
    return "stdlib/other"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process and all its threads so far (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_collapsed(service: str, path: Path, cores: float, lag: tuple[int, int]) -> Profile:
    """Self time per function, from py-spy's collapsed stacks ("a;b;c count" lines)."""
    families: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.rsplit(";", 1)[-1]
        match = _FRAME.match(leaf)
        name, file = (match["function"], match["file"]) if match else (leaf, "")
        family = family_of(file)
        families[family] += int(count)
        functions[f"{family:<13} {name} ({file})"] += int(count)
    return Profile(service, sum(families.values()), cores, lag, families, functions)


def profile_pipeline(rate: float, seconds: float, sample_rate: int, keep: Path) -> list[Profile]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed: `uv pip install py-spy` into the virtualenv")
    runtime = new_runtime()
    profile = load_profile(None)
    config = SimulationConfig(
        rate=rate,
        duration=WARM_UP_SECONDS + seconds + 5,
        crossings=tuple(c.code for c in runtime.reference.crossings),
        profile=profile,
        timing=timing_from(profile, member_spread=(0.0, 0.0), spread_share=0.0),
        seed=20_191_129,
    )
    services = [start(name, runtime) for name in SERVICES]
    probe = LagProbe(runtime.settings, runtime.topology.lanes)
    spies: list[subprocess.Popen[bytes]] = []
    try:
        for service in services:
            service.wait_ready()
        open_every_location(runtime)
        with KafkaSubmitter(runtime.router) as submit:
            simulation = Simulation(config, runtime.reference, submit)
            load = threading.Thread(target=simulation.run, daemon=True)
            load.start()
            time.sleep(WARM_UP_SECONDS)
            pids = [s.process.pid for s in services if s.process is not None]
            began, used = time.monotonic(), [cpu_seconds(pid) for pid in pids]
            lag_before = _lags(probe)
            for service in services:
                assert service.process is not None
                command = _spy_command(spy, service.process.pid, seconds, sample_rate)
                output = keep / f"{service.service}.txt"
                spies.append(
                    subprocess.Popen(  # noqa: S603 (our own arguments)
                        [*command, "--output", str(output)],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            for spied in spies:
                spied.wait(timeout=seconds + 60)
            span = time.monotonic() - began
            lag_after = _lags(probe)
            cores = [(cpu_seconds(pid) - u) / span for pid, u in zip(pids, used, strict=True)]
            load.join()
    finally:
        for service in services:
            service.kill()
        cleanup()
        probe.close()
    return [
        read_collapsed(s, keep / f"{s}.txt", c, (lag_before[s], lag_after[s]))
        for s, c in zip(SERVICES, cores, strict=True)
    ]


def _spy_command(spy: str, pid: int, seconds: float, sample_rate: int) -> list[str]:
    """Sample the thread holding the GIL (every thread with BENCH_PROFILE_WALL=1), without
    pausing the process; collapsed stacks."""
    duration, rate = str(int(seconds)), str(sample_rate)
    return [
        *(spy, "record", "--pid", str(pid), "--duration", duration, "--rate", rate),
        *(WALL_CLOCK if os.environ.get("BENCH_PROFILE_WALL") == "1" else ("--gil",)),
        *("--nonblocking", "--format", "raw"),
    ]


def _lags(probe: LagProbe) -> dict[str, int]:
    """Each service's total consumer lag on its input topic."""
    return {
        service: sum(lag or 0 for lag in lanes.values())
        for service, lanes in probe.measure().items()
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=80.0, help="returns per second")
    parser.add_argument("--seconds", type=float, default=40.0, help="sampled span")
    parser.add_argument("--sample-rate", type=int, default=50, help="py-spy samples/s")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--keep", type=Path, default=None, help="folder for the stacks")
    args = parser.parse_args(argv)
    keep = args.keep or Path(tempfile.mkdtemp(prefix="bench-profile-"))
    keep.mkdir(parents=True, exist_ok=True)
    profiles = profile_pipeline(args.rate, args.seconds, args.sample_rate, keep)
    print(f"at {args.rate:g} returns/s, {args.seconds:g} s sampled; stacks in {keep}")
    for profile in profiles:
        print("\n".join(profile.lines(args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
