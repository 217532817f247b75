"""ballots.resources: one way to find shipped files, from a checkout, from the bundle and by override."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ballots.resources import RESOURCES_ENV, resource_path, resource_root

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RESOURCES_ENV, raising=False)
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)


def test_checkout_root_is_the_repository_resources_dir() -> None:
    assert resource_root() == REPO / "resources"
    assert resource_path("fonts", "ipaexg.ttf") == REPO / "resources" / "fonts" / "ipaexg.ttf"


def test_bundle_root_is_under_meipass(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "resources" / "fonts").mkdir(parents=True)
    (tmp_path / "resources" / "fonts" / "a.ttf").write_bytes(b"x")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_root() == tmp_path / "resources"
    assert resource_path("fonts/a.ttf") == tmp_path / "resources" / "fonts" / "a.ttf"


def test_environment_override_wins_over_bundle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "_MEIPASS", "/nonexistent-bundle", raising=False)
    monkeypatch.setenv(RESOURCES_ENV, str(tmp_path))
    assert resource_root() == tmp_path


def test_missing_resource_names_what_and_where() -> None:
    with pytest.raises(FileNotFoundError) as info:
        resource_path("fonts", "no-such-font.ttf")
    message = str(info.value)
    assert "fonts/no-such-font.ttf" in message
    assert str(REPO / "resources") in message


def test_must_exist_false_returns_the_path_of_a_file_to_be_created() -> None:
    assert resource_path("sample", "new.toml", must_exist=False) == REPO / "resources" / "sample" / "new.toml"


@pytest.mark.parametrize(
    ("parts", "reason"),
    [
        ((), "at least one"),
        (("",), "non-empty"),
        (("/etc/passwd",), "relative"),
        (("C:\\Windows",), "relative"),
        (("\\\\server\\share",), "relative"),
        (("fonts", "..", "..", "secret"), "'..'"),
        (("fonts/../../x",), "'..'"),
        (("fonts\\..\\..\\x",), "'..'"),
    ],
)
def test_bad_parts_are_refused(parts: tuple[str, ...], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        resource_path(*parts, must_exist=False)


_name_chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


@given(st.lists(st.text(_name_chars, min_size=1, max_size=12), min_size=1, max_size=4))
def test_an_accepted_path_never_leaves_the_resources_dir(parts: list[str]) -> None:
    try:
        path = resource_path(*parts, must_exist=False)
    except ValueError:
        return  # refused: fine, as long as nothing outside is returned
    root = resource_root().resolve()
    assert path.resolve().is_relative_to(root)
