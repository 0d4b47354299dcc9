"""Nothing secret reaches the store: a session log and a recording full of planted secrets are
ingested by the real `claude-rec ingest`; the SQLite files' bytes (WAL included) hold none of them,
`claude-rec scan --db` is clean; a store or dataset that has one makes it exit 1 without printing it."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path


from conftest import CLAUDE_REC, finish, program, spawn_recorder
from privacy_corpus import CONTEXT_SECRETS, SECRETS, leaks, text_with_everything
from test_redact_cast import planted_chunks

SAMPLES = Path(__file__).parent.parent / "data" / "samples"


def rec(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLAUDE_REC, *args], capture_output=True, text=True, timeout=120, env=dict(os.environ))


def planted_log(tmp_path: Path) -> Path:
    """bash_read_answer's log with secrets in the prompt, a tool_use input, tool results and the answer."""
    out = []
    for line in (SAMPLES / "bash_read_answer.session.jsonl").read_text().splitlines():
        rec_ = json.loads(line)
        msg = rec_.get("message") if isinstance(rec_.get("message"), dict) else None
        if msg and msg.get("role") == "user" and isinstance(msg.get("content"), str):
            msg["content"] = f"use {SECRETS['anthropic-api']} and {CONTEXT_SECRETS['url']}\n" \
                             f"{CONTEXT_SECRETS['env-password']}"
        elif msg and isinstance(msg.get("content"), list):
            for block in msg["content"]:
                if block.get("type") == "tool_use" and block.get("name") == "Bash":
                    block["input"]["command"] = f"{CONTEXT_SECRETS['export-token']} && curl -H " \
                        f"'Authorization: Bearer {SECRETS['github-pat']}' https://api.github.com"
                    block["input"]["env_file"] = CONTEXT_SECRETS["json-password"]
                elif block.get("type") == "tool_result":
                    block["content"] = text_with_everything()
                elif block.get("type") == "text":
                    block["text"] += f" Your key {SECRETS['openai-proj']} is set."
        out.append(json.dumps(rec_))
    path = tmp_path / "planted.session.jsonl"
    path.write_text("\n".join(out) + "\n")
    return path


def planted_recording(tmp_path: Path) -> Path:
    chunks = tmp_path / "chunks.json"
    chunks.write_text(json.dumps(planted_chunks()))
    cast = tmp_path / "rec" / "planted.cast"
    cast.parent.mkdir()
    assert finish(spawn_recorder(program("print_chunks.py") + [str(chunks)], cast, dimensions=(40, 120))) == 0
    return cast


def all_bytes(home: Path) -> str:
    return "".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(home.glob("claude-rec.db*")))


