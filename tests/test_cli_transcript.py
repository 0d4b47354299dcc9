"""`claude-rec transcript` and `claude-rec replay --at` on recordings made by `claude-rec run`."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import CLAUDE_REC, child_env, finish, program, spawn_recorder


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLAUDE_REC, *args], capture_output=True, text=True, timeout=60, env=child_env())


def record_repaint(tmp_path: Path) -> Path:
    cast = tmp_path / "s.cast"
    assert finish(spawn_recorder(program("repaint.py"), cast)) == 0
    return cast


def test_transcript_keeps_final_states_only(tmp_path: Path) -> None:
    cast = record_repaint(tmp_path)
    done = cli("transcript", str(cast))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["header line", "progress 100%", "step 10/10", "done"]


def test_transcript_json_has_times(tmp_path: Path) -> None:
    cast = record_repaint(tmp_path)
    rows = [json.loads(line) for line in cli("transcript", "--format", "json", str(cast)).stdout.splitlines()]
    progress = next(row for row in rows if row["text"] == "progress 100%")
    assert progress["last_changed"] > progress["first_seen"] >= 0


def test_transcript_markdown(tmp_path: Path) -> None:
    cast = record_repaint(tmp_path)
    out = cli("transcript", "--format", "markdown", str(cast)).stdout
    assert out.startswith("# Transcript of ") and "```text\nheader line\n" in out


def test_replay_at_a_time_shows_that_screen(tmp_path: Path) -> None:
    cast = record_repaint(tmp_path)
    early = cli("replay", "--at", "0", str(cast)).stdout
    late = cli("replay", "--at", "999", str(cast)).stdout
    assert "done" not in early and "done" in late


def test_replay_plays_the_output_fast(tmp_path: Path) -> None:
    cast = record_repaint(tmp_path)
    done = cli("replay", "--speed", "100", str(cast))
    assert done.returncode == 0 and "done" in done.stdout and "\x1b[2K" in done.stdout


def test_a_broken_file_is_one_clear_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.cast"
    junk.write_bytes(b"\x00\x01binary junk\xff")
    done = cli("transcript", str(junk))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"Error: {junk}: not an asciicast v2 file (line 1 is not JSON)"]
