"""From a recording to the clean transcript: every line that was on screen, once, in order.

Lines enter the transcript when they leave the screen (scrolled off the top, wiped by a
full clear, or a frame of the alternate screen scrolling on) and, at the end, from the
final screen. Two things keep repaints out:

- replay: after a full clear, Claude Code redraws the conversation from its start. While
  the redrawn lines match what the transcript already holds, they are skipped;
- frames: on the alternate screen (the fullscreen renderer) there is no scrollback, so
  successive screens are stitched: rows that moved up out of view are committed once.

Transient lines (spinners, "esc to interrupt", the input box) are dropped by
`transient.is_transient`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .cast import CastReader, Event, Header, parse_size
from .screen import ClaudeScreen
from .transient import drop_live_area, is_transient

REPLAY_LOOKAHEAD = 8


@dataclass
class Line:
    text: str
    first_seen: float
    last_changed: float


class TranscriptBuilder:
    """A `ScreenListener` that turns what leaves the screen into transcript lines."""

    def __init__(self, header: Header) -> None:
        self.screen = ClaudeScreen(header.width, header.height, self)
        self.lines: list[Line] = []
        self.now = 0.0
        self._row_times = [[0.0, 0.0] for _ in range(header.height)]
        self._row_text = [""] * header.height
        self._replay_pos: int | None = None
        self._alt_prev: list[str] | None = None
        self._alt_prev_times: list[list[float]] = []

    # -- events ------------------------------------------------------------------------------
    def feed(self, event: Event) -> None:
        self.now = event.time
        if event.code == "o":
            self.screen.feed(event.data)
            self._note_changes()
            if self.screen.in_alt_screen:
                self._alt_snapshot()
        elif event.code == "r":
            size = parse_size(event.data)
            if size:
                self.screen.resize(size[1], size[0])
                self._row_times = (self._row_times + [[self.now, self.now]] * size[1])[: size[1]]
                self._row_text = (self._row_text + [""] * size[1])[: size[1]]
                self.screen.dirty.update(range(size[1]))
                self._note_changes()

    def finish(self) -> list[Line]:
        """Commit the final screen and return the transcript."""
        if self.screen.in_alt_screen:
            self._alt_snapshot()
            rows, times = self._alt_prev or [], self._alt_prev_times
        else:
            rows, times = self._row_text, self._row_times
        rows = drop_live_area(list(rows))
        for text, (first, last) in zip(rows, times):
            self._commit(text, first, last)
        while self.lines and not self.lines[-1].text:
            self.lines.pop()
        return self.lines

    def _note_changes(self) -> None:
        screen = self.screen
        for y in screen.dirty:
            if y >= len(self._row_text):
                continue
            text = screen.row_text(y)
            if text != self._row_text[y]:
                if not self._row_text[y]:
                    self._row_times[y] = [self.now, self.now]
                else:
                    self._row_times[y] = [self._row_times[y][0], self.now]
                self._row_text[y] = text
        screen.dirty.clear()

    # -- ScreenListener ------------------------------------------------------------------------
    def scrolled_off(self, text: str) -> None:
        self._note_changes()
        first, last = self._row_times[0]
        self._commit(text, first, last)
        self._row_times = self._row_times[1:] + [[self.now, self.now]]
        self._row_text = self._row_text[1:] + [""]

    def wiped(self, rows: list[str]) -> None:
        self._note_changes()
        keep = drop_live_area(rows)
        for text, (first, last) in zip(keep, self._row_times):
            self._commit(text, first, last)
        self._row_times = [[self.now, self.now] for _ in self._row_times]
        self._row_text = [""] * len(self._row_text)
        self._replay_pos = 0  # what is drawn next may be the conversation again

    def alt_screen(self, entering: bool, rows: list[str]) -> None:
        self._note_changes()
        if entering:
            self._alt_prev, self._alt_prev_times = None, []
            return
        self._alt_snapshot()
        keep = drop_live_area(list(self._alt_prev or []))
        for text, (first, last) in zip(keep, self._alt_prev_times):
            self._commit(text, first, last)
        self._alt_prev = None
        self._replay_pos = 0

    def sync_frame_end(self) -> None:
        """Synchronized-output frames end here: a complete frame, a good snapshot point."""

    # -- committing ----------------------------------------------------------------------------
    def _commit(self, text: str, first: float, last: float) -> None:
        if is_transient(text):
            return
        if self._replay_pos is not None and text:
            end = min(len(self.lines), self._replay_pos + (REPLAY_LOOKAHEAD if self._replay_pos else len(self.lines)))
            for i in range(self._replay_pos, end):
                if self.lines[i].text == text:
                    self._replay_pos = i + 1
                    return
            self._replay_pos = None
        elif self._replay_pos is not None:
            return  # blank lines while replaying: not evidence either way
        if not text and self.lines and not self.lines[-1].text:
            return  # one blank line is enough
        if not text and not self.lines:
            return
        self.lines.append(Line(text, first, last))

    # -- the alternate screen ------------------------------------------------------------------
    def _alt_snapshot(self) -> None:
        rows = list(self._row_text)
        times = [list(t) for t in self._row_times]
        prev = self._alt_prev
        if prev is not None and rows != prev:
            shift = _scroll_shift(prev, rows)
            for text, (first, last) in zip(prev[:shift], self._alt_prev_times[:shift]):
                self._commit(text, first, last)
        self._alt_prev, self._alt_prev_times = rows, times


def _scroll_shift(prev: list[str], new: list[str]) -> int:
    """How many rows the content moved up from `prev` to `new` (0 if it did not scroll)."""
    content = [i for i, text in enumerate(prev) if text]
    if not content:
        return 0
    limit = len(prev)
    for shift in range(1, limit):
        overlap = limit - shift
        matched = sum(1 for i in range(overlap) if prev[i + shift] and prev[i + shift] == new[i])
        needed = sum(1 for i in range(overlap) if prev[i + shift])
        if needed >= 3 and matched >= needed * 0.6:
            return shift
    return 0


def transcript(path, warn: Callable[[str], None] | None = None) -> tuple[Header, list[Line]]:
    """The clean transcript of the recording at `path` (streaming: memory ~ screen + transcript)."""
    with CastReader(path, warn) as reader:
        builder = TranscriptBuilder(reader.header)
        for event in reader.events():
            builder.feed(event)
        return reader.header, builder.finish()


def screen_at(path, at: float, warn: Callable[[str], None] | None = None) -> list[str]:
    """The screen's rows at time `at` (seconds from the start)."""
    with CastReader(path, warn) as reader:
        builder = TranscriptBuilder(reader.header)
        for event in reader.events():
            if event.time > at:
                break
            builder.feed(event)
        return builder.screen.rows()


def render_text(lines: Iterable[Line]) -> str:
    return "".join(line.text + "\n" for line in lines)
