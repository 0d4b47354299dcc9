"""The background writer: the relay hands it events and never waits for the disk.

Events are encoded and written on a separate thread. Whatever is queued reaches the
file as soon as the queue runs dry, and at least every `FLUSH_INTERVAL` seconds during
a burst, each batch in one `write()` of whole lines, so a killed recorder leaves a file
that is valid up to its last complete batch. If the disk fails (full, gone, read-only)
the writer stops, keeps the reason, and the session goes on unrecorded.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path

from .asciicast import EventEncoder, encode_line
from .home import open_private

FLUSH_INTERVAL = 0.1
BATCH_BYTES = 1 << 20
MAX_PENDING_BYTES = 256 << 20
_STOP = object()


class CastWriter:
    """Owns the `.cast` file descriptor. `output`, `input` and `resize` never block."""

    def __init__(self, path: Path, head: dict) -> None:
        self.path = path
        self.error: str | None = None
        self.dropped_bytes = 0
        self._fd = open_private(path)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._encoder = EventEncoder()
        self._enqueued = 0  # written only by the relay thread
        self._written = 0  # written only by the writer thread
        self._last_t = 0.0
        try:
            first_line = encode_line(head)
            _write_all(self._fd, first_line)
        except OSError:
            os.close(self._fd)
            raise
        self._good_size = len(first_line)
        self._thread = threading.Thread(target=self._run, name="claude-rec-writer", daemon=True)

    def start(self) -> None:
        """Start the writer thread (after forking the child, so the fork copies no thread)."""
        self._thread.start()

    # -- relay side -------------------------------------------------------------------
    def output(self, t: float, data: bytes) -> None:
        self._put((t, "o", data), len(data))

    def input(self, t: float, data: bytes) -> None:
        self._put((t, "i", data), len(data))

    def resize(self, t: float, cols: int, rows: int) -> None:
        self._put((t, "r", (cols, rows)), 16)

    def close(self, timeout: float = 10.0) -> bool:
        """Write what is queued and close. True if the recording is complete."""
        if not self._thread.is_alive() and self._thread.ident is None:
            self._thread.start()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.error = self.error or f"the disk did not take the last events within {timeout:.0f}s"
            return False
        return self.error is None and self.dropped_bytes == 0

    def _put(self, event: tuple, size: int) -> None:
        if self.error is not None:
            return
        if self._enqueued - self._written > MAX_PENDING_BYTES:
            # The disk is far behind: drop rather than stall the user's session.
            self.dropped_bytes += size
            return
        self._enqueued += size
        self._queue.put(event)

    # -- writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        batch: list[bytes] = []
        batch_size = 0
        last_flush = time.monotonic()
        stopping = False
        while not stopping:
            try:
                item = self._queue.get(timeout=FLUSH_INTERVAL) if not batch else self._queue.get_nowait()
            except queue.Empty:
                item = None
            if item is _STOP:
                stopping = True
                batch.append(self._encoder.finish(self._last_t))
            elif item is not None:
                t, code, payload = item
                self._last_t = t
                if code == "r":
                    line = self._encoder.resize(t, *payload)
                    self._written += 16
                else:
                    line = self._encoder.data(t, code, payload)
                    self._written += len(payload)
                batch.append(line)
                batch_size += len(line)
            now = time.monotonic()
            if batch and (item is None or stopping or batch_size >= BATCH_BYTES
                          or now - last_flush >= FLUSH_INTERVAL):
                self._write(b"".join(batch))
                batch, batch_size, last_flush = [], 0, now
        self._close_fd()

    def _write(self, data: bytes) -> None:
        if self.error is not None or not data:
            return
        try:
            _write_all(self._fd, data)
            self._good_size += len(data)
            if os.fstat(self._fd).st_nlink == 0:
                self.error = f"{self.path} was deleted during the session"
                self._close_fd()
                return
        except OSError as exc:
            self.error = f"cannot write {self.path}: {exc.strerror or exc}"
            try:  # cut a half-written batch so the file stays valid up to its last whole event
                os.ftruncate(self._fd, self._good_size)
            except OSError:
                pass
            self._close_fd()

    def _close_fd(self) -> None:
        if self._fd >= 0:
            try:
                os.close(self._fd)
            except OSError as exc:
                self.error = self.error or f"cannot close {self.path}: {exc.strerror or exc}"
            self._fd = -1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
