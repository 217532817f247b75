"""``uketsuke card``: argument checks and help, without a card reader (the reads themselves are in
test_pcsc_integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.cli import main


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["card", "read", "--collation-b", "--security-code", "2285"], "--security-code goes with --pin"),
        (["card", "read", "--pin", "--photo-out", "face.png"], "needs --security-code"),
    ],
)
def test_read_argument_errors_before_touching_the_card(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert error in capsys.readouterr().err


def test_read_needs_exactly_one_path(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["card", "read", "--pin", "--collation-b"])
    with pytest.raises(SystemExit):
        main(["card", "read"])


def test_emulate_help_documents_commands_and_signals(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["card", "emulate", "--help"])
    text = capsys.readouterr().out
    for word in ("insert", "remove", "status", "quit", "SIGUSR1", "SIGUSR2", "SIGTERM", "35963"):
        assert word in text


def test_emulate_bad_persona_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x"}', encoding="utf-8")
    assert main(["card", "emulate", "--persona", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "must be" in err
