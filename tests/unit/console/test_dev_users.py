"""`make tokens` gives a newcomer one console user per role, passwords kept apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from services import devstack
from services.console.roles import ROLES
from services.console.users import UserDirectory


def test_make_tokens_writes_one_user_per_role_with_hashed_passwords(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(devstack, "RUN_DIR", tmp_path)
    users_file = devstack.dev_console_users()
    passwords = dict(
        line.split() for line in (tmp_path / "console-passwords.txt").read_text().splitlines()
    )
    assert sorted(passwords) == sorted(ROLES)
    users = UserDirectory.from_file(users_file)
    for role, password in passwords.items():
        assert password not in users_file.read_text()
        user = users.by_password(role, password)
        assert user is not None
        assert user.role == role
    assert (tmp_path / "console-passwords.txt").stat().st_mode & 0o077 == 0
    assert devstack.dev_console_users().read_text() == users_file.read_text()  # made once
