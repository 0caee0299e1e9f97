"""The recorded sensor log: writing it, rotating it and reading it back as a stream.

Format (../shared/spec/wire.md, "Recorded sensor log"): JSON Lines, compressed by suffix
(``.gz`` gzip, ``.zst`` zstandard, else plain); a header line, then one line per received
message with ``payload`` as UTF-8 text or ``payload_b64`` when the bytes are not UTF-8.

A recorder killed with SIGKILL must leave a log that reads back up to its last flush, so
``flush()`` ends a zstd frame (or does a zlib sync flush) and fsyncs, and the reader
decompresses incrementally: a cut compressed stream yields everything before the cut, and a
cut last line is skipped and counted instead of raising.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import os
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import orjson
import zstandard

from sensors.messages import RawMessage

LOG_VERSION = 1
CHUNK_SIZE = 1 << 16
MAX_LINE_BYTES = 64 << 20
"""Far above any real message line (MQTT payloads in rackwatch are capped well below this)."""


class LogFormatError(ValueError):
    """A file that is not a readable rackwatch log; the message names the file and the fault."""


def compression_of(path: Path) -> str:
    """``gzip``, ``zstd`` or ``plain``, from the file suffix as the wire contract says."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return "gzip"
    if suffix == ".zst":
        return "zstd"
    return "plain"


def encode_line(message: RawMessage) -> bytes:
    """One log line (with its newline) for one received message."""
    record: dict[str, Any] = {"t": message.received, "topic": message.topic}
    try:
        record["payload"] = message.payload.decode("utf-8")
    except UnicodeDecodeError:
        record["payload_b64"] = base64.b64encode(message.payload).decode("ascii")
    record["qos"] = message.qos
    record["retain"] = message.retain
    return orjson.dumps(record) + b"\n"


