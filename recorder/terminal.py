"""The user's side of the relay: raw mode, window size, and writes that never give up early."""
from __future__ import annotations

import fcntl
import os
import select
import struct
import termios
import tty
from dataclasses import dataclass

DEFAULT_SIZE = (80, 24)


def get_size(fd: int) -> tuple[int, int] | None:
    """(columns, rows) of the terminal on `fd`, or None if it is not a terminal."""
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    if cols <= 0 or rows <= 0:
        return None
    return cols, rows


def set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def write_all(fd: int, data: bytes) -> None:
    """Write every byte, waiting out EAGAIN (the fd may be non-blocking, e.g. shared with node)."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            select.select([], [fd], [])


@dataclass
class Terminal:
    """The recorder's stdin/stdout; either may be a terminal, a pipe or a file."""

    stdin_fd: int = 0
    stdout_fd: int = 1

    def __post_init__(self) -> None:
        self.stdin_is_tty = os.isatty(self.stdin_fd)
        self.stdout_is_tty = os.isatty(self.stdout_fd)
        self._saved_mode: list | None = None

    def size(self) -> tuple[int, int]:
        """The size to give the child: the user's terminal, else $COLUMNS/$LINES, else 80x24."""
        for fd in (self.stdin_fd, self.stdout_fd):
            size = get_size(fd)
            if size:
                return size
        try:
            return int(os.environ["COLUMNS"]), int(os.environ["LINES"])
        except (KeyError, ValueError):
            return DEFAULT_SIZE

    def modes(self) -> list | None:
        """The user's termios attributes, to copy onto the child's terminal."""
        if not self.stdin_is_tty:
            return None
        return termios.tcgetattr(self.stdin_fd)

    def enter_raw(self) -> None:
        """Put the user's terminal in raw mode, keeping typed-ahead input."""
        if not self.stdin_is_tty:
            return
        if self._saved_mode is None:
            self._saved_mode = termios.tcgetattr(self.stdin_fd)
        tty.setraw(self.stdin_fd, termios.TCSANOW)

    def restore(self) -> None:
        """Put the user's terminal back as it was; safe to call more than once."""
        if self._saved_mode is None:
            return
        try:
            termios.tcsetattr(self.stdin_fd, termios.TCSADRAIN, self._saved_mode)
        except termios.error:
            pass  # the terminal is gone (hang-up): nothing to restore
