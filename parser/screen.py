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
- attributes (colours, bold, ...) are not kept: transcripts need only the characters, so
  a row is a list of strings (one per cell, plus pyte's cell past the right margin) instead
  of pyte's dict of `Char`s: drawing is a slice assignment, a row's text one `join`.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Protocol

import pyte
from pyte import modes as mo
from pyte.screens import Margins
from wcwidth import wcwidth

ALT_SCREEN_MODES = {1049 << 5, 1047 << 5, 47 << 5}
SYNC_OUTPUT_MODE = 2026 << 5
MODES_WITH_EFFECTS = ALT_SCREEN_MODES | {SYNC_OUTPUT_MODE, mo.DECSCNM, mo.DECCOLM, mo.DECOM}  # beyond a flag
ZERO_WIDTH_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}

# One token per match; `findall` gives a tuple of these groups each, without Match objects:
# (CR/LF run, text, move count, move, text after the move, other control, row, column, "H",
# CSI params, CSI intermediates, CSI final, ESC intermediates, ESC final, a sequence cut off
# at the end, an ESC that starts nothing known). OSC/DCS strings give only empty strings.
TOKEN = re.compile(
    r"([\r\n]+)"
    r"|([^\x00-\x1f\x7f\x1b]+)"
    r"|\x1b\[([0-9]*)([GCDAB])([^\x00-\x1f\x7f\x1b]*)"  # the cursor moves Claude Code sends most
    r"|([\x00-\x09\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f])"
    r"|\x1b\[([0-9]*);?([0-9]*)(H)"  # cursor position
    r"|\x1b\[([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e])"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC (window title, hyperlinks): ignored
    r"|\x1b[P_^X].*?\x1b\\"  # DCS, APC, PM, SOS strings: ignored
    r"|\x1b([\x20-\x2f]*)([\x30-\x4f\x51-\x57\x59\x5a\x5c\x60-\x7e])"
    r"|(\x1b(?:\[[\x20-\x3f]*|[\]P_^X].*|[\x20-\x2f]*)\Z)"  # cut at the end of an event
    r"|(\x1b)",  # starts nothing known: dropped
    re.S,
)
# Removed before tokenizing, at C speed: colours/attributes and OSC strings (titles, links).
NOT_CONTENT = re.compile(r"\x1b\[[0-9;:]*m|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
MAX_PENDING = 1 << 16

CONTROLS = {"\r": "carriage_return", "\n": "linefeed", "\x0b": "linefeed", "\x0c": "linefeed",
            "\x08": "backspace", "\t": "tab"}
ESCAPES = {"7": "save_cursor", "8": "restore_cursor", "D": "index", "E": "linefeed",
           "M": "reverse_index", "c": "reset", "H": "set_tab_stop"}
CSI = {**{final: name for final, name in pyte.Stream.csi.items()
          if name not in ("select_graphic_rendition", "report_device_attributes", "report_device_status")},
       "s": "save_cursor", "u": "restore_cursor", "S": "scroll_up", "T": "scroll_down"}


_NARROW: set[str] = set()  # characters seen that take one cell
_OTHER: set[str] = set()  # and those that do not


def _narrow(text: str) -> bool:
    """Every character of `text` takes one cell: it can be drawn like ASCII."""
    chars = set(text)
    if chars <= _NARROW:
        return True
    for char in chars - _NARROW - _OTHER:
        (_NARROW if char < "\u0300" or wcwidth(char) == 1 else _OTHER).add(char)
    return chars <= _NARROW


class ScreenListener(Protocol):
    def scrolled_off(self, text: str, bottom: int) -> None:
        """Row 0 left the screen; rows 1..bottom moved up one, `bottom` is blank now."""
    def wiped(self, lines: list[str]) -> None: ...
    def alt_screen(self, entering: bool, lines: list[str]) -> None: ...
    def sync_frame_end(self) -> None: ...


class ClaudeScreen(pyte.Screen):
    """A pyte.Screen with the fixes above; `feed(text)` takes decoded terminal output.

    `buffer[y]` is a list of `columns + 1` strings: a character per cell ("" after a wide
    one, more than one code point where a joiner or selector joined it), then the cell past
    the right margin that pyte's insert-character can leave a character in.
    """

    def __init__(self, columns: int, lines: int, listener: ScreenListener | None = None) -> None:
        self.listener = listener
        self.in_alt_screen = False
        self._saved_main: tuple[Any, ...] | None = None
        self._pending = ""
        self._erased: dict[int, str] = {}  # rows erased during this feed: a wipe in progress?
        super().__init__(columns, lines)
        self.buffer: defaultdict[int, list[str]] = defaultdict(self._new_row)  # type: ignore[assignment]

    def _new_row(self) -> list[str]:
        return [" "] * (self.columns + 1)

    def _fit_rows(self) -> None:
        """Rows made narrower than the screen (before it grew) get blank cells."""
        width = self.columns + 1
        for line in self.buffer.values():
            if len(line) < width:
                line.extend([" "] * (width - len(line)))

    # -- input -------------------------------------------------------------------------------
    def feed(self, data: str) -> None:
        self._erased = {}
        if self._pending:
            data = self._pending + data
            self._pending = ""
        data = NOT_CONTENT.sub("", data)
        while data:
            data = self._run(data)

    def _run(self, data: str) -> str:
        """Apply the tokens of `data`; returns what is left to run (after an ESC that starts a
        sequence cut off at the end, too long to wait for: it is dropped, the rest is text).

        The cursor moves, line feeds and text that fits on the row are done inline, with the
        same results as pyte's methods; the screen's state is kept in locals, read again after
        anything that may change it (a CSI or ESC sequence)."""
        cursor, buffer, dirty = self.cursor, self.buffer, self.dirty
        columns, top, bottom, inserting, new_line = self._state()
        tokens = TOKEN.findall(data)
        for (crlf, text, count, move, moved_text, control, row, column, position, params, inter, final,
             esc_inter, esc_final, cut, _) in tokens:
            if move:
                n = (int(count) or 1) if count else 1
                if move == "G":
                    cursor.x = (n if n < columns else columns) - 1
                elif move == "C":
                    x = cursor.x + n
                    cursor.x = x if x < columns - 1 else columns - 1
                elif move == "A":
                    y = cursor.y - n
                    cursor.y = y if y > top else top
                elif move == "B":
                    y = cursor.y + n
                    cursor.y = y if y < bottom else bottom
                else:  # "D"
                    x = (cursor.x if cursor.x < columns - 1 else columns - 1) - n
                    cursor.x = x if x > 0 else 0
                if not moved_text:
                    continue
                text = moved_text
            elif crlf:
                if "\r" in crlf:
                    cursor.x = 0  # a linefeed leaves x alone: the order of CRs and LFs does not matter
                for _ in range(crlf.count("\n")):
                    if cursor.y != bottom:
                        cursor.y = cursor.y + 1 if cursor.y < bottom else bottom  # pyte's cursor_down
                    else:
                        self.index()
                    if new_line:
                        cursor.x = 0
                continue
            elif position:
                self._position(int(row) if row else 0, int(column) if column else 0)
                continue
            elif final:
                if final == "K" and not params and not inter:
                    try:
                        self.erase_in_line(0)
                    except (TypeError, ValueError, IndexError, OverflowError):
                        pass  # as in _csi
                    continue
                self._csi(params, inter, final)
                cursor, buffer = self.cursor, self.buffer  # may be others now
                columns, top, bottom, inserting, new_line = self._state()
                continue
            elif control:
                name = CONTROLS.get(control)
                if name:
                    getattr(self, name)()
                continue
            elif esc_final:
                if not esc_inter:
                    name = ESCAPES.get(esc_final)
                    if name:
                        getattr(self, name)()
                        cursor, buffer = self.cursor, self.buffer
                        columns, top, bottom, inserting, new_line = self._state()
                continue
            elif cut:  # the last token; an ESC right after an unknown one is taken as unknown too
                if len(cut) < MAX_PENDING and not (len(tokens) > 1 and tokens[-2][-1]):
                    self._pending = cut  # wait for the rest in the next event
                    return ""
                return cut[1:]
            elif not text:
                continue  # an ignored sequence
            x = cursor.x
            end = x + len(text)
            if end <= columns and not inserting and (text.isascii() or _narrow(text)):
                buffer[cursor.y][x:end] = text  # fits on the row: the common case
                dirty.add(cursor.y)
                cursor.x = end
            else:
                self.draw(text)
        return ""

    def _position(self, line: int, column: int) -> None:
        """pyte's cursor_position, in one call."""
        line, margins = (line or 1) - 1, self.margins
        if margins is not None and mo.DECOM in self.mode:
            line += margins.top
            if not margins.top <= line <= margins.bottom:
                return
            top, bottom = margins
        else:
            top, bottom = 0, self.lines - 1
        cursor = self.cursor
        cursor.x = min(max(0, (column or 1) - 1), self.columns - 1)
        cursor.y = min(max(top, line), bottom)

    def _state(self) -> tuple[int, int, int, bool, bool]:
        """What `_run` keeps in locals: columns, top and bottom margins, insert mode, LNM."""
        margins = self.margins
        top, bottom = (margins.top, margins.bottom) if margins else (0, self.lines - 1)
        return self.columns, top, bottom, mo.IRM in self.mode, mo.LNM in self.mode

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
            if private and len(args) == 1 and args[0] << 5 not in MODES_WITH_EFFECTS:
                mode = args[0] << 5  # a flag only (cursor shown, bracketed paste, ...): pyte's result, sooner
                (self.mode.add if final == "h" else self.mode.discard)(mode)
                if mode == mo.DECTCEM:
                    self.cursor.hidden = final == "l"
                return
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
            self._draw_inserting(data)
            return
        if data.isascii() or _narrow(data):
            self._draw_ascii(data)
            return
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
            line[x] = char
            if width == 2:
                line[x + 1] = ""
            self.cursor.x = x + width
        self.dirty.add(self.cursor.y)

    def _draw_ascii(self, data: str) -> None:
        if not data:
            return
        cursor = self.cursor
        x = cursor.x
        end = x + len(data)
        if end <= self.columns:  # fits on the row: the common case
            self.buffer[cursor.y][x:end] = data
            self.dirty.add(cursor.y)
            cursor.x = end
            return
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
            self.buffer[self.cursor.y][x:x + len(part)] = part
            self.dirty.add(self.cursor.y)
            self.cursor.x = x + len(part)

    def _draw_inserting(self, data: str) -> None:
        """Insert mode (rare): pyte's `draw`, one character at a time, on rows of strings.
        (pyte's charset translation is left out: no sequence we act on changes the charset.)"""
        for char in data:
            width = wcwidth(char)
            if width <= 0:
                if width == 0 or char in ZERO_WIDTH_JOINERS:
                    self._join_previous(char)
                continue
            if self.cursor.x == self.columns:
                if mo.DECAWM in self.mode:
                    self.dirty.add(self.cursor.y)
                    self.carriage_return()
                    self.linefeed()
                else:
                    self.cursor.x -= width
            self.insert_characters(width)
            x = self.cursor.x
            line = self._row_to(self.cursor.y, x)
            line[x] = char
            if width == 2 and x + 1 < self.columns:
                line[x + 1] = ""
            self.cursor.x = min(x + width, self.columns)
            self.dirty.add(self.cursor.y)

    def _row_to(self, y: int, x: int) -> list[str]:
        """Row y, long enough for a cell at x: pyte writes past the margin where the cursor
        is (after a tab set for a wider window); a window that grows shows it again."""
        line = self.buffer[y]
        if x >= len(line):
            line.extend([" "] * (x + 1 - len(line)))
        return line

    def _join_previous(self, char: str) -> None:
        x, y = self.cursor.x, self.cursor.y
        if x == 0:
            return
        line = self._row_to(y, x - 1)
        x -= 1
        if line[x] == "" and x > 0:  # the stub after a wide character
            x -= 1
        line[x] += char

    # -- editing: pyte's methods, on rows of strings -------------------------------------------
    def insert_characters(self, count: int | None = None) -> None:
        self.dirty.add(self.cursor.y)
        count = count or 1
        x, end = self.cursor.x, self.columns + 1
        if x >= end:
            return
        line = self.buffer[self.cursor.y]
        if count >= end - x:
            line[x:end] = [" "] * (end - x)
        else:
            line[x:end] = [" "] * count + line[x:end - count]

    def delete_characters(self, count: int | None = None) -> None:
        self.dirty.add(self.cursor.y)
        count = count or 1
        x, columns = self.cursor.x, self.columns
        if x >= columns:
            return
        line = self.buffer[self.cursor.y]
        moved = line[x + count:columns + 1]
        line[x:columns] = (moved + [" "] * (columns - x))[:columns - x]
        if x + count <= columns:
            line[columns] = " "

    def erase_characters(self, count: int | None = None) -> None:
        self.dirty.add(self.cursor.y)
        count = count or 1
        x = self.cursor.x
        end = min(x + count, self.columns)
        line = self.buffer[self.cursor.y]
        if x < end:
            line[x:end] = [" "] * (end - x)

    def _erase_line(self, how: int) -> None:
        self.dirty.add(self.cursor.y)
        x = self.cursor.x
        if how == 0:
            start, end = x, self.columns
        elif how == 1:
            start, end = 0, x + 1
        elif how == 2:
            start, end = 0, self.columns
        else:
            return  # pyte raises here
        line = self.buffer[self.cursor.y]
        if start < end:
            line[start:end] = [" "] * (end - start)

    def alignment_display(self) -> None:
        self.dirty.update(range(self.lines))
        for y in range(self.lines):
            self.buffer[y][:self.columns] = "E" * self.columns

    @property
    def display(self) -> list[str]:
        """pyte's: every row at full width, the stub after a wide character left out."""
        def render(line: list[str]) -> str:
            out, wide = [], False
            for char in line[:self.columns]:
                if wide:
                    wide = False
                    continue
                wide = bool(char) and wcwidth(char[0]) == 2
                out.append(char)
            return "".join(out)
        return [render(self.buffer[y]) for y in range(self.lines)]

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
        if line is None:
            return ""
        if line[-1] == " " and len(line) == self.columns + 1:
            return "".join(line).rstrip()
        return "".join(line[:self.columns]).rstrip()

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
            self._erase_line(how)
            if text:
                self._erased.setdefault(self.cursor.y, text)
                if len(self._erased) >= 2 and self._all_blank():
                    erased, self._erased = self._erased, {}
                    self.listener.wiped([erased.get(y, "") for y in range(max(erased) + 1)])
            return
        self._erase_line(how)

    def _all_blank(self) -> bool:
        return not any(self.row_text(y) for y in range(self.lines))

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        wipes_all = how in (2, 3) or (how == 0 and self.cursor.x == 0 and self.cursor.y == 0)
        if wipes_all and self.listener and not self.in_alt_screen:
            self.listener.wiped(self.rows())
        if how == 0:
            interval = range(self.cursor.y + 1, self.lines)
        elif how == 1:
            interval = range(self.cursor.y)
        elif how in (2, 3):
            interval = range(self.lines)
        else:
            return  # pyte raises here
        self.dirty.update(interval)
        for y in interval:
            line = self.buffer[y]
            line[:] = [" "] * len(line)
        if how in (0, 1):
            self.erase_in_line(how)

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
        # pyte's resize, on rows of strings
        columns = columns or self.columns
        if lines == self.lines and columns == self.columns:
            return
        self.dirty.update(range(lines))
        if lines < self.lines:
            self.save_cursor()
            self.cursor_position(0, 0)
            self.delete_lines(self.lines - lines)  # drop from the top
            self.restore_cursor()
        if columns < self.columns:
            for line in self.buffer.values():
                line[columns:self.columns] = [" "] * len(line[columns:self.columns])
        self.lines, self.columns = lines, columns
        self._fit_rows()
        self.set_margins()

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private"):
            shifted = {m << 5 for m in modes}
            if shifted & ALT_SCREEN_MODES and not self.in_alt_screen:
                self._enter_alt_screen()
            modes = tuple(m for m in modes if m << 5 not in ALT_SCREEN_MODES | {SYNC_OUTPUT_MODE})
        super().set_mode(*self._screen_reverse(modes, True, **kwargs), **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private"):
            shifted = {m << 5 for m in modes}
            if shifted & ALT_SCREEN_MODES and self.in_alt_screen:
                self._leave_alt_screen()
            if SYNC_OUTPUT_MODE in shifted and self.listener:
                self.listener.sync_frame_end()
            modes = tuple(m for m in modes if m << 5 not in ALT_SCREEN_MODES | {SYNC_OUTPUT_MODE})
        super().reset_mode(*self._screen_reverse(modes, False, **kwargs), **kwargs)

    def _screen_reverse(self, modes: tuple[int, ...], on: bool, private: bool = False) -> tuple[int, ...]:
        """DECSCNM (reverse video) changes attributes only, which are not kept; pyte's handling
        would rewrite every cell as a `Char`. Returns the other modes."""
        screen_mode = mo.DECSCNM >> 5 if private else mo.DECSCNM
        if screen_mode not in modes:
            return modes
        self.dirty.update(range(self.lines))
        (self.mode.add if on else self.mode.discard)(mo.DECSCNM)
        return tuple(m for m in modes if m != screen_mode)

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
        self._fit_rows()  # the window may have grown meanwhile
        self.dirty.update(range(self.lines))

