"""Make the secure broker's users and ACLs match :mod:`services.runtime.acls`.

    python -m services.runtime.acl_admin apply  [--secure-dir DIR]   users and ACLs
    python -m services.runtime.acl_admin rotate PRINCIPAL [--secure-dir DIR]
    python -m services.runtime.acl_admin table                         the ACLs, as Markdown

It connects as ``admin`` (a super user) with the usual ``KAFKA_*`` settings
(``services/runtime/security.py``); ``RETURNS_TOPIC_PREFIX`` selects the stack. Each
principal's password is a file ``<secure-dir>/users/<principal>.password`` (mode 0600),
made once and then kept, so ``apply`` is idempotent. ``apply`` also deletes the ACLs of
the managed principals that the table no longer holds: a grant removed from the table is
removed from the broker. ``rotate`` writes a new password and sets it on the broker; the
principal's clients pick it up when they restart.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from services.runtime.acls import ADMIN, Grant, grants, principals
from services.runtime.security import ClientSecurity, kafka_python_options
from services.runtime.settings import REPO_ROOT, WORK_DIR

DEFAULT_SECURE_DIR = WORK_DIR / "secure"
TOPOLOGY_FILE = REPO_ROOT / "infra" / "topics.toml"
_OPERATIONS = {
    "read": ACLOperation.READ,
    "write": ACLOperation.WRITE,
    "create": ACLOperation.CREATE,
    "describe": ACLOperation.DESCRIBE,
}
_RESOURCES = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
_PATTERNS = {"literal": ACLResourcePatternType.LITERAL, "prefixed": ACLResourcePatternType.PREFIXED}


def internal_owners(topology_file: Path = TOPOLOGY_FILE) -> dict[str, str]:
    """Internal topic -> owning service, from ``[internal.*] owner`` of the layout."""
    raw = tomllib.loads(topology_file.read_text(encoding="utf-8"))
    return {name: str(spec["owner"]) for name, spec in raw.get("internal", {}).items()}


def password_file(secure_dir: Path, principal: str) -> Path:
    return secure_dir / "users" / f"{principal}.password"


def ensure_password(secure_dir: Path, principal: str, *, renew: bool = False) -> str:
    """The principal's password, made (or, with ``renew``, replaced) in its 0600 file."""
    path = password_file(secure_dir, principal)
    if path.exists() and not renew:
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    password = secrets.token_urlsafe(32)
    fresh = path.with_suffix(".tmp")
    fresh.touch(mode=0o600)
    fresh.write_text(password + "\n", encoding="utf-8")
    fresh.replace(path)  # a client never reads half a password
    return password


def set_passwords(admin: KafkaAdminClient, passwords: dict[str, str]) -> None:
    """Create or replace each user's SCRAM-SHA-512 credential on the broker."""
    upserts = [
        UserScramCredentialUpsertion(user, ScramMechanism.SCRAM_SHA_512, password)
        for user, password in passwords.items()
    ]
    answers = admin.alter_user_scram_credentials(upserts)
    failed = {user: error for user, error in answers.items() if error}
    if failed:
        raise RuntimeError(f"the broker refused SCRAM credentials: {failed}")


def to_acl(grant: Grant) -> ACL:
    pattern = ResourcePattern(_RESOURCES[grant.resource], grant.name, _PATTERNS[grant.pattern])
    return ACL(
        f"User:{grant.principal}",
        "*",
        _OPERATIONS[grant.operation],
        ACLPermissionType.ALLOW,
        pattern,
    )


def _key(acl: ACL) -> tuple[str, str, int, int, int, str, int]:
    pattern = acl.resource_pattern
    return (
        acl.principal,
        acl.host,
        int(acl.operation),
        int(acl.permission_type),
        int(pattern.resource_type),
        pattern.resource_name,
        int(pattern.pattern_type),
    )


