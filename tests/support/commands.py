"""Running a command-line app (`returns`, `returns audit`) against the test broker."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner, Result

from services.runtime.context import Runtime

_RUNNER = CliRunner()


def run_command(app: Any, runtime: Runtime, *args: str) -> Result:
    """Run `app` with `args` on the runtime's broker and topic prefix, as an operator would.

    An exception the command raises, other than its exit, is raised again: the test fails
    with the command's own traceback rather than with an exit code.
    """
    settings = runtime.settings
    result = _RUNNER.invoke(
        app, [*args, "--bootstrap", settings.bootstrap_servers, "--prefix", settings.topic_prefix]
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result
