"""The ``rackwatch`` entry point: help, and no secret echoed back from a mistyped option."""

from __future__ import annotations

import pytest

from console.cli import COMMAND_MODULES, main


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for module in COMMAND_MODULES:
        name = module.rsplit(".", 1)[-1]
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        assert f"rackwatch {name}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["connect", "mqtt://127.0.0.1:1", "--password", "s3cret-value"],
        ["connect", "mqtt://127.0.0.1:1", "--password=s3cret-value"],
        ["record", "--broker", "mqtt://127.0.0.1:1", "--topic", "dc/#", "--out", "x.jsonl",
         "--mqtt-token", "s3cret-value"],
    ],
)
def test_a_password_on_the_command_line_is_refused_without_echoing_it(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "unrecognized arguments" in error
    assert "s3cret-value" not in error
