"""Claude Code session logs: the real samples (recorded from the CLI) and bad input."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from claude_rec.parser import session_log
from claude_rec.parser.store import Store

SAMPLES = Path(__file__).parent.parent / "data" / "samples"
LOGS = sorted(SAMPLES.glob("*.session.jsonl"))


def expected(path: Path) -> dict:
    """What the log holds, read independently of the parser."""
    prompts, calls, results = [], {}, {}
    session_id = None
    for line in path.read_text().splitlines():
        record = json.loads(line)
        session_id = session_id or record.get("sessionId")
        if record.get("type") not in ("user", "assistant") or record.get("isMeta"):
            continue
        content = record["message"]["content"]
        if isinstance(content, str):
            prompts.append((record["timestamp"], content))
            continue
        for block in content:
            if block["type"] == "tool_use":
                calls[block["id"]] = (block["name"], block["input"])
            elif block["type"] == "tool_result":
                results[block["tool_use_id"]] = (block["content"], bool(block.get("is_error")))
    return {"session_id": session_id, "prompts": [p for _, p in sorted(prompts)], "calls": calls,
            "results": results}


def rows(store: Store, sql: str, *args) -> list[tuple]:
    return store.conn.execute(sql, args).fetchall()


@pytest.mark.parametrize("log", LOGS, ids=[p.name.split(".")[0] for p in LOGS])
def test_real_logs_ingest_as_written(store: Store, log: Path) -> None:
    want = expected(log)
    result = store.ingest_log(log)
    assert result.status == "ingested", result.detail
    assert result.id == want["session_id"]
    sid = want["session_id"]
    prompts = [r[0] for r in rows(store, "SELECT text FROM messages WHERE session_id = ? AND kind = 'prompt' "
                                         "ORDER BY seq", sid)]
    assert prompts == want["prompts"]
    calls = rows(store, "SELECT t.tool_use_id, t.name, t.input, t.key_arg, t.source, r.content, r.is_error, r.source "
                        "FROM tool_calls t LEFT JOIN tool_results r ON r.tool_call_id = t.id "
                        "WHERE t.session_id = ? ORDER BY t.seq", sid)
    assert [c[0] for c in calls] == list(want["calls"])
    for tool_use_id, name, tool_input, key_arg, source, content, is_error, result_source in calls:
        assert (name, json.loads(tool_input)) == want["calls"][tool_use_id]
        assert (content, bool(is_error)) == want["results"][tool_use_id]
        assert source == result_source == "log"
        assert key_arg and key_arg in json.loads(tool_input).values()
    # Every content row says where it came from.
    for table in ("messages", "tool_calls", "tool_results", "signals"):
        assert {r[0] for r in rows(store, f"SELECT DISTINCT source FROM {table}")} <= {"log"}
    session = rows(store, "SELECT cwd, version, started, status FROM sessions WHERE id = ?", sid)[0]
    assert session[0].startswith("/tmp/claude-rec-sample-") and session[1] == "2.1.197" and session[3] == "ingested"


def test_rejected_call_and_interruption_are_signals(store: Store) -> None:
    store.ingest_log(SAMPLES / "permission_prompts.session.jsonl")
    sid = expected(SAMPLES / "permission_prompts.session.jsonl")["session_id"]
    kinds = [r[0] for r in rows(store, "SELECT kind FROM signals WHERE session_id = ?", sid)]
    assert "rejected" in kinds and "interrupted" in kinds and "system:turn_duration" in kinds
    # The interruption notice is not a prompt; the rejected Write's result is an error.
    assert rows(store, "SELECT count(*) FROM messages WHERE session_id = ? AND kind = 'prompt'", sid) == [(2,)]
    assert rows(store, "SELECT r.is_error FROM tool_calls t JOIN tool_results r ON r.tool_call_id = t.id "
                       "WHERE t.name = 'Write'") == [(1,)]


def test_records_are_put_in_time_order(store: Store) -> None:
    # In this log the CLI wrote the first answer before the prompt that asked for it.
    store.ingest_log(SAMPLES / "permission_prompts.session.jsonl")
    first = rows(store, "SELECT kind FROM messages ORDER BY seq LIMIT 1")
    assert first == [("prompt",)]


def sample_lines(name: str = "bash_read_answer") -> list[str]:
    return (SAMPLES / f"{name}.session.jsonl").read_text().splitlines()


def test_non_json_line_is_named_and_the_rest_ingests(tmp_path: Path, store: Store) -> None:
    lines = sample_lines()
    lines.insert(6, "this is {not json")
    log = tmp_path / "broken.jsonl"
    log.write_text("\n".join(lines) + "\n")
    result = store.ingest_log(log)
    assert result.status == "ingested"
    assert any(f"{log}:7: not JSON" in w for w in result.warnings), result.warnings
    assert len(rows(store, "SELECT * FROM tool_calls")) == 2
    assert rows(store, "SELECT count(*) FROM messages WHERE kind = 'prompt'") == [(1,)]


def test_truncated_last_line(tmp_path: Path, store: Store) -> None:
    lines = sample_lines()
    log = tmp_path / "cut.jsonl"
    log.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
    result = store.ingest_log(log)
    assert result.status == "ingested"
    assert any("truncated last line" in w and f":{len(lines)}:" in w for w in result.warnings), result.warnings
    assert len(rows(store, "SELECT * FROM tool_calls")) == 2


def test_unknown_record_type_is_skipped_and_counted(tmp_path: Path, store: Store) -> None:
    lines = sample_lines()
    lines.insert(5, json.dumps({"type": "hologram", "sessionId": "x", "payload": [1, 2]}))
    lines.insert(5, json.dumps({"type": "hologram", "sessionId": "x"}))
    log = tmp_path / "future.jsonl"
    log.write_text("\n".join(lines) + "\n")
    result = store.ingest_log(log)
    assert result.status == "ingested" and not result.warnings
    stats = json.loads(rows(store, "SELECT stats FROM sessions WHERE id = ?", result.id)[0][0])
    assert stats["skipped_unknown_type"] == 2 and stats["type:hologram"] == 2
    assert len(rows(store, "SELECT * FROM tool_calls")) == 2


def test_unknown_newer_format_is_recorded_as_failed(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "0b7c9a4e-newer.jsonl"
    log.write_text("".join(json.dumps({"kind": "turn", "v": 9, "body": {"text": "hi"}}) + "\n" for _ in range(3)))
    result = store.ingest_log(log)
    assert result.status == "failed"
    assert "unknown session log format" in result.detail
    assert rows(store, "SELECT status, error IS NOT NULL FROM sessions WHERE id = ?", "0b7c9a4e-newer") == \
        [("failed", 1)]
    assert rows(store, "SELECT count(*) FROM messages") == [(0,)]


def test_empty_file(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "empty.jsonl"
    log.write_text("")
    result = store.ingest_log(log)
    assert result.status == "skipped" and result.detail == "empty file"
    assert store.stats()["sessions"] == 0


def test_thinking_and_subagents(tmp_path: Path, claude_config: Path, store: Store) -> None:
    """A session with thinking, a Task call, and a sub-agent log in <session>/subagents/."""
    sid = "5d0c8c56-0000-4000-8000-000000000001"
    cwd = "/home/me/my.project"
    project = claude_config / "projects" / "-home-me-my-project"
    project.mkdir(parents=True)
    base = {"sessionId": sid, "cwd": cwd, "version": "2.1.332", "gitBranch": "main", "isSidechain": False}

    def line(time: str, kind: str, content, **extra) -> str:
        role = "user" if kind == "user" else "assistant"
        return json.dumps({**base, "type": kind, "uuid": f"u-{time}", "timestamp": f"2026-11-26T09:00:{time}Z",
                           "message": {"role": role, "id": f"m-{time}", "content": content}, **extra})

    main = [
        line("01.000", "user", "find the TODOs"),
        line("02.000", "assistant", [{"type": "thinking", "thinking": "I should delegate.", "signature": "x"}]),
        line("02.100", "assistant", [{"type": "tool_use", "id": "toolu_task", "name": "Task",
                                      "input": {"description": "Find TODOs", "prompt": "grep TODO"}}]),
        line("09.000", "user", [{"type": "tool_result", "tool_use_id": "toolu_task",
                                 "content": [{"type": "text", "text": "2 TODOs"}]}]),
        line("09.500", "assistant", [{"type": "text", "text": "There are 2 TODOs."}]),
    ]
    (project / f"{sid}.jsonl").write_text("\n".join(main) + "\n")
    sub_base = {**base, "isSidechain": True, "agentId": "a1"}
    sub = [
        json.dumps({**sub_base, "type": "user", "uuid": "s1", "timestamp": "2026-11-26T09:00:03.000Z",
                    "message": {"role": "user", "content": "grep TODO"}}),
        json.dumps({**sub_base, "type": "assistant", "uuid": "s2", "timestamp": "2026-11-26T09:00:04.000Z",
                    "message": {"role": "assistant", "id": "sm", "content": [
                        {"type": "tool_use", "id": "toolu_grep", "name": "Grep", "input": {"pattern": "TODO"}}]}}),
        json.dumps({**sub_base, "type": "user", "uuid": "s3", "timestamp": "2026-11-26T09:00:05.000Z",
                    "message": {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_grep", "content": "no such dir",
                         "is_error": True}]}}),
    ]
    (project / sid / "subagents").mkdir(parents=True)
    (project / sid / "subagents" / "agent-a1.jsonl").write_text("\n".join(sub) + "\n")

    assert session_log.all_logs() == [project / f"{sid}.jsonl"]
    result = store.ingest_log(project / sid / "subagents" / "agent-a1.jsonl")  # stands for its session
    assert result.status == "ingested" and result.id == sid
    assert rows(store, "SELECT kind, text, agent FROM messages ORDER BY seq") == [
        ("prompt", "find the TODOs", None), ("thinking", "I should delegate.", None),
        ("text", "grep TODO", "agent-a1"), ("text", "There are 2 TODOs.", None)]
    assert rows(store, "SELECT t.name, t.key_arg, t.agent, r.is_error FROM tool_calls t "
                       "JOIN tool_results r ON r.tool_call_id = t.id ORDER BY t.seq") == [
        ("Task", "Find TODOs", None, 0), ("Grep", "TODO", "agent-a1", 1)]
    # The copy keeps the projects/ layout, sub-agents included, private.
    copy = store.home / "logs-copy" / "-home-me-my-project" / f"{sid}.jsonl"
    assert copy.read_text() == (project / f"{sid}.jsonl").read_text()
    assert (copy.with_suffix("") / "subagents" / "agent-a1.jsonl").is_file()
    assert copy.stat().st_mode & 0o777 == 0o600
    # Changing a sub-agent log changes the session: it is ingested again, not duplicated.
    assert store.ingest_log(project / f"{sid}.jsonl").status == "unchanged"
    with open(project / sid / "subagents" / "agent-a1.jsonl", "a") as handle:
        handle.write(json.dumps({**sub_base, "type": "assistant", "uuid": "s4",
                                 "timestamp": "2026-11-26T09:00:06.000Z",
                                 "message": {"role": "assistant", "id": "sm2",
                                             "content": [{"type": "text", "text": "found 2"}]}}) + "\n")
    assert store.ingest_log(project / f"{sid}.jsonl").status == "ingested"
    assert rows(store, "SELECT count(*) FROM tool_calls") == [(2,)]
    assert rows(store, "SELECT count(*) FROM messages WHERE agent = 'agent-a1'") == [(2,)]


def test_project_dir_names() -> None:
    assert "-tmp-x-y-project" in session_log.project_dir_names("/tmp/x.y/project")


def test_database_is_private(store: Store) -> None:
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert store.path.parent.stat().st_mode & 0o777 == 0o700
    assert isinstance(store.conn, sqlite3.Connection)
