"""The partners as the files now say: secrets and provider lists re-read without a restart.

The partners file (`RETURNS_PARTNERS_FILE`) and the secrets env-file
(`RETURNS_PARTNER_SECRETS_FILE`, `NAME=value` lines, looked up before the environment for
each `secret_env`) are checked at most once a `check_every` seconds; when either changed
(modification time or size), both are read again. A file that no longer reads keeps the
partners as they were, and the problem is logged by count, never by value: a secret
never reaches a log line.

Webhook URLs, subscriptions and queues are fixed at start; what changes without a
restart is how each partner signs and is verified (`secret_of`) and which providers it
reports on (`serves`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from services.notify.partners import PartnerConfigError, PartnerSubscription, load_partners

log = logging.getLogger(__name__)


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines (blank lines and `#` comments skipped, optional quotes removed)."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        name = name.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        found[name] = value
    return found


class PartnerDirectory:
    """The current partner subscriptions, re-read when their files change."""

    def __init__(
        self,
        partners_file: Path | None,
        secrets_file: Path | None = None,
        *,
        known_locations: Collection[str] | None = None,
        environ: Mapping[str, str] | None = None,
        check_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._partners_file, self._secrets_file = partners_file, secrets_file
        self._locations = known_locations
        self._environ = environ
        self._check_every, self._clock = check_every, clock
        self._stamp: tuple[object, ...] | None = None
        self._checked = float("-inf")
        self._partners: dict[str, PartnerSubscription] = {}
        self.reload()

    def reload(self) -> None:
        """Read both files now; raises `PartnerConfigError` only when nothing was read yet."""
        stamp = self._stamps()
        try:
            partners = self._read()
        except (PartnerConfigError, OSError, UnicodeDecodeError) as exc:
            if self._stamp is None:
                raise
            problems = len(exc.problems) if isinstance(exc, PartnerConfigError) else 1
            log.error("partners not re-read (%d problem(s)): keeping the previous ones", problems)
            self._stamp = stamp
            return
        self._partners = {p.partner_id: p for p in partners}
        if self._stamp is not None:
            log.info("partners re-read: %d partner(s)", len(partners))
        self._stamp = stamp

    def current(self) -> dict[str, PartnerSubscription]:
        """Partner id -> subscription, as the files say now."""
        now = self._clock()
        if now - self._checked >= self._check_every:
            self._checked = now
            if self._stamps() != self._stamp:
                self.reload()
        return self._partners

    def secret_of(self, partner_id: str) -> str | None:
        partner = self.current().get(partner_id)
        return None if partner is None else partner.secret

    def serves(self, partner_id: str, provider_id: str) -> bool:
        """Whether the partner may report on requests held by `provider_id`."""
        partner = self.current().get(partner_id)
        return partner is not None and provider_id in partner.provider_ids

    def _read(self) -> list[PartnerSubscription]:
        if self._partners_file is None:
            return []
        env = dict(os.environ if self._environ is None else self._environ)
        if self._secrets_file is not None:
            env.update(read_env_file(self._secrets_file))
        return load_partners(self._partners_file, env, self._locations)

    def _stamps(self) -> tuple[object, ...]:
        return tuple(_stamp(path) for path in (self._partners_file, self._secrets_file))


def _stamp(path: Path | None) -> object:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    return (stat.st_mtime_ns, stat.st_size)
