"""Who may do what, who is who, and the record every case lookup leaves."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.console.access import Access, FileAccessLog
from services.console.roles import ROLES, Permission, allows
from services.console.sessions import SessionStore, csrf_ok
from services.console.users import (
    UserDirectory,
    UsersFileError,
    hash_password,
    password_matches,
    user_entry,
)


@pytest.mark.parametrize(
    ("role", "may"),
    [
        ("inm", {"view_locations", "set_location_status", "look_up_case", "view_charts"}),
        ("shelter", {"view_locations", "report_shelter"}),
        ("ops", {"view_locations", "view_requests", "look_up_case", "view_charts"}),
        ("legal_aid", {"view_requests", "look_up_case", "see_personal_data"}),
        ("auditor", {"look_up_case", "see_personal_data", "view_charts", "view_requests"}),
    ],
)
def test_each_role_holds_what_its_work_needs(role: str, may: set[str]) -> None:
    held = {p.value for p in Permission if allows(role, p)}  # type: ignore[arg-type]
    assert may <= held


def test_only_inm_sets_a_location_status_and_only_shelters_report_beds() -> None:
    assert [r for r in ROLES if allows(r, Permission.SET_LOCATION_STATUS)] == ["inm"]
    assert [r for r in ROLES if allows(r, Permission.REPORT_SHELTER)] == ["shelter"]
    assert not allows("ops", Permission.SEE_PERSONAL_DATA)
    assert not allows("inm", Permission.SEE_PERSONAL_DATA)


def test_a_password_is_kept_as_a_salted_scrypt_hash() -> None:
    first, second = hash_password("Frontera-2026"), hash_password("Frontera-2026")
    assert first != second
    assert "Frontera" not in first
    assert password_matches("Frontera-2026", first)
    assert not password_matches("frontera-2026", first)
    assert not password_matches("Frontera-2026", "sha256:abc")


def test_the_users_file_gives_each_user_a_role_and_locations(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text(
        user_entry("ana", "inm", "pw-ana", token="tok-ana")
        + user_entry("beto", "shelter", "pw-beto")
        + 'locations = ["CJS"]\n'
    )
    users = UserDirectory.from_file(path)
    ana = users.by_password("ana", "pw-ana")
    assert ana is not None
    assert ana.role == "inm"
    assert ana.may_act_on("TIJ")
    assert users.by_password("ana", "pw-beto") is None
    assert users.by_password("nobody", "pw-ana") is None
    assert users.by_bearer("Bearer tok-ana") == ana
    assert users.by_bearer("bearer tok-ana") == ana  # the scheme name is case-insensitive
    assert users.by_bearer("Bearer tok-beto") is None
    beto = users.users["beto"]
    assert beto.may_act_on("CJS")
    assert not beto.may_act_on("TIJ")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('[users.ana]\nrole = "boss"\npassword = "scrypt:1"\n', "role must be one of"),
        ('[users.ana]\nrole = "inm"\npassword = "hunter2"\n', "must be a 'scrypt:' hash"),
        ('[users.ana]\nrole = "inm"\n', "needs a password or a token"),
        ("[users]\n", "no [users.NAME] table"),
        ('[users."ana maría"]\nrole = "inm"\npassword = "scrypt:1"\n', "a user name is"),
        ("users = [", "cannot read console users"),
    ],
)
def test_a_wrong_users_file_says_what_to_fix(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "users.toml"
    path.write_text(content)
    with pytest.raises(UsersFileError, match=problem.replace("[", r"\[")):
        UserDirectory.from_file(path)


def test_a_session_expires_when_left_alone_and_checks_its_csrf_token(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text(user_entry("ana", "inm", "pw"))
    now = [0.0]
    store = SessionStore(ttl=60, clock=lambda: now[0])
    sid, session = store.open(UserDirectory.from_file(path).users["ana"])
    now[0] = 59
    assert store.get(sid) is session  # used: it lasts another minute
    assert csrf_ok(session, session.csrf)
    assert not csrf_ok(session, "forged")
    now[0] = 120
    assert store.get(sid) is None


async def test_without_an_access_topic_every_lookup_appends_one_line(tmp_path: Path) -> None:
    log = FileAccessLog(tmp_path / "run" / "access.jsonl")
    at = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    await log.record(Access(at, "carla", "auditor", "A212345678", True, 7, ("G-2026-000123",)))
    await log.record(Access(at, "ana", "inm", "G-2026-000123", False, 0))
    lines = [json.loads(line) for line in log.path.read_text().splitlines()]
    assert lines == [
        {
            "at": "2026-12-01T18:00:00+00:00",
            "user": "carla",
            "role": "auditor",
            "looked_up": "A212345678",
            "personal_data_shown": True,
            "events_found": 7,
            "group_ids": ["G-2026-000123"],
        },
        {
            "at": "2026-12-01T18:00:00+00:00",
            "user": "ana",
            "role": "inm",
            "looked_up": "G-2026-000123",
            "personal_data_shown": False,
            "events_found": 0,
            "group_ids": [],
        },
    ]
