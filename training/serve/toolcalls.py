"""The model's text, as it streams, split into text and tool calls (Anthropic content blocks).

The model writes calls as `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` lines (the
dataset's format). Text outside calls streams through at once, except a tail that might be the
start of `<tool_call>`, which waits for the next piece. A call is held until it closes, then
becomes a `tool_use` block. A malformed call (bad JSON, no name, a tool the request does not
offer, arguments that are not an object) becomes text as written: never an error, never an
invalid stream. Stop sequences of the request end the text where they occur.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from ..dataset import CALL_CLOSE, CALL_OPEN


@dataclass
class Text:
    text: str


@dataclass
class ToolUse:
    id: str
    name: str
    input: dict


def new_tool_use_id() -> str:
    """An id in the API's shape (`toolu_` + 24 base62-ish characters)."""
    return "toolu_" + secrets.token_urlsafe(18).replace("-", "a").replace("_", "b")


def _held_tail(text: str, marker: str) -> int:
    """Length of the longest end of `text` that is a proper start of `marker`."""
    for n in range(min(len(text), len(marker) - 1), 0, -1):
        if marker.startswith(text[-n:]):
            return n
    return 0


class CallSplitter:
    """Feed text pieces; get Text and ToolUse events; `finish()` flushes what is held."""

    def __init__(self, tool_names: set[str] | None = None, stop_sequences: list[str] | None = None) -> None:
        self.tool_names = tool_names
        self.stops = [s for s in (stop_sequences or []) if isinstance(s, str) and s]
        self.pending = ""
        self.in_call = False
        self.stopped: str | None = None  # the stop sequence that ended the text
        self.calls = 0

    def feed(self, piece: str) -> list[Text | ToolUse]:
        if self.stopped is not None:
            return []
        self.pending += piece
        events: list[Text | ToolUse] = []
        while True:
            if self.in_call:
                end = self.pending.find(CALL_CLOSE)
                if end < 0:
                    return events
                body, self.pending = self.pending[:end], self.pending[end + len(CALL_CLOSE):]
                self.in_call = False
                events.append(self._call(body, closed=True))
                continue
            start = self.pending.find(CALL_OPEN)
            stop_at, stop = self._first_stop(self.pending)
            if stop is not None and (start < 0 or stop_at < start):
                events += self._text(self.pending[:stop_at])
                self.pending, self.stopped = "", stop
                return events
            if start >= 0:
                events += self._text(self.pending[:start])
                self.pending = self.pending[start + len(CALL_OPEN):]
                self.in_call = True
                continue
            hold = max([_held_tail(self.pending, CALL_OPEN)] + [_held_tail(self.pending, s) for s in self.stops])
            cut = len(self.pending) - hold
            events += self._text(self.pending[:cut])
            self.pending = self.pending[cut:]
            return events

    def finish(self) -> list[Text | ToolUse]:
        """The end of generation: a call left open is tried as it is, anything else is text."""
        if self.stopped is not None:
            return []
        rest, self.pending = self.pending, ""
        if self.in_call:
            self.in_call = False
            return [self._call(rest, closed=False)]
        return self._text(rest)

    def _first_stop(self, text: str) -> tuple[int, str | None]:
        found = [(text.find(s), s) for s in self.stops if s in text]
        return min(found) if found else (-1, None)

    @staticmethod
    def _text(text: str) -> list[Text | ToolUse]:
        return [Text(text)] if text else []

    def _call(self, body: str, closed: bool) -> Text | ToolUse:
        written = CALL_OPEN + body + (CALL_CLOSE if closed else "")
        try:
            call = json.loads(body.strip())
        except ValueError:
            return Text(written)
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            return Text(written)
        arguments = call.get("arguments", {})
        if not isinstance(arguments, dict):
            return Text(written)
        if self.tool_names is not None and call["name"] not in self.tool_names:
            return Text(written)
        self.calls += 1
        return ToolUse(new_tool_use_id(), call["name"], arguments)


def split_all(text: str, tool_names: set[str] | None = None, stop_sequences: list[str] | None = None) -> list[Text | ToolUse]:
    """The whole text at once (the non-streaming answer), consecutive text pieces merged."""
    splitter = CallSplitter(tool_names, stop_sequences)
    merged: list[Text | ToolUse] = []
    for event in splitter.feed(text) + splitter.finish():
        if isinstance(event, Text) and merged and isinstance(merged[-1], Text):
            merged[-1] = Text(merged[-1].text + event.text)
        else:
            merged.append(event)
    return merged