def test_nothing_secret_reaches_the_store(isolated_home: Path, tmp_path: Path) -> None:
    log, cast = planted_log(tmp_path), planted_recording(tmp_path)
    assert len(leaks(log.read_text())) >= 10  # the log really carries them
    done = rec("ingest", str(log), str(cast))
    assert done.returncode == 0, done.stdout + done.stderr
    db = isolated_home / "claude-rec.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM tool_results").fetchone()[0] > 0
        texts = [r[0] for r in conn.execute("SELECT text FROM messages")]
        results = [r[0] for r in conn.execute("SELECT content FROM tool_results")]
        inputs = [r[0] for r in conn.execute("SELECT input FROM tool_calls WHERE input IS NOT NULL")]
    assert any("[REDACTED:anthropic-key]" in t for t in texts)
    assert any("postgres://[REDACTED:url-credentials]@db.example.com" in t for t in texts)
    assert any("[REDACTED:private-key]" in r for r in results)
    assert any("export API_TOKEN='[REDACTED:token]'" in i for i in inputs)
    assert leaks(all_bytes(isolated_home)) == []  # the files as they are, WAL included
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert leaks(db.read_bytes().decode("utf-8", "replace")) == []
    scan = rec("scan", "--db")
    assert scan.returncode == 0, scan.stdout + scan.stderr
    # every file and folder it made is private
    for path in [isolated_home, *isolated_home.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path


def test_scan_finds_a_planted_secret_without_printing_it(isolated_home: Path) -> None:
    assert rec("ingest", str(SAMPLES / "bash_read_answer.session.jsonl")).returncode == 0
    db = isolated_home / "claude-rec.db"
    secret = SECRETS["anthropic-api"]
    with sqlite3.connect(db) as conn:
        sid, seq = conn.execute("SELECT session_id, max(seq) FROM messages").fetchone()
        rowid = conn.execute("INSERT INTO messages (session_id, seq, role, kind, text, source) "
                             "VALUES (?, ?, 'user', 'prompt', ?, 'log')", (sid, seq + 100, f"k={secret}")).lastrowid
        conn.execute("UPDATE tool_calls SET input = ? WHERE rowid = (SELECT min(rowid) FROM tool_calls)",
                     (json.dumps({"command": "true", "password": "Hunter2hunter2"}),))
    done = rec("scan", "--db")
    assert done.returncode == 1
    assert f"messages/{rowid}/text: anthropic-key" in done.stdout
    assert "tool_calls/" in done.stdout and "input $.password: password" in done.stdout
    assert secret not in done.stdout + done.stderr and "Hunter2hunter2" not in done.stdout + done.stderr
    as_json = [json.loads(line) for line in rec("scan", "--db", "--json").stdout.splitlines()]
    assert {"where": f"messages/{rowid}/text", "kind": "anthropic-key"}.items() <= as_json[0].items() or \
        any(f["where"] == f"messages/{rowid}/text" for f in as_json)


def test_scan_dataset(tmp_path: Path) -> None:
    from claude_rec.parser.redact import Redactor
    from claude_rec.parser.scan import scan_dataset

    dirty = tmp_path / "data" / "train.jsonl"
    dirty.parent.mkdir()
    rows = [{"messages": [{"role": "user", "content": "hello"}]},
            {"messages": [{"role": "user", "content": f"token {SECRETS['slack']}"},
                          {"role": "assistant", "content": "ok", "meta": {"api_key": "zx81spectrum48k"}}]}]
    dirty.write_text("".join(json.dumps(r) + "\n" for r in rows))
    found = scan_dataset(dirty)
    assert {(f.where.split(" ")[0], f.kind) for f in found} == {(f"{dirty}:2", "slack-token"), (f"{dirty}:2", "api-key")}
    done = rec("scan", "--dataset", str(dirty.parent))
    assert done.returncode == 1 and f"{dirty}:2" in done.stdout and SECRETS["slack"] not in done.stdout
    clean = tmp_path / "clean.jsonl"
    r = Redactor()
    clean.write_text("".join(json.dumps({"text": r.redact(json.dumps(row))}) + "\n" for row in rows[:1]))
    assert rec("scan", "--dataset", str(clean)).returncode == 0


def test_no_false_positives_on_the_real_cli_samples(isolated_home: Path) -> None:
    """The real-CLI recordings and their logs: zero findings, in the store and as a dataset."""
    from claude_rec.parser.scan import scan_dataset

    assert rec("ingest", str(SAMPLES)).returncode == 0
    done = rec("scan", "--db")
    assert done.returncode == 0, done.stdout
    assert scan_dataset(SAMPLES) == []
    with sqlite3.connect(isolated_home / "claude-rec.db") as conn:
        stored = " ".join(str(r[0]) for r in conn.execute("SELECT text FROM messages UNION ALL SELECT content FROM tool_results"))
    assert "[REDACTED:" not in stored  # nothing of the ordinary sessions was destroyed


def test_user_config_patterns_allow_and_identity(isolated_home: Path, tmp_path: Path) -> None:
    isolated_home.mkdir(mode=0o700)
    allowed = SECRETS["github-gho"]
    (isolated_home / "config.toml").write_text(
        '[privacy]\npatterns = [{name = "employee-id", regex = "EMP-[0-9]{6}"}]\n'
        f'allow = ["{allowed}"]\nidentity_store = true\n')
    log = tmp_path / "custom.session.jsonl"
    lines = (SAMPLES / "bash_read_answer.session.jsonl").read_text().splitlines()
    out = []
    for line in lines:
        rec_ = json.loads(line)
        msg = rec_.get("message") if isinstance(rec_.get("message"), dict) else None
        if msg and msg.get("role") == "user" and isinstance(msg.get("content"), str):
            msg["content"] = f"ticket EMP-123456, token {allowed}, in {os.path.expanduser('~')}/src"
        out.append(json.dumps(rec_))
    log.write_text("\n".join(out) + "\n")
    assert rec("ingest", str(log)).returncode == 0
    with sqlite3.connect(isolated_home / "claude-rec.db") as conn:
        prompt = conn.execute("SELECT text FROM messages WHERE kind = 'prompt'").fetchone()[0]
    assert prompt == f"ticket [REDACTED:employee-id], token {allowed}, in ~/src"
    assert rec("scan", "--db").returncode == 0  # the allowed one is not reported either


def test_bad_config_is_one_line_naming_the_key(isolated_home: Path) -> None:
    isolated_home.mkdir(mode=0o700)
    (isolated_home / "config.toml").write_text('[privacy]\npatterns = [{name = "x", regex = "("}]\n')
    done = rec("ingest", str(SAMPLES / "bash_read_answer.session.jsonl"))
    assert done.returncode == 1 and "privacy.patterns[0].regex" in done.stdout + done.stderr
    scan = rec("scan", "--dataset", str(SAMPLES))
    assert scan.returncode != 0 and "privacy.patterns[0].regex: invalid regular expression" in scan.stderr
    assert "Traceback" not in scan.stderr and len(scan.stderr.strip().splitlines()) == 1


def test_a_value_whose_key_says_secret_is_redacted(tmp_path: Path) -> None:
    """{"password": "x"}: only the key shows that the value is a secret."""
    from claude_rec.parser.model import ParsedSession, ToolCall
    from claude_rec.parser.store import Store

    with Store.open(tmp_path / "home") as store:
        store._upsert_session({"id": "s", "status": "ingested", "ingested_at": "now"})
        with store.write():
            store._replace_content("s", "log", ParsedSession("s", [ToolCall(
                "mcp__db__connect", input={"host": "db.local", "password": "hunter2-plain"}, source="log")]))
        stored = store.conn.execute("SELECT input FROM tool_calls").fetchone()[0]
    assert "hunter2-plain" not in stored and '"host": "db.local"' in stored
