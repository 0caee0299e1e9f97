"""Security profiles from TOML: the shipped ones load and evaluate; bad files say file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.core.security.model import Direction, SecurityStatus
from console.core.security.profile import (
    ProfileError,
    builtin_names,
    builtin_profile,
    load_profile,
    parse_profile,
    resolve_profile,
)
from console.core.security.state import SecurityState
from sensors.codec import decode, encode_payload
from sensors.simulator.security import CONTROLS

T0 = 1_767_225_600.0
MINIMAL = """
[profile]
name = "mine"
title = "My controls"

[[controls]]
id = "doors"
title = "Doors"

[[controls.indicators]]
source = "safeguards/doors_forced_or_held"
direction = "higher-is-worse"
warn = 0
fail = 0
"""


def test_the_shipped_profiles_are_listed() -> None:
    assert {"default", "nist_csf"} <= set(builtin_names())


def test_the_default_profile_has_the_five_controls_of_the_simulator_and_wire() -> None:
    profile = builtin_profile("default")
    assert [control.id for control in profile.controls] == list(CONTROLS)
    for control in profile.controls:
        published = {i.source.name for i in control.indicators if not i.source.derived}
        assert published == set(CONTROLS[control.id])
        assert all(i.source.topic_control == control.id for i in control.indicators if not i.source.derived)
    visibility = profile.controls[3]
    assert {str(i.source) for i in visibility.indicators if i.source.derived} == {
        "derived:telemetry_reporting_pct", "derived:stale_sources", "derived:seq_gaps"}


def test_the_nist_profile_maps_the_six_functions_onto_every_default_indicator() -> None:
    nist = builtin_profile("nist_csf")
    assert [control.id for control in nist.controls] == ["govern", "identify", "protect", "detect", "respond",
                                                           "recover"]
    default = builtin_profile("default")
    sources = sorted(str(i.source) for control in nist.controls for i in control.indicators)
    assert sources == sorted(str(i.source) for control in default.controls for i in control.indicators)


def healthy_and_forced_door(profile_name: str) -> dict[str, SecurityStatus]:
    state = SecurityState(builtin_profile(profile_name))
    healthy = {
        "coverage": {"agent_coverage_pct": 99.6, "open_critical_vulns": 0,
                     "oldest_unpatched_critical_days": 0},
        "coordination": {"threat_intel_age_h": 2, "advisories_outstanding": 0, "advisories_acknowledged": 12},
        "safeguards": {"privileged_sessions_open": 1, "weight_store_access_anomalies": 0,
                       "doors_forced_or_held": 1},
        "visibility": {"firmware_attestation_pass_pct": 100, "config_drift_nodes": 0},
        "people": {"mfa_coverage_pct": 100, "phishing_reports_open": 0, "dormant_privileged_accounts": 0},
    }
    for control, indicators in healthy.items():
        payload = encode_payload({"ts": T0, "seq": 0, "boot": "b", "indicators": indicators})
        state.ingest(decode(f"dc/s1/security/{control}", payload))
    state.ingest(decode("dc/s1/h1/r01/rk01/rack", encode_payload({"ts": T0, "seq": 0, "metrics": {}})))
    return {control.control.id: control.status for control in state.view(T0 + 1).controls}


def test_the_nist_profile_evaluates_a_forced_door_under_detect() -> None:
    statuses = healthy_and_forced_door("nist_csf")
    ok, fail = SecurityStatus.OK, SecurityStatus.FAIL
    assert statuses == {"govern": ok, "identify": ok, "protect": ok, "detect": fail, "respond": ok,
                        "recover": ok}


def test_the_default_profile_evaluates_a_forced_door_under_safeguards() -> None:
    statuses = healthy_and_forced_door("default")
    assert statuses["safeguards"] is SecurityStatus.FAIL
    assert {s for c, s in statuses.items() if c != "safeguards"} == {SecurityStatus.OK}


def test_a_minimal_profile_fills_in_defaults(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL)
    profile = load_profile(path)
    indicator = profile.controls[0].indicators[0]
    assert (profile.name, profile.title, profile.origin) == ("mine", "My controls", str(path))
    assert (indicator.name, indicator.label, indicator.fresh_s) == ("doors_forced_or_held",) * 2 + (120.0,)
    assert indicator.direction is Direction.HIGHER_IS_WORSE
    assert resolve_profile(str(path)).name == "mine"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("warn = 0\n", "warn = \"zero\"\n"),
         "bad.toml: controls[0].indicators[0].warn: must be a finite number"),
        (("fail = 0\n", ""), "bad.toml: controls[0].indicators[0].fail: is required"),
        (("warn = 0\n", "warn = 3\n"), "controls[0].indicators[0].fail: higher-is-worse needs fail >= warn"),
        (("higher-is-worse", "higher_is_worse"),
         "controls[0].indicators[0].direction: 'higher_is_worse' is not higher-is-worse or lower-is-worse "
         "(did you mean 'higher-is-worse'?)"),
        (("direction", "directoin"),
         "controls[0].indicators[0].directoin: unknown key (did you mean 'direction'?)"),
        (("safeguards/doors_forced_or_held", "doors"),
         "controls[0].indicators[0].source: 'doors': a source is"),
        (("safeguards/doors_forced_or_held", "derived:stale_source"),
         "unknown derived indicator 'stale_source' (did you mean 'stale_sources'?)"),
        (('id = "doors"', 'id = "two words"'), "controls[0].id: must be letters, digits"),
        (('title = "My controls"', 'title = "My controls"\ntrend_length = 0'), "profile.trend_length"),
        (("[[controls.indicators]]", "[controls.indicators]"), "controls[0].indicators: a control needs"),
        (("[profile]", "[profile"), "bad.toml: not valid TOML"),
    ],
)
def test_a_bad_profile_names_the_file_and_the_key(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = tmp_path / "bad.toml"
    assert change[0] in MINIMAL
    path.write_text(MINIMAL.replace(change[0], change[1], 1))
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_no_controls_and_duplicate_ids_are_refused() -> None:
    with pytest.raises(ProfileError, match="controls: a profile needs at least one"):
        parse_profile('[profile]\nname = "x"\n', "x.toml")
    twice = MINIMAL + "[[controls]]" + MINIMAL.split("[[controls]]", 1)[1]
    with pytest.raises(ProfileError, match=r"x.toml: controls\[1\].id: duplicate id 'doors'"):
        parse_profile(twice, "x.toml")


def test_a_missing_file_and_an_unknown_builtin_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "absent.toml")
    with pytest.raises(ProfileError, match=r"no such built-in profile.*did you mean 'nist_csf'"):
        resolve_profile("nist")


def test_every_default_indicator_is_documented_with_its_thresholds() -> None:
    text = (Path(__file__).parent.parent / "docs" / "security-profiles.md").read_text(encoding="utf-8")
    for control in builtin_profile("default").controls:
        assert f"`{control.id}`: {control.title}" in text
        for indicator in control.indicators:
            assert f"| `{indicator.name}`" in text, indicator.name
