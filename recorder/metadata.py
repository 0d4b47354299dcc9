"""The sidecar record written next to each recording (`<id>.meta.json`).

It is written when the recording starts (complete: false) and rewritten atomically
when it ends, so a crash leaves a record that says the recording is incomplete.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .home import write_private_atomic


@dataclass
class RecordingMeta:
    id: str
    cast: str
    started: str
    cwd: str
    command: str
    args: list[str]
    width: int
    height: int
    git_branch: str | None = None
    claude_version: str | None = None
    capture_input: bool = False
    recorder_pid: int = field(default_factory=os.getpid)
    ended: str | None = None
    exit_status: int | None = None
    complete: bool = False
    error: str | None = None

    def save(self, path: Path) -> None:
        write_private_atomic(path, (json.dumps(asdict(self), indent=2) + "\n").encode())


def meta_path_for(cast_path: Path) -> Path:
    """`x.cast` -> `x.meta.json` (any other name gets `.meta.json` appended)."""
    return companion(cast_path, ".meta.json")


def companion(cast_path: Path, suffix: str) -> Path:
    """A file that goes with a recording: `x.cast` -> `x<suffix>`."""
    name = cast_path.name
    stem = name[: -len(".cast")] if name.endswith(".cast") else name
    return cast_path.with_name(stem + suffix)


def git_branch(cwd: Path) -> str | None:
    """The branch checked out at `cwd`, read from `.git/HEAD` (no subprocess, no git needed)."""
    for directory in (cwd, *cwd.parents):
        dot_git = directory / ".git"
        try:
            if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
                gitdir = dot_git.read_text().strip().removeprefix("gitdir: ")
                dot_git = (directory / gitdir).resolve()
            head = (dot_git / "HEAD").read_text().strip()
        except OSError:
            continue
        if head.startswith("ref: refs/heads/"):
            return head.removeprefix("ref: refs/heads/")
        return f"(detached {head[:12]})"
    return None


def claude_version(program: str) -> str | None:
    """The version of an npm-installed Claude Code, from its package.json (cheap: no run)."""
    try:
        real = Path(program).resolve()
    except OSError:
        return None
    for directory in real.parents:
        package = directory / "package.json"
        if package.is_file():
            try:
                data = json.loads(package.read_text())
            except (OSError, ValueError):
                return None
            if str(data.get("name", "")).startswith("@anthropic-ai/claude-code"):
                return data.get("version")
            return None
    return None


def recorder_running(meta: dict) -> bool:
    """Whether the recorder that writes this recording (its sidecar `meta`) still runs."""
    if meta.get("ended") or meta.get("complete"):
        return False
    pid = meta.get("recorder_pid")
    return isinstance(pid, int) and pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists (a process of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
