"""The screen emulator (pyte with our fixes) agrees with tmux on targeted streams."""
from __future__ import annotations

import pytest

from claude_rec.parser.screen import ClaudeScreen
from tmux_oracle import tmux_render

CASES = {
    "private CSI sequences change nothing": "plain \x1b[>4mnot underlined\x1b[>5u\x1b[<u\x1b[?u end\r\nnext",
    "zero-width joiners and variation selectors": "⚠️ warn 👨\u200d👩\u200d👧 family ✔︎ ok\r\nnext line",
    "wide characters": "日本語テキスト|\r\n中文 and 한국어|",
    "repaint in place": "status: 10%\r\x1b[2Kstatus: 100%\r\n\x1b[1Aagain\x1b[K\r\n",
    "cursor moves and erases": "abcdef\r\nghijkl\x1b[1;3H\x1b[K\x1b[2;2H\x1b[1P\x1b[3G!",
    "colours are not text": "\x1b[38;2;255;0;0mred\x1b[0m \x1b[1;4mbold\x1b[m \x1b[48;5;22mbg\x1b[49m",
    "osc titles and hyperlinks": "\x1b]0;title\x07\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ text",
    "wrapping at the margin": "x" * 45 + "\r\n" + "y" * 40 + "z",
    "scrolling region": "1\r\n2\r\n3\r\n4\r\n5\x1b[2;4r\x1b[4;1H\n\n\x1b[r\x1b[5;1Hbottom",
    "insert and delete lines": "a\r\nb\r\nc\r\n\x1b[2;1H\x1b[1Linserted\x1b[4;1H\x1b[1M",
    "alternate screen leaves the main screen intact": "main text\r\n\x1b[?1049h\x1b[2Jalt frame\x1b[?1049lafter",
    "synchronized output": "\x1b[?2026hframe one\x1b[?2026l\r\n\x1b[?2026hframe two\x1b[?2026l",
    "tabs and backspace": "a\tb\tc\r\nabc\x08\x08X",
    "insert mode": "abcdef\r\x1b[4hXY日\x1b[4l\r\nline two",
    "insert, delete and erase characters": "abcdefgh\r\x1b[2P\x1b[1X\x1b[4G\x1b[3@!\r\nwide 日本\x1b[1G\x1b[2P",
    "erase to the start of the line and the screen": "first row\r\nsecond row\x1b[4D\x1b[1K\x1b[1J",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_screen_matches_tmux(name: str) -> None:
    stream = CASES[name]
    screen = ClaudeScreen(40, 6)
    for i in range(0, len(stream), 7):  # fed in pieces: sequences split across events
        screen.feed(stream[i:i + 7])
    ours = screen.rows()
    while ours and not ours[-1]:
        ours.pop()
    assert ours == tmux_render(stream.encode(), 40, 6)


def test_text_after_a_zero_width_joiner_is_not_lost() -> None:
    screen = ClaudeScreen(40, 3)
    screen.feed("👨\u200d👩\u200d👧 and the rest")
    assert screen.rows()[0].endswith("and the rest")


def test_an_escape_sequence_split_across_events() -> None:
    screen = ClaudeScreen(20, 3)
    for piece in ("ab\x1b", "[3", "8;2;1;2;3mcd\x1b]0;ti", "tle\x07ef"):
        screen.feed(piece)
    assert screen.rows()[0] == "abcdef"


def test_junk_never_raises() -> None:
    screen = ClaudeScreen(10, 3)
    screen.feed("\x1b[99999999999999999999A\x1b[;;;;H\x1b[5;1:2m\x1b\x1b\x1b[?1049h\x00\x7f\x1b[200~ok")
    screen.feed("\x1b[3K\x1b[4J\x1b[99999999999999999999@\x1b[99999999999999999999P")  # pyte raised on the first two
    screen.feed("\x1b[" + "9" * 100000 + "X")
    assert "ok" in "".join(screen.rows())
