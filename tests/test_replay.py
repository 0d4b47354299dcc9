"""`claude-rec replay`: timing, idle limit, pause, step, stop, and the terminal restored."""
from __future__ import annotations

import json
import termios
import time
from pathlib import Path

import pexpect

from conftest import CLAUDE_REC, child_env


def write_cast(path: Path, events: list[tuple[float, str]]) -> Path:
    rows = [json.dumps({"version": 2, "width": 40, "height": 6})]
    rows += [json.dumps([t, "o", text]) for t, text in events]
    path.write_text("\n".join(rows) + "\n")
    return path


def replay(cast: Path, *options: str) -> pexpect.spawn:
    return pexpect.spawn(CLAUDE_REC, ["replay", *options, str(cast)], env=child_env(), timeout=15,
                         dimensions=(6, 40))


def test_plays_with_its_timing_and_idle_limit(tmp_path: Path) -> None:
    cast = write_cast(tmp_path / "s.cast", [(0.0, "first\r\n"), (1.0, "second\r\n"), (30.0, "last\r\n")])
    start = time.monotonic()
    child = replay(cast, "--idle-limit", "1")
    child.expect("first")
    child.expect("second")
    assert time.monotonic() - start >= 0.9  # the 1 s gap is kept
    child.expect("last")
    child.expect(pexpect.EOF)
    assert time.monotonic() - start < 8  # the 29 s gap was cut to 1 s


def test_space_pauses_dot_steps_ctrl_c_stops_and_restores(tmp_path: Path) -> None:
    cast = write_cast(tmp_path / "s.cast", [(0.0, "one\r\n"), (0.5, "two\r\n"), (1.0, "three\r\n"),
                                           (60.0, "never\r\n")])
    child = replay(cast)
    before = termios.tcgetattr(child.child_fd)
    child.expect("one")
    child.send(" ")  # pause
    assert child.expect([pexpect.TIMEOUT, "two"], timeout=1.5) == 0, "paused: nothing more is played"
    child.send(".")  # step: exactly one more event
    child.expect("two")
    assert child.expect([pexpect.TIMEOUT, "three"], timeout=1.2) == 0, "still paused after the step"
    child.send(" ")  # resume
    child.expect("three")
    child.sendcontrol("c")
    child.expect(pexpect.EOF)
    assert termios.tcgetattr(child.child_fd) == before
    child.close()
    assert "never" not in (child.before or b"").decode()


def test_speed_factor(tmp_path: Path) -> None:
    cast = write_cast(tmp_path / "s.cast", [(0.0, "a\r\n"), (4.0, "b\r\n")])
    start = time.monotonic()
    child = replay(cast, "--speed", "8")
    child.expect("b")
    assert 0.4 <= time.monotonic() - start < 3
