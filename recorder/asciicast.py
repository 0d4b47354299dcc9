"""asciicast v2: the header line and event lines, encoded from raw bytes.

Output and input are decoded with an incremental UTF-8 decoder per stream, so a
character split across two reads stays whole; invalid bytes become U+FFFD instead
of stopping the recording.
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


class EventEncoder:
    """Turns (time, code, bytes) into event lines, one UTF-8 decoder per stream."""

    def __init__(self) -> None:
        self._decoders = {
            "o": codecs.getincrementaldecoder("utf-8")("replace"),
            "i": codecs.getincrementaldecoder("utf-8")("replace"),
        }

    def data(self, t: float, code: str, raw: bytes) -> bytes:
        """An event line for `raw`, or b"" while only part of a character has arrived."""
        text = self._decoders[code].decode(raw)
        return encode_line([round(t, 6), code, text]) if text else b""

    def resize(self, t: float, cols: int, rows: int) -> bytes:
        return encode_line([round(t, 6), "r", f"{cols}x{rows}"])

    def finish(self, t: float) -> bytes:
        """Flush half-characters left at the end as U+FFFD events."""
        out = b""
        for code, decoder in self._decoders.items():
            text = decoder.decode(b"", final=True)
            if text:
                out += encode_line([round(t, 6), code, text])
        return out
