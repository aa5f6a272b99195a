"""Partner secrets and provider lists are re-read when their files change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.notify.delivery import sign, verify
from services.notify.directory import PartnerDirectory, read_env_file
from services.notify.partners import PartnerConfigError

ENTRY = """[[partners]]
partner_id = "red-juridica-juarez"
url = "http://127.0.0.1:8701/hooks"
secret_env = "SECRET_RED"
event_types = ["legal-aid-requested"]
provider_ids = {providers}
"""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str, stamp: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(stamp, stamp))


def directory(tmp_path: Path, clock: Clock) -> tuple[PartnerDirectory, Path, Path]:
    partners, secrets = tmp_path / "partners.toml", tmp_path / "secrets.env"
    write(partners, ENTRY.format(providers='["LA-CJS-01"]'), 1)
    write(secrets, "# rotated monthly\nSECRET_RED='first-secret'\n", 1)
    return PartnerDirectory(partners, secrets, environ={}, clock=clock), partners, secrets


def test_a_rotated_secret_is_used_without_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    found, _, secrets = directory(tmp_path, clock)
    body = b'{"status": "accepted"}'
    assert verify(body, found.secret_of("red-juridica-juarez") or "", sign(body, "first-secret"))

    write(secrets, "SECRET_RED=second-secret\n", 2)
    clock.now += 1.0

    current = found.secret_of("red-juridica-juarez") or ""
    assert verify(body, current, sign(body, "second-secret"))
    assert not verify(body, current, sign(body, "first-secret"))


def test_provider_lists_follow_the_partners_file(tmp_path: Path) -> None:
    clock = Clock()
    found, partners, _ = directory(tmp_path, clock)
    assert found.serves("red-juridica-juarez", "LA-CJS-01")
    assert not found.serves("red-juridica-juarez", "LA-CJS-02")
    assert not found.serves("someone-else", "LA-CJS-01")

    write(partners, ENTRY.format(providers='["LA-CJS-02"]'), 3)
    clock.now += 1.0
    assert found.serves("red-juridica-juarez", "LA-CJS-02")


def test_a_broken_file_keeps_the_partners_as_they_were_and_logs_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    found, _, secrets = directory(tmp_path, clock)
    write(secrets, "OTHER=leaked-value\n", 4)  # SECRET_RED is gone
    clock.now += 1.0
    assert found.secret_of("red-juridica-juarez") == "first-secret"
    assert "not re-read" in caplog.text
    assert "leaked-value" not in caplog.text
    assert "first-secret" not in caplog.text


def test_a_partners_file_that_never_read_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "partners.toml"
    path.write_text("[[partners]]\npartner_id = 3\n", encoding="utf-8")
    with pytest.raises(PartnerConfigError):
        PartnerDirectory(path, environ={})


def test_env_files_take_comments_exports_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text('# c\n\nexport A="x y"\nB=z=w\n', encoding="utf-8")
    assert read_env_file(path) == {"A": "x y", "B": "z=w"}
