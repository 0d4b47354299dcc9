"""Reading asciicast v2 files, streaming and forgiving.

A recording may be cut short by a killed recorder, hold a line that is not JSON, an
unknown event code (ignored, as the spec says), invalid UTF-8 or binary junk. Reading
yields every event that can be trusted and reports the rest as warnings; it raises
`CastError` (a one-line message) only when nothing sensible can be read.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_COLS = 2000
MAX_ROWS = 1000
KNOWN_CODES = frozenset("oirm")


class CastError(Exception):
    """A recording that cannot be read at all; str() is one line naming the file."""


@dataclass
class Header:
    width: int
    height: int
    timestamp: float | None = None
    command: str | None = None
    title: str | None = None
    env: dict = field(default_factory=dict)


@dataclass
class Event:
    time: float
    code: str  # "o" output, "i" input, "r" resize, "m" marker
    data: str


def parse_size(text: str) -> tuple[int, int] | None:
    """"120x40" -> (120, 40) within sane bounds, else None."""
    cols, sep, rows = text.partition("x")
    if not sep or not cols.isdigit() or not rows.isdigit():
        return None
    size = int(cols), int(rows)
    return size if 0 < size[0] <= MAX_COLS and 0 < size[1] <= MAX_ROWS else None


class CastReader:
    """`CastReader(path).events()` yields events in file order; `warnings` collects problems."""

    def __init__(self, path: Path, warn: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.warnings: list[str] = []
        self._warn_hook = warn
        try:
            self._file = open(self.path, "rb")
        except OSError as exc:
            raise CastError(f"{self.path}: cannot open: {exc.strerror or exc}") from None
        self.header = self._read_header()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "CastReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._warn_hook:
            self._warn_hook(f"{self.path}: {message}")

    def _read_header(self) -> Header:
        first = self._file.readline(1 << 20)
        if not first.strip():
            raise CastError(f"{self.path}: empty file, not an asciicast recording")
        try:
            head = json.loads(first.decode("utf-8", "replace"))
        except ValueError:
            raise CastError(f"{self.path}: not an asciicast v2 file (line 1 is not JSON)") from None
        if not isinstance(head, dict) or head.get("version") != 2:
            version = head.get("version") if isinstance(head, dict) else None
            raise CastError(f"{self.path}: not an asciicast v2 file (version {version!r})")
        width, height = head.get("width"), head.get("height")
        if not (isinstance(width, int) and isinstance(height, int)
                and 0 < width <= MAX_COLS and 0 < height <= MAX_ROWS):
            raise CastError(f"{self.path}: absurd terminal size {width!r}x{height!r} in the header")
        env = head.get("env") if isinstance(head.get("env"), dict) else {}
        timestamp = head.get("timestamp")
        return Header(width, height, timestamp if isinstance(timestamp, (int, float)) else None,
                      head.get("command") if isinstance(head.get("command"), str) else None,
                      head.get("title") if isinstance(head.get("title"), str) else None, env)

    def events(self) -> Iterator[Event]:
        line_no = 1
        bad_utf8 = skipped = 0
        last_time = 0.0
        pending: bytes | None = None
        for raw in self._file:
            line_no += 1
            if pending is not None:  # the previous bad line was not the last one: skip it
                skipped += 1
                self.warn(f"line {line_no - 1} is not a valid event; skipped")
                pending = None
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                bad_utf8 += 1
                text = raw.decode("utf-8", "replace")
            try:
                item = json.loads(text)
                time, code, data = item
                time = float(time)
                if not (isinstance(code, str) and isinstance(data, str) and math.isfinite(time)):
                    raise ValueError
            except (ValueError, TypeError):
                pending = raw
                continue
            if code not in KNOWN_CODES:
                continue
            if time < last_time:
                time = last_time  # keep the timeline monotonic
            last_time = time
            yield Event(time, code, data)
        if pending is not None:
            cut = not pending.endswith(b"\n")
            self.warn(f"line {line_no} is {'cut short' if cut else 'not a valid event'} "
                      f"(the recorder was probably killed); ignored")
        if bad_utf8:
            self.warn(f"{bad_utf8} line(s) held invalid UTF-8; replaced with U+FFFD")
