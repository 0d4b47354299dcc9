"""Claude Code hooks: exact events (tool inputs and responses, session id) next to a recording.

`claude-rec run` hands claude an extra settings file (`--settings`) whose hooks run
`claude-rec hook --file <id>.hooks.jsonl`. Claude Code merges hooks from every settings
source, so the user's own settings and hooks keep working. The hook appends the event
JSON it gets on stdin as one line, in one write (several hooks may run at once), and
must cost the session no visible delay: `claude-rec hook` is dispatched before click or
anything else is imported (see entry.py).
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from .metadata import companion

EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SubagentStop", "SessionEnd")
TOOL_EVENTS = ("PreToolUse", "PostToolUse")
MAX_EVENT_BYTES = 16 << 20


def hooks_path_for(cast_path: Path) -> Path:
    return companion(cast_path, ".hooks.jsonl")


def settings_path_for(cast_path: Path) -> Path:
    return companion(cast_path, ".settings.json")



def settings_for(hooks_file: Path, executable: str) -> dict:
    """The settings object that sends every hook event to `hooks_file`."""
    command = f"{shlex.quote(executable)} hook --file {shlex.quote(str(hooks_file))}"
    entry = {"type": "command", "command": command, "timeout": 10}
    return {"hooks": {event: [{"matcher": "*", "hooks": [entry]} if event in TOOL_EVENTS else {"hooks": [entry]}]
                      for event in EVENTS}}


def append_event(path: Path, data: bytes) -> None:
    """Append one event as one JSON line (one write, so concurrent hooks do not interleave)."""
    try:
        event = json.loads(data)
    except ValueError:
        event = {"unparsed": data.decode("utf-8", "replace")}
    line = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def run_hook(argv: list[str]) -> int:
    """`claude-rec hook --file PATH`: never fails the session; problems go to stderr."""
    try:
        path = Path(argv[argv.index("--file") + 1])
    except (ValueError, IndexError):
        print("claude-rec hook: usage: claude-rec hook --file PATH (event JSON on stdin)", file=sys.stderr)
        return 0
    data = sys.stdin.buffer.read(MAX_EVENT_BYTES)
    try:
        append_event(path, data)
    except OSError as exc:
        print(f"claude-rec hook: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
    return 0
