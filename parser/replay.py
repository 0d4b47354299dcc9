"""Playing a recording back in the terminal with its timing, like `asciinema play`.

Space pauses and resumes, `.` steps one event while paused, Ctrl-C (or q) stops; the
terminal is restored on every way out.
"""
from __future__ import annotations

import os
import select
import termios
import time
import tty
from collections.abc import Iterable

from ..recorder.terminal import write_all
from .cast import Event

KEY_PAUSE, KEY_STEP, KEYS_QUIT = b" ", b".", (b"\x03", b"q")


def play(events: Iterable[Event], speed: float = 1.0, idle_limit: float | None = None,
         stdin_fd: int = 0, stdout_fd: int = 1) -> bool:
    """Write the output events to `stdout_fd` with their timing. False if stopped early."""
    interactive = os.isatty(stdin_fd)
    saved = termios.tcgetattr(stdin_fd) if interactive else None
    if interactive:
        tty.setraw(stdin_fd, termios.TCSANOW)
    try:
        return _play(events, speed, idle_limit, stdin_fd if interactive else None, stdout_fd)
    finally:
        if saved is not None:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)


def _play(events: Iterable[Event], speed: float, idle_limit: float | None, keys_fd: int | None,
          stdout_fd: int) -> bool:
    clock = time.monotonic()  # wall time at which recording time `played` was reached
    played = 0.0
    paused = False
    pause_started = 0.0
    for event in events:
        if event.code != "o":
            continue
        gap = event.time - played
        if idle_limit is not None:
            gap = min(gap, idle_limit)
        due = clock + max(gap, 0.0) / speed
        step = False
        while True:
            wait = None if paused else max(0.0, due - time.monotonic())
            if keys_fd is None:
                if wait:
                    time.sleep(wait)
                break
            readable, _, _ = select.select([keys_fd], [], [], wait)
            if not readable:
                break
            key = os.read(keys_fd, 16)
            if key in KEYS_QUIT or not key:
                return False
            if key == KEY_PAUSE:
                if paused:
                    due = time.monotonic() + max(0.0, due - pause_started)
                else:
                    pause_started = time.monotonic()
                paused = not paused
            elif key == KEY_STEP and paused:
                step = True
                break
        write_all(stdout_fd, event.data.encode())
        played = event.time
        clock = time.monotonic() if (step or paused) else due
    return True
