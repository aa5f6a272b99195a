"""The keeper starts a worker again when it fails, and ends with it when it is stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from services.runtime.keeper import CANNOT_START, Keeper, Pauses, describe

QUICK = Pauses(first=0.05, longest=0.2, steady=5.0)


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "worker.py"
    path.write_text(body)
    return [sys.executable, str(path), str(tmp_path / "runs")]


COUNTING = """
import sys, time
from pathlib import Path
runs = Path(sys.argv[1])
n = int(runs.read_text()) + 1 if runs.exists() else 1
runs.write_text(str(n))
{then}
"""


def test_a_failing_worker_is_started_again_until_it_exits_cleanly(tmp_path: Path) -> None:
    # Fails twice (an escaped exception ends a worker with status 1), then is stopped.
    command = _script(tmp_path, COUNTING.format(then="sys.exit(1 if n < 3 else 0)"))
    said: list[str] = []
    keeper = Keeper(command, QUICK, said.append)

    assert keeper.run() == 0
    assert keeper.starts == 3
    assert (tmp_path / "runs").read_text() == "3"
    assert len(said) == 2
    assert all("exited with status 1" in line for line in said)


def test_a_killed_worker_is_started_again(tmp_path: Path) -> None:
    then = "import os, signal\nif n == 1: os.kill(os.getpid(), signal.SIGKILL)"
    keeper = Keeper(_script(tmp_path, COUNTING.format(then=then)), QUICK, lambda line: None)

    assert keeper.run() == 0
    assert keeper.starts == 2


def test_stopping_the_keeper_stops_the_worker_and_starts_nothing(tmp_path: Path) -> None:
    command = _script(tmp_path, COUNTING.format(then="time.sleep(60)"))
    keeper = Keeper(command, QUICK, lambda line: None)
    threading.Timer(1.0, keeper.stop).start()

    started = time.monotonic()
    returncode = keeper.run()

    assert time.monotonic() - started < 10
    assert returncode == -signal.SIGTERM
    assert keeper.starts == 1


def test_sigterm_to_the_keeper_process_ends_it_and_its_worker(tmp_path: Path) -> None:
    worker = tmp_path / "worker.py"
    worker.write_text(
        "import os, sys, time\nfrom pathlib import Path\n"
        "Path(sys.argv[1]).write_text(str(os.getpid()))\ntime.sleep(60)\n"
    )
    pid_file = tmp_path / "worker.pid"
    command = [sys.executable, str(worker), str(pid_file)]
    keeper = subprocess.Popen(
        [sys.executable, "-m", "services.runtime.keeper", "--", *command],
        cwd=Path(__file__).resolve().parents[3],
    )
    deadline = time.monotonic() + 20
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    worker_pid = int(pid_file.read_text())

    keeper.send_signal(signal.SIGTERM)

    assert keeper.wait(timeout=20) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 5
    while _alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker_pid)


def test_the_pause_doubles_while_it_keeps_failing_and_resets_after_a_steady_run() -> None:
    pauses = Pauses(first=1.0, longest=8.0, steady=60.0)
    assert pauses.next(None, 0.5) == 1.0
    assert pauses.next(1.0, 0.5) == 2.0
    assert pauses.next(4.0, 0.5) == 8.0
    assert pauses.next(8.0, 0.5) == 8.0
    assert pauses.next(8.0, 61.0) == 1.0


def test_how_a_worker_ended_is_said_plainly() -> None:
    assert describe(1) == "exited with status 1"
    assert describe(-signal.SIGKILL) == "was killed by SIGKILL"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not reaped by its parent yet) counts as gone.
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"


def test_a_worker_that_cannot_start_is_not_started_again(tmp_path: Path) -> None:
    # A wrong setting or broken reference data: the same start would fail the same way.
    command = _script(tmp_path, COUNTING.format(then=f"sys.exit({CANNOT_START})"))
    keeper = Keeper(command, QUICK, lambda line: None)

    assert keeper.run() == CANNOT_START
    assert keeper.starts == 1
