"""Run every simulator fault scenario through the Engine and score it against the labels.

For each scenario: detected or not (an alert on a labelled key, or on its device, within the
label's window plus a grace period), detection delay from the fault's start, lead time over a
plain static-threshold detector on the same stream (first sample of a labelled key past its
warning limit, and past its critical limit; no hysteresis, no minimum duration; static_* are
seconds after the fault's start), and unrelated core alerts raised during the run. Then fault-free
streams: false alerts (raised episodes) per 10,000 channel-hours.

    .venv/bin/python bench/scenario_suite.py [--rows 2] [--racks 4] [--nodes 2] [--quiet-hours 1]
"""

from __future__ import annotations

import argparse
import math
import time

from console.core.engine import Engine
from sensors.messages import RawMessage
from sensors.simulator import SCENARIOS, CampusConfig, Simulator, parse_scenario
from sensors.topics import device_of_key

T0 = 1_767_225_600.0
ONSET_S = 900.0
"""Faults start after 15 minutes, so every detector is past its warm-up."""
GRACE_S = 120.0
CORE_RULES = frozenset(
    {"limit", "leak", "rate", "deviation", "peer", "flatline", "forecast", "stale", "seq", "xid", "throttle"}
)
"""Rules of the anomaly core; the security panel's alerts are scored elsewhere."""


def run_stream(campus: CampusConfig, seconds: float, scenario: str | None, seed: int):
    specs = [parse_scenario(scenario)] if scenario else []
    sim = Simulator(campus=campus, seed=seed, scenarios=specs, start=T0)
    engine = Engine()
    engine.ingest(RawMessage(sim.now, o.topic, o.payload, o.qos, o.retain) for o in sim.initial_messages())
    transitions = []
    static_first: dict[str, float] = {}
    static_crit: dict[str, float] = {}
    watched: list[tuple[str, int]] = []
    for _ in range(int(seconds / sim.interval)):
        out = sim.tick()
        engine.ingest([RawMessage(sim.now, o.topic, o.payload, o.qos, o.retain) for o in out])
        transitions.extend(t for t in engine.evaluate(sim.now) if t.rule in CORE_RULES)
        if sim.labels and not watched:
            keys = {k for label in sim.labels for k in label.keys}
            watched = [(k, engine.registry.index[k]) for k in sorted(keys) if k in engine.registry.index]
        for key, channel in watched:
            if key in static_crit:
                continue
            value = engine.latest[channel]
            warn_hi, crit_hi, warn_lo, crit_lo = engine.limits.limits_of(channel)
            if key not in static_first and (value >= warn_hi or value <= warn_lo):
                static_first[key] = sim.now
            if value >= crit_hi or value <= crit_lo:
                static_crit[key] = sim.now
    return engine, transitions, sim.labels, (static_first, static_crit)


def related(alert_key: str, label_keys: tuple[str, ...]) -> bool:
    for key in label_keys:
        device = device_of_key(key)
        if alert_key == key or key.startswith(alert_key + "/") or alert_key.startswith(device + "/"):
            return True
        if alert_key == device:
            return True
    return False


def score_scenario(campus: CampusConfig, name: str, seed: int) -> dict[str, object]:
    kind = SCENARIOS[name]
    seconds = ONSET_S + kind.duration + 600.0
    start = time.perf_counter()
    engine, transitions, labels, (static_first, static_crit) = run_stream(
        campus, seconds, f"{name}@{ONSET_S:g}", seed
    )
    raised = [t for t in transitions if t.state == "raised"]
    if not labels:
        return {"scenario": name, "detected": "no label"}
    label = labels[0]
    end = (label.end if label.end is not None else T0 + seconds) + GRACE_S
    hits = [t for t in raised if label.start <= t.ts <= end and related(t.key, label.keys)]
    other = {(t.rule, t.key) for t in raised if not related(t.key, label.keys)}
    first = hits[0] if hits else None
    static = min(static_first.values()) if static_first else math.nan
    crit = min(static_crit.values()) if static_crit else math.nan
    return {
        "scenario": name,
        "kind": label.kind,
        "detected": bool(first),
        "delay_s": (first.ts - label.start) if first else math.nan,
        "rule": f"{first.rule}" if first else "-",
        "lead_warn_s": (static - first.ts) if first and not math.isnan(static) else math.nan,
        "static_warn": "-" if math.isnan(static) else f"{static - label.start:.0f}",
        "lead_crit_s": (crit - first.ts) if first and not math.isnan(crit) else math.nan,
        "static_crit": "-" if math.isnan(crit) else f"{crit - label.start:.0f}",
        "other": len(other),
        "wall_s": time.perf_counter() - start,
        "channels": len(engine.registry),
    }


def quiet_rate(campus: CampusConfig, hours: float, seeds: list[int]) -> tuple[int, float, list[str]]:
    episodes = 0
    channel_hours = 0.0
    examples: list[str] = []
    for seed in seeds:
        engine, transitions, _, _ = run_stream(campus, hours * 3600.0, None, seed)
        seen: set[tuple[str, str]] = set()
        for t in transitions:
            if t.state == "raised" and t.ts > T0 + 300:
                episodes += 1
                if (t.rule, t.key) not in seen and len(examples) < 8:
                    examples.append(f"{t.rule} {t.key}: {t.message}")
                seen.add((t.rule, t.key))
        channel_hours += len(engine.registry) * hours
    return episodes, channel_hours, examples


def fmt(value: object) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.0f}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2)
    parser.add_argument("--racks", type=int, default=4)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--quiet-hours", type=float, default=1.0)
    parser.add_argument("--quiet-seeds", type=int, default=2)
    args = parser.parse_args()
    campus = CampusConfig(rows=args.rows, racks_per_row=args.racks, nodes_per_rack=args.nodes)
    header = ("scenario", "kind", "detected", "delay_s", "rule", "static_warn", "lead_warn_s", "static_crit",
              "lead_crit_s", "other")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for name in SCENARIOS:
        row = score_scenario(campus, name, args.seed)
        print(" | ".join(fmt(row.get(column, "-")) for column in header), flush=True)
    episodes, channel_hours, examples = quiet_rate(campus, args.quiet_hours, list(range(args.quiet_seeds)))
    rate = episodes / channel_hours * 1e4
    bound = 3.0 / channel_hours * 1e4 if episodes == 0 else float("nan")
    bound_text = f" (95% upper bound {bound:.2f})" if episodes == 0 else ""
    print(f"\nfault-free: {episodes} alert episodes in {channel_hours:,.0f} channel-hours "
          f"= {rate:.2f} per 10,000 channel-hours{bound_text}")
    for example in examples:
        print(f"  {example}")


if __name__ == "__main__":
    main()
