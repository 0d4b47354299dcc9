"""Nothing recorded is lost when the recorder dies, and the session survives a failing disk."""
from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
from pathlib import Path

import pexpect

from conftest import CLAUDE_REC, child_env, finish, meta_of, output_of, program, read_cast, spawn_recorder


def wait_until_stable(path: Path, quiet: float = 0.5, limit: float = 10) -> None:
    deadline = time.monotonic() + limit
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_size = path.stat().st_size
        if now_size != size:
            size, since = now_size, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} kept growing for {limit}s after the recorder died")


def test_sigkill_of_the_recorder_leaves_a_valid_file(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    child = spawn_recorder(program("burst.py") + ["30"], cast)
    child.expect("line 00000500")
    time.sleep(0.3)  # a burst in full flow, mid-batch
    recorder_pid = meta_of(cast)["recorder_pid"]
    os.kill(recorder_pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    wait_until_stable(cast)  # the writer process finishes what it was handed, then exits
    header, events = read_cast(cast)  # every line parses: no half-written event
    assert header["version"] == 2
    text = output_of(events)
    assert "line 00000500" in text
    assert meta_of(cast)["complete"] is False  # the sidecar says it was cut short


def test_the_file_is_at_most_a_flush_interval_behind(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    child = spawn_recorder(program("echo_loop.py"), cast)
    child.expect("ready>")
    child.send("marker-one\r")
    child.expect("echo: marker-one")
    time.sleep(0.25)
    assert "echo: marker-one" in cast.read_text(), "written while the session is still running"
    child.send("exit 0\r")
    assert finish(child) == 0


def test_an_unwritable_output_directory_leaves_the_session_working(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cast = blocker / "sub" / "s.cast"
    child = spawn_recorder(program("echo_loop.py"), cast)
    child.expect(r"claude-rec: warning: cannot record to .*s\.cast: Not a directory; the session runs unrecorded")
    child.expect("ready>")
    child.send("hello\r")
    child.expect("echo: hello")
    child.send("exit 5\r")
    assert finish(child) == 5
    assert not cast.exists()


def test_a_full_disk_at_the_start_leaves_the_session_working(tmp_path: Path) -> None:
    child = spawn_recorder(program("echo_loop.py"), Path("/dev/full"))
    child.expect("claude-rec: warning: cannot record to /dev/full: No space left on device")
    child.expect("ready>")
    child.send("exit 0\r")
    assert finish(child) == 0


def test_a_disk_that_fills_up_mid_session_is_reported_once_at_the_end(tmp_path: Path) -> None:
    """A file-size limit makes the writes fail part-way, as a full disk would."""
    cast = tmp_path / "s.cast"
    limit = 20_000

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    child = pexpect.spawn(CLAUDE_REC, ["run", "--output", str(cast), "--exec", sys.executable, "--",
                                       *program("burst.py")[1:], "1"],
                          env=child_env(), timeout=20, preexec_fn=limit_file_size)
    child.expect("burst over")  # the program ran to its end, all its output relayed
    child.expect("claude-rec: warning: the recording is incomplete: cannot write .*File too large")
    assert finish(child) == 0
    assert os.path.getsize(cast) <= limit
    meta = json.loads(cast.with_name("s.meta.json").read_text())
    assert meta["complete"] is False and "File too large" in meta["error"] and meta["exit_status"] == 0
    header, events = read_cast(cast)
    assert "line 00000000" in output_of(events)


def test_output_files_are_private(tmp_path: Path, isolated_home: Path) -> None:
    child = spawn_recorder(program("repaint.py"), None)
    assert finish(child) == 0
    casts = list(isolated_home.glob("recordings/*/*/*/*.cast"))
    assert len(casts) == 1
    for path in [isolated_home, *isolated_home.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert path.stat().st_mode & 0o777 == expected, path


def test_a_recording_deleted_mid_session_is_reported(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    child = spawn_recorder(program("echo_loop.py"), cast)
    child.expect("ready>")
    time.sleep(0.2)
    cast.unlink()
    child.send("after delete\r")
    child.expect("echo: after delete")
    child.send("exit 0\r")
    child.expect("claude-rec: warning: the recording is incomplete: .*s.cast was deleted during the session")
    assert finish(child) == 0
    meta = json.loads(cast.with_name("s.meta.json").read_text())
    assert meta["complete"] is False and "deleted" in meta["error"]
