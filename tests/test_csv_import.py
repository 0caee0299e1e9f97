"""CSV import: ISO and epoch timestamps, NaN cells, clear errors for bad files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sensors.csv_import import CsvFormatError, read_csv

NEW_YEAR = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_iso_timestamps_with_and_without_zone(tmp_path: Path) -> None:
    path = write(tmp_path, (
        "time,inlet_temp_c,power_kw\n"
        "2026-01-01T00:00:00,24.5,40\n"
        "2026-01-01T00:00:10Z,24.6,41.5\n"
        "2026-01-01 02:00:20+02:00,24.7,42\n"
    ))
    reader = read_csv(path)
    assert reader.columns == ["inlet_temp_c", "power_kw"]
    assert reader.time_column == "time"
    rows = list(reader)
    assert rows == [
        (NEW_YEAR, {"inlet_temp_c": 24.5, "power_kw": 40.0}),
        (NEW_YEAR + 10, {"inlet_temp_c": 24.6, "power_kw": 41.5}),
        (NEW_YEAR + 20, {"inlet_temp_c": 24.7, "power_kw": 42.0}),
    ]
    assert reader.time_format == "iso"
    assert reader.nan_cells == 0


@pytest.mark.parametrize(("scale", "kind"), [(1, "epoch_s"), (1000, "epoch_ms"), (1_000_000, "epoch_us")])
def test_epoch_units_are_detected(tmp_path: Path, scale: int, kind: str) -> None:
    second = (NEW_YEAR + 1.5) * scale
    path = write(tmp_path, f"power_kw,ts\n40,{int(NEW_YEAR * scale)}\n41,{second!r}\n")
    reader = read_csv(path)
    assert reader.time_column == "ts"  # found by name, not position
    assert list(reader) == [(NEW_YEAR, {"power_kw": 40.0}), (NEW_YEAR + 1.5, {"power_kw": 41.0})]
    assert reader.time_format == kind


def test_empty_and_non_numeric_cells_are_nan_and_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "ts;a;b;c\n1767225600;1,0;;x\n1767225601;2;3;inf\n")
    reader = read_csv(path)
    rows = list(reader)
    assert reader.columns == ["a", "b", "c"]
    assert math.isnan(rows[0][1]["a"])  # "1,0" is not a number with ';' as the separator
    assert math.isnan(rows[0][1]["b"]) and math.isnan(rows[0][1]["c"])
    assert rows[1][1]["a"] == 2.0 and rows[1][1]["b"] == 3.0 and math.isnan(rows[1][1]["c"])
    assert reader.nan_cells == 4
    assert reader.rows == 2


def test_blank_lines_and_a_byte_order_mark_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffts,x\r\n1767225600,1\r\n\r\n1767225601,2\r\n".encode())
    assert [v["x"] for _, v in read_csv(path)] == [1.0, 2.0]


def test_rows_stream_without_reading_the_whole_file(tmp_path: Path) -> None:
    path = write(tmp_path, "ts,x\n" + "".join(f"{1767225600 + i},{i}\n" for i in range(10_000)) + "oops,1\n")
    rows = iter(read_csv(path))
    assert next(rows) == (NEW_YEAR, {"x": 0.0})  # the bad last line is not read yet
    with pytest.raises(CsvFormatError, match=r"data.csv:10002: ts 'oops' is not a timestamp"):
        list(rows)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "need a header row"),
        ("ts\n1,2\n", "need a header row"),
        ("ts,a,a\n1,2,3\n", "column names repeat"),
        ("ts,a\n1767225600,1,7\n", "data.csv:2: 3 cells, the header has 2"),
        ("ts,a\nyesterday,1\n", "data.csv:2: ts 'yesterday' is not a timestamp"),
        ("ts,a\n2026-01-01T00:00:00,1\n1767225600,2\n", "data.csv:3: ts '1767225600' is not a timestamp"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(CsvFormatError, match=words):
        list(read_csv(write(tmp_path, text)))


def test_missing_and_binary_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CsvFormatError, match="cannot open"):
        read_csv(tmp_path / "nope.csv")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01ts,a\n")
    with pytest.raises(CsvFormatError, match="not UTF-8"):
        list(read_csv(binary))
