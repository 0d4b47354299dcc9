"""A terminal screen for Claude Code's output: pyte, fed by our own tokenizer, with its gaps fixed.

pyte 0.8.2 is the emulator (cursor motion, erasing, insert/delete, margins, wrapping,
tabs). Its weak points on Claude Code's output are fixed here, in one place:

- the stream is tokenized with one regular expression instead of pyte's per-character
  `Stream`: several times faster, and escape sequences split across events are kept;
- private-prefixed CSI sequences (`CSI > 4 m`, `CSI > 5 u`, `CSI < u`, `CSI ? u`, ...) are
  dropped instead of being misread as SGR or cursor restore;
- zero-width joiners and variation selectors join the previous cell instead of cutting
  off the rest of the text being drawn;
- the alternate screen (?1049, ?1047, ?47) gets a buffer of its own;
- lines that scroll off the top, and screens wiped by `CSI 2J`/`CSI 3J` or a shrinking
  window, are reported to a `ScreenListener` before they are lost;
- attributes (colours, bold, ...) are not kept: transcripts need only the characters.
"""
from __future__ import annotations

import re
from itertools import repeat
from operator import itemgetter
from typing import Any, Protocol

import pyte
from pyte import modes as mo
from pyte.screens import Char, Margins
from wcwidth import wcwidth

ALT_SCREEN_MODES = {1049 << 5, 1047 << 5, 47 << 5}
SYNC_OUTPUT_MODE = 2026 << 5
ZERO_WIDTH_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}

