"""Partner webhook subscriptions, kept as configuration (a TOML file of `[[partners]]`).

Each entry names a partner, its URL, its signing secret (inline, or better the name of an
environment variable holding it), the event types it takes and, optionally, the
locations it serves. A partner subscribed to a request type also gets that type's
`request-updated` events (amendments, withdrawals). `load_partners` checks the whole
file and reports every problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

WEBHOOK_EVENT_TYPES = frozenset({"legal-aid-requested", "care-requested"})
"""The event types a partner may subscribe to."""

REQUEST_UPDATED = "request-updated"
DELIVERED_EVENT_TYPES = WEBHOOK_EVENT_TYPES | {REQUEST_UPDATED}
"""The event types delivered: a request's updates go wherever the request went."""

_KNOWN_KEYS = frozenset(
    {
        "partner_id",
        "url",
        "secret",
        "secret_env",
        "event_types",
        "locations",
        "max_attempts",
        "queue_size",
        "provider_ids",
    }
)
_PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_LOCATION = re.compile(r"^[A-Z]{3}$")
_PROVIDER_ID = re.compile(r"^LA-[A-Z]{3}-\d{2}$")


@dataclass(frozen=True)
class PartnerSubscription:
    """One partner's webhook: where to POST, how to sign, what it wants.

    `locations` None means every location. `provider_ids` are the legal-aid providers
    whose requests the partner may report on (none when absent). The secret is left out
    of `repr` so that it never reaches a log line.
    """

    partner_id: str
    url: str
    secret: str = field(repr=False)
    event_types: frozenset[str]
    locations: frozenset[str] | None = None
    max_attempts: int = 5
    queue_size: int = 1000
    provider_ids: frozenset[str] = frozenset()


class PartnerConfigError(ValueError):
    """The partners file is missing, malformed or incomplete; `problems` lists every one."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        super().__init__(f"partners file {path} has {len(self.problems)} problem(s):\n{lines}")


def subscribed_as(event_type: str, data: Mapping[str, object]) -> str:
    """The event type a partner subscribes to for an event with this `data`: a
    `request-updated` is the updated request's type (its `request_type`)."""
    if event_type == REQUEST_UPDATED:
        return str(data.get("request_type"))
    return event_type


def matches(sub: PartnerSubscription, event_type: str, location: str | None) -> bool:
    """Whether `sub` wants an event of `event_type` (as `subscribed_as` names it) at
    `location`.

    An event without a location goes only to partners subscribed to every location.
    """
    if event_type not in sub.event_types:
        return False
    return sub.locations is None or (location is not None and location in sub.locations)


def load_partners(
    path: Path,
    environ: Mapping[str, str] | None = None,
    known_locations: Collection[str] | None = None,
) -> list[PartnerSubscription]:
    """Read and check the partner subscriptions in the TOML file at `path`.

    `secret_env` names are looked up in `environ` (default: the process environment).
    When `known_locations` is given, every location listed must be one of them.
    Raises `PartnerConfigError` listing every problem; secrets never appear in it.
    """
    env = os.environ if environ is None else environ
    problems: list[str] = []
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PartnerConfigError(path, [f"cannot be read as TOML ({exc})"]) from None
    problems += [
        f'unexpected top-level key "{key}"' for key in sorted(document.keys() - {"partners"})
    ]
    entries = document.get("partners", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise PartnerConfigError(path, [*problems, "partners must be [[partners]] tables"])
    subs = []
    for number, entry in enumerate(entries, 1):
        entry_problems: list[str] = []
        sub = _subscription(entry, env, known_locations, entry_problems)
        who = entry.get("partner_id")
        label = f'partner "{who}"' if isinstance(who, str) else f"partner #{number}"
        problems += [f"{label}: {p}" for p in entry_problems]
        if sub is not None:
            subs.append(sub)
    problems += _duplicates([sub.partner_id for sub in subs])
    if problems:
        raise PartnerConfigError(path, problems)
    return subs


def _subscription(
    entry: Mapping[str, object],
    env: Mapping[str, str],
    known_locations: Collection[str] | None,
    problems: list[str],
) -> PartnerSubscription | None:
    problems += [f'"{key}" is not a known field' for key in sorted(entry.keys() - _KNOWN_KEYS)]
    partner_id = entry.get("partner_id")
    if not isinstance(partner_id, str) or not _PARTNER_ID.match(partner_id):
        problems.append("partner_id is required: lower-case letters, digits, '.', '_', '-'")
    url = _url(entry.get("url"), problems)
    secret = _secret(entry, env, problems)
    event_types = _strings(entry.get("event_types"), "event_types", problems)
    if event_types is not None:
        unknown = sorted(event_types - WEBHOOK_EVENT_TYPES)
        if unknown or not event_types:
            allowed = ", ".join(sorted(WEBHOOK_EVENT_TYPES))
            problems.append(f"event_types must be a non-empty list of: {allowed} (got {unknown})")
    locations = None
    if "locations" in entry:
        locations = _strings(entry["locations"], "locations", problems)
        for code in sorted(locations or ()):
            unknown_here = known_locations is not None and code not in known_locations
            if not _LOCATION.match(code) or unknown_here:
                problems.append(f'location "{code}" is not a known location code')
    max_attempts = _positive(entry.get("max_attempts", 5), "max_attempts", problems)
    queue_size = _positive(entry.get("queue_size", 1000), "queue_size", problems)
    provider_ids = _strings(entry.get("provider_ids", []), "provider_ids", problems)
    for provider_id in sorted(provider_ids or ()):
        if not _PROVIDER_ID.match(provider_id):
            problems.append(f'provider id "{provider_id}" is not of the form LA-XXX-00')
    if problems or not isinstance(partner_id, str) or not url or not secret or not event_types:
        return None
    return PartnerSubscription(
        partner_id,
        url,
        secret,
        event_types,
        locations,
        max_attempts,
        queue_size,
        provider_ids or frozenset(),
    )


def _url(value: object, problems: list[str]) -> str | None:
    if not isinstance(value, str):
        problems.append("url is required")
        return None
    try:
        parsed = httpx.URL(value)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in {"http", "https"} or not parsed.host:
        problems.append(f"url must be an absolute http(s) URL (got {value!r})")
        return None
    return value


def _secret(entry: Mapping[str, object], env: Mapping[str, str], problems: list[str]) -> str | None:
    inline, name = entry.get("secret"), entry.get("secret_env")
    if (inline is None) == (name is None):
        problems.append("give exactly one of secret or secret_env")
        return None
    if inline is not None:
        if not isinstance(inline, str) or not inline:
            problems.append("secret must be a non-empty string")
            return None
        return inline
    if not isinstance(name, str) or not name:
        problems.append("secret_env must name an environment variable")
        return None
    if not env.get(name):
        problems.append(f"secret_env: environment variable {name} is not set or empty")
        return None
    return env[name]


def _strings(value: object, name: str, problems: list[str]) -> frozenset[str] | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"{name} must be a list of strings")
        return None
    return frozenset(value)


def _positive(value: object, name: str, problems: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.append(f"{name} must be a positive integer (got {value!r})")
        return 1
    return value


def _duplicates(partner_ids: list[str]) -> list[str]:
    counts = Counter(partner_ids)
    return [f'partner_id "{p}" is used more than once' for p in sorted(counts) if counts[p] > 1]
