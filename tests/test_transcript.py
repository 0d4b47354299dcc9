"""Transcript building on targeted streams: scrolling, wipes and redraws, frames, transients."""
from __future__ import annotations

from claude_rec.parser.cast import Event, Header
from claude_rec.parser.transcript import TranscriptBuilder

RULE = "─" * 40


def build(*events: tuple[float, str, str], size: tuple[int, int] = (40, 6)) -> list[str]:
    builder = TranscriptBuilder(Header(*size))
    for t, code, data in events:
        builder.feed(Event(t, code, data))
    return [line.text for line in builder.finish()]


def lines(*texts: str) -> str:
    return "".join(text + "\r\n" for text in texts)


def row_by_row_clear(rows: int) -> str:
    """How Claude Code clears: home, then erase-line and down on every row."""
    return "\x1b[H" + "\x1b[2K\x1b[1B" * rows + "\x1b[H"


def test_scrolled_lines_come_once_in_order() -> None:
    out = build((0, "o", lines(*(f"line {i}" for i in range(12)))))
    assert out == [f"line {i}" for i in range(12)]


def test_spinner_and_input_box_are_not_conversation() -> None:
    frames = [(0.1 * i, "o", f"\x1b[2K\r{glyph} Thinking… (esc to interrupt)") for i, glyph in enumerate("✢✳✶✻")]
    out = build((0, "o", lines("❯ hello", "● Hi there.")), *frames,
                (1, "o", "\r\x1b[2K" + lines("✻ Baked for 1s", RULE, "❯ typing", RULE) + "  ? for shortcuts"),
                size=(40, 10))
    assert out == ["❯ hello", "● Hi there.", "✻ Baked for 1s"]


def test_a_redraw_after_a_clear_replaces_the_old_copy() -> None:
    first = lines("banner", "", "❯ question", "", "● An answer that is long enough to wrap", "  at forty columns.")
    out = build((0, "o", first), (1, "o", row_by_row_clear(6) + first), size=(40, 8))
    assert out == ["banner", "", "❯ question", "", "● An answer that is long enough to wrap", "  at forty columns."]


def test_a_redraw_at_a_new_width_keeps_only_the_new_wrapping() -> None:
    narrow = lines("banner", "❯ question", "● one two three four five six", "  seven eight nine ten")
    wide = lines("banner", "❯ question", "● one two three four five six seven eight", "  nine ten")
    out = build((0, "o", narrow), (1, "r", "50x8"), (1.1, "o", row_by_row_clear(8) + wide), size=(40, 8))
    assert out == ["banner", "❯ question", "● one two three four five six seven eight", "  nine ten"]


def test_a_clear_followed_by_something_else_keeps_what_was_there() -> None:
    out = build((0, "o", lines("old conversation", "● old answer")),
                (1, "o", "\x1b[2J\x1b[3J\x1b[H" + lines("fresh start")))
    assert out == ["old conversation", "● old answer", "fresh start"]


def test_full_screen_frames_are_stitched_once() -> None:
    def frame(first: int) -> str:
        return "\x1b[H" + "".join(f"\x1b[{row + 1};1H\x1b[2Krow {first + row}" for row in range(5))
    events = [(0, "o", "\x1b[?1049h")] + [(0.1 * (i + 1), "o", frame(i)) for i in range(8)]
    events.append((2, "o", "\x1b[?1049l"))
    assert build(*events) == [f"row {i}" for i in range(12)]


def test_a_frame_that_jumps_past_the_screen_is_appended() -> None:
    def frame(*texts: str) -> str:
        return "\x1b[H\x1b[2J" + "".join(f"\x1b[{row + 1};1H{text}" for row, text in enumerate(texts))
    events = [(0, "o", "\x1b[?1049h"), (0.1, "o", frame("❯ prompt", "a", "b")),
              (0.2, "o", frame("x", "y", "z", "end")), (1, "o", "\x1b[?1049l")]
    assert build(*events) == ["❯ prompt", "a", "b", "x", "y", "z", "end"]


def test_a_frame_drawn_in_several_writes_is_taken_whole() -> None:
    events = [(0, "o", "\x1b[?1049h\x1b[1;1Hone\x1b[2;1Htwo"),
              (0.1, "o", "\x1b[H\x1b[2Kthree"), (0.1001, "o", "\x1b[2;1H\x1b[2Kfour"),
              (1, "o", "\x1b[?1049l")]
    out = build(*events)
    assert out.count("four") == 1 and "three" in out


def test_times_of_first_sight_and_last_change() -> None:
    builder = TranscriptBuilder(Header(40, 5))
    builder.feed(Event(1.0, "o", "status: 1%"))
    builder.feed(Event(2.5, "o", "\r\x1b[2Kstatus: 100%\r\n"))
    line = builder.finish()[0]
    assert (line.text, line.first_seen, line.last_changed) == ("status: 100%", 1.0, 2.5)
