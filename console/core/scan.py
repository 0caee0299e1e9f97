"""``rackwatch scan``: run a recorded log or a CSV through the engine, headless, any size.

Alert transitions go out as JSON Lines (wire.md "Scan output"). A log is replayed in
one-second buckets of receive time: each bucket is ingested in one batch, then the engine is
evaluated at the newest sample time, exactly as the live console would. A CSV is single-series
mode: each row is ingested and evaluated, and ``--scores`` writes one score per cell.

Scores file (CSV, long format): header ``column,timestamp,value,anomaly_score``, one row per
input cell. ``anomaly_score`` is in [0, 1]: 1.0 on the row where the core raised an alert on
that column, otherwise 0.5 x clip((|z| - 3) / 9, 0, 1) with z the column's causal robust z
(so scores above 0.5 mark alert onsets only, and a threshold of 0.5 reproduces the alerts).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import orjson

from console.core.config import ConfigError, CoreConfig, load_config
from console.core.engine import Engine
from console.core.snapshot import AlertTransition, Severity
from sensors.messages import RawMessage

PROGRESS_EVERY_S = 0.5


class ScanInputError(Exception):
    """Input scan cannot read: a missing file, a bad header, an unreadable CSV, a bad config."""


@dataclass(slots=True)
class ScanResult:
    messages: int = 0
    raised: int = 0
    critical: int = 0
    skipped_lines: int = 0
    rejected: int = 0
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.critical else 0


class _Progress:
    """A plain one-line progress report on stderr, only when stderr is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.last = 0.0

    def show(self, text: str, force: bool = False) -> None:
        if not self.enabled:
            return
        moment = time.monotonic()
        if force or moment - self.last >= PROGRESS_EVERY_S:
            self.last = moment
            self.stream.write(f"\r{text[:100]:<100}")
            self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


def _writer(out: TextIO, result: ScanResult) -> Callable[[list[AlertTransition]], None]:
    def emit(transitions: list[AlertTransition]) -> None:
        for transition in transitions:
            if transition.state == "raised":
                result.raised += 1
                result.critical += transition.severity is Severity.CRITICAL
            out.write(orjson.dumps(transition.as_json()).decode() + "\n")

    return emit


def scan_log(path: Path, engine: Engine, out: TextIO, progress: _Progress) -> ScanResult:
    from sensors.logfile import LogFormatError, read_log

    try:
        reader = read_log(path)
    except LogFormatError as error:
        raise ScanInputError(str(error)) from None
    result = ScanResult()
    emit = _writer(out, result)
    batch: list[RawMessage] = []
    bucket = -math.inf
    for message in reader:
        second = math.floor(message.received)
        if second != bucket and batch:
            engine.ingest(batch)
            batch = []
            if engine.stream_time > 0:
                emit(engine.evaluate(engine.stream_time))
            progress.show(f"scan: {reader.messages:,} messages, {result.raised:,} alerts raised")
        bucket = second
        batch.append(message)
    if batch:
        engine.ingest(batch)
    if engine.stream_time > 0:
        emit(engine.evaluate(engine.stream_time))
    result.messages = reader.messages
    result.skipped_lines = reader.skipped
    return result


def scan_csv(
    path: Path, engine: Engine, out: TextIO, scores: TextIO | None, progress: _Progress
) -> ScanResult:
    from sensors.csv_import import CsvFormatError, read_csv

    result = ScanResult()
    emit = _writer(out, result)
    try:
        reader = read_csv(path)
        if scores is not None:
            scores.write("column,timestamp,value,anomaly_score\n")
        channels: list[int] = []
        for ts, row in reader:
            engine.ingest_values(ts, row)
            transitions = engine.evaluate(ts)
            emit(transitions)
            result.messages += 1
            if scores is not None:
                if not channels:
                    channels = [engine.registry.index[name] for name in row]
                raised = {t.key for t in transitions if t.state == "raised"}
                z = engine.rules.z
                for (name, value), channel in zip(row.items(), channels, strict=True):
                    score = 1.0 if name in raised else _score(float(z[channel]))
                    shown = "" if math.isnan(value) else repr(value)
                    scores.write(f"{_csv_field(name)},{ts!r},{shown},{score:.4f}\n")
            progress.show(f"scan: {result.messages:,} rows, {result.raised:,} alerts raised")
    except CsvFormatError as error:
        raise ScanInputError(str(error)) from None
    return result


def _score(z: float) -> float:
    if math.isnan(z):
        return 0.0
    return 0.5 * min(max((abs(z) - 3.0) / 9.0, 0.0), 1.0)


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def is_csv(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    return bool(suffixes) and (suffixes[-1] in (".csv", ".tsv") or suffixes[-2:-1] == [".csv"])


def run_scan(
    source: Path,
    alerts: Path | None = None,
    scores: Path | None = None,
    config: Path | None = None,
    prefix: str = "dc",
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Scan one log or CSV; returns the exit status (0, 1), raises ScanInputError for bad input."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if not source.exists():
        raise ScanInputError(f"no such file: {source}")
    if source.is_dir():
        raise ScanInputError(f"{source} is a directory, not a log or CSV file")
    try:
        core_config = load_config(config) if config is not None else CoreConfig()
    except ConfigError as error:
        raise ScanInputError(str(error)) from None
    if scores is not None and not is_csv(source):
        raise ScanInputError("--scores needs a CSV input (one score per column and row)")
    engine = Engine(core_config, prefix=prefix)
    progress = _Progress(stderr)
    out = open(alerts, "w", encoding="utf-8") if alerts is not None else stdout  # noqa: SIM115
    score_file = open(scores, "w", encoding="utf-8") if scores is not None else None  # noqa: SIM115
    try:
        if is_csv(source):
            result = scan_csv(source, engine, out, score_file, progress)
        else:
            result = scan_log(source, engine, out, progress)
    finally:
        progress.done()
        if out is stdout:
            out.flush()
        else:
            out.close()
        if score_file is not None:
            score_file.close()
    rejected = engine.ingestor.decoder.rejects.total + sum(engine.ingestor.refused.values())
    summary = (
        f"scan: {result.messages:,} {'rows' if is_csv(source) else 'messages'}, "
        f"{result.raised:,} alerts raised ({result.critical:,} critical), "
        f"{rejected:,} rejected, {engine.ingestor.duplicates:,} duplicates"
    )
    if result.skipped_lines:
        summary += f", {result.skipped_lines:,} unreadable lines skipped"
    print(summary, file=stderr)
    return result.exit_code
