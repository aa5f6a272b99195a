"""Bearer tokens per upstream source, stored hashed."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from services.intake.auth import TokenFile, TokenFileError, TokenRegistry, hash_token, new_token


def test_a_token_identifies_its_source(tmp_path: Path) -> None:
    elp, tij = new_token(), new_token()
    path = tmp_path / "tokens.toml"
    path.write_text(f'[sources]\ncbp-elp = "{hash_token(elp)}"\ncbp-san = "{hash_token(tij)}"\n')
    registry = TokenRegistry.from_file(path)
    assert registry.source_for(f"Bearer {elp}") == "cbp-elp"
    assert registry.source_for(f"Bearer {tij}") == "cbp-san"


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer wrong", "Basic abc", "bearer x", "Bearerright", "Bearer a b"],
)
def test_anything_else_is_no_source(header: str | None) -> None:
    registry = TokenRegistry({"cbp-elp": hash_token("right")})
    assert registry.source_for(header) is None


def test_the_file_holds_hashes_only(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text('[sources]\ncbp-elp = "plain-text-token"\n')
    with pytest.raises(TokenFileError, match="must start with 'sha256:'"):
        TokenRegistry.from_file(path)


def test_an_unreadable_file_names_itself(tmp_path: Path) -> None:
    with pytest.raises(TokenFileError, match=r"missing\.toml"):
        TokenRegistry.from_file(tmp_path / "missing.toml")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_scheme_is_case_insensitive(scheme: str) -> None:
    registry = TokenRegistry({"cbp-elp": hash_token("right")})
    assert registry.source_for(f"{scheme} right") == "cbp-elp"
    assert registry.source_for(f"{scheme}   right ") == "cbp-elp"


@pytest.mark.parametrize(
    "header",
    ["Bearer right\x00", "Bearer ríght", "Bearer \udcff", "Bearer right\r\nX: y", "Bearer " * 500],
)
def test_hostile_credentials_are_no_source_and_never_raise(header: str) -> None:
    registry = TokenRegistry({"cbp-elp": hash_token("right")})
    assert registry.source_for(header) is None


def write_tokens(path: Path, **tokens: str) -> None:
    lines = "".join(f'{source} = "{hash_token(token)}"\n' for source, token in tokens.items())
    path.write_text("[sources]\n" + lines)


def test_a_rotated_token_counts_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    write_tokens(path, **{"cbp-elp": "old-token"})
    tokens = TokenFile(path)
    assert tokens.source_for("Bearer old-token") == "cbp-elp"
    write_tokens(path, **{"cbp-elp": "new-token", "cbp-san": "san-token"})
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert tokens.source_for("Bearer new-token") == "cbp-elp"
    assert tokens.source_for("Bearer san-token") == "cbp-san"
    assert tokens.source_for("Bearer old-token") is None


def test_an_atomic_replace_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    write_tokens(path, **{"cbp-elp": "old-token"})
    tokens = TokenFile(path)
    staged = tmp_path / "tokens.toml.new"
    write_tokens(staged, **{"cbp-elp": "new-token"})
    staged.replace(path)
    assert tokens.source_for("Bearer new-token") == "cbp-elp"


def test_a_broken_or_missing_file_keeps_the_tokens_before(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    write_tokens(path, **{"cbp-elp": "kept-token"})
    tokens = TokenFile(path)
    path.write_text('[sources]\ncbp-elp = "sha256:half-writ')
    assert tokens.source_for("Bearer kept-token") == "cbp-elp"
    path.unlink()
    assert tokens.source_for("Bearer kept-token") == "cbp-elp"


def test_reloading_logs_no_token_nor_hash(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "tokens.toml"
    write_tokens(path, **{"cbp-elp": "first-secret"})
    tokens = TokenFile(path)
    with caplog.at_level(logging.DEBUG):
        write_tokens(path, **{"cbp-elp": "second-secret-longer"})
        tokens.source_for("Bearer second-secret-longer")
        path.write_text('[sources]\ncbp-elp = "third-secret-in-plain"\n')
        tokens.source_for("Bearer third-secret-in-plain")
    assert caplog.records, "a reload is logged"
    for secret in ("first-secret", "second-secret-longer", "third-secret-in-plain"):
        assert secret not in caplog.text
        assert hash_token(secret).removeprefix("sha256:") not in caplog.text
