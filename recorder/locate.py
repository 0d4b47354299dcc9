"""Finding the real `claude`: `$CLAUDE_REC_CLAUDE`, else the first `claude` on PATH that is
not our own shim (bin/claude), so the shim can never end up running itself."""
from __future__ import annotations

import os
from pathlib import Path

SHIM_MARKER = b"claude-rec-shim"


class ProgramNotFound(Exception):
    pass


def is_shim(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return SHIM_MARKER in handle.read(4096)
    except OSError:
        return False


def which(name: str, path: str | None = None, skip_shims: bool = False) -> Path | None:
    """Like shutil.which, optionally skipping claude-rec's shims."""
    if os.sep in name:
        candidate = Path(name)
        return candidate if _executable(candidate) else None
    for directory in (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep):
        candidate = Path(directory or ".") / name
        if _executable(candidate) and not (skip_shims and is_shim(candidate)):
            return candidate
    return None


def find_claude() -> Path:
    explicit = os.environ.get("CLAUDE_REC_CLAUDE")
    if explicit:
        found = which(explicit)
        if found is None:
            raise ProgramNotFound(f"CLAUDE_REC_CLAUDE={explicit} is not an executable file")
        return found
    found = which("claude", skip_shims=True)
    if found is None:
        raise ProgramNotFound("claude not found on PATH (install @anthropic-ai/claude-code, "
                              "or set CLAUDE_REC_CLAUDE to its path)")
    return found


def find_program(name: str) -> Path:
    found = which(name)
    if found is None:
        raise ProgramNotFound(f"{name}: command not found")
    return found


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
