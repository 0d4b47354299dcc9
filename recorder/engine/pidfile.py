"""One engine per data directory: `<home>/engine/engine.pid`, with stale files recognised."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..home import open_private, private_dir
from ..metadata import pid_alive


@dataclass
class Running:
    pid: int
    since: float  # when it started (the pid file's mtime)


def pid_path(home: Path) -> Path:
    return home / "engine" / "engine.pid"


def running(home: Path) -> Running | None:
    """The engine running for `home`, or None (a pid file whose process is gone is stale)."""
    path = pid_path(home)
    try:
        pid = int(path.read_text().split()[0])
        since = path.stat().st_mtime
    except (OSError, ValueError, IndexError):
        return None
    if not pid_alive(pid) or not _is_engine(pid):
        return None
    return Running(pid, since)


def claim(home: Path) -> bool:
    """Write our pid unless another live engine holds the file; False if one does."""
    path = pid_path(home)
    private_dir(path.parent)
    current = running(home)
    if current is not None and current.pid != os.getpid():
        return False
    tmp = path.with_name(f".engine.pid.{os.getpid()}")
    fd = open_private(tmp)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return running(home) is not None and running(home).pid == os.getpid()


def release(home: Path) -> None:
    path = pid_path(home)
    try:
        if int(path.read_text().split()[0]) == os.getpid():
            path.unlink()
    except (OSError, ValueError, IndexError):
        pass


def _is_engine(pid: int) -> bool:
    """Guards against pid reuse: the process must be a claude-rec engine."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: trust the pid
    return any(part.endswith(b"claude-rec") for part in cmdline) and b"engine" in cmdline
