"""Telemetry coverage derived from the live feed: reporting share, stale sources, lost messages."""

from __future__ import annotations

import math

from console.core.security.derived import TelemetryCoverage
from console.core.security.model import SecurityStatus
from console.core.security.profile import builtin_profile
from console.core.security.state import SecurityState
from sensors.codec import decode, encode_payload
from sensors.messages import Decoded, Rejected
from sensors.simulator import CampusConfig, Simulator
from sensors.simulator.scenarios import ScenarioSpec

T0 = 1_767_225_600.0
SMALL = CampusConfig(rows=1, racks_per_row=2, nodes_per_rack=2, gpus_per_node=2)
"""2 racks, 4 nodes, 1 CDU: 7 fleet sources."""


def decoded(messages: list) -> list[Decoded]:
    out = []
    for message in messages:
        result = decode(message.topic, message.payload)
        assert not isinstance(result, Rejected), result
        out.append(result)
    return out


def run(simulator: Simulator, seconds: int, coverage: TelemetryCoverage) -> None:
    for _ in range(seconds):
        for message in decoded(simulator.tick()):
            coverage.ingest(message)


def rack(seq: int, ts: float, boot: str | None = "b1", rack_name: str = "rk01") -> Decoded:
    body = {"ts": ts, "seq": seq, "metrics": {"inlet_temp_c": 24.0}}
    if boot is not None:
        body["boot"] = boot
    return decode(f"dc/s1/h1/r01/{rack_name}/rack", encode_payload(body))


def test_a_healthy_simulated_campus_is_fully_covered() -> None:
    simulator = Simulator(SMALL, seed=2, start=T0)
    coverage = TelemetryCoverage()
    for message in decoded(simulator.initial_messages()):
        coverage.ingest(message)
    run(simulator, 60, coverage)
    now = coverage.coverage(simulator.now)
    assert (now.expected, now.reporting, now.stale, now.seq_gaps) == (7, 7, 0, 0)
    assert now.reporting_pct == 100.0


def test_a_node_dropping_out_turns_stale_and_visibility_fails() -> None:
    simulator = Simulator(SMALL, seed=2, start=T0,
                          scenarios=[ScenarioSpec("sensor_dropout", at=10.0, duration=300.0)])
    state = SecurityState(builtin_profile())
    for message in decoded(simulator.initial_messages()):
        state.ingest(message)
    for _ in range(90):
        for message in decoded(simulator.tick()):
            state.ingest(message)
    now = state.coverage.coverage(simulator.now)
    assert (now.expected, now.reporting, now.stale) == (7, 6, 1)
    visibility = state.view(simulator.now).control("visibility")
    by_name = {view.indicator.name: view for view in visibility.indicators}
    assert by_name["telemetry_reporting_pct"].status is SecurityStatus.FAIL
    assert math.isclose(by_name["telemetry_reporting_pct"].evidence.value, 600 / 7)
    assert by_name["telemetry_reporting_pct"].evidence.source == "derived"
    assert by_name["stale_sources"].status is SecurityStatus.WARN
    assert visibility.status is SecurityStatus.FAIL


def test_sources_announced_in_retained_meta_are_expected_once_they_had_time_to_report() -> None:
    coverage = TelemetryCoverage(stale_after_s=30.0)
    coverage.ingest(decode("dc/s1/h1/r01/rk01/rack/meta", b'{"pdu_rating_kw": 60}'))
    coverage.ingest(decode("dc/s1/h1/r01/rk02/rack/status", b"online"))
    coverage.ingest(rack(0, T0))
    now = coverage.coverage(T0 + 1)
    assert (now.expected, now.reporting, now.stale) == (1, 1, 0)
    coverage.ingest(rack(1, T0 + 31))
    later = coverage.coverage(T0 + 31)
    assert (later.expected, later.reporting, later.stale) == (1, 1, 0)
    coverage.ingest(rack(2, T0 + 32))
    late = coverage.coverage(T0 + 32)
    assert (late.expected, late.reporting, late.stale) == (2, 1, 1)
    assert late.reporting_pct == 50.0


