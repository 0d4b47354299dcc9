"""From a recording to the clean transcript: every line that was on screen, once, in order.

Lines enter the transcript when they leave the screen (scrolled off the top, wiped by a
full clear, or a frame of the alternate screen scrolling on) and, at the end, from the
final screen. Two things keep repaints out:

- redraws: after a full clear, Claude Code prints the conversation again from its start
  (re-wrapped if the window changed size). When the redraw repeats an older copy, word
  for word, the older copy is dropped;
- frames: on the alternate screen (the fullscreen renderer) there is no scrollback, so
  successive screens are stitched: rows that moved up out of view are committed once.

Transient lines (spinners, "esc to interrupt", the input box) are dropped by
`transient.is_transient`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import compress
from operator import not_

from .cast import CastReader, Event, Header, parse_size
from .screen import ClaudeScreen
from .transient import drop_live_area, is_transient

SIMILAR_SEARCH = 300  # how far back a changed first line is looked for
COVERAGE = 0.6  # share of an old copy's words a redraw must repeat to replace it
SIMILARITY = 0.75
DIALOG_QUESTION = re.compile(r"^\s*Do you want to .*\?\s*$")
DIALOG_END = re.compile(r"Esc to cancel")
RULE_LINE = re.compile(r"^\s*─{10,}\s*$")
FRAME_GAP = 0.004  # a pause in output this long ends a full-screen frame (one frame = many writes)


@dataclass
class Line:
    text: str
    first_seen: float
    last_changed: float


@dataclass
class Dialog:
    """A question the CLI asked in its live area (a permission prompt), as last seen."""
    lines: list[str]
    first_seen: float
    last_seen: float


class TranscriptBuilder:
    """A `ScreenListener` that turns what leaves the screen into transcript lines."""

    def __init__(self, header: Header) -> None:
        self.screen = ClaudeScreen(header.width, header.height, self)
        self.lines: list[Line] = []
        self.now = 0.0
        self._row_times = [[0.0, 0.0] for _ in range(header.height)]
        self._row_text = [""] * header.height
        self._redraw_start: int | None = None  # where lines drawn since the last wipe begin
        self.dialogs: list[Dialog] = []
        self._dialog: Dialog | None = None
        self._alt_start: int | None = None  # where the alternate screen's document begins
        self._alt_tail = 0  # how many of its last lines the previous frame showed
        self._frame_pending = False  # alternate-screen output not yet taken as a frame
        self._alt_last_rows: list[str] | None = None

    # -- events ------------------------------------------------------------------------------
    def feed(self, event: Event) -> None:
        if self._frame_pending and event.time - self.now >= FRAME_GAP:
            self._alt_snapshot()  # output paused: the frame drawn so far is complete
        self.now = event.time
        if event.code == "o":
            self.screen.feed(event.data)
            self._note_changes()
            self._frame_pending = self.screen.in_alt_screen
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
        else:
            rows = drop_live_area(list(self._row_text))
            for text, (first, last) in zip(rows, self._row_times):
                self._commit(text, first, last)
        self._reconcile_redraw()
        if self._dialog is not None:
            self.dialogs.append(self._dialog)
            self._dialog = None
        self.lines = _collapse_blank_runs(self.lines)
        return self.lines

    def _note_changes(self) -> None:
        """Take in the rows changed since the last call (`screen.dirty`), with the time."""
        screen = self.screen
        asking = self._dialog is not None
        dirty = screen.dirty
        if dirty:
            buffer, columns = screen.buffer, screen.columns
            row_text, row_times, now = self._row_text, self._row_times, self.now
            rows = len(row_text)
            for y in dirty:
                if y >= rows:
                    continue
                line = buffer.get(y)  # screen.row_text(y), inlined: this runs for every event
                if line is None:
                    text = ""
                elif line[-1] == " " and len(line) == columns + 1:
                    text = "".join(line).rstrip()
                else:
                    text = "".join(line[:columns]).rstrip()
                old = row_text[y]
                if text != old:
                    row_times[y] = [row_times[y][0], now] if old else [now, now]
                    row_text[y] = text
                    if not asking and "Do you want to" in text:
                        asking = DIALOG_QUESTION.match(text) is not None
            dirty.clear()
        if asking:
            self._track_dialog()

    def _track_dialog(self) -> None:
        """Keep the latest state of a dialog on screen; file it when it goes away."""
        lines = find_dialog(self._row_text)
        if lines is not None:
            if self._dialog is None:
                self._dialog = Dialog(lines, self.now, self.now)
            else:
                self._dialog.lines, self._dialog.last_seen = lines, self.now
        elif self._dialog is not None:
            self.dialogs.append(self._dialog)
            self._dialog = None

    # -- ScreenListener ------------------------------------------------------------------------
    def scrolled_off(self, text: str, bottom: int) -> None:
        self._note_changes()
        first, last = self._row_times[0]
        self._commit(text, first, last)
        del self._row_times[0]
        self._row_times.insert(bottom, [self.now, self.now])
        del self._row_text[0]
        self._row_text.insert(bottom, "")

    def wiped(self, rows: list[str]) -> None:
        self._note_changes()
        keep = drop_live_area(rows)
        for text, (first, last) in zip(keep, self._row_times):
            self._commit(text, first, last)
        self._reconcile_redraw()  # the rows just wiped end the previous redraw, if any
        self._row_times = [[self.now, self.now] for _ in self._row_times]
        self._row_text = [""] * len(self._row_text)
        self._redraw_start = len(self.lines)  # what is drawn next may be the conversation again

    def alt_screen(self, entering: bool, rows: list[str]) -> None:
        self._note_changes()
        if entering:
            self._alt_start = len(self.lines)
            self._alt_tail = 0
            self._alt_last_rows = None
        else:
            self._alt_snapshot()
            self._alt_start = None

    def sync_frame_end(self) -> None:
        """Synchronized-output frames end here: a complete frame, a good snapshot point."""
        if self.screen.in_alt_screen:
            self._note_changes()
            self._alt_snapshot()

    # -- committing ----------------------------------------------------------------------------
    def _commit(self, text: str, first: float, last: float) -> None:
        if is_transient(text):
            return
        if not text and (not self.lines or not self.lines[-1].text):
            return  # one blank line is enough
        self.lines.append(Line(text, first, last))

    def _reconcile_redraw(self) -> None:
        """After a wipe, Claude Code prints the conversation again (re-wrapped if the window
        changed). Once that redraw is in, drop the older copy of whatever it covers: from the
        latest line equal (or close) to the redraw's first line, if the redraw repeats at
        least COVERAGE of that copy's words."""
        start, self._redraw_start = self._redraw_start, None
        if start is None or start >= len(self.lines):
            return
        first = next((line.text for line in self.lines[start:] if line.text), None)
        if first is None:
            return
        anchor = next((i for i in range(start - 1, -1, -1) if self.lines[i].text == first), None)
        if anchor is None:
            anchor = next((i for i in range(start - 1, max(-1, start - SIMILAR_SEARCH), -1)
                           if similar(self.lines[i].text, first)), None)
        if anchor is None:
            return
        old = Counter(_words(self.lines[anchor:start]))
        redrawn = Counter(_words(self.lines[start:]))
        covered = sum((old & redrawn).values())
        if covered >= COVERAGE * sum(old.values()):
            del self.lines[anchor:start]

    # -- the alternate screen ------------------------------------------------------------------
    def _alt_snapshot(self) -> None:
        """Stitch the current full-screen frame onto the transcript (see `stitch`)."""
        self._frame_pending = False
        if self._alt_start is None:
            return
        if self._row_text == self._alt_last_rows:
            return  # nothing on screen changed since the last frame
        self._alt_last_rows = list(self._row_text)
        rows = drop_live_area(self._row_text)  # (a new list)
        frame = list(compress(zip(rows, self._row_times), map(not_, map(is_transient, rows))))
        window = 2 * len(self._row_text)
        base = max(self._alt_start, len(self.lines) - window - self._alt_tail)  # stitch looks no further back
        self.lines[base:] = stitch(self.lines[base:], frame, self._alt_tail, window)
        self._alt_tail = len(frame)


