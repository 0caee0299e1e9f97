"""``rackwatch scan`` end to end, in subprocesses: output format, exit codes, CSV scores, no UI."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from sensors.logfile import LogWriter
from tests.test_core_detectors import RACK, T0, message, rack_body

SCAN_KEYS = {"ts", "key", "state", "severity", "rule", "value", "message"}


def write_log(path, seconds: int, leak_from: int | None = None, inlet: float = 24.0) -> None:
    with LogWriter(path, "mqtt://127.0.0.1:1883", ["dc/#"]) as log:
        for i in range(seconds):
            leak = int(leak_from is not None and i >= leak_from)
            log.write(message(f"{RACK}/rack", T0 + i, i, rack_body(inlet + 0.01 * (i % 7), leak=leak)))


def scan(*args: str):
    return subprocess.run([sys.executable, "-m", "console", "scan", *args], capture_output=True, text=True,
                          timeout=120)


def test_critical_alert_exit_1_and_json_lines_per_spec(tmp_path):
    path = tmp_path / "leak.jsonl.gz"
    write_log(path, 120, leak_from=30)
    result = scan(str(path))
    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines and all(set(line) == SCAN_KEYS for line in lines)
    leak = [line for line in lines if line["rule"] == "leak"]
    assert leak[0] == {"ts": T0 + 40, "key": f"{RACK}/rack/leak", "state": "raised", "severity": "critical",
                       "rule": "leak", "value": 1.0, "message": "leak detected"}
    assert "scan: 120 messages" in result.stderr


def test_healthy_log_exit_0_and_alerts_file(tmp_path):
    path = tmp_path / "ok.jsonl"
    write_log(path, 60, inlet=28.5)
    out = tmp_path / "alerts.jsonl"
    result = scan(str(path), "--alerts", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(x["rule"], x["severity"]) for x in lines] == [("limit", "warning")]


@pytest.mark.parametrize("case", ["missing", "header", "csv", "config", "scores_on_log"])
def test_bad_input_exit_2_with_one_line(tmp_path, case):
    log = tmp_path / "ok.jsonl"
    write_log(log, 5)
    args = {
        "missing": [str(tmp_path / "nope.jsonl")],
        "header": [str(tmp_path / "bad.jsonl")],
        "csv": [str(tmp_path / "bad.csv")],
        "config": [str(log), "--config", str(tmp_path / "bad.toml")],
        "scores_on_log": [str(log), "--scores", str(tmp_path / "s.csv")],
    }[case]
    (tmp_path / "bad.jsonl").write_text('{"hello": 1}\n')
    (tmp_path / "bad.csv").write_text("justonecolumn\n1\n")
    (tmp_path / "bad.toml").write_text("[peer]\nfloor_c = 1\n")
    result = scan(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("rackwatch scan: ")


def test_csv_scores_one_row_per_cell_in_unit_range(tmp_path):
    source = tmp_path / "series.csv"
    rows = ["timestamp,pump_kpa,fan"]
    for i in range(700):
        pump = 200.0 + (i * 37 % 11) * 0.1 + (40.0 if 500 <= i < 560 else 0.0)
        rows.append(f"{T0 + 60 * i},{pump},{10 + (i * 13 % 5)}")
    source.write_text("\n".join(rows) + "\n")
    scores = tmp_path / "scores.csv"
    result = scan(str(source), "--scores", str(scores))
    assert result.returncode == 0, result.stderr
    with open(scores, newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["column", "timestamp", "value", "anomaly_score"]
    assert len(table) == 2 * 700
    assert all(0.0 <= float(row["anomaly_score"]) <= 1.0 for row in table)
    pump = [row for row in table if row["column"] == "pump_kpa"]
    onset = [i for i, row in enumerate(pump) if float(row["anomaly_score"]) == 1.0]
    assert onset and 500 <= onset[0] <= 505
    assert max(float(row["anomaly_score"]) for row in pump[:500]) < 0.5
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(a["key"] == "pump_kpa" and a["rule"] == "deviation" for a in alerts)


def test_scan_does_not_import_the_ui(tmp_path):
    path = tmp_path / "ok.jsonl"
    write_log(path, 20)
    code = (
        "import sys\n"
        "from console.cli import main\n"
        f"rc = main(['scan', {str(path)!r}, '--alerts', {str(tmp_path / 'a.jsonl')!r}])\n"
        "assert rc == 0, rc\n"
        "ui = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "assert not ui, ui\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_simulated_fault_is_found_under_another_prefix(tmp_path):
    from sensors.messages import RawMessage
    from sensors.simulator import CampusConfig, Simulator, parse_scenario

    campus = CampusConfig(rows=1, racks_per_row=3, nodes_per_rack=1)
    sim = Simulator(campus=campus, seed=3, scenarios=[parse_scenario("leak@120")], start=T0, prefix="lab")
    path = tmp_path / "sim.jsonl.zst"
    with LogWriter(path, "sim", ["lab/#"]) as log:
        for out in sim.initial_messages():
            log.write(RawMessage(sim.now, out.topic, out.payload, out.qos, out.retain))
        for _ in range(200):
            for out in sim.tick():
                log.write(RawMessage(sim.now, out.topic, out.payload, out.qos, out.retain))
    label = sim.labels[0]
    result = scan(str(path), "--prefix", "lab")
    assert result.returncode == 1, result.stderr
    leaks = [json.loads(line) for line in result.stdout.splitlines() if '"leak"' in line]
    assert leaks and leaks[0]["key"] in label.keys and leaks[0]["ts"] >= label.start
    wrong_prefix = scan(str(path))
    assert wrong_prefix.returncode == 0 and "rejected" in wrong_prefix.stderr
