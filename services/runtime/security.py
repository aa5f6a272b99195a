"""How every Kafka client of the project authenticates: the one place that knows.

A plain development broker needs nothing (``PLAINTEXT``, the default). The secure
broker of ``make run-secure`` (docs/adr/0020-least-privilege-on-the-broker.md) wants
SASL/SCRAM over TLS, and each service connects as its own principal. The settings come
from the environment, and the password from a file, never from the code:

=============================  =========================================================
``KAFKA_SECURITY_PROTOCOL``    ``PLAINTEXT`` (default), ``SSL``, ``SASL_PLAINTEXT``,
                               ``SASL_SSL``
``KAFKA_SASL_MECHANISM``       ``SCRAM-SHA-512`` (default with SASL), ``SCRAM-SHA-256``
``KAFKA_SASL_USERNAME``        the principal
``KAFKA_SASL_PASSWORD_FILE``   a file holding its password (``KAFKA_SASL_PASSWORD`` also
                               works, for platforms that inject secrets as variables)
``KAFKA_SSL_CAFILE``           the CA that signed the broker's certificate (PEM)
=============================  =========================================================

Clients call :func:`kafka_python_options` (kafka-python producers, consumers and admin
clients) or :func:`faust_options` (faust apps, which use aiokafka); both give the same
connection from the same :class:`ClientSecurity`.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

Protocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
PROTOCOLS: tuple[Protocol, ...] = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")


class SecuritySettingsError(ValueError):
    """The client-security settings are incomplete or contradictory; says which to fix."""


@dataclass(frozen=True)
class ClientSecurity:
    """How one client connects. The password is kept out of ``repr`` (and so out of logs)."""

    protocol: Protocol = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise SecuritySettingsError(
                f"KAFKA_SECURITY_PROTOCOL={self.protocol!r} is not one of {', '.join(PROTOCOLS)}"
            )
        if self.uses_sasl:
            if self.sasl_mechanism not in MECHANISMS:
                raise SecuritySettingsError(
                    f"KAFKA_SASL_MECHANISM={self.sasl_mechanism!r} is not one of"
                    f" {', '.join(MECHANISMS)}"
                )
            if not self.username or not self.password:
                raise SecuritySettingsError(
                    f"{self.protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD_FILE"
                )
        if self.uses_tls and self.cafile is not None and not self.cafile.is_file():
            raise SecuritySettingsError(f"KAFKA_SSL_CAFILE={self.cafile} is not a readable file")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientSecurity:
        """Read the ``KAFKA_*`` settings above; raises :class:`SecuritySettingsError`."""
        env = os.environ if environ is None else environ
        protocol = env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").strip().upper()
        cafile = env.get("KAFKA_SSL_CAFILE", "").strip()
        return cls(
            protocol=cast(Protocol, protocol),
            sasl_mechanism=env.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512").strip().upper(),
            username=env.get("KAFKA_SASL_USERNAME", "").strip() or None,
            password=_password(env),
            cafile=Path(cafile) if cafile else None,
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying TLS context (hostname checked) trusting ``cafile``, or None."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(
            cafile=str(self.cafile) if self.cafile is not None else None
        )
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


_PASSWORD_FILE = "KAFKA_SASL_PASSWORD_FILE"  # noqa: S105 - a variable name, not a secret


def _password(env: Mapping[str, str]) -> str | None:
    path = env.get(_PASSWORD_FILE, "").strip()
    if not path:
        return env.get("KAFKA_SASL_PASSWORD") or None
    try:
        password = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        # The path only, never the content.
        raise SecuritySettingsError(
            f"KAFKA_SASL_PASSWORD_FILE={path} cannot be read ({exc.strerror})"
        ) from None
    if not password:
        raise SecuritySettingsError(f"KAFKA_SASL_PASSWORD_FILE={path} is empty")
    return password


def kafka_python_options(security: ClientSecurity | None = None) -> dict[str, Any]:
    """Keyword arguments for any kafka-python client; ``None`` reads the environment."""
    security = ClientSecurity.from_env() if security is None else security
    options: dict[str, Any] = {"security_protocol": security.protocol}
    if security.uses_tls:
        options["ssl_context"] = security.ssl_context()
    if security.uses_sasl:
        options.update(
            sasl_mechanism=security.sasl_mechanism,
            sasl_plain_username=security.username,
            sasl_plain_password=security.password,
        )
    return options


def faust_options(security: ClientSecurity) -> dict[str, Any]:
    """faust app settings (``broker_credentials``) for the same connection."""
    import faust  # here, so that the settings of kafka-python-only tools do not load faust
    from faust.types.auth import CredentialsT

    context = security.ssl_context()
    if security.uses_sasl:
        credentials: CredentialsT = faust.SASLCredentials(
            username=security.username,
            password=security.password,
            mechanism=security.sasl_mechanism,
            ssl_context=context,
        )
        return {"broker_credentials": credentials}
    if context is not None:
        return {"broker_credentials": faust.SSLCredentials(context)}
    return {}


def for_party(
    security: ClientSecurity, party: str, environ: Mapping[str, str] | None = None
) -> ClientSecurity:
    """The credentials a tool uses when it publishes for ``party`` as well as for itself
    (the simulator sends returns as an upstream system and statuses as INM):
    ``KAFKA_SASL_USERNAME_<PARTY>`` and ``KAFKA_SASL_PASSWORD_FILE_<PARTY>`` when set,
    else ``security`` unchanged."""
    env = os.environ if environ is None else environ
    suffix = "_" + party.upper().replace("-", "_")
    username = env.get(f"KAFKA_SASL_USERNAME{suffix}", "").strip()
    if not username:
        return security
    path = env.get(f"KAFKA_SASL_PASSWORD_FILE{suffix}", "").strip()
    if not path:
        raise SecuritySettingsError(
            f"KAFKA_SASL_USERNAME{suffix} needs KAFKA_SASL_PASSWORD_FILE{suffix}"
        )
    return replace(security, username=username, password=_password({_PASSWORD_FILE: path}))


def principal_env(secure_dir: Path, principal: str) -> dict[str, str]:
    """The environment that makes a client connect as ``principal``, with the CA and the
    password file that ``infra/kafka/secure.sh`` wrote into ``secure_dir``."""
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": principal,
        "KAFKA_SASL_PASSWORD_FILE": str(secure_dir / "users" / f"{principal}.password"),
        "KAFKA_SSL_CAFILE": str(secure_dir / "ca.crt"),
    }
