"""Keep a worker running: start it again when it ends on its own (docs/adr/0036).

    python -m services.runtime.keeper -- python -m services.intake worker

An exception that escapes an agent ends the worker with an error, so that it reads
again from its last committed offset instead of going on without the record it held.
Something must then start it again: in Kubernetes the kubelet does; ``make run`` starts
every service under this keeper, which does the same.

- The worker runs in the keeper's process group, so ``make stop`` (SIGTERM to the
  group) reaches both; a SIGTERM or SIGINT sent to the keeper alone is passed on.
- A worker that exits with status 0 was stopped on purpose, and one that exits with
  `CANNOT_START` (78) has a configuration that starting again will not mend: the
  keeper ends too, with the same status. Any other end (an error, a signal such as
  SIGKILL) starts it again after a pause that doubles from `FIRST_PAUSE_S` up to
  `LONGEST_PAUSE_S` while it keeps failing, and is back to the first once a run lasted
  `STEADY_S`.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CANNOT_START = 78
"""The exit status of a worker whose configuration or reference data is wrong (EX_CONFIG,
from sysexits.h): starting it again changes nothing."""
FIRST_PAUSE_S = 1.0
LONGEST_PAUSE_S = 30.0
STEADY_S = 60.0


@dataclass(frozen=True)
class Pauses:
    """How long to wait before the next start, from how the last runs went."""

    first: float = FIRST_PAUSE_S
    longest: float = LONGEST_PAUSE_S
    steady: float = STEADY_S

    def next(self, previous: float | None, ran_for: float) -> float:
        if previous is None or ran_for >= self.steady:
            return self.first
        return min(previous * 2, self.longest)


def describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


class Keeper:
    """Runs `command` until it exits with 0 or the keeper is asked to stop."""

    def __init__(
        self,
        command: Sequence[str],
        pauses: Pauses = Pauses(),
        say: Callable[[str], None] = lambda line: print(f"keeper: {line}", flush=True),
    ) -> None:
        self.command = list(command)
        self.pauses = pauses
        self.say = say
        self.name = " ".join(self.command[1:]) or self.command[0]  # without the interpreter
        self.starts = 0
        self._stopping = threading.Event()
        self._child: subprocess.Popen[bytes] | None = None

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """End the worker and do not start it again."""
        self._stopping.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    def run(self) -> int:
        pause: float | None = None
        while True:
            started = time.monotonic()
            self._child = subprocess.Popen(self.command)  # noqa: S603 - the command we were given
            self.starts += 1
            if self._stopping.is_set():  # asked to stop while starting it
                self._child.send_signal(signal.SIGTERM)
            returncode = self._child.wait()
            ran_for = time.monotonic() - started
            if self._stopping.is_set() or returncode in (0, CANNOT_START):
                return returncode
            pause = self.pauses.next(pause, ran_for)
            self.say(
                f"{self.name} {describe(returncode)} after {ran_for:.1f} s;"
                f" starting it again in {pause:.0f} s"
            )
            if self._stopping.wait(pause):
                return returncode


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        print("usage: python -m services.runtime.keeper -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    keeper = Keeper(args)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, frame: keeper.stop(received))
    returncode = keeper.run()
    return 128 - returncode if returncode < 0 else returncode  # as a shell reports a signal


if __name__ == "__main__":
    raise SystemExit(main())
