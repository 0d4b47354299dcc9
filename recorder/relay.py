"""The PTY loop: relays keys and output between the user and the child, unchanged.

Signals are turned into bytes on a pipe (`signal.set_wakeup_fd`) that the `select()`
loop reads, so no work happens in signal handlers. What is recorded is handed to a
`sink` (the writer process), which must never block: what it cannot pass on at once it
keeps, and the loop selects its fd for writing while it does.

Output is read until the pty has no more (or `MAX_BURST`), then written to the user's
terminal and handed to the sink in one piece: in a burst the kernel hands out about
4 KiB per read, and one write and one event per read would cost the relay most of its time.
"""
from __future__ import annotations

import errno
import os
import select
import signal
import time
from typing import Protocol

from .child import Child
from .terminal import Terminal, set_size, write_all

READ_SIZE = 1 << 16
MAX_BURST = 1 << 18
DRAIN_GRACE = 0.05  # after the child exits, how long to wait for output still in flight
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT)
HANDLED = (signal.SIGWINCH, signal.SIGCHLD, *FORWARDED)


class Sink(Protocol):
    def output(self, t: float, data: bytes) -> None: ...
    def input(self, t: float, data: bytes) -> None: ...
    def resize(self, t: float, cols: int, rows: int) -> None: ...
    def backlog_fd(self) -> int | None: ...  # an fd to select for writing, while events wait
    def flush(self) -> None: ...  # called when that fd is writable


class Relay:
    """One recorded session: call `run()` once; it returns the child's wait status."""

    def __init__(self, child: Child, terminal: Terminal, sink: Sink | None, capture_input: bool,
                 started: float | None = None) -> None:
        self.child = child
        self.terminal = terminal
        self.sink = sink
        self.capture_input = capture_input
        self.started = time.monotonic() if started is None else started
        self._pending_input = b""
        self._stdin_open = True
        self._stdout_open = True
        self._status: int | None = None
        self._size = terminal.size()

    def run(self) -> int:
        sig_r, sig_w = os.pipe()
        os.set_blocking(sig_r, False)
        os.set_blocking(sig_w, False)
        previous = {signum: signal.signal(signum, _noop) for signum in HANDLED}
        previous_fd = signal.set_wakeup_fd(sig_w, warn_on_full_buffer=False)
        try:
            self.terminal.enter_raw()
            self._loop(sig_r)
        finally:
            signal.set_wakeup_fd(previous_fd)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.terminal.restore()
            os.close(sig_r)
            os.close(sig_w)
        assert self._status is not None
        return self._status

    # -- the loop -------------------------------------------------------------------------
    def _loop(self, sig_r: int) -> None:
        master = self.child.master_fd
        stdin = self.terminal.stdin_fd
        sink = self.sink
        while self._status is None:
            readers = [master, sig_r] + ([stdin] if self._stdin_open else [])
            writers = [master] if self._pending_input else []
            sink_fd = sink.backlog_fd() if sink is not None else None
            if sink_fd is not None:
                writers.append(sink_fd)
            readable, writable, _ = select.select(readers, writers, [])
            if sig_r in readable:
                self._on_signals(os.read(sig_r, 256))
            if master in readable and not self._read_output():
                self._status = self._wait(block=True)
                break
            if self._stdin_open and stdin in readable:
                self._read_input()
            if master in writable or (self._pending_input and master not in writers):
                self._write_input()
            if sink is not None and sink_fd in writable:
                sink.flush()
        self._drain_output()

    def _read_output(self) -> bool:
        """Relay the output there is now; False once the child's terminal is closed."""
        chunks: list[bytes] = []
        size = 0
        alive = True
        while size < MAX_BURST:
            try:
                data = os.read(self.child.master_fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno != errno.EIO:  # EIO: every process on the child's terminal closed it
                    raise
                data = b""
            if not data:
                alive = False
                break
            chunks.append(data)
            size += len(data)
        if chunks:
            self._relay_output(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        return alive

    def _relay_output(self, data: bytes) -> None:
        if self._stdout_open:
            try:
                write_all(self.terminal.stdout_fd, data)
            except OSError:
                self._stdout_open = False  # the user's terminal went away; keep recording
        if self.sink is not None:
            self.sink.output(time.monotonic() - self.started, data)

    def _read_input(self) -> None:
        try:
            data = os.read(self.terminal.stdin_fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._stdin_open = False
            if not self.terminal.stdin_is_tty:
                # Piped input ended: send end-of-file as `script` does, so `x | claude-rec run
                # --exec cat` ends like `x | cat`. A half line needs a first ^D to flush it.
                self._pending_input += b"\x04" if self._pending_input.endswith(b"\n") else b"\x04\x04"
            return
        self._pending_input += data
        if self.capture_input and self.sink is not None:
            self.sink.input(time.monotonic() - self.started, data)

    def _write_input(self) -> None:
        try:
            written = os.write(self.child.master_fd, self._pending_input)
        except BlockingIOError:
            return
        except OSError:
            self._pending_input = b""  # the child is gone; its exit ends the loop
            return
        self._pending_input = self._pending_input[written:]

    def _drain_output(self) -> None:
        """After the child exits, relay what it wrote last (grandchildren may keep the pty open)."""
        deadline = time.monotonic() + DRAIN_GRACE
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            readable, _, _ = select.select([self.child.master_fd], [], [], remaining)
            if not readable or not self._read_output():
                return

    # -- signals ---------------------------------------------------------------------------
    def _on_signals(self, numbers: bytes) -> None:
        for signum in dict.fromkeys(numbers):  # each distinct signal once, in order
            if signum == signal.SIGWINCH:
                self._resize()
            elif signum == signal.SIGCHLD:
                self._status = self._wait(block=False)
            elif signum in FORWARDED:
                if signum == signal.SIGHUP:
                    self._stdout_open = False
                    self._stdin_open = False
                self.child.signal_foreground(signum)

    def _resize(self) -> None:
        size = self.terminal.size()
        if size == self._size:
            return
        self._size = size
        try:
            set_size(self.child.master_fd, *size)
        except OSError:
            return
        if self.sink is not None:
            self.sink.resize(time.monotonic() - self.started, *size)

    def _wait(self, block: bool) -> int | None:
        """The child's wait status once it has exited; handles a suspended child on the way."""
        while True:
            try:
                pid, status = os.waitpid(self.child.pid, (0 if block else os.WNOHANG) | os.WUNTRACED)
            except ChildProcessError:
                return 0 if self._status is None else self._status
            if pid == 0:
                return None
            if os.WIFSTOPPED(status):
                self._suspend()
                if not block:
                    return None
                continue
            return status

    def _suspend(self) -> None:
        """The child was suspended (Ctrl-Z): suspend ourselves too, and resume it when resumed."""
        if self.terminal.stdin_is_tty:
            self.terminal.restore()
            previous = signal.signal(signal.SIGTSTP, signal.SIG_DFL)
            try:
                os.killpg(os.getpgrp(), signal.SIGTSTP)  # back to the user's shell, like the child
            finally:
                signal.signal(signal.SIGTSTP, previous)
            self.terminal.enter_raw()
            self._resize()
        try:
            os.kill(self.child.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def _noop(signum: int, frame: object) -> None:
    """Signals are handled in the loop, through the wakeup pipe."""
