"""Screen against log: matching tool calls by order, name and key argument; `claude-rec check`."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from claude_rec.parser.reconcile import Call, reconcile, same_key
from claude_rec.parser.store import Store
from conftest import CLAUDE_REC, child_env

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def calls(source: str, *pairs: tuple[str, str]) -> list[Call]:
    return [Call(name, key, source, i) for i, (name, key) in enumerate(pairs)]


def test_matches_in_order_and_lists_what_each_side_lacks() -> None:
    screen = calls("screen", ("Bash", "ls"), ("Edit", "src/a.py"), ("Bash", "pytest"))
    log = calls("log", ("Read", "/p/src/a.py"), ("Bash", "ls"), ("Edit", "/p/src/a.py"), ("Grep", "x"),
                ("Bash", "pytest"))
    result = reconcile(screen, log)
    assert [(s.name, l.key) for s, l in result.matched] == [("Bash", "ls"), ("Edit", "/p/src/a.py"), ("Bash", "pytest")]
    assert [(c.name, c.key) for c in result.log_only] == [("Read", "/p/src/a.py"), ("Grep", "x")]
    assert result.screen_only == [] and result.match_rate == 1.0


def test_an_invented_call_is_screen_only() -> None:
    result = reconcile(calls("screen", ("Bash", "rm -rf /"), ("Bash", "ls")), calls("log", ("Bash", "ls")))
    assert [(c.name, c.key) for c in result.screen_only] == [("Bash", "rm -rf /")]
    assert result.match_rate == 0.5


def test_out_of_order_calls_do_not_match_backwards() -> None:
    result = reconcile(calls("screen", ("Bash", "b"), ("Bash", "a")), calls("log", ("Bash", "a"), ("Bash", "b")))
    assert len(result.matched) == 1 and len(result.screen_only) == 1


def test_key_arguments_as_the_screen_shows_them() -> None:
    assert same_key("Read", "src/a.py", "/home/u/p/src/a.py")
    assert not same_key("Read", "b/a.py", "/home/u/p/src/a.py")
    assert same_key("Bash", "python3 -c 'a very long…", "python3 -c 'a very long command'")
    assert same_key("Bash", "ls   -la", "ls -la")
    assert not same_key("Bash", "ls", "ls -la")


def test_samples_reconcile_fully(tmp_path: Path) -> None:
    with Store.open(tmp_path / "home") as store:
        for path in sorted(SAMPLES.glob("*.session.jsonl")) + sorted(SAMPLES.glob("*.cast")):
            getattr(store, "ingest_log" if path.suffix == ".jsonl" else "ingest_recording")(path)
        found = [store.reconciliation(row["id"]) for row in store.sessions()]
    assert len(found) == 3
    for r in found:
        assert r["match_rate"] == 1.0 and r["screen_only"] == [], r
        assert not [item for item in r["log_only"] if item["kind"] == "prompt"], r  # every prompt seen, exactly


def test_check_command(tmp_path: Path) -> None:
    env = child_env(CLAUDE_REC_HOME=str(tmp_path / "home"))
    subprocess.run([CLAUDE_REC, "ingest", str(SAMPLES)], env=env, check=True, capture_output=True, timeout=120)
    done = subprocess.run([CLAUDE_REC, "check", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {r["match_rate"] for r in json.loads(done.stdout)} == {1.0}
    strict = subprocess.run([CLAUDE_REC, "check", "--min-rate", "1.01"], env=env, capture_output=True, text=True)
    assert strict.returncode == 1 and "MISMATCH" in strict.stdout