Row = tuple[str, list[float]]  # a row of a frame: its text, [first seen, last changed]


def stitch(doc: list[Line], frame: list[Row], tail: int, window: int) -> list[Line]:
    """Lay a full-screen frame over the end of the document it shows a window of.

    `tail` is how many of the document's last lines the previous frame showed. The frame
    goes where it fits: over that tail if most rows are the same or changed in place
    (an animation, a line being written), else where its rows match the document's last
    `window` lines exactly (it scrolled), else after the end (it jumped further than a
    screen). From there on the document is the frame, and what lies beyond it stays.
    """
    tail_start = len(doc) - tail
    written = unchanged = 0
    if tail_start >= 0:
        for old, (text, _) in zip(doc[tail_start:], frame):
            if old.text:
                written += 1
                unchanged += old.text == text
    else:
        for i in range(min(tail, len(frame))):
            if doc[tail_start + i].text:
                written += 1
                unchanged += doc[tail_start + i].text == frame[i][0]
    if written and unchanged == written:
        start = tail_start  # the common case: nothing moved, rows were added or changed in place
    else:
        scrolled, scroll_score = _scrolled(doc, frame, window)
        in_place = _in_place(doc, frame, tail)
        start = in_place if in_place is not None and unchanged >= scroll_score else scrolled
    merged = doc[:start]
    end = len(doc)
    for i, (text, (first, last)) in enumerate(frame, start):
        old = doc[i] if i < end else None
        if old is not None and old.text:
            # A row blanked in place is a frame being drawn, not text taken back; a row that
            # is the same or changed in place was first seen then.
            merged.append(old if not text or old.text == text else Line(text, old.first_seen, last))
        else:
            merged.append(Line(text, first, last))
    # Rows the frame no longer reaches (a menu or dialog opened over the bottom of the view)
    # are not taken as gone: they are kept.
    merged.extend(doc[start + len(frame):])
    return merged