def test_a_console_that_just_connected_is_not_missing_sources() -> None:
    simulator = Simulator(SMALL, seed=2, start=T0)
    state = SecurityState(builtin_profile())
    for message in decoded(simulator.initial_messages()):
        state.ingest(message)
    state.evaluate(simulator.now)
    visibility = state.view(simulator.now).control("visibility")
    reporting = next(v for v in visibility.indicators if v.indicator.name == "telemetry_reporting_pct")
    assert reporting.status is SecurityStatus.UNKNOWN


def test_security_and_event_topics_are_not_fleet_sources() -> None:
    coverage = TelemetryCoverage()
    coverage.ingest(decode("dc/s1/security/coverage", encode_payload({"ts": T0, "seq": 0, "indicators": {}})))
    now = coverage.coverage(T0)
    assert now.expected == 0 and math.isnan(now.reporting_pct) and math.isnan(now.value("seq_gaps"))


def test_seq_gaps_count_lost_messages_over_a_trailing_window() -> None:
    coverage = TelemetryCoverage(gap_window_s=300.0)
    for seq in (0, 1, 2, 5, 6, 10):
        coverage.ingest(rack(seq, T0 + seq))
    assert coverage.coverage(T0 + 10).seq_gaps == 2 + 3
    assert coverage.coverage(T0 + 10 + 301).seq_gaps == 0


def test_a_restart_or_a_redelivery_is_not_a_loss() -> None:
    coverage = TelemetryCoverage()
    for message in (rack(7, T0), rack(8, T0 + 1), rack(8, T0 + 1), rack(0, T0 + 2, boot="b2"),
                    rack(1, T0 + 3, boot="b2")):
        coverage.ingest(message)
    assert coverage.coverage(T0 + 3).seq_gaps == 0


def test_a_late_message_within_one_boot_does_not_count_twice() -> None:
    coverage = TelemetryCoverage()
    for seq in (5, 7, 6, 8):
        coverage.ingest(rack(seq, T0 + seq))
    assert coverage.coverage(T0 + 8).seq_gaps == 1


def test_without_boot_a_step_back_is_a_restart() -> None:
    coverage = TelemetryCoverage()
    for step, seq in enumerate((40, 41, 0, 1)):
        coverage.ingest(rack(seq, T0 + step, boot=None))
    assert coverage.coverage(T0 + 3).seq_gaps == 0


def test_a_simulated_stream_with_dropped_messages_shows_the_loss() -> None:
    simulator = Simulator(SMALL, seed=4, start=T0)
    coverage = TelemetryCoverage()
    dropped = 0
    for tick in range(30):
        for index, message in enumerate(decoded(simulator.tick())):
            if tick % 5 == 4 and index == 0:
                dropped += 1
                continue
            coverage.ingest(message)
    assert dropped == 6
    # The last drop is not seen yet: a loss shows when the next message of that source arrives.
    assert coverage.coverage(simulator.now).seq_gaps == dropped - 1


def test_the_engine_feeds_the_security_state_only_what_it_accepts() -> None:
    from console.core.engine import Engine
    from sensors.messages import RawMessage, RejectReason

    engine = Engine()
    good = encode_payload({"ts": T0, "seq": 0, "boot": "b", "indicators": {"mfa_coverage_pct": 90}})
    engine.ingest([RawMessage(T0, "dc/s1/security/people", good),
                   RawMessage(T0, "dc/s1/security/people", b"{nope")])
    assert engine.ingestor.decoder.rejects.by_reason == {RejectReason.NOT_JSON: 1}
    people = engine.security.view(T0 + 1).control("people")
    assert people.status is SecurityStatus.FAIL
    assert people.indicators[0].evidence.value == 90.0
    # A report from a clock far ahead of the stream is refused before it reaches the panel.
    skewed = encode_payload({"ts": T0 + 7200, "seq": 1, "boot": "b", "indicators": {"mfa_coverage_pct": 100}})
    engine.ingest([RawMessage(T0 + 2, "dc/s1/security/people", skewed)])
    assert engine.ingestor.refused == {"clock_skew": 1}
    assert engine.security.view(T0 + 3).control("people").indicators[0].evidence.value == 90.0
