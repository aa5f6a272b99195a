"""``make run``'s process manager: start, stop and report the services and the console.

Each service runs as its own process (``python -m services.<name> worker``), with
its log in ``.work/run/<name>.log``, under a keeper that starts it again if it ends on
its own (``services/runtime/keeper.py``, docs/adr/0036). Starting is idempotent: a
service that is already running and ready is left alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from services.console.config import CONSOLE_PORT
from services.console.roles import ROLES
from services.console.users import user_entry
from services.intake.auth import hash_token, new_token
from services.runtime.security import principal_env
from services.runtime.settings import DEFAULT_WEB_PORTS, REPO_ROOT, WORK_DIR

RUN_DIR = WORK_DIR / "run"
SERVICES = ("intake", "screening", "placement", "notify", "console")
WEB_PORTS = {**DEFAULT_WEB_PORTS, "console": CONSOLE_PORT}
CROSSING_CODES = ("san", "cxl", "ols", "elp", "egp", "lrd", "bro")
LOCATION_CODES = ("tij", "mxl", "nog", "cjs", "pds", "nld", "mam")
# The sources `returns simulate` sends from: each port's desk and its batches, and INM's
# desk at each location (see services/simulator/profiles/default.toml).
DEV_SOURCES = (
    *(f"cbp-{code}" for code in CROSSING_CODES),
    *(f"cbp-{code}-batch" for code in CROSSING_CODES),
    *(f"inm-desk-{code}" for code in LOCATION_CODES),
    "inm-desk",
)
READY_TIMEOUT = 90.0


def _pid(service: str) -> int | None:
    path = RUN_DIR / f"{service}.pid"
    try:
        pid = int(path.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _ready(service: str) -> bool:
    try:
        answer = httpx.get(f"http://127.0.0.1:{WEB_PORTS[service]}/readyz", timeout=1.0)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


def dev_tokens() -> Path:
    """A token file for local use, one token per sample source, made once."""
    tokens_file, plain = RUN_DIR / "intake-tokens.toml", RUN_DIR / "dev-tokens.txt"
    if not tokens_file.exists():
        tokens = {source: new_token() for source in DEV_SOURCES}
        lines = ["[sources]"] + [f'{s} = "{hash_token(t)}"' for s, t in tokens.items()]
        tokens_file.write_text("\n".join(lines) + "\n")
        plain.write_text("".join(f"{s} {t}\n" for s, t in tokens.items()))
        plain.chmod(0o600)
    return tokens_file


def dev_console_users() -> Path:
    """A console users file for local use, one user per role (named after it), made once."""
    users_file, plain = RUN_DIR / "console-users.toml", RUN_DIR / "console-passwords.txt"
    if not users_file.exists():
        passwords = {role: new_token()[:16] for role in ROLES}
        users_file.write_text("".join(user_entry(r, r, p) + "\n" for r, p in passwords.items()))
        plain.write_text("".join(f"{r} {p}\n" for r, p in passwords.items()))
        plain.chmod(0o600)
    return users_file


def _principal(service: str) -> dict[str, str]:
    """On the secure broker (``make run-secure`` sets RETURNS_SECURE_DIR), each service
    connects as its own principal (docs/SECURITY.md)."""
    secure_dir = os.environ.get("RETURNS_SECURE_DIR")
    return principal_env(Path(secure_dir), service) if secure_dir else {}


def start() -> int:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "RETURNS_INTAKE_TOKENS_FILE": str(dev_tokens()),
        "RETURNS_CONSOLE_USERS_FILE": str(dev_console_users()),
    }
    for service in SERVICES:
        if _pid(service) is not None:
            continue
        log = (RUN_DIR / f"{service}.log").open("ab")
        worker = [sys.executable, "-m", f"services.{service}", "worker"]
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "services.runtime.keeper", "--", *worker],
            cwd=REPO_ROOT,
            env={**env, **_principal(service)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        (RUN_DIR / f"{service}.pid").write_text(str(process.pid))
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = list(SERVICES)
    while waiting and time.monotonic() < deadline:
        waiting = [s for s in waiting if _pid(s) is not None and not _ready(s)]
        dead = [s for s in SERVICES if _pid(s) is None]
        if dead:
            print(f"{', '.join(dead)} stopped while starting: see .work/run/<service>.log")
            return 1
        time.sleep(0.5)
    if waiting:
        print(f"not ready after {READY_TIMEOUT:.0f} s: {', '.join(waiting)} (see .work/run/*.log)")
        return 1
    _print_summary()
    return 0


def _print_summary() -> None:
    port = DEFAULT_WEB_PORTS["intake"]
    print("The services are running:")
    for service in SERVICES:
        print(f"  {service:<10} pid {_pid(service)}  http://127.0.0.1:{WEB_PORTS[service]}/readyz")
    print(f"Intake's HTTP API: http://127.0.0.1:{port}/v1/returns (OpenAPI: /openapi.json)")
    print(f"Development tokens, one per source: {RUN_DIR / 'dev-tokens.txt'}")
    print("Live view per crossing: .venv/bin/returns top   (traffic: .venv/bin/returns simulate)")
    print(f"Console: http://127.0.0.1:{CONSOLE_PORT}/  (users: {RUN_DIR}/console-passwords.txt)")
    print("Logs: .work/run/<service>.log    Stop everything: make stop")


def tokens() -> int:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    print(f"intake token file: {dev_tokens()}")
    print(f"the tokens themselves, one per source: {RUN_DIR / 'dev-tokens.txt'}")
    print(f"console users file: {dev_console_users()}")
    print(f"their passwords, one user per role: {RUN_DIR / 'console-passwords.txt'}")
    return 0


def stop() -> int:
    for service in SERVICES:
        pid = _pid(service)
        if pid is None:
            continue
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _pid(service) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid(service) is not None:
            os.killpg(pid, signal.SIGKILL)
        print(f"stopped {service}")
    return 0


def status() -> int:
    for service in SERVICES:
        pid = _pid(service)
        state = "not running" if pid is None else ("ready" if _ready(service) else "starting")
        print(f"{service:<10} {state}" + (f" (pid {pid})" if pid else ""))
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "status"
    commands = {"start": start, "stop": stop, "status": status, "tokens": tokens}
    sys.exit(commands[command]())
