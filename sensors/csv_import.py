"""Import a CSV of samples (a timestamp column, then numeric columns) as a stream of rows.

For data that did not come over MQTT: an export from a DCIM, a BMS trend log, a
spreadsheet. Each numeric column becomes one channel. Streams row by row, so a file of any
size can be scanned. Empty or non-numeric cells become NaN ("not measured", as a ``null``
on the wire) and are counted; a malformed file is a CsvFormatError naming file and line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

TIME_COLUMN_NAMES = ("ts", "t", "time", "timestamp", "datetime", "date", "epoch")
EPOCH_MS_ABOVE = 1e11
"""An epoch above this is milliseconds: as seconds it would be after the year 5000."""
EPOCH_US_ABOVE = 1e14


class CsvFormatError(ValueError):
    """A CSV that cannot be imported; the message names the file, the line and the fault."""


def parse_iso(text: str) -> float | None:
    """ISO 8601 to epoch seconds; a time without a zone is taken as UTC. None if not ISO."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class CsvReader:
    """Iterates ``(ts, {column: value})`` over a CSV; see ``columns`` and ``nan_cells``.

    ``time_format`` is found from the first row: ``iso``, ``epoch_s``, ``epoch_ms`` or
    ``epoch_us``, and then holds for the whole file.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.nan_cells = 0
        self.rows = 0
        self.time_format = ""
        try:
            self._file: TextIO = open(self.path, newline="", encoding="utf-8-sig")  # noqa: SIM115
        except OSError as error:
            raise CsvFormatError(f"cannot open {self.path}: {error.strerror}") from None
        try:
            first = self._file.readline()
        except UnicodeDecodeError:
            self.close()
            raise CsvFormatError(f"{self.path} is not UTF-8 text") from None
        delimiter = ";" if first.count(";") > first.count(",") else "\t" if "\t" in first else ","
        header = next(csv.reader([first], delimiter=delimiter), [])
        header = [name.strip() for name in header]
        self._rows = csv.reader(self._file, delimiter=delimiter)
        if len(header) < 2 or not all(header):
            self.close()
            raise CsvFormatError(
                f"{self.path}:1: need a header row naming a timestamp column and at least one value column"
            )
        if len(set(header)) != len(header):
            self.close()
            raise CsvFormatError(f"{self.path}:1: column names repeat: {', '.join(header)}")
        lowered = [name.lower() for name in header]
        time_index = next((lowered.index(n) for n in TIME_COLUMN_NAMES if n in lowered), 0)
        self.time_column = header[time_index]
        self._time_index = time_index
        self.columns = [name for i, name in enumerate(header) if i != time_index]
        self._width = len(header)

    def _timestamp(self, text: str, line: int) -> float:
        if not self.time_format:
            number = _float(text)
            if number is None:
                self.time_format = "iso"
            elif number > EPOCH_US_ABOVE:
                self.time_format = "epoch_us"
            elif number > EPOCH_MS_ABOVE:
                self.time_format = "epoch_ms"
            else:
                self.time_format = "epoch_s"
        if self.time_format == "iso":
            value = parse_iso(text)
        else:
            value = _float(text)
            if value is not None:
                value /= {"epoch_s": 1, "epoch_ms": 1e3, "epoch_us": 1e6}[self.time_format]
        if value is None or not math.isfinite(value):
            raise CsvFormatError(
                f"{self.path}:{line}: {self.time_column} {text[:40]!r} is not a timestamp "
                f"(ISO 8601 or epoch seconds/milliseconds; this file's first row was {self.time_format})"
            )
        return value

    def __iter__(self) -> Iterator[tuple[float, dict[str, float]]]:
        try:
            for cells in self._rows:
                line = self._rows.line_num + 1
                if not cells or all(not c.strip() for c in cells):
                    continue
                if len(cells) != self._width:
                    raise CsvFormatError(
                        f"{self.path}:{line}: {len(cells)} cells, the header has {self._width}"
                    )
                ts = self._timestamp(cells[self._time_index], line)
                values: dict[str, float] = {}
                for index, cell in enumerate(cells):
                    if index == self._time_index:
                        continue
                    number = _float(cell)
                    if number is None or not math.isfinite(number):
                        number = math.nan
                        self.nan_cells += 1
                    values[self.columns[index - (index > self._time_index)]] = number
                self.rows += 1
                yield ts, values
        except UnicodeDecodeError:
            raise CsvFormatError(f"{self.path} is not UTF-8 text") from None
        except csv.Error as error:
            raise CsvFormatError(f"{self.path}:{self._rows.line_num + 1}: {error}") from None
        finally:
            self.close()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CsvReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_csv(path: Path | str) -> CsvReader:
    """Open a CSV for streaming; raises CsvFormatError when its header is unusable."""
    return CsvReader(path)
