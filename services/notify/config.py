"""Notify's settings, read once from the environment at start-up.

- `RETURNS_PARTNERS_FILE`: the partner subscriptions (TOML, see `partners.example.toml`);
  unset, requests are published on their topics but nobody gets a webhook.
- `RETURNS_NOTIFY_MAX_ATTEMPTS`: when set, every partner's attempts before a delivery
  ends on `notification-failed` (else each partner's `max_attempts`, default 5).
- `RETURNS_NOTIFY_BACKOFF_BASE` (0.5 s) and `RETURNS_NOTIFY_BACKOFF_CAP` (60 s): the wait
  before retry n is `rand() * min(cap, base * 2**(n-1))`.
- `RETURNS_NOTIFY_CONNECT_TIMEOUT` (2 s), `RETURNS_NOTIFY_READ_TIMEOUT` (5 s, also writes
  and the pool) and `RETURNS_NOTIFY_ATTEMPT_TIMEOUT` (15 s, a whole attempt however the
  partner trickles its answer).
- `RETURNS_NOTIFY_DRAIN_SECONDS` (5 s): on a graceful stop, how long queued deliveries may
  still settle before they are left to the next start.
- `RETURNS_NOTIFY_SESSION_TIMEOUT` (faust's 60 s): how long the consumer group waits for a
  worker that stopped answering before its partitions go to the others (or to its own
  restart); tests that kill notify shorten it.

- `RETURNS_PARTNER_SECRETS_FILE`: an env-file (`NAME=value` lines) holding the secrets
  the partners file names by `secret_env`; both files are re-read when they change.
- `RETURNS_NOTIFY_TICK_SECONDS` (5 s): how often the decisions agent's clock ticks, for
  the legal-aid deadlines; `RETURNS_LEGAL_AID_*` set the deadlines themselves
  (:class:`services.notify.deadlines.DeadlinePolicy`).
- `RETURNS_NOTIFY_RETAIN_DAYS` (30): how long a finished legal-aid request (closed,
  withdrawn, replaced) stays in the `requests` table before a clock tick deletes it
  (tracker.py; docs/adr/0031-notify-wiring-and-retention.md).
- `RETURNS_NOTIFY_MEMORY_DAYS` (35): how long `issued` keeps what an input caused,
  `groups` a group with nothing left open, and `delivered` a partner's receipt; an
  unknown input, or a request nobody has a receipt for, that old is not handled
  (memory.py, receipts.py; docs/adr/0039, docs/adr/0040).

Tests use tiny values (`RETURNS_NOTIFY_BACKOFF_BASE=0.05`) so that retries take milliseconds.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from services.notify.deadlines import DeadlinePolicy
from services.notify.delivery import Backoff, Timeouts
from services.notify.directory import PartnerDirectory
from services.notify.memory import Retention
from services.notify.partners import PartnerConfigError, PartnerSubscription
from services.runtime.settings import ConfigurationError, positive_number


@dataclass(frozen=True)
class NotifyConfig:
    """How notify delivers webhooks; see the module docstring for the variables."""

    partners_file: Path | None = None
    max_attempts: int | None = None
    backoff: Backoff = field(default_factory=Backoff)
    timeouts: Timeouts = field(default_factory=Timeouts)
    drain_seconds: float = 5.0
    session_timeout: float | None = None
    secrets_file: Path | None = None
    tick_seconds: float = 5.0
    policy: DeadlinePolicy = field(default_factory=DeadlinePolicy)
    retain: timedelta = timedelta(days=30)
    memory: Retention = field(default_factory=Retention)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NotifyConfig:
        """Read the variables; raises `ConfigurationError` naming every bad one."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def seconds(name: str, default: float) -> float:
            return positive_number(env, name, default, problems, " of seconds")

        attempts = env.get("RETURNS_NOTIFY_MAX_ATTEMPTS") or None
        if attempts is not None and (not attempts.isdigit() or int(attempts) < 1):
            problems.append(f"RETURNS_NOTIFY_MAX_ATTEMPTS must be a positive integer: {attempts!r}")
            attempts = None
        partners = env.get("RETURNS_PARTNERS_FILE") or None
        secrets = env.get("RETURNS_PARTNER_SECRETS_FILE") or None
        try:
            policy = DeadlinePolicy.from_env(env)
        except ConfigurationError as exc:
            problems.append(str(exc))
            policy = DeadlinePolicy()
        try:
            memory = Retention.from_env(env)
        except ConfigurationError as exc:
            problems.append(str(exc))
            memory = Retention()
        config = cls(
            partners_file=Path(partners) if partners else None,
            max_attempts=int(attempts) if attempts else None,
            backoff=Backoff(
                base=seconds("RETURNS_NOTIFY_BACKOFF_BASE", Backoff.base),
                cap=seconds("RETURNS_NOTIFY_BACKOFF_CAP", Backoff.cap),
            ),
            timeouts=Timeouts(
                connect=seconds("RETURNS_NOTIFY_CONNECT_TIMEOUT", Timeouts.connect),
                read=seconds("RETURNS_NOTIFY_READ_TIMEOUT", Timeouts.read),
                attempt=seconds("RETURNS_NOTIFY_ATTEMPT_TIMEOUT", Timeouts.attempt),
            ),
            drain_seconds=seconds("RETURNS_NOTIFY_DRAIN_SECONDS", 5.0),
            session_timeout=seconds("RETURNS_NOTIFY_SESSION_TIMEOUT", 0) or None,
            secrets_file=Path(secrets) if secrets else None,
            tick_seconds=seconds("RETURNS_NOTIFY_TICK_SECONDS", 5.0),
            policy=policy,
            retain=timedelta(days=positive_number(env, "RETURNS_NOTIFY_RETAIN_DAYS", 30, problems)),
            memory=memory,
        )
        if problems:
            raise ConfigurationError("; ".join(problems))
        return config

    def subscriptions(
        self,
        known_locations: Collection[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> list[PartnerSubscription]:
        """The partners to deliver to (none without a partners file), attempts applied.

        Raises `ConfigurationError` listing every problem of the partners file.
        """
        if self.partners_file is None:
            return []
        try:
            partners = self.directory(known_locations, environ).current().values()
        except PartnerConfigError as exc:  # run() reports ConfigurationErrors cleanly
            raise ConfigurationError(str(exc)) from None
        if self.max_attempts is None:
            return list(partners)
        return [dataclasses.replace(p, max_attempts=self.max_attempts) for p in partners]

    def directory(
        self,
        known_locations: Collection[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> PartnerDirectory:
        """The partners, re-read when the partners or secrets file changes.

        Raises `PartnerConfigError` when the files cannot be read at all."""
        return PartnerDirectory(
            self.partners_file,
            self.secrets_file,
            known_locations=known_locations,
            environ=environ,
        )