def sync_acls(admin: KafkaAdminClient, wanted: Iterable[Grant], managed: Iterable[str]) -> int:
    """Create the missing ACLs and delete the managed principals' others; the count changed."""
    target = {_key(acl): acl for acl in map(to_acl, wanted)}
    every = ACLFilter(
        None,
        None,
        ACLOperation.ANY,
        ACLPermissionType.ANY,
        ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    existing, error = admin.describe_acls(every)
    if error.errno != 0:
        raise RuntimeError(f"the broker did not list its ACLs: {error}")
    ours = {f"User:{p}" for p in managed}
    stale = [acl for acl in existing if acl.principal in ours and _key(acl) not in target]
    have = {_key(acl) for acl in existing}
    missing = [acl for key, acl in target.items() if key not in have]
    if missing:
        result = admin.create_acls(missing)
        if result.get("failed"):
            raise RuntimeError(f"the broker refused ACLs: {result['failed']}")
    if stale:
        admin.delete_acls([_filter(acl) for acl in stale])
    return len(missing) + len(stale)


def _filter(acl: ACL) -> ACLFilter:
    pattern = acl.resource_pattern
    return ACLFilter(
        acl.principal,
        acl.host,
        acl.operation,
        acl.permission_type,
        ResourcePatternFilter(pattern.resource_type, pattern.resource_name, pattern.pattern_type),
    )


def apply(
    bootstrap: str, security: ClientSecurity, secure_dir: Path, prefix: str
) -> tuple[int, int]:
    """Users and ACLs for topic prefix ``prefix``: (users set, ACLs changed)."""
    passwords = {p: ensure_password(secure_dir, p) for p in principals()}
    admin = _admin(bootstrap, security)
    try:
        set_passwords(admin, passwords)
        changed = sync_acls(admin, grants(prefix, internal_owners()), principals())
    finally:
        admin.close()
    return len(passwords), changed


def rotate(bootstrap: str, security: ClientSecurity, secure_dir: Path, principal: str) -> None:
    if principal not in (*principals(), ADMIN):
        raise SystemExit(f"unknown principal {principal!r}: one of {', '.join(principals())}")
    admin = _admin(bootstrap, security)
    try:
        set_passwords(admin, {principal: ensure_password(secure_dir, principal, renew=True)})
    finally:
        admin.close()


def _admin(bootstrap: str, security: ClientSecurity) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="returns-acl-admin", **kafka_python_options(security)
    )


def markdown_table(prefix: str = "") -> str:
    """The ACLs, one row per principal and resource, for docs/SECURITY.md."""
    rows: dict[tuple[str, str, str, str], list[str]] = {}
    for grant in grants(prefix, internal_owners()):
        rows.setdefault((grant.principal, grant.resource, grant.pattern, grant.name), []).append(
            grant.operation
        )
    order = {p: i for i, p in enumerate(principals())}
    lines = ["| principal | resource | pattern | name | operations |", "|---|---|---|---|---|"]
    for (principal, resource, pattern, name), ops in sorted(
        rows.items(), key=lambda item: (order[item[0][0]], item[0][1], item[0][3])
    ):
        lines.append(f"| {principal} | {resource} | {pattern} | `{name}` | {', '.join(ops)} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("command", choices=("apply", "rotate", "table"))
    parser.add_argument("principal", nargs="?")
    parser.add_argument("--secure-dir", type=Path, default=DEFAULT_SECURE_DIR)
    args = parser.parse_args(argv)
    prefix = os.environ.get("RETURNS_TOPIC_PREFIX", "")
    if args.command == "table":
        print(markdown_table(prefix))
        return 0
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    security = ClientSecurity.from_env()
    if args.command == "rotate":
        if not args.principal:
            parser.error("rotate needs a PRINCIPAL")
        rotate(bootstrap, security, args.secure_dir, args.principal)
        print(f"new password for {args.principal}: restart its clients to use it")
        return 0
    users, changed = apply(bootstrap, security, args.secure_dir, prefix)
    print(f"{users} SCRAM users set, {changed} ACL(s) created or removed (prefix {prefix!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
