"""TOML overrides: values reach the core; unknown keys are refused with a suggestion."""

from __future__ import annotations

import pytest

from console.core.config import ConfigError, load_config
from console.core.engine import Engine
from tests.test_core_detectors import RACK, T0, message, rack_body


def test_overrides_reach_rules_and_detectors(tmp_path):
    path = tmp_path / "core.toml"
    path.write_text(
        "[deviation]\nz_enter = 10\nmetrics = ['*_kpa']\n"
        "[limits]\nraise_after_s = 0\n"
        "[limits.inlet_temp_c]\nwarn_hi = 25.0\ncrit_hi = 30.0\n"
        "[stale]\nintervals = 8\n"
    )
    config = load_config(path)
    assert config.deviation.z_enter == 10.0 and config.deviation.metrics == ("*_kpa",)
    assert config.stale.intervals == 8.0
    engine = Engine(config)
    engine.ingest([message(f"{RACK}/rack", T0, 0, rack_body(26.0))])
    transitions = engine.evaluate(T0)
    assert [(x.rule, x.key, x.message) for x in transitions] == [
        ("limit", f"{RACK}/rack/inlet_temp_c", "inlet_temp_c 26.0 over warning limit 25")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[deviation]\nz_entr = 3\n", "unknown key 'deviation.z_entr' (did you mean 'z_enter'?)"),
        ("[deviaton]\nz_enter = 3\n", "unknown section 'deviaton' (did you mean 'deviation'?)"),
        (
            "[limits.inlet_temp_c]\nwarn_high = 3\n",
            "unknown key 'limits.inlet_temp_c.warn_high' (did you mean 'warn_hi'?)",
        ),
        ("[peer]\nz_enter = 'six'\n", "'peer.z_enter' must be a number"),
        ("[peer\n", "not valid TOML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and expected in str(error.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.toml")
