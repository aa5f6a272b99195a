"""Notify's settings from the environment, and the partners they point at."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.notify.config import NotifyConfig
from services.runtime.settings import ConfigurationError

EXAMPLE = Path(__file__).parents[3] / "services" / "notify" / "partners.example.toml"
SECRETS = {
    "NOTIFY_SECRET_RED_JURIDICA_JUAREZ": "s3cret-juarez",
    "NOTIFY_SECRET_SALUD_TIJUANA": "s3cret-tijuana",
}


def test_nothing_set_means_production_defaults_and_no_partners() -> None:
    config = NotifyConfig.from_env({})
    assert (config.backoff.base, config.backoff.cap) == (0.5, 60.0)
    assert (config.timeouts.connect, config.timeouts.read, config.timeouts.attempt) == (2, 5, 15)
    assert (config.max_attempts, config.session_timeout, config.drain_seconds) == (None, None, 5)
    assert config.subscriptions() == []


def test_tests_shorten_retries_and_fail_over() -> None:
    config = NotifyConfig.from_env(
        {
            "RETURNS_NOTIFY_BACKOFF_BASE": "0.05",
            "RETURNS_NOTIFY_BACKOFF_CAP": "0.2",
            "RETURNS_NOTIFY_ATTEMPT_TIMEOUT": "3",
            "RETURNS_NOTIFY_SESSION_TIMEOUT": "8",
        }
    )
    assert (config.backoff.base, config.backoff.cap, config.timeouts.attempt) == (0.05, 0.2, 3)
    assert config.session_timeout == 8


def test_max_attempts_overrides_every_partner() -> None:
    env = {"RETURNS_PARTNERS_FILE": str(EXAMPLE), "RETURNS_NOTIFY_MAX_ATTEMPTS": "3"}
    partners = NotifyConfig.from_env(env).subscriptions(environ=SECRETS)
    assert {p.partner_id: p.max_attempts for p in partners} == {
        "red-juridica-juarez": 3,
        "salud-tijuana": 3,
    }


def test_without_the_override_each_partner_keeps_its_own_attempts() -> None:
    partners = NotifyConfig(partners_file=EXAMPLE).subscriptions(environ=SECRETS)
    assert [p.max_attempts for p in partners] == [8, 5]


def test_every_bad_value_is_named_at_once() -> None:
    env = {"RETURNS_NOTIFY_BACKOFF_BASE": "fast", "RETURNS_NOTIFY_MAX_ATTEMPTS": "0"}
    with pytest.raises(ConfigurationError) as raised:
        NotifyConfig.from_env(env)
    assert "RETURNS_NOTIFY_BACKOFF_BASE" in str(raised.value)
    assert "RETURNS_NOTIFY_MAX_ATTEMPTS" in str(raised.value)


def test_a_broken_partners_file_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="secret_env"):
        NotifyConfig(partners_file=EXAMPLE).subscriptions(environ={})


def test_deadlines_ticks_and_the_secrets_file_come_from_the_environment(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text(
        "".join(f"{name}={value}\n" for name, value in SECRETS.items()), encoding="utf-8"
    )
    config = NotifyConfig.from_env(
        {
            "RETURNS_PARTNERS_FILE": str(EXAMPLE),
            "RETURNS_PARTNER_SECRETS_FILE": str(secrets),
            "RETURNS_NOTIFY_TICK_SECONDS": "0.5",
            "RETURNS_LEGAL_AID_ACCEPT_MINUTES": "0.1",
        }
    )
    assert config.tick_seconds == 0.5
    assert config.policy.accept_within.total_seconds() == 6
    partners = {p.partner_id: p for p in config.subscriptions(environ={})}
    assert partners["red-juridica-juarez"].provider_ids == {"LA-CJS-01", "LA-CJS-02"}
    assert partners["salud-tijuana"].provider_ids == frozenset()


def test_a_bad_deadline_is_reported_with_the_other_settings() -> None:
    with pytest.raises(ConfigurationError, match="RETURNS_LEGAL_AID_NORMAL_HOURS"):
        NotifyConfig.from_env({"RETURNS_LEGAL_AID_NORMAL_HOURS": "never"})
