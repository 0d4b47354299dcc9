"""The user's terminal is raw while the recorder runs and restored on every way out."""
from __future__ import annotations

import os
import signal
import termios
import time
from pathlib import Path

import pexpect
import pytest

from conftest import finish, meta_of, program, spawn_recorder


def modes(child: pexpect.spawn) -> list:
    """The termios settings of the terminal the recorder runs on (read through the master)."""
    return termios.tcgetattr(child.child_fd)


def is_raw(attrs: list) -> bool:
    return not attrs[3] & (termios.ICANON | termios.ECHO | termios.ISIG)


def wait_for_meta(cast: Path) -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            return meta_of(cast)
        except (FileNotFoundError, ValueError):
            time.sleep(0.02)
    raise AssertionError("the recorder never wrote its sidecar")


def test_raw_during_the_session_and_restored_after(tmp_path: Path) -> None:
    child = spawn_recorder(program("echo_loop.py"), tmp_path / "s.cast")
    before = modes(child)
    child.expect("ready>")
    assert is_raw(modes(child))
    child.sendline("exit 0")
    child.expect(pexpect.EOF)
    assert modes(child) == before
    assert finish(child) == 0


def test_restored_when_the_child_crashes(tmp_path: Path) -> None:
    child = spawn_recorder(program("die_by_signal.py") + ["SIGSEGV"], tmp_path / "s.cast")
    before = modes(child)
    child.expect(pexpect.EOF)
    assert modes(child) == before
    assert finish(child) == 128 + signal.SIGSEGV


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_restored_when_the_recorder_is_signalled(tmp_path: Path, signum: int) -> None:
    """The signal is passed to the child (as a terminal would); the recorder then ends with it."""
    cast = tmp_path / "s.cast"
    child = spawn_recorder(program("winsize.py"), cast)
    before = modes(child)
    child.expect("size 80x24")
    assert is_raw(modes(child))
    os.kill(wait_for_meta(cast)["recorder_pid"], signum)
    child.expect(pexpect.EOF)
    assert modes(child) == before
    assert finish(child) == 128 + signum
    meta = meta_of(cast)
    assert meta["exit_status"] == 128 + signum and meta["complete"] is True