TOKEN = re.compile(
    r"(?P<text>[^\x00-\x1f\x7f\x1b]+)"
    r"|\x1b\[(?P<params>[\x30-\x3f]*)(?P<inter>[\x20-\x2f]*)(?P<final>[\x40-\x7e])"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC (window title, hyperlinks): ignored
    r"|\x1b[P_^X].*?\x1b\\"  # DCS, APC, PM, SOS strings: ignored
    r"|\x1b(?P<esc_inter>[\x20-\x2f]*)(?P<esc_final>[\x30-\x4f\x51-\x57\x59\x5a\x5c\x60-\x7e])"
    r"|(?P<control>[\x00-\x1a\x1c-\x1f\x7f])",
    re.S,
)
# Removed before tokenizing, at C speed: colours/attributes and OSC strings (titles, links).
NOT_CONTENT = re.compile(r"\x1b\[[0-9;:]*m|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
INCOMPLETE = re.compile(r"\x1b(?:\[[\x20-\x3f]*|[\]P_^X].*|[\x20-\x2f]*)\Z", re.S)
CURSOR_MOVES = frozenset("GCDAB")
MAX_PENDING = 1 << 16

CONTROLS = {"\r": "carriage_return", "\n": "linefeed", "\x0b": "linefeed", "\x0c": "linefeed",
            "\x08": "backspace", "\t": "tab"}
ESCAPES = {"7": "save_cursor", "8": "restore_cursor", "D": "index", "E": "linefeed",
           "M": "reverse_index", "c": "reset", "H": "set_tab_stop"}
CSI = {**{final: name for final, name in pyte.Stream.csi.items()
          if name not in ("select_graphic_rendition", "report_device_attributes", "report_device_status")},
       "s": "save_cursor", "u": "restore_cursor", "S": "scroll_up", "T": "scroll_down"}


_DATA = itemgetter(0)  # Char.data


class ScreenListener(Protocol):
    def scrolled_off(self, text: str, bottom: int) -> None:
        """Row 0 left the screen; rows 1..bottom moved up one, `bottom` is blank now."""
    def wiped(self, lines: list[str]) -> None: ...
    def alt_screen(self, entering: bool, lines: list[str]) -> None: ...
    def sync_frame_end(self) -> None: ...


class _Cells(dict):
    """Char objects with default attributes, one per character, made once."""

    def __missing__(self, key: str) -> Char:
        value = self[key] = Char(key)
        return value


class ClaudeScreen(pyte.Screen):
    """A pyte.Screen with the fixes above; `feed(text)` takes decoded terminal output."""

    def __init__(self, columns: int, lines: int, listener: ScreenListener | None = None) -> None:
        self.listener = listener
        self.in_alt_screen = False
        self._saved_main: tuple[Any, ...] | None = None
        self._pending = ""
        self._cells = _Cells()
        self._blank = Char(" ")
        self._erased: dict[int, str] = {}  # rows erased during this feed: a wipe in progress?
        super().__init__(columns, lines)

    # -- input -------------------------------------------------------------------------------
    def feed(self, data: str) -> None:
        self._erased = {}
        if self._pending:
            data = self._pending + data
            self._pending = ""
        data = NOT_CONTENT.sub("", data)
        done = 0
        for m in TOKEN.finditer(data):
            if m.start() != done:  # an ESC that starts no known sequence
                if INCOMPLETE.match(data, done) and len(data) - done < MAX_PENDING:
                    self._pending = data[done:]  # cut at the end of this event: wait for the rest
                    return
            done = m.end()
            kind = m.lastgroup
            if kind == "control":
                char = m.group(kind)
                if char == "\n":
                    self.linefeed()
                elif char == "\r":
                    self.cursor.x = 0
                else:
                    name = CONTROLS.get(char)
                    if name:
                        getattr(self, name)()
            elif kind == "text":
                self.draw(m.group(kind))
            elif kind == "final":
                params, final = m.group("params"), m.group("final")
                if final in CURSOR_MOVES and (not params or params.isdigit()) and not m.group("inter"):
                    self._move(final, int(params or 1) or 1)
                else:
                    self._csi(params, m.group("inter"), final)
            elif kind == "esc_final":
                if not m.group("esc_inter"):
                    name = ESCAPES.get(m.group("esc_final"))
                    if name:
                        getattr(self, name)()
        if done < len(data) and INCOMPLETE.match(data, done) and len(data) - done < MAX_PENDING:
            self._pending = data[done:]

    def _move(self, final: str, count: int) -> None:
        """The cursor moves Claude Code sends most, inlined (same results as pyte's methods)."""
        cursor = self.cursor
        if final == "G":
            cursor.x = min(count, self.columns) - 1
        elif final == "C":
            cursor.x = min(cursor.x + count, self.columns - 1)
        elif final == "D":
            cursor.x = max(min(cursor.x, self.columns - 1) - count, 0)
        elif final == "A":
            top = self.margins.top if self.margins else 0
            cursor.y = max(cursor.y - count, top)
        else:  # "B"
            bottom = self.margins.bottom if self.margins else self.lines - 1
            cursor.y = min(cursor.y + count, bottom)

    def _csi(self, params: str, inter: str, final: str) -> None:
        if final == "m" or inter or (params and params[0] in "<=>"):
            return  # cursor style, kitty keyboard flags, xterm modifier keys...: not screen content
        private = params.startswith("?")
        if private:
            params = params[1:]
            if final not in "hlJK":
                return  # queries such as CSI ? u or DECRQM
        try:
            args = [int(p) if p else 0 for p in params.split(";")] if params else []
        except ValueError:
            return  # sub-parameters (':') or junk
        if final in "hl":
            (self.set_mode if final == "h" else self.reset_mode)(*args, private=private)
            return
        name = CSI.get(final)
        if name:
            try:
                getattr(self, name)(*args)
            except (TypeError, ValueError, IndexError, OverflowError):
                pass  # too many or absurd parameters: ignored, as terminals do

    # -- drawing -------------------------------------------------------------------------------
    def draw(self, data: str) -> None:
        if mo.IRM in self.mode:
            for char in data:  # insert mode is rare: let pyte do it
                width = wcwidth(char)
                if width > 0:
                    super().draw(char)
                elif width == 0 or char in ZERO_WIDTH_JOINERS:
                    self._join_previous(char)
            return
        if data.isascii():
            self._draw_ascii(data)
            return
        cells = self._cells
        columns = self.columns
        autowrap = mo.DECAWM in self.mode
        line = self.buffer[self.cursor.y]
        for char in data:
            width = 1 if char < "\u0300" else wcwidth(char)
            if width <= 0:
                if width == 0 or char in ZERO_WIDTH_JOINERS:
                    self._join_previous(char)
                continue
            x = self.cursor.x
            if x + width > columns:
                if autowrap:
                    self.dirty.add(self.cursor.y)
                    self.carriage_return()
                    self.linefeed()
                    line = self.buffer[self.cursor.y]
                    x = 0
                else:
                    x = self.cursor.x = columns - width
            line[x] = cells[char]
            if width == 2:
                line[x + 1] = cells[""]
            self.cursor.x = x + width
        self.dirty.add(self.cursor.y)

    def _draw_ascii(self, data: str) -> None:
        cells = self._cells
        while data:
            if self.cursor.x >= self.columns:
                if mo.DECAWM in self.mode:
                    self.dirty.add(self.cursor.y)
                    self.carriage_return()
                    self.linefeed()
                else:
                    self.cursor.x = self.columns - 1
            room = self.columns - self.cursor.x
            part, data = data[:room], data[room:]
            x = self.cursor.x
            line = self.buffer[self.cursor.y]
            line.update(zip(range(x, x + len(part)), map(cells.__getitem__, part)))
            self.dirty.add(self.cursor.y)
            self.cursor.x = x + len(part)

    def _join_previous(self, char: str) -> None:
        x, y = self.cursor.x, self.cursor.y
        if x == 0:
            return
        line = self.buffer[y]
        x -= 1
        if line[x].data == "" and x > 0:  # the stub after a wide character
            x -= 1
        line[x] = line[x]._replace(data=line[x].data + char)

    def insert_lines(self, count: int | None = None) -> None:
        """pyte skips rows it never stored (blank ones), leaving stale text; this does not."""
        self._shift_rows(-(count or 1))

    def delete_lines(self, count: int | None = None) -> None:
        self._shift_rows(count or 1)

    def _shift_rows(self, count: int) -> None:
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if not top <= self.cursor.y <= bottom:
            return
        rows = range(self.cursor.y, bottom + 1)
        for y in (rows if count > 0 else reversed(rows)):
            source = y + count
            if self.cursor.y <= source <= bottom and source in self.buffer:
                self.buffer[y] = self.buffer[source]
            else:
                self.buffer.pop(y, None)
        self.dirty.update(rows)
        self.carriage_return()

    def select_graphic_rendition(self, *attrs: int, **kwargs: Any) -> None:
        """Attributes are not kept (see the module doc)."""

    # -- what leaves the screen ------------------------------------------------------------------
    def row_text(self, y: int) -> str:
        line = self.buffer.get(y)
        if not line:
            return ""
        cells = map(line.get, range(self.columns), repeat(self._blank))
        return "".join(map(_DATA, cells)).rstrip()

    def rows(self) -> list[str]:
        return [self.row_text(y) for y in range(self.lines)]

    def index(self) -> None:
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if self.cursor.y != bottom:
            self.cursor_down()
            return
        if top == 0 and self.listener and not self.in_alt_screen:
            self.listener.scrolled_off(self.row_text(0), bottom)
        else:
            self.dirty.update(range(top, bottom + 1))  # rows moved that the listener did not see move
        buffer = self.buffer
        for y in range(top, bottom):
            if y + 1 in buffer:
                buffer[y] = buffer[y + 1]
            else:
                buffer.pop(y, None)
        buffer.pop(bottom, None)
        self.dirty.add(bottom)

    def scroll_up(self, count: int = 1) -> None:
        saved = self.cursor.x, self.cursor.y
        top, bottom = self.margins or Margins(0, self.lines - 1)
        self.cursor.y = bottom
        for _ in range(max(count, 1)):
            self.index()
        self.cursor.x, self.cursor.y = saved

    def scroll_down(self, count: int = 1) -> None:
        saved = self.cursor.x, self.cursor.y
        top, _ = self.margins or Margins(0, self.lines - 1)
        self.cursor.y = top
        for _ in range(max(count, 1)):
            self.reverse_index()
        self.cursor.x, self.cursor.y = saved

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        """Claude Code also clears the screen row by row (home, then erase-line + down for
        every row): once every row is blank again, what those rows held was wiped."""
        if how == 2 or (how == 0 and self.cursor.x == 0):
            text = self.row_text(self.cursor.y) if self.listener and not self.in_alt_screen else ""
            super().erase_in_line(how, private)
            if text:
                self._erased.setdefault(self.cursor.y, text)
                if len(self._erased) >= 2 and self._all_blank():
                    erased, self._erased = self._erased, {}
                    self.listener.wiped([erased.get(y, "") for y in range(max(erased) + 1)])
            return
        super().erase_in_line(how, private)

    def _all_blank(self) -> bool:
        return not any(self.row_text(y) for y in range(self.lines))

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        wipes_all = how in (2, 3) or (how == 0 and self.cursor.x == 0 and self.cursor.y == 0)
        if wipes_all and self.listener and not self.in_alt_screen:
            self.listener.wiped(self.rows())
        super().erase_in_display(how)

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """pyte drops rows from the top when the window gets shorter; a real terminal drops
        the blank rows under the cursor first and scrolls off only what it must."""
        lines = lines or self.lines
        if lines < self.lines and not self.in_alt_screen:
            scroll = max(0, self.cursor.y - lines + 1)
            for _ in range(scroll):
                if self.listener:
                    self.listener.scrolled_off(self.row_text(0), self.lines - 1)
                for y in range(self.lines - 1):
                    self.buffer[y] = self.buffer[y + 1]
                self.buffer.pop(self.lines - 1, None)
            self.cursor.y -= scroll
            for y in range(lines, self.lines):
                self.buffer.pop(y, None)
            self.lines = lines
        super().resize(lines, columns)

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private"):
            shifted = {m << 5 for m in modes}
            if shifted & ALT_SCREEN_MODES and not self.in_alt_screen:
                self._enter_alt_screen()
            modes = tuple(m for m in modes if m << 5 not in ALT_SCREEN_MODES | {SYNC_OUTPUT_MODE})
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private"):
            shifted = {m << 5 for m in modes}
            if shifted & ALT_SCREEN_MODES and self.in_alt_screen:
                self._leave_alt_screen()
            if SYNC_OUTPUT_MODE in shifted and self.listener:
                self.listener.sync_frame_end()
            modes = tuple(m for m in modes if m << 5 not in ALT_SCREEN_MODES | {SYNC_OUTPUT_MODE})
        super().reset_mode(*modes, **kwargs)

    def _enter_alt_screen(self) -> None:
        self._saved_main = (self.buffer, self.cursor, self.margins, set(self.mode))
        if self.listener:
            self.listener.alt_screen(True, self.rows())
        self.in_alt_screen = True
        self.buffer = type(self.buffer)(self.buffer.default_factory)
        self.cursor = pyte.screens.Cursor(self.cursor.x, self.cursor.y, self.cursor.attrs)
        self.dirty.update(range(self.lines))

    def _leave_alt_screen(self) -> None:
        if self.listener:
            self.listener.alt_screen(False, self.rows())
        self.in_alt_screen = False
        assert self._saved_main is not None
        self.buffer, self.cursor, self.margins, _ = self._saved_main
        self._saved_main = None
        self.dirty.update(range(self.lines))

