"""The writer process: the relay hands it raw events and never waits for it or the disk.

Why a process: decoding UTF-8 and encoding JSON costs the recorder about three times
what relaying the bytes does. On a thread it holds the GIL against the relay loop and
halves the throughput of a burst; in a forked process it runs on another core.

Relay side (`CastWriter`): each event becomes a small binary frame (code, time, length,
raw bytes) written to a non-blocking pipe. What the pipe cannot take at once waits in a
backlog that the relay's `select()` loop flushes when the pipe is writable
(`backlog_fd()`, `flush()`); beyond `MAX_PENDING_BYTES` events are dropped and counted,
so a stalled disk never stalls the user's session.

Writer side (`_serve`): it owns the `.cast` file. Whatever it has encoded reaches the
file as soon as its input runs dry, and at least every `FLUSH_INTERVAL` seconds during a
burst, each batch in one `write()` of whole lines, so a killed recorder leaves a file
that is valid up to its last complete batch (and a SIGKILLed relay closes the pipe: the
writer sees the end of its input, finishes the file and exits). If the disk fails
(full, gone, read-only, file deleted) it cuts the file back to its last whole batch,
reports the reason on a status pipe and exits; the session goes on unrecorded.
"""
from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import struct
import time
from pathlib import Path

from .asciicast import EventEncoder, encode_line
from .home import open_private

FLUSH_INTERVAL = 0.1
BATCH_BYTES = 1 << 20
MAX_PENDING_BYTES = 256 << 20
PIPE_SIZE = 1 << 20
READ_SIZE = 1 << 20
FRAME = struct.Struct("=cdI")  # b"o" / b"i" / b"r", seconds since the start, payload length
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux only; elsewhere the pipe stays small


class CastWriter:
    """Relay side: `output`, `input`, `resize` and `flush` never block."""

    def __init__(self, path: Path, head: dict) -> None:
        """Create the file and write its header now, so an unwritable output shows at once."""
        self.path = path
        self.error: str | None = None
        self.dropped_bytes = 0
        self._fd = open_private(path)
        try:
            first_line = encode_line(head)
            _write_all(self._fd, first_line)
        except OSError:
            os.close(self._fd)
            raise
        self._good_size = len(first_line)
        self._pipe = -1  # frames to the writer process
        self._status = -1  # its verdict back, read by close()
        self._pid = 0
        self._backlog = bytearray()

    def start(self) -> None:
        """Fork the writer process; after the child, so that the child holds no end of the pipe."""
        fds: list[int] = []
        try:
            data_r, data_w = os.pipe()
            fds += (data_r, data_w)
            status_r, status_w = os.pipe()
            fds += (status_r, status_w)
            try:
                fcntl.fcntl(data_w, F_SETPIPE_SZ, PIPE_SIZE)
            except OSError:
                pass  # a smaller pipe only means more trips through the backlog
            pid = os.fork()
        except OSError as exc:  # out of processes or fds: the session goes on unrecorded
            self.error = f"cannot start the writer process: {exc.strerror or exc}"
            for fd in fds:
                os.close(fd)
            return
        if pid == 0:  # pragma: no cover - runs in the writer process
            try:
                _detach(keep=(self._fd, data_r, status_w))
                _serve(self._fd, self.path, self._good_size, data_r, status_w)
            finally:
                os._exit(0)  # never return into the recorder's code in the forked copy
        os.close(self._fd)
        self._fd = -1
        os.close(data_r)
        os.close(status_w)
        os.set_blocking(data_w, False)
        self._pipe, self._status, self._pid = data_w, status_r, pid

    def output(self, t: float, data: bytes) -> None:
        self._send(b"o", t, data)

    def input(self, t: float, data: bytes) -> None:
        self._send(b"i", t, data)

    def resize(self, t: float, cols: int, rows: int) -> None:
        self._send(b"r", t, f"{cols}x{rows}".encode())

    def backlog_fd(self) -> int | None:
        """The pipe while events wait for it: the relay selects it for writing and calls `flush`."""
        return self._pipe if self._backlog and self._pipe >= 0 else None

    def flush(self) -> None:
        """Move what the pipe takes now from the backlog into it."""
        try:
            written = os.write(self._pipe, self._backlog)
        except BlockingIOError:
            return
        except OSError:  # the writer process stopped (a disk error it will report) or was killed
            self._backlog.clear()
            os.close(self._pipe)
            self._pipe = -1
            return
        del self._backlog[:written]

    def close(self, timeout: float = 10.0) -> bool:
        """Hand over the backlog, let the writer finish the file, and get its verdict.

        True if the recording is complete; otherwise `error` and `dropped_bytes` say why.
        """
        if self._pid == 0:  # never started: the file holds the header only
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            return self.error is None
        deadline = time.monotonic() + timeout
        while self._backlog and self._pipe >= 0 and time.monotonic() < deadline:
            select.select([], [self._pipe], [], max(0.0, deadline - time.monotonic()))
            self.flush()
        if self._pipe >= 0:
            os.close(self._pipe)  # the writer sees the end of its input
            self._pipe = -1
        reply = _read_until_eof(self._status, deadline) if not self._backlog else None
        os.close(self._status)
        if reply is None:  # the writer is still at work: leave it to finish the file on its own
            self.error = self.error or f"the disk did not take the last events within {timeout:.0f}s"
            return False
        try:
            os.waitpid(self._pid, 0)
        except ChildProcessError:
            pass
        try:
            self.error = self.error or json.loads(reply)["error"]
        except (ValueError, KeyError, TypeError):
            self.error = self.error or "the writer process ended unexpectedly"
        return self.error is None and self.dropped_bytes == 0

    def _send(self, code: bytes, t: float, data: bytes) -> None:
        if self._pipe < 0:
            return
        if len(self._backlog) + len(data) > MAX_PENDING_BYTES:
            self.dropped_bytes += len(data)  # the disk is far behind: drop rather than stall
            return
        was_empty = not self._backlog
        self._backlog += FRAME.pack(code, t, len(data))
        self._backlog += data
        if was_empty:  # otherwise the pipe was full a moment ago: the relay's select() will say
            self.flush()


