"""Client security from the environment: one set of settings for every Kafka client."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import faust
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.runtime.security import (
    ClientSecurity,
    SecuritySettingsError,
    faust_options,
    for_party,
    kafka_python_options,
    principal_env,
)
from services.runtime.settings import ConfigurationError, Settings


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    """A real self-signed CA certificate, so that a TLS context can load it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "ca.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture
def screening_env(tmp_path: Path, ca_file: Path) -> dict[str, str]:
    users = tmp_path / "users"
    users.mkdir()
    (users / "screening.password").write_text("s3cret-Screening-pw\n")
    return principal_env(tmp_path, "screening")


def test_with_nothing_set_every_client_connects_in_plaintext() -> None:
    security = ClientSecurity.from_env({})
    assert kafka_python_options(security) == {"security_protocol": "PLAINTEXT"}
    assert faust_options(security) == {}


def test_a_principal_gets_scram_over_verified_tls(screening_env: dict[str, str]) -> None:
    options = kafka_python_options(ClientSecurity.from_env(screening_env))
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "screening"
    assert options["sasl_plain_password"] == "s3cret-Screening-pw"  # the file's, stripped
    context: ssl.SSLContext = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_faust_gets_the_same_principal(screening_env: dict[str, str]) -> None:
    credentials = faust_options(ClientSecurity.from_env(screening_env))["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert (credentials.username, credentials.password) == ("screening", "s3cret-Screening-pw")


def test_the_password_stays_out_of_the_repr(screening_env: dict[str, str]) -> None:
    security = ClientSecurity.from_env(screening_env)
    assert "s3cret" not in repr(security)
    assert "s3cret" not in repr(Settings(security=security))


def test_a_missing_password_file_is_named(tmp_path: Path) -> None:
    env = principal_env(tmp_path, "notify")
    with pytest.raises(SecuritySettingsError, match=r"KAFKA_SASL_PASSWORD_FILE=.*notify\.password"):
        ClientSecurity.from_env(env)


def test_an_empty_password_file_is_refused(screening_env: dict[str, str]) -> None:
    Path(screening_env["KAFKA_SASL_PASSWORD_FILE"]).write_text("\n")
    with pytest.raises(SecuritySettingsError, match="is empty"):
        ClientSecurity.from_env(screening_env)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_TLS"}, "is not one of PLAINTEXT, SSL"),
        ({"KAFKA_SASL_MECHANISM": "PLAIN"}, "KAFKA_SASL_MECHANISM='PLAIN' is not one of"),
        ({"KAFKA_SASL_USERNAME": ""}, "needs KAFKA_SASL_USERNAME"),
        ({"KAFKA_SSL_CAFILE": "/nonexistent/ca.crt"}, "is not a readable file"),
    ],
)
def test_incomplete_or_wrong_settings_say_which_variable(
    screening_env: dict[str, str], change: dict[str, str], message: str
) -> None:
    with pytest.raises(SecuritySettingsError, match=message):
        ClientSecurity.from_env({**screening_env, **change})


def test_a_service_with_bad_security_settings_does_not_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.delenv("KAFKA_SASL_USERNAME", raising=False)
    with pytest.raises(ConfigurationError, match="KAFKA_SASL_USERNAME"):
        Settings.from_env()


def test_a_tool_that_also_publishes_for_inm_uses_inms_principal_for_that(
    screening_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "users" / "inm.password").write_text("inm-pw\n")
    own = ClientSecurity.from_env(screening_env)
    assert for_party(own, "inm", screening_env) == own  # nothing set: the same principal
    env = {
        **screening_env,
        "KAFKA_SASL_USERNAME_INM": "inm",
        "KAFKA_SASL_PASSWORD_FILE_INM": str(tmp_path / "users" / "inm.password"),
    }
    inm = for_party(own, "inm", env)
    assert (inm.username, inm.password, inm.cafile) == ("inm", "inm-pw", own.cafile)
    with pytest.raises(SecuritySettingsError, match="needs KAFKA_SASL_PASSWORD_FILE_INM"):
        for_party(own, "inm", {"KAFKA_SASL_USERNAME_INM": "inm"})
