"""`claude-rec hook`: events appended whole and fast, and the settings that call it."""
from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from claude_rec.recorder.hooks import EVENTS, hooks_path_for, settings_for
from conftest import CLAUDE_REC, child_env


def hook(path: Path, payload: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([CLAUDE_REC, "hook", "--file", str(path)], input=payload, capture_output=True,
                          env=child_env(), timeout=30)


def test_events_are_appended_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "x.hooks.jsonl"
    first = {"hook_event_name": "PreToolUse", "session_id": "s1", "tool_name": "Bash",
             "tool_input": {"command": "ls\nwc -l"}}
    assert hook(path, json.dumps(first, indent=2).encode()).returncode == 0
    assert hook(path, b"not json at all").returncode == 0  # never fails the session
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == first
    assert json.loads(lines[1]) == {"unparsed": "not json at all"}
    assert path.stat().st_mode & 0o777 == 0o600


def test_concurrent_hooks_do_not_interleave(tmp_path: Path) -> None:
    path = tmp_path / "x.hooks.jsonl"
    big = "y" * 200_000  # a large tool_response
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: hook(path, json.dumps({"i": i, "tool_response": big}).encode()), range(16)))
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(event["i"] for event in events) == list(range(16))


def test_an_unwritable_file_is_a_message_not_a_failure(tmp_path: Path) -> None:
    done = hook(tmp_path / "no-such-dir" / "x.jsonl", b"{}")
    assert done.returncode == 0 and b"cannot write" in done.stderr


def test_settings_send_every_event_to_the_file(tmp_path: Path) -> None:
    cast = tmp_path / "20261126T000000Z-abc.cast"
    path = hooks_path_for(cast)
    assert path.name == "20261126T000000Z-abc.hooks.jsonl"
    settings = settings_for(path, "/opt/claude rec/bin/claude-rec")
    assert set(settings["hooks"]) == set(EVENTS)
    command = settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert command == f"'/opt/claude rec/bin/claude-rec' hook --file {path}"
    assert settings["hooks"]["PreToolUse"][0]["matcher"] == "*"


def fake_claude(tmp_path: Path) -> Path:
    script = tmp_path / "claude"
    script.write_text('#!/bin/sh\necho "args: $*"\n')
    script.chmod(0o755)
    return script


def test_run_hands_claude_the_hook_settings(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    env = child_env(CLAUDE_REC_CLAUDE=str(fake_claude(tmp_path)))
    done = subprocess.run([CLAUDE_REC, "run", "-o", str(cast), "--", "-p", "hi"], env=env, capture_output=True,
                          text=True, timeout=30)
    settings = tmp_path / "s.settings.json"
    assert f"args: --settings {settings} -p hi" in done.stdout
    hooks = json.loads(settings.read_text())["hooks"]
    assert f"hook --file {tmp_path / 's.hooks.jsonl'}" in hooks["PostToolUse"][0]["hooks"][0]["command"]


def test_the_users_own_settings_flag_wins(tmp_path: Path) -> None:
    env = child_env(CLAUDE_REC_CLAUDE=str(fake_claude(tmp_path)))
    done = subprocess.run([CLAUDE_REC, "run", "-o", str(tmp_path / "s.cast"), "--", "--settings", "mine.json"],
                          env=env, capture_output=True, text=True, timeout=30)
    assert "args: --settings mine.json\n" in done.stdout.replace("\r", "")


def test_other_programs_get_no_hooks(tmp_path: Path) -> None:
    done = subprocess.run([CLAUDE_REC, "run", "-o", str(tmp_path / "s.cast"), "--exec", str(fake_claude(tmp_path)),
                           "--", "x"], env=child_env(), capture_output=True, text=True, timeout=30)
    assert "args: x" in done.stdout and not (tmp_path / "s.settings.json").exists()
