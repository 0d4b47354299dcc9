"""The engine as a real background process in a temporary data directory."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CLAUDE_REC, program

pytestmark = pytest.mark.slow


def rec(env: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([CLAUDE_REC, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def status(env: dict) -> dict:
    done = rec(env, "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_for(predicate, what: str, limit: float = 30):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def configure(home: Path, **engine: object) -> None:
    home.mkdir(parents=True, exist_ok=True)
    lines = ["[engine]"] + [f"{key} = {json.dumps(value)}" for key, value in engine.items()]
    (home / "config.toml").write_text("\n".join(lines) + "\n")


@pytest.fixture
def engine(env: dict):
    yield env
    rec(env, "stop", "--timeout", "30")


def test_start_ingest_stop(engine: dict, isolated_home: Path) -> None:
    env = engine
    assert "engine started" in rec(env, "start").stdout
    assert "already runs" in rec(env, "start").stdout  # a second start
    pid = status(env)["engine"]["pid"]
    assert rec(env, "run", "--exec", "echo", "--", "hello engine").returncode == 0
    wait_for(lambda: status(env)["recordings"]["ingested"] == 1, "the recording to be ingested")
    assert status(env)["traces"] == 1
    assert "engine stopped" in rec(env, "stop").stdout
    assert not status(env)["engine"]["running"]
    assert "not running" in rec(env, "stop").stdout  # a stop when nothing runs
    log = (isolated_home / "logs" / "engine.log").read_text()
    assert f"engine started (pid {pid}" in log and "ingested: " in log and "engine stopped" in log


def test_a_recording_in_progress_is_left_alone(engine: dict) -> None:
    env = engine
    rec(env, "start")
    recorder = subprocess.Popen([CLAUDE_REC, "run", "--exec", sys.executable, "--", *program("echo_loop.py")[1:]],
                                env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    wait_for(lambda: status(env)["recordings"]["in_progress"] == 1, "the recording to start")
    os.kill(status(env)["engine"]["pid"], signal.SIGUSR1)  # a full pass now
    time.sleep(1.5)
    assert status(env)["recordings"]["ingested"] == 0, "ingested while still being written"
    recorder.communicate(b"exit 0\n", timeout=30)
    assert recorder.returncode == 0
    wait_for(lambda: status(env)["recordings"]["ingested"] == 1, "the finished recording to be ingested")


def test_an_abandoned_recording_is_ingested(engine: dict, isolated_home: Path, tmp_path: Path) -> None:
    env = engine
    configure(isolated_home, abandoned_after_minutes=0.01, scan_every_seconds=1)
    cast = isolated_home / "recordings" / "2026" / "01" / "01" / "x.cast"
    cast.parent.mkdir(parents=True)
    cast.write_text('{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "left behind"]\n')
    dead = subprocess.Popen(["true"])
    dead.wait()
    cast.with_name("x.meta.json").write_text(json.dumps({"id": "x", "recorder_pid": dead.pid, "complete": False}))
    past = time.time() - 60
    os.utime(cast, (past, past))
    rec(env, "start")
    wait_for(lambda: status(env)["recordings"]["ingested"] == 1, "the abandoned recording to be ingested")
    assert "abandoned recording" in (isolated_home / "logs" / "engine.log").read_text()


def test_stale_pid_file_and_a_killed_engine(engine: dict, isolated_home: Path) -> None:
    env = engine
    pid_file = isolated_home / "engine" / "engine.pid"
    pid_file.parent.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    pid_file.write_text(f"{dead.pid}\n")
    assert not status(env)["engine"]["running"]
    assert "engine started" in rec(env, "start").stdout
    first = status(env)["engine"]["pid"]
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: not status(env)["engine"]["running"], "the killed engine to be seen as gone")
    assert "engine started" in rec(env, "start").stdout
    assert status(env)["engine"]["pid"] != first


def test_thresholds_trigger_a_training_and_failures_back_off(engine: dict, isolated_home: Path) -> None:
    env = engine
    marker = isolated_home / "trained"
    configure(isolated_home, min_traces=1, train_after_new_traces=1, scan_every_seconds=1,
              train_command=["sh", "-c", f"echo run >> {marker}"])
    rec(env, "start")
    rec(env, "run", "--exec", "echo", "--", "one")
    wait_for(lambda: marker.exists(), "a training to run")
    wait_for(lambda: status(env)["training"]["last_ok"] is True, "the training to finish")
    rec(env, "stop")

    configure(isolated_home, min_traces=1, train_after_new_traces=1, scan_every_seconds=1,
              train_command=["sh", "-c", f"echo fail >> {marker}; exit 3"])
    rec(env, "start")
    rec(env, "run", "--exec", "echo", "--", "two")
    wait_for(lambda: status(env)["training"]["failures_in_a_row"] == 1, "the failing training")
    rec(env, "run", "--exec", "echo", "--", "three")
    time.sleep(4)  # several scans: a hot loop would retry at once
    assert marker.read_text().splitlines() == ["run", "fail"]
    assert "retry after the failed training" in status(env)["training"]["next"]
    log = (isolated_home / "logs" / "engine.log").read_text()
    assert "training started" in log and "training failed (exit 3)" in log


def test_sigterm_lets_the_ingest_under_way_finish(engine: dict, isolated_home: Path) -> None:
    env = engine
    for i in range(12):
        assert rec(env, "run", "--exec", "echo", "--", f"session {i}").returncode == 0
    rec(env, "start")
    pid = status(env)["engine"]["pid"]
    time.sleep(0.3)
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not status(env)["engine"]["running"], "the engine to stop")
    import sqlite3

    with sqlite3.connect(isolated_home / "claude-rec.db") as conn:
        rows = conn.execute("SELECT id, status FROM recordings").fetchall()
        orphans = conn.execute("SELECT count(*) FROM sessions WHERE recording_id NOT IN "
                               "(SELECT id FROM recordings)").fetchone()[0]
    assert all(state == "ingested" for _, state in rows) and orphans == 0
    rec(env, "start")  # the rest is picked up on the next run
    wait_for(lambda: status(env)["recordings"]["ingested"] == 12, "the remaining recordings")


def test_a_broken_config_is_one_clear_line(env: dict, isolated_home: Path) -> None:
    configure(isolated_home, min_traces="many")
    done = rec(env, "start")
    assert done.returncode == 1
    assert done.stderr.strip() == (f"Error: {isolated_home / 'config.toml'}: [engine] min_traces: "
                                   "must be a whole number above 0, not 'many'")
