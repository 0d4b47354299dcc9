"""Several processes writing the store at once (two recorders and the engine) while another
reads: no lost rows, no 'database is locked'."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SAMPLES = Path(__file__).parent.parent / "data" / "samples"
WRITERS = 4
LOGS_EACH = 30
SHARED = 3  # logs every writer ingests (the same files racing)

WRITER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from claude_rec.parser.store import Store
    store = Store(Path(sys.argv[1]))
    out = []
    for path in sys.argv[2:]:
        result = store.ingest_log(path)
        out.append([result.status, result.detail])
    store.close()
    print(json.dumps(out))
""")

READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from claude_rec.parser.store import Store
    store = Store(Path(sys.argv[1]))
    stop = Path(sys.argv[2])
    reads = 0
    while not stop.exists() and reads < 100000:
        for row in store.sessions():
            assert store.session(row["id"]) is not None
        store.search("hello")
        reads += 1
        time.sleep(0.005)
    store.close()
    print(json.dumps({"reads": reads}))
""")


def make_logs(folder: Path, prefix: str, count: int) -> tuple[list[Path], dict[str, int]]:
    """Copies of the sample logs under fresh session ids; returns them and messages per session."""
    samples = sorted(SAMPLES.glob("*.session.jsonl"))
    paths, messages = [], {}
    for i in range(count):
        sample = samples[i % len(samples)]
        text = sample.read_text()
        old = json.loads(text.splitlines()[0])["sessionId"]
        new = f"{prefix}-{i:04d}-{old[len(prefix) + 6:]}"
        path = folder / f"{new}.jsonl"
        path.write_text(text.replace(old, new))
        paths.append(path)
        messages[new] = sum(1 for line in text.splitlines()
                            for record in [json.loads(line)]
                            if record.get("type") in ("user", "assistant")
                            for block in ([record["message"]["content"]] if isinstance(record["message"]["content"], str)
                                          else record["message"]["content"])
                            if isinstance(block, str) or block.get("type") in ("text", "thinking")
                            if not (isinstance(block, dict) and block.get("text", "").startswith("[Request interrupted")))
    return paths, messages


@pytest.mark.slow
def test_writers_and_a_reader_at_once(tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude-config"))
    logs = tmp_path / "logs"
    logs.mkdir()
    db = isolated_home / "claude-rec.db"  # not created yet: the processes race for the migrations too
    shared, expected = make_logs(logs, "shared", SHARED)
    batches = []
    for w in range(WRITERS):
        own, own_expected = make_logs(logs, f"w{w}", LOGS_EACH)
        expected.update(own_expected)
        batches.append(own + shared)
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), *map(str, batch)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for batch in batches]
    outputs = [w.communicate(timeout=240) for w in writers]
    stop.touch()
    reader_out, reader_err = reader.communicate(timeout=60)
    for (out, err), writer in zip(outputs, writers):
        assert writer.returncode == 0, err
        assert "locked" not in err
        results = json.loads(out)
        assert len(results) == LOGS_EACH + SHARED
        assert all(status in ("ingested", "unchanged") for status, _ in results), results
    assert reader.returncode == 0, reader_err
    assert json.loads(reader_out)["reads"] > 0

    from claude_rec.parser.migrations import migrations
    from claude_rec.parser.store import Store

    with Store(db) as store:
        got = dict(store.conn.execute(
            "SELECT s.id, (SELECT count(*) FROM messages m WHERE m.session_id = s.id) FROM sessions s").fetchall())
        assert got == expected
        assert store.conn.execute("SELECT count(*) FROM tool_calls").fetchone()[0] == \
            store.conn.execute("SELECT count(*) FROM tool_results").fetchone()[0]
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # every migration applied exactly once, though several processes opened the new store at once
        applied = [r[0] for r in store.conn.execute("SELECT name FROM _sqlite_migrations")]
        assert sorted(applied) == sorted(m.name for m in migrations._migrations)
        # The full-text index agrees with the table (no rows left behind by the replaced sessions).
        fts = store.conn.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'hello'").fetchone()[0]
        plain = store.conn.execute("SELECT count(*) FROM messages WHERE text LIKE '%hello%'").fetchone()[0]
        assert fts == plain > 0
