"""asciicast v2: the header line and event lines, encoded from raw bytes.

Output and input are decoded as UTF-8 per stream, keeping a character split across
two reads whole; invalid bytes become U+FFFD instead of stopping the recording.

Encoding is most of a recorder's work in a burst, so valid UTF-8 without rare control
characters (nearly all terminal output) takes a fast path: the JSON string is made from
the bytes themselves by escaping the six bytes that need it, giving exactly the bytes
`json.dumps(..., ensure_ascii=False)` would, at under half the cost. Anything else goes
through `json.dumps`.
"""
from __future__ import annotations

import codecs
import json
from typing import Any

VERSION = 2
ENV_KEYS = ("SHELL", "TERM")


def header(width: int, height: int, timestamp: int, command: str | None, env: dict[str, str],
           title: str | None = None) -> dict[str, Any]:
    """The header object; `env` is limited to SHELL and TERM as asciinema does."""
    head: dict[str, Any] = {"version": VERSION, "width": width, "height": height, "timestamp": timestamp}
    if command:
        head["command"] = command
    if title:
        head["title"] = title
    head["env"] = {key: env[key] for key in ENV_KEYS if env.get(key)}
    return head


def encode_line(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")


# What json.dumps escapes in a str, other than these six, is rare in terminal output.
_FAST_ESCAPES = ((b"\\", b"\\\\"), (b'"', b'\\"'), (b"\n", b"\\n"), (b"\r", b"\\r"),
                 (b"\t", b"\\t"), (b"\x1b", b"\\u001b"))
_SLOW_CONTROLS = bytes(c for c in range(0x20) if c not in b"\n\r\t\x1b")


class EventEncoder:
    """Turns (time, code, bytes) into event lines, keeping each stream's unfinished character."""

    def __init__(self) -> None:
        self._tails = {"o": b"", "i": b""}  # the start of a character whose end is still to come

    def data(self, t: float, code: str, raw: bytes) -> bytes:
        """An event line for `raw`, or b"" while only part of a character has arrived."""
        tail = self._tails[code]
        if tail:
            raw = tail + raw
        try:
            text, used = codecs.utf_8_decode(raw, "strict", False)
            fast = len(raw.translate(None, _SLOW_CONTROLS)) == len(raw)
        except UnicodeDecodeError:
            text, used = codecs.utf_8_decode(raw, "replace", False)
            fast = False
        self._tails[code] = raw[used:]
        if not used:
            return b""
        if not fast:
            return encode_line([round(t, 6), code, text])
        body = raw[:used] if used < len(raw) else raw
        for byte, escaped in _FAST_ESCAPES:
            body = body.replace(byte, escaped)
        return b"".join((f'[{round(t, 6)!r}, "{code}", "'.encode(), body, b'"]\n'))

    def resize(self, t: float, cols: int, rows: int) -> bytes:
        return encode_line([round(t, 6), "r", f"{cols}x{rows}"])

    def finish(self, t: float) -> bytes:
        """Flush half-characters left at the end as U+FFFD events."""
        out = b""
        for code, tail in self._tails.items():
            if tail:
                out += encode_line([round(t, 6), code, tail.decode("utf-8", "replace")])
                self._tails[code] = b""
        return out
