"""Layered console settings: defaults < config file < RACKWATCH_* environment < flags; bad input
becomes a one-line usage error from the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from console.settings import Settings, SettingsError, load_settings


def _config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return {"RACKWATCH_CONFIG": str(path)}


def test_defaults_without_a_file(tmp_path: Path) -> None:
    assert load_settings({}, environ={"RACKWATCH_CONFIG": str(tmp_path / "none.toml")}) == Settings()


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    environ = _config(tmp_path, 'theme = "light"\nbell = false\nspeed = 4\ntopics = ["dc/s1/#"]\n')
    from_file = load_settings({}, environ=environ)
    assert (from_file.theme, from_file.bell, from_file.speed, from_file.topics) == ("light", False, 4.0,
                                                                                   ("dc/s1/#",))
    environ |= {"RACKWATCH_THEME": "high-contrast", "RACKWATCH_BELL": "yes", "RACKWATCH_TOPICS": "a/#,b/#"}
    from_env = load_settings({}, environ=environ)
    assert (from_env.theme, from_env.bell, from_env.topics, from_env.speed) == ("high-contrast", True,
                                                                                ("a/#", "b/#"), 4.0)
    from_flags = load_settings({"theme": "monochrome", "speed": None}, environ=environ)
    assert from_flags.theme == "monochrome" and from_flags.speed == 4.0


def test_unknown_key_names_the_file_and_a_close_match(tmp_path: Path) -> None:
    environ = _config(tmp_path, 'them = "light"\n')
    expected = r"config.toml: unknown setting 'them' \(did you mean 'theme'\?\)"
    with pytest.raises(SettingsError, match=expected):
        load_settings({}, environ=environ)


@pytest.mark.parametrize(("text", "message"), [
    ("speed = -1\n", "speed must be above 0"),
    ('bell = "maybe"\n', "bell must be true or false"),
    ("theme = [\n", "not valid TOML"),
])
def test_bad_values_are_reported(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({}, environ=_config(tmp_path, text))


def _rackwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_cli_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    missing = _rackwatch("replay", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"rackwatch replay: no such file: {tmp_path / 'nope.jsonl'}"
    not_a_log = tmp_path / "notes.txt"
    not_a_log.write_text("hello\n")
    bad_log = _rackwatch("replay", str(not_a_log))
    assert bad_log.returncode == 2 and "not a rackwatch log" in bad_log.stderr
    assert "Traceback" not in bad_log.stderr
    bad_url = _rackwatch("connect", "http://127.0.0.1:1")
    assert bad_url.returncode == 2 and "Traceback" not in bad_url.stderr and bad_url.stderr.count("\n") == 1


def test_cli_reports_a_bad_config_file(tmp_path: Path) -> None:
    import os

    env = dict(os.environ) | _config(tmp_path, 'bel = false\n')
    result = _rackwatch("demo", env=env)
    assert result.returncode == 2
    assert "unknown setting 'bel' (did you mean 'bell'?)" in result.stderr
