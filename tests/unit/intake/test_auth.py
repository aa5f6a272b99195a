"""Bearer tokens per upstream source, stored hashed."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.intake.auth import TokenFileError, TokenRegistry, hash_token, new_token


def test_a_token_identifies_its_source(tmp_path: Path) -> None:
    elp, tij = new_token(), new_token()
    path = tmp_path / "tokens.toml"
    path.write_text(f'[sources]\ncbp-elp = "{hash_token(elp)}"\ncbp-san = "{hash_token(tij)}"\n')
    registry = TokenRegistry.from_file(path)
    assert registry.source_for(f"Bearer {elp}") == "cbp-elp"
    assert registry.source_for(f"Bearer {tij}") == "cbp-san"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer wrong", "Basic abc", "bearer x"])
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
