"""The store: migrations, idempotent ingest, one transaction per session, search, linking."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from claude_rec.parser import migrations
from claude_rec.parser.model import Message, ParsedSession, Signal, ToolCall, ToolResult
from claude_rec.parser.store import Store

SAMPLES = Path(__file__).parent.parent / "data" / "samples"
NAMES = ("bash_read_answer", "edit_write_bash", "permission_prompts")
TABLES = ("recordings", "sessions", "messages", "tool_calls", "tool_results", "signals", "reconciliations")


def session_id_of(log: Path) -> str:
    return next(json.loads(l)["sessionId"] for l in log.read_text().splitlines() if "sessionId" in l)


def dump(store: Store) -> dict[str, list]:
    """Every row of every table, without the ingest times and row ids."""
    out = {}
    for table in TABLES:
        cur = store.conn.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description]
        keep = [i for i, n in enumerate(names) if n not in ("id", "ingested_at", "tool_call_id", "created")
                or table in ("recordings", "sessions") and n == "id"]
        out[table] = sorted((tuple(row[i] for i in keep) for row in cur.fetchall()), key=repr)
    return out


def lone_recording(tmp_path: Path, name: str) -> Path:
    """A sample recording and its sidecar, without the session log that sits next to it."""
    folder = tmp_path / "lone"
    folder.mkdir(exist_ok=True)
    for suffix in (".cast", ".meta.json"):
        shutil.copy(SAMPLES / f"{name}{suffix}", folder / f"{name}{suffix}")
    return folder / f"{name}.cast"


def ingest_samples(store: Store) -> None:
    for name in NAMES:
        assert store.ingest_log(SAMPLES / f"{name}.session.jsonl").status in ("ingested", "unchanged")
        assert store.ingest_recording(SAMPLES / f"{name}.cast").status in ("ingested", "unchanged")


def test_migrations_from_empty(isolated_home: Path) -> None:
    assert not isolated_home.exists()
    with Store.open(isolated_home) as store:
        applied = [r[0] for r in store.conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
        assert applied == [m.name for m in migrations.migrations._migrations]
        assert set(TABLES) <= set(store.db.table_names())
        assert "messages_fts" in store.db.table_names()
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    assert (isolated_home / "claude-rec.db").stat().st_mode & 0o777 == 0o600
    assert isolated_home.stat().st_mode & 0o777 == 0o700
    with Store.open(isolated_home) as again:  # reopening applies nothing twice
        assert migrations.pending(again.db) == []
        assert again.conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(applied)


def test_ingest_is_idempotent(store: Store) -> None:
    ingest_samples(store)
    first = dump(store)
    assert len(first["sessions"]) == 3 and len(first["recordings"]) == 3
    for name in NAMES:
        assert store.ingest_log(SAMPLES / f"{name}.session.jsonl").status == "unchanged"
        assert store.ingest_recording(SAMPLES / f"{name}.cast").status == "unchanged"
    assert dump(store) == first


def test_changed_log_replaces_its_rows(tmp_path: Path, store: Store) -> None:
    log = tmp_path / "s.jsonl"
    shutil.copy(SAMPLES / "bash_read_answer.session.jsonl", log)
    assert store.ingest_log(log).status == "ingested"
    before = dump(store)
    # The session goes on: a new prompt and answer are appended.
    record = json.loads(log.read_text().splitlines()[4])
    record.update(uuid="new-1", timestamp="2026-11-26T08:10:59.000Z", message={"role": "user", "content": "thanks!"})
    with open(log, "a") as handle:
        handle.write(json.dumps(record) + "\n")
    result = store.ingest_log(log)
    assert result.status == "ingested"
    after = dump(store)
    assert len(after["messages"]) == len(before["messages"]) + 1
    assert after["tool_calls"] == before["tool_calls"]
    assert store.conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
    assert [r["text"] for r in store.search("thanks")] == ["thanks!"]


def test_a_failure_mid_ingest_leaves_nothing_of_that_session(tmp_path: Path, store: Store) -> None:
    """One session, one transaction: a failure after some rows were written rolls all back."""
    log = tmp_path / "s.jsonl"
    shutil.copy(SAMPLES / "edit_write_bash.session.jsonl", log)
    sid = session_id_of(log)
    # A real failure inside SQLite once the session row, its prompt and two tool calls are in.
    store.conn.execute("""CREATE TRIGGER fail_on_write BEFORE INSERT ON tool_calls
                          WHEN NEW.name = 'Write' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END""")
    result = store.ingest_log(log)
    assert result.status == "failed" and "disk on fire" in result.detail
    for table in TABLES:
        assert store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    assert store.search("greeting") == []

    # With a good version stored, a failed re-ingest of a changed file keeps the good version whole.
    store.conn.execute("DROP TRIGGER fail_on_write")
    assert store.ingest_log(log).status == "ingested"
    good = dump(store)
    with open(log, "a") as handle:
        handle.write("\n")  # changes the hash
    store.conn.execute("""CREATE TRIGGER fail_on_bash BEFORE INSERT ON tool_calls
                          WHEN NEW.name = 'Bash' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END""")
    assert store.ingest_log(log).status == "failed"
    assert dump(store) == good
    assert store.session(sid)["prompts"] == ["change the greeting in hello.py to 'hello, recorder' and add a test"]


def test_search(store: Store) -> None:
    ingest_samples(store)
    hits = store.search("greeting")
    assert sorted((h["kind"], h["source"]) for h in hits) == [("prompt", "log"), ("prompt", "screen")]
    assert "[greeting]" in hits[0]["snippet"]
    # Answers too, with stemming (prints -> print), and queries with FTS syntax characters are safe.
    assert any(h["role"] == "assistant" for h in store.search("prints"))
    assert store.search('NR>1 {s+=$2} "unbalanced') == []
    assert store.search("   ") == []
    sid = session_id_of(SAMPLES / "permission_prompts.session.jsonl")
    assert {h["session_id"] for h in store.search("total")} == {sid}


def test_recording_links_to_its_log_either_order(tmp_path: Path, store: Store) -> None:
    # Recording first: no log yet; then the log links itself to the recording by cwd and time.
    cast = lone_recording(tmp_path, "bash_read_answer")
    result = store.ingest_recording(cast)
    assert result.status == "ingested" and result.sessions == []
    log = SAMPLES / "bash_read_answer.session.jsonl"
    store.ingest_log(log)
    sid = session_id_of(log)
    recording = json.loads((SAMPLES / "bash_read_answer.meta.json").read_text())["id"]
    assert store.session(sid)["recording_id"] == recording
    assert store.session(recording)["id"] == sid  # a recording id finds its session
    assert store.session(sid)["recording"]["claude_version"] == "2.1.197"
    # Log first, then recording: linked as well.
    store.ingest_log(SAMPLES / "edit_write_bash.session.jsonl")
    linked = store.ingest_recording(lone_recording(tmp_path, "edit_write_bash"))
    assert linked.sessions == [session_id_of(SAMPLES / "edit_write_bash.session.jsonl")]


def test_recording_finds_its_log_through_hooks(tmp_path: Path, store: Store) -> None:
    """A hooks file names the session and its transcript: cwd and time do not matter then."""
    log = tmp_path / "elsewhere" / "x.jsonl"
    log.parent.mkdir()
    shutil.copy(SAMPLES / "edit_write_bash.session.jsonl", log)
    sid = session_id_of(log)
    cast = tmp_path / "rec.cast"
    shutil.copy(SAMPLES / "bash_read_answer.cast", cast)  # another recording: cwd and time do not match
    meta = json.loads((SAMPLES / "bash_read_answer.meta.json").read_text())
    meta.update(id="rec-hooks", cwd="/somewhere/else")
    (tmp_path / "rec.meta.json").write_text(json.dumps(meta))
    event = {"session_id": sid, "transcript_path": str(log), "cwd": "/somewhere/else",
             "hook_event_name": "SessionStart"}
    (tmp_path / "rec.hooks.jsonl").write_text(json.dumps(event) + "\n")
    result = store.ingest_recording(cast)
    assert result.status == "ingested" and result.sessions == [sid]
    assert store.session(sid)["recording_id"] == "rec-hooks"
    assert store.session(sid)["log_copy"]


def test_recording_finds_its_log_in_the_claude_projects_dir(tmp_path: Path, claude_config: Path,
                                                           store: Store) -> None:
    log = SAMPLES / "permission_prompts.session.jsonl"
    sid = session_id_of(log)
    cwd = json.loads((SAMPLES / "permission_prompts.meta.json").read_text())["cwd"]
    project = claude_config / "projects" / cwd.replace("/", "-").replace(".", "-")
    project.mkdir(parents=True)
    shutil.copy(log, project / f"{sid}.jsonl")
    # Another session of the same project, long before the recording: not linked.
    other = [json.loads(l) for l in log.read_text().splitlines()]
    for record in other:
        record["sessionId"] = "old-session"
        if "timestamp" in record:
            record["timestamp"] = record["timestamp"].replace("2026-11-26", "2026-10-01")
    (project / "old-session.jsonl").write_text("".join(json.dumps(r) + "\n" for r in other))
    result = store.ingest_recording(lone_recording(tmp_path, "permission_prompts"))
    assert result.sessions == [sid]
    assert store.conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
    copy = store.home / "logs-copy" / project.name / f"{sid}.jsonl"
    assert copy.read_bytes() == log.read_bytes()


def screen_parse() -> ParsedSession:
    call = ToolCall("Bash", visible_args="python3 hello.py", key_arg="python3 hello.py",
                    result=ToolResult("hello world"), source="screen")
    return ParsedSession(items=[Message("user", "prompt", "run hello.py and tell me what it prints"),
                                Message("assistant", "text", "I'll run the script first."), call],
                         signals=[Signal("turn_end", {"seconds": 4})])


def test_screen_rows_live_beside_log_rows(tmp_path: Path, store: Store) -> None:
    cast = lone_recording(tmp_path, "bash_read_answer")
    store.ingest_recording(cast)
    recording = json.loads((SAMPLES / "bash_read_answer.meta.json").read_text())["id"]
    # No log yet: the screen rows go to a session named after the recording.
    assert store.save_screen_session(recording, screen_parse()) == recording
    assert store.session(recording)["id"] == recording
    # The log arrives: the screen rows move to the Claude Code session, the placeholder goes.
    log = SAMPLES / "bash_read_answer.session.jsonl"
    store.ingest_log(log)
    sid = session_id_of(log)
    session = store.session(sid)
    assert {(c["source"], c["name"]) for c in session["tool_calls"]} == {
        ("screen", "Bash"), ("log", "Bash"), ("log", "Read")}
    assert store.conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
    # Saving the screen again replaces the screen rows only; re-ingesting the log keeps them.
    assert store.save_screen_session(recording, screen_parse()) == sid
    store.ingest_log(log)
    counts = dict(store.conn.execute("SELECT source, count(*) FROM messages GROUP BY source").fetchall())
    assert counts == {"screen": 2, "log": 4}
    assert {h["source"] for h in store.search("script")} == {"screen", "log"}
    store.save_reconciliation(sid, 0.5, [{"name": "Bash"}], [{"name": "Read"}], recording)
    assert store.session(sid)["reconciliations"][0]["log_only"] == [{"name": "Read"}]


def test_bad_recording_fails_without_stopping_others(tmp_path: Path, store: Store) -> None:
    bad = tmp_path / "junk.cast"
    bad.write_text("not a cast\n")
    result = store.ingest_recording(bad)
    assert result.status == "failed" and "asciicast" in result.detail
    assert store.conn.execute("SELECT status FROM recordings WHERE id = 'junk'").fetchone() == ("failed",)
    assert store.ingest_recording(tmp_path / "missing.cast").status == "failed"
    assert store.ingest_recording(SAMPLES / "bash_read_answer.cast").status == "ingested"


def test_text_goes_through_the_redaction_gate(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from claude_rec.parser import redact_gate

    monkeypatch.setattr(redact_gate, "clean", lambda text: text.replace("hello", "[REDACTED]"))
    store.ingest_log(SAMPLES / "edit_write_bash.session.jsonl")
    texts = [r[0] for r in store.conn.execute(
        "SELECT text FROM messages UNION ALL SELECT input FROM tool_calls UNION ALL SELECT content FROM tool_results")]
    assert texts and not any("hello" in t for t in texts)
    assert any("[REDACTED]" in t for t in texts)


def test_a_log_next_to_the_recording_is_its_log(store: Store) -> None:
    """`<stem>.session.jsonl` beside `<stem>.cast` (as in data/samples) is taken as the pair."""
    result = store.ingest_recording(SAMPLES / "edit_write_bash.cast")
    assert result.sessions == [session_id_of(SAMPLES / "edit_write_bash.session.jsonl")]
