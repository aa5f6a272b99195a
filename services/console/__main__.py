"""``python -m services.console`` serves the console; ``... user NAME ROLE`` makes a user.

``worker`` is accepted as the first argument too, like every service's ``__main__``.
"""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from services.console.app import build_app, build_console
from services.console.config import ConsoleConfig
from services.console.roles import ROLES
from services.console.users import user_entry
from services.intake.auth import new_token
from services.reference import ReferenceDataError
from services.runtime.context import build_runtime
from services.runtime.keeper import CANNOT_START
from services.runtime.settings import ConfigurationError


def serve() -> None:
    config = ConsoleConfig.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        console = build_console(config, build_runtime())
    except (ReferenceDataError, ConfigurationError) as exc:
        print(f"console: cannot start: {exc}", file=sys.stderr)
        raise SystemExit(CANNOT_START) from None
    web.run_app(build_app(console), host=config.host, port=config.port, print=None)


def make_user(name: str, role: str) -> None:
    chosen = next((r for r in ROLES if r == role), None)
    if chosen is None:
        raise SystemExit(f"role must be one of {', '.join(ROLES)}")
    password, token = new_token(), new_token()
    print(f"# add to the console users file; password {password}  token {token}")
    print(user_entry(name, chosen, password, token))


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["user"] and len(args) == 3:
        make_user(args[1], args[2])
    elif not args or args[:1] == ["worker"]:
        serve()
    else:
        raise SystemExit("usage: python -m services.console [worker] | user NAME ROLE")