def _in_place(doc: list[Line], frame: list[Row], tail: int) -> int | None:
    """The previous frame's start, if most of its written rows are still there, the same or
    changed in place (rows written where it had blanks say nothing either way)."""
    start = len(doc) - tail
    pairs = [(doc[start + i].text, text) for i, (text, _) in enumerate(frame[:tail]) if doc[start + i].text]
    if not pairs:
        return start if tail else None
    alike = sum(1 for old, new in pairs if old == new or similar(old, new))
    return start if alike * 5 >= len(pairs) * 3 else None


def _scrolled(doc: list[Line], frame: list[Row], window: int) -> tuple[int, int]:
    """Where the frame's rows match the document's end exactly, and how many do (0: nowhere)."""
    first = max(0, len(doc) - window)
    where: dict[str, list[int]] = {}
    for position in range(first, len(doc)):
        if doc[position].text:
            where.setdefault(doc[position].text, []).append(position)
    votes: Counter = Counter()
    for i, (text, _) in enumerate(frame):
        for position in where.get(text, ()) if text else ():
            if position - i >= first:
                votes[position - i] += 1
    if not votes:
        return len(doc), 0
    best_score = max(votes.values())
    best = min(start for start, score in votes.items() if score == best_score)
    both_written = sum(1 for i, (text, _) in enumerate(frame[: len(doc) - best]) if text and doc[best + i].text)
    if best_score * 2 >= both_written:
        return best, best_score
    return len(doc), 0


@lru_cache(maxsize=1 << 12)  # frames compare the same pairs of rows again and again
def similar(a: str, b: str) -> bool:
    """Two states of the same screen line (not just two lines that look alike)."""
    if not a or not b:
        return False
    if 2.0 * min(len(a), len(b)) / (len(a) + len(b)) < SIMILARITY:
        return False  # real_quick_ratio(), without building the matcher
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.real_quick_ratio() >= SIMILARITY and matcher.quick_ratio() >= SIMILARITY and \
        matcher.ratio() >= SIMILARITY


def find_dialog(rows: list[str]) -> list[str] | None:
    """The rows of a permission dialog ("Do you want to ...?", options, "Esc to cancel")."""
    question = next((i for i, text in enumerate(rows) if DIALOG_QUESTION.match(text)), None)
    if question is None:
        return None
    top = next((i + 1 for i in range(question - 1, -1, -1) if RULE_LINE.match(rows[i])), max(0, question - 8))
    bottom = next((i for i in range(question, len(rows)) if DIALOG_END.search(rows[i])), None)
    if bottom is None:
        return None
    return [text.strip() for text in rows[top:bottom + 1] if text.strip()]


def _words(lines: list[Line]) -> list[str]:
    return " ".join(line.text for line in lines).split()


def _collapse_blank_runs(lines: list[Line]) -> list[Line]:
    """One blank line between blocks; none at the start or the end."""
    out: list[Line] = []
    for line in lines:
        if not line.text and (not out or not out[-1].text):
            continue
        out.append(line)
    while out and not out[-1].text:
        out.pop()
    return out


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