def decode_line(line: bytes) -> RawMessage | None:
    """The message of one log line, or None when the line is not a valid message record."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    received = record.get("t")
    topic = record.get("topic")
    qos = record.get("qos", 0)
    retain = record.get("retain", False)
    if isinstance(received, bool) or not isinstance(received, int | float) or not isinstance(topic, str):
        return None
    if isinstance(qos, bool) or not isinstance(qos, int) or not isinstance(retain, bool):
        return None
    text = record.get("payload")
    if isinstance(text, str):
        payload = text.encode("utf-8", errors="surrogatepass")
    elif isinstance(record.get("payload_b64"), str):
        try:
            payload = base64.b64decode(record["payload_b64"], validate=True)
        except (binascii.Error, ValueError):
            return None
    else:
        return None
    return RawMessage(received=float(received), topic=topic, payload=payload, qos=qos, retain=retain)


class LogWriter:
    """Appends received messages to one log file, header first.

    ``flush()`` makes everything written so far durable and readable by another process:
    a zstd frame end or zlib sync flush, then ``fsync``.
    """

    def __init__(self, path: Path | str, source: str, filters: Sequence[str]) -> None:
        self.path = Path(path)
        self.compression = compression_of(self.path)
        self.messages = 0
        self.started = time.time()
        self._size = 0
        self._raw: IO[bytes] = open(self.path, "xb")  # noqa: SIM115 (closed in close())
        self._stream: Any
        if self.compression == "zstd":
            self._stream = zstandard.ZstdCompressor(level=3).stream_writer(self._raw, closefd=False)
        elif self.compression == "gzip":
            self._stream = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6)
        else:
            self._stream = self._raw
        header = {"rackwatch_log": LOG_VERSION, "started": self.started, "source": source,
                  "filters": list(filters)}
        self._stream.write(orjson.dumps(header) + b"\n")
        self.flush()

    def write(self, message: RawMessage) -> None:
        self._stream.write(encode_line(message))
        self.messages += 1

    def flush(self) -> None:
        """Push everything written to disk so a crash after this loses none of it."""
        if self.compression == "zstd":
            self._stream.flush(zstandard.FLUSH_FRAME)
        elif self.compression == "gzip":
            self._stream.flush(zlib.Z_SYNC_FLUSH)
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._size = self._raw.tell()

    @property
    def size(self) -> int:
        """Bytes on disk (compressed) as of the last flush."""
        return self._size

    def close(self) -> None:
        if self._raw.closed:
            return
        self.flush()
        if self._stream is not self._raw:
            self._stream.close()
            self._raw.flush()
            os.fsync(self._raw.fileno())
            self._size = self._raw.tell()
        self._raw.close()

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RotatingLogWriter:
    """A LogWriter that starts a new, complete log when one grows too big or too old.

    Files are named ``<base>-YYYYmmddTHHMMSS-NNN<suffixes>`` (UTC start time, counter), so
    the names sort in recording order and each file has its own header.
    """

    def __init__(
        self,
        out: Path | str,
        source: str,
        filters: Sequence[str],
        max_bytes: int | None = None,
        max_seconds: float | None = None,
    ) -> None:
        out = Path(out)
        suffixes = out.suffix
        if out.suffix in (".gz", ".zst") and Path(out.stem).suffix in (".jsonl", ".json", ".log"):
            suffixes = Path(out.stem).suffix + out.suffix
        self._directory = out.parent
        self._base = out.name[: len(out.name) - len(suffixes)] if suffixes else out.name
        self._suffixes = suffixes or ".jsonl"
        self._source = source
        self._filters = list(filters)
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.counter = 0
        self.paths: list[Path] = []
        self.messages = 0
        self._current = self._open_next()

    def _open_next(self) -> LogWriter:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        while True:
            path = self._directory / f"{self._base}-{stamp}-{self.counter:03d}{self._suffixes}"
            self.counter += 1
            if not path.exists():
                break
        writer = LogWriter(path, self._source, self._filters)
        self.paths.append(path)
        return writer

    @property
    def path(self) -> Path:
        return self._current.path

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.paths[:-1]) + self._current.size

    def write(self, message: RawMessage) -> None:
        self._current.write(message)
        self.messages += 1

    def flush(self) -> None:
        """Flush, then rotate if the current file is full; rotation only happens here, so a
        message is acknowledged only once it sits in a flushed file."""
        self._current.flush()
        too_big = self.max_bytes is not None and self._current.size >= self.max_bytes
        too_old = self.max_seconds is not None and time.time() - self._current.started >= self.max_seconds
        if too_big or too_old:
            self._current.close()
            self._current = self._open_next()

    def close(self) -> None:
        self._current.close()

    def __enter__(self) -> RotatingLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _decompressed_chunks(raw: IO[bytes], compression: str) -> Iterator[bytes]:
    """Decompressed data as it becomes available; a cut stream just ends early.

    Concatenated zstd frames and gzip members are both followed, which is what ``flush()``
    and a restart of the writer produce.
    """
    if compression == "plain":
        while chunk := raw.read(CHUNK_SIZE):
            yield chunk
        return
    new = (
        zstandard.ZstdDecompressor().decompressobj
        if compression == "zstd"
        else lambda: zlib.decompressobj(wbits=31)
    )
    decompressor = new()
    while chunk := raw.read(CHUNK_SIZE):
        while chunk:
            try:
                yield decompressor.decompress(chunk)
            except (zstandard.ZstdError, zlib.error):
                return
            if not decompressor.eof:
                break
            chunk = decompressor.unused_data
            decompressor = new()


class LogReader:
    """Iterates over the messages of one log, streaming; see ``header`` and ``skipped``.

    Lines that do not hold a valid message (above all a last line cut by a crash) are
    skipped and counted in ``skipped`` rather than raising.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.compression = compression_of(self.path)
        self.skipped = 0
        self.messages = 0
        try:
            self._raw: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 (closed in close())
        except OSError as error:
            raise LogFormatError(f"cannot open log {self.path}: {error.strerror}") from None
        self._lines = self._iter_lines()
        self.header: dict[str, Any] = self._read_header()

    def _iter_lines(self) -> Iterator[bytes]:
        """Lines of the decompressed stream; one longer than MAX_LINE_BYTES is dropped and
        counted, so a file that is not a log cannot make the reader hold all of it."""
        pending = b""
        oversized = False
        for chunk in _decompressed_chunks(self._raw, self.compression):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if oversized and lines:
                lines[0] = b""  # the tail of the dropped line
                oversized = False
            yield from lines
            if len(pending) > MAX_LINE_BYTES:
                if not oversized:
                    self.skipped += 1
                oversized, pending = True, b""
        if pending and not oversized:
            yield pending

    def _read_header(self) -> dict[str, Any]:
        first = next(self._lines, None)
        if first is None:
            self.close()
            raise LogFormatError(f"{self.path} is empty or not {self.compression}-compressed")
        try:
            header = orjson.loads(first)
        except orjson.JSONDecodeError:
            self.close()
            raise LogFormatError(f"{self.path} is not a rackwatch log: the first line is not JSON") from None
        if not isinstance(header, dict) or "rackwatch_log" not in header:
            self.close()
            raise LogFormatError(f"{self.path} is not a rackwatch log: no rackwatch_log header")
        if header["rackwatch_log"] != LOG_VERSION:
            self.close()
            raise LogFormatError(
                f"{self.path} is log version {header['rackwatch_log']!r}; this rackwatch reads {LOG_VERSION}"
            )
        return header

    def __iter__(self) -> Iterator[RawMessage]:
        try:
            for line in self._lines:
                if not line.strip():
                    continue
                message = decode_line(line)
                if message is None:
                    self.skipped += 1
                    continue
                self.messages += 1
                yield message
        finally:
            self.close()

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> LogReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_log(path: Path | str) -> LogReader:
    """Open a log for streaming; raises LogFormatError when it is not one."""
    return LogReader(path)
