"""`claude-rec ingest / sessions / show / search`, end to end (real processes, real database)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path


from conftest import CLAUDE_REC

SAMPLES = Path(__file__).parent.parent / "data" / "samples"


def rec(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([CLAUDE_REC, *args], capture_output=True, text=True, timeout=60, env=dict(os.environ))
    if check:
        assert done.returncode == 0, done.stderr + done.stdout
    return done


def session_id_of(log: Path) -> str:
    return json.loads(log.read_text().splitlines()[0])["sessionId"]


def test_ingest_pairs_and_is_idempotent(isolated_home: Path) -> None:
    done = rec("ingest", *map(str, sorted(SAMPLES.glob("*.cast"))), *map(str, sorted(SAMPLES.glob("*.jsonl"))))
    lines = done.stdout.splitlines()
    assert len(lines) == 6 and all(line.startswith("ingested: ") for line in lines), done.stdout
    for name in ("bash_read_answer", "edit_write_bash", "permission_prompts"):
        sid = session_id_of(SAMPLES / f"{name}.session.jsonl")
        cast_line = next(line for line in lines if line.startswith(f"ingested: {SAMPLES / name}.cast"))
        assert f"session {sid}" in cast_line  # the recording is linked to its log
    assert (isolated_home / "claude-rec.db").stat().st_mode & 0o777 == 0o600
    again = rec("ingest", str(SAMPLES))
    assert [line.split(":")[0] for line in again.stdout.splitlines()] == ["unchanged"] * 6


def test_sessions_show_search(isolated_home: Path) -> None:
    rec("ingest", str(SAMPLES))
    table = rec("sessions").stdout
    sid = session_id_of(SAMPLES / "permission_prompts.session.jsonl")
    assert sid in table and "add up the scores in data.csv" in table
    sessions = json.loads(rec("sessions", "--json").stdout)
    assert len(sessions) == 3 and all(s["recording_id"] for s in sessions)

    shown = rec("show", sid[:8]).stdout
    assert "❯ prompt: add up the scores in data.csv and save the total to total.txt" in shown
    assert "[log] ● Bash(awk -F, 'NR>1 {s+=$2} END {print s}' data.csv)" in shown
    assert "result (error): The user doesn't want to proceed" in shown
    assert "rejected" in shown  # signals
    full = json.loads(rec("show", sid, "--json").stdout)
    assert full["prompts"] == ["add up the scores in data.csv and save the total to total.txt",
                               "no need to save it, just tell me the total"]
    write = next(c for c in full["tool_calls"] if c["name"] == "Write")
    assert write["input"]["content"] == "8\n" and write["is_error"] is True and write["source"] == "log"
    assert full["recording"]["meta"]["exit_status"] == 0

    found = rec("search", "greeting").stdout
    assert session_id_of(SAMPLES / "edit_write_bash.session.jsonl") in found and "[greeting]" in found
    assert rec("search", "zebra-crossing", check=False).returncode == 1
    missing = rec("show", "no-such-session", check=False)
    assert missing.returncode != 0 and "no session matches" in missing.stderr


def test_failed_file_gives_non_zero_exit_and_others_still_ingest(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"format": "v99"}) + "\n")
    done = rec("ingest", str(bad), str(SAMPLES / "bash_read_answer.session.jsonl"), check=False)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"failed: {bad}: ") and "unknown session log format" in lines[0]
    assert lines[1].startswith("ingested: ")
    broken = tmp_path / "broken.jsonl"
    lines = (SAMPLES / "bash_read_answer.session.jsonl").read_text().splitlines()
    broken.write_text("\n".join(["{{{ not json", *lines[1:]]) + "\n")
    warned = rec("ingest", str(broken), check=False)
    assert f"{broken}:1: not JSON" in warned.stderr


def test_ingest_without_paths_scans_home_and_claude_logs(isolated_home: Path, claude_config: Path) -> None:
    day = isolated_home / "recordings" / "2026" / "11" / "26"
    day.mkdir(parents=True)
    for suffix in (".cast", ".meta.json"):
        shutil.copy(SAMPLES / f"edit_write_bash{suffix}", day / f"rec{suffix}")
    log = SAMPLES / "edit_write_bash.session.jsonl"
    cwd = json.loads((SAMPLES / "edit_write_bash.meta.json").read_text())["cwd"]
    project = claude_config / "projects" / cwd.replace("/", "-").replace(".", "-")
    project.mkdir(parents=True)
    sid = session_id_of(log)
    shutil.copy(log, project / f"{sid}.jsonl")
    done = rec("ingest")
    assert done.stdout.splitlines() == [
        f"ingested: {project / sid}.jsonl: session {sid}, 4 messages, 4 tool calls",
        f"ingested: {day / 'rec.cast'}: recording 20261126T081108Z-e742e7, session {sid}",
    ]
    # The copy survives the CLI's clean-up of its logs.
    (project / f"{sid}.jsonl").unlink()
    assert json.loads(rec("show", sid, "--json").stdout)["log_copy"].startswith(str(isolated_home / "logs-copy"))
    assert (isolated_home / "logs-copy" / project.name / f"{sid}.jsonl").read_bytes() == log.read_bytes()


def test_help_lists_the_commands() -> None:
    out = rec("--help").stdout
    for name in ("ingest", "sessions", "show", "search"):
        assert name in out
