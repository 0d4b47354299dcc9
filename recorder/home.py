"""The data directory (`--home`, `CLAUDE_REC_HOME`, XDG default) and private file helpers.

Everything claude-rec writes may hold secrets, so directories are created 0700 and
files 0600 whatever the umask says.
"""
from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def default_home() -> Path:
    """`$CLAUDE_REC_HOME`, else `$XDG_DATA_HOME/claude-rec`, else `~/.local/share/claude-rec`."""
    explicit = os.environ.get("CLAUDE_REC_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "claude-rec"


def private_dir(path: Path) -> Path:
    """Create `path` and its missing parents as 0700 directories (existing ones are left alone)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass
        os.chmod(directory, DIR_MODE)  # whatever the umask
    return path


def ensure_home(home: Path) -> Path:
    """Create the data directory, and make it private even if it already existed."""
    private_dir(home)
    if home.stat().st_mode & 0o777 != DIR_MODE:
        os.chmod(home, DIR_MODE)
    return home


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """Open `path` as a raw fd with mode 0600 (also when it already existed)."""
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE and _is_regular(fd):
            os.fchmod(fd, FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def write_private_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically (temp file + rename), mode 0600."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = open_private(tmp)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _is_regular(fd: int) -> bool:
    import stat

    return stat.S_ISREG(os.fstat(fd).st_mode)
