"""`returns erase CASE_ID` and `returns keys ...`: crypto-shredding and KEK rotation."""

from __future__ import annotations

import re
from typing import Annotated

import typer
from rich.console import Console

from services.keys.kafka_log import KeyLogUnavailable
from services.keys.keyring import add_kek, ensure_kek_file, kek_file, retire_others
from services.runtime.settings import ConfigurationError

keys_app = typer.Typer(no_args_is_help=True, add_completion=False)
out = Console()
err = Console(stderr=True)

CASE_ID = re.compile(r"^A[0-9]{8,9}$")
Bootstrap = Annotated[
    str, typer.Option("--bootstrap", envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka brokers")
]
Prefix = Annotated[
    str, typer.Option("--prefix", envvar="RETURNS_TOPIC_PREFIX", help="topic prefix of the stack")
]
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


def erase(
    case_id: Annotated[str, typer.Argument(metavar="CASE_ID", help="A followed by 8 or 9 digits")],
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
    prefix: Prefix = "",
) -> None:
    """Erase a person's personal data: delete their data key (a tombstone on person-keys).

    The records stay on the log, decisions and flags included; names, birth date,
    nationality, languages and declarations can no longer be read by anyone.
    """
    if not CASE_ID.match(case_id):
        raise typer.BadParameter("a case id is A followed by 8 or 9 digits", param_hint="CASE_ID")
    from services.keys import key_store

    try:
        store = key_store(bootstrap, prefix)
        had = store.erase(case_id)
    except (KeyLogUnavailable, ConfigurationError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if had:
        out.print(f"{case_id}: data key erased; its personal data can no longer be read")
    else:
        out.print(f"{case_id}: had no data key (erased before, or never sealed); tombstone written")


@keys_app.command("ensure-kek")
def ensure_kek() -> None:
    """Make RETURNS_KEK_FILE (default .work/keys/kek.toml) with a first KEK, unless it exists."""
    path = kek_file()
    existed = path.exists()
    ensure_kek_file(path)
    out.print(f"{path}: {'kept' if existed else 'made, with its first KEK'}")


@keys_app.command("new-kek")
def new_kek() -> None:
    """Add a new key-encryption key to RETURNS_KEK_FILE and make it current (rotation)."""
    path = kek_file()
    if not path.exists():
        ensure_kek_file(path)
        out.print(f"made {path} with its first KEK")
        return
    out.print(f"{path}: new current KEK {add_kek(path)}; now run `returns keys rewrap`")


@keys_app.command()
def rewrap(bootstrap: Bootstrap = DEFAULT_BOOTSTRAP, prefix: Prefix = "") -> None:
    """Re-wrap every live data key with the current KEK (the data is not re-encrypted)."""
    from services.keys import key_store

    try:
        store = key_store(bootstrap, prefix)
        done = store.rewrap()
    except (KeyLogUnavailable, ConfigurationError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    out.print(f"re-wrapped {done} of {store.cases()} data keys with the current KEK")


@keys_app.command()
def retire(bootstrap: Bootstrap = DEFAULT_BOOTSTRAP, prefix: Prefix = "") -> None:
    """Drop every KEK but the current one from RETURNS_KEK_FILE, once `rewrap` is done."""
    from services.keys import key_store

    try:
        store = key_store(bootstrap, prefix)
        current = store.keyring.current_id
        still = sorted(store.keks_in_use() - {current})
    except (KeyLogUnavailable, ConfigurationError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if still:
        err.print(f"[red]live data keys are still wrapped by {', '.join(still)}: run rewrap[/red]")
        raise typer.Exit(1)
    dropped = retire_others(kek_file())
    out.print(f"dropped {len(dropped)} older KEK(s): {', '.join(dropped) or 'none'}")
