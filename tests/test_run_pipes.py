"""Without a terminal (pipes, CI) the recorder still relays, records and ends."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import CLAUDE_REC, child_env, finish, output_of, program, read_cast, spawn_recorder


def run_piped(args: list[str], stdin: bytes, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CLAUDE_REC, "run", *args], input=stdin, capture_output=True, timeout=20,
                          env=child_env(), cwd=cwd)


def test_piped_input_reaches_the_child_and_ends_it(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    done = run_piped(["-o", str(cast), "--exec", "cat"], b"first line\nsecond line\n", tmp_path)
    assert done.returncode == 0, done.stderr
    assert b"first line" in done.stdout and b"second line" in done.stdout
    header, events = read_cast(cast)
    assert (header["width"], header["height"]) == (80, 24)  # no terminal: the default size
    assert "second line" in output_of(events)


def test_a_last_line_without_newline_still_ends_the_child(tmp_path: Path) -> None:
    done = run_piped(["-o", str(tmp_path / "s.cast"), "--exec", "cat"], b"no newline", tmp_path)
    assert done.returncode == 0
    assert b"no newline" in done.stdout


def test_exit_status_through_pipes(tmp_path: Path) -> None:
    done = run_piped(["-o", str(tmp_path / "s.cast"), "--exec", sys.executable, "--",
                      *program("echo_loop.py")[1:]], b"exit 7\n", tmp_path)
    assert done.returncode == 7


def test_stdout_to_a_pipe_with_a_terminal_on_stdin(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    out = tmp_path / "out.txt"
    shell = spawn_recorder(["sh", "-c", f"'{CLAUDE_REC}' run -o '{cast}' --exec echo -- piped-ok > '{out}'"],
                           None)
    assert finish(shell) == 0
    assert out.read_text().strip() == "piped-ok"
    assert "piped-ok" in output_of(read_cast(cast)[1])
