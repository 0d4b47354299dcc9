"""`record()`: the library call behind `claude-rec run`.

It ties together the child's terminal, the relay loop, the writer process and the
sidecar. Recording is best effort by design: if the file cannot be written, the
session still runs, and the user gets one warning when it ends.
"""
from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import asciicast
from .child import spawn
from .home import ensure_home, private_dir, write_private_atomic
from .hooks import hooks_path_for, settings_for, settings_path_for
from .metadata import RecordingMeta, claude_version, git_branch, meta_path_for
from .relay import Relay
from .terminal import Terminal
from .writer import CastWriter

RECORDING_ENV = "CLAUDE_REC_RECORDING"  # set in the child: the recording's id
CAST_ENV = "CLAUDE_REC_CAST"  # set in the child: the recording's path


@dataclass
class RecordResult:
    exit_code: int
    cast_path: Path | None
    meta_path: Path | None
    complete: bool
    warning: str | None


def new_recording_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def default_output(home: Path, now: datetime, recording_id: str) -> Path:
    return home / "recordings" / f"{now:%Y}" / f"{now:%m}" / f"{now:%d}" / f"{recording_id}.cast"


def exit_code_of(status: int) -> int:
    """The shell's view of a wait status: the exit code, or 128 + the signal number."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def record(argv: list[str], *, home: Path, output: Path | None = None, capture_input: bool = False,
           terminal: Terminal | None = None, env: dict[str, str] | None = None,
           hook_command: str | None = None) -> RecordResult:
    """Run `argv` in a pseudo-terminal, relaying it to `terminal`, and record it.

    With `hook_command` (the `claude-rec` executable), `argv` is Claude Code: it gets an
    extra `--settings` file whose hooks log every event next to the recording."""
    terminal = terminal or Terminal()
    env = dict(os.environ if env is None else env)
    now = datetime.now(timezone.utc)
    recording_id = new_recording_id(now)
    cast_path = output or default_output(home, now, recording_id)
    meta_path = meta_path_for(cast_path)
    cols, rows = terminal.size()
    cwd = Path.cwd()
    meta = RecordingMeta(
        id=recording_id, cast=cast_path.name, started=now.isoformat(), cwd=str(cwd),
        command=argv[0], args=argv[1:], width=cols, height=rows, git_branch=git_branch(cwd),
        claude_version=claude_version(argv[0]) if Path(argv[0]).name.startswith("claude") else None,
        capture_input=capture_input,
    )
    head = asciicast.header(cols, rows, int(now.timestamp()), shlex.join(argv), env)
    if output is None:
        ensure_home(home)
    writer, problem = _open_recording(cast_path, head, meta, meta_path)
    if problem:
        consequence = "the session runs unrecorded" if writer is None else "recording anyway"
        print(f"claude-rec: warning: {problem}; {consequence}", file=sys.stderr, flush=True)
        meta_path = meta_path if meta_path.exists() else None
    env[RECORDING_ENV] = recording_id
    env[CAST_ENV] = str(cast_path)
    if hook_command and writer is not None:
        argv = _with_hooks(argv, cast_path, hook_command)

    # A file-size limit must fail the recording's writes (EFBIG), not kill the session.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    started = time.monotonic()
    child = spawn(argv, env, (cols, rows), terminal.modes())
    sink = None
    if writer is not None:
        writer.start()
        sink = writer
    try:
        status = Relay(child, terminal, sink, capture_input, started).run()
    finally:
        os.close(child.master_fd)
    exit_code = exit_code_of(status)

    complete = writer.close() if writer is not None else False
    if writer is not None and not complete and writer.error != problem:
        dropped = f" ({writer.dropped_bytes} bytes dropped)" if writer.dropped_bytes else ""
        problem = (writer.error or "the disk fell behind") + dropped
        print(f"claude-rec: warning: the recording is incomplete: {problem}", file=sys.stderr, flush=True)
    meta.ended = datetime.now(timezone.utc).isoformat()
    meta.exit_status = exit_code
    meta.complete = complete
    meta.error = problem
    if meta_path is not None:
        try:
            meta.save(meta_path)
        except OSError:
            pass  # the warning above already says the recording is incomplete
    return RecordResult(exit_code, cast_path if writer is not None else None, meta_path, complete, problem)


def _with_hooks(argv: list[str], cast_path: Path, hook_command: str) -> list[str]:
    """`argv` with `--settings <id>.settings.json` (hooks to `<id>.hooks.jsonl`) after the program,
    unless the user passes settings of their own on the command line (theirs win) or the
    file cannot be written (the session runs without hooks)."""
    if any(arg == "--settings" or arg.startswith("--settings=") for arg in argv[1:]):
        return argv
    settings_path = settings_path_for(cast_path)
    settings = settings_for(hooks_path_for(cast_path), hook_command)
    try:
        write_private_atomic(settings_path, json.dumps(settings, indent=2).encode())
    except OSError:
        return argv
    return [argv[0], "--settings", str(settings_path), *argv[1:]]


def _open_recording(cast_path: Path, head: dict, meta: RecordingMeta,
                    meta_path: Path) -> tuple[CastWriter | None, str | None]:
    """Create the directory, the `.cast` with its header, and the first sidecar."""
    try:
        private_dir(cast_path.parent)
        writer = CastWriter(cast_path, head)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, f"cannot record to {cast_path}: {reason}"
    try:
        meta.save(meta_path)
    except OSError as exc:
        return writer, f"cannot write {meta_path}: {exc.strerror or exc}"
    return writer, None