# -- the writer process ------------------------------------------------------------------
def _detach(keep: tuple[int, ...]) -> None:  # pragma: no cover - runs in the writer process
    """Leave the user's session: no terminal, no signals meant for the session, no other fds.

    Holding the pty master or the user's terminal would keep them open after the
    recorder exits (a pipe reading our stdout would not see its end).
    """
    os.setsid()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGTSTP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd != null:
            os.dup2(null, fd)
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def _serve(fd: int, path: Path, good_size: int, data_r: int, status_w: int) -> None:  # pragma: no cover
    """Turn frames into event lines until the relay closes the pipe, then report."""
    cast = _CastFile(fd, path, good_size)
    encoder = EventEncoder()
    os.set_blocking(data_r, False)
    batch: list[bytes] = []
    batch_size = 0
    last_flush = time.monotonic()
    rest = b""  # the start of a frame whose end has not arrived yet
    t = 0.0
    while cast.error is None:
        try:
            chunk = os.read(data_r, READ_SIZE)
        except BlockingIOError:  # input ran dry: write what we have, then wait for more
            cast.write(batch)
            batch, batch_size, last_flush = [], 0, time.monotonic()
            select.select([data_r], [], [])
            continue
        if not chunk:
            break
        data = rest + chunk if rest else chunk
        offset, end_of_data = 0, len(data)
        while end_of_data - offset >= FRAME.size:
            code, t, size = FRAME.unpack_from(data, offset)
            start = offset + FRAME.size
            if start + size > end_of_data:
                break
            payload = data[start:start + size]
            offset = start + size
            if code == b"r":
                cols, rows = payload.split(b"x")
                line = encoder.resize(t, int(cols), int(rows))
            else:
                line = encoder.data(t, code.decode("ascii"), payload)
            batch.append(line)
            batch_size += len(line)
        rest = data[offset:]
        if batch_size >= BATCH_BYTES or time.monotonic() - last_flush >= FLUSH_INTERVAL:
            cast.write(batch)
            batch, batch_size, last_flush = [], 0, time.monotonic()
    batch.append(encoder.finish(t))  # half-characters left at the end, as U+FFFD
    cast.write(batch)
    cast.close()
    try:
        os.write(status_w, json.dumps({"error": cast.error}).encode())
    except OSError:
        pass  # the recorder is gone: nobody is waiting for the verdict


class _CastFile:
    """The `.cast` file in the writer process; after the first error it writes nothing more."""

    def __init__(self, fd: int, path: Path, good_size: int) -> None:
        self.fd = fd
        self.path = path
        self.good_size = good_size  # the file up to here is whole lines
        self.error: str | None = None

    def write(self, lines: list[bytes]) -> None:
        data = b"".join(lines)
        if self.error is not None or not data:
            return
        try:
            _write_all(self.fd, data)
            self.good_size += len(data)
            if os.fstat(self.fd).st_nlink == 0:
                self.error = f"{self.path} was deleted during the session"
                self.close()
        except OSError as exc:
            self.error = f"cannot write {self.path}: {exc.strerror or exc}"
            try:  # cut a half-written batch so the file stays valid up to its last whole event
                os.ftruncate(self.fd, self.good_size)
            except OSError:
                pass
            self.close()

    def close(self) -> None:
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError as exc:
                self.error = self.error or f"cannot close {self.path}: {exc.strerror or exc}"
            self.fd = -1


def _read_until_eof(fd: int, deadline: float) -> bytes | None:
    """All that `fd` gives until its end, or None if the deadline comes first."""
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
