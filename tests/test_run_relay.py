"""`claude-rec run` relays keys and output unchanged and records them."""
from __future__ import annotations

import signal
from pathlib import Path

import pexpect
import pytest

from conftest import finish, meta_of, output_of, program, read_cast, spawn_recorder


def test_keys_reach_the_child_and_its_output_is_recorded(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    child = spawn_recorder(program("echo_loop.py"), cast)
    child.expect("ready>")
    for word in ("alpha", "beta"):
        child.send(word + "\r")  # typed, as a terminal sends Enter
        child.expect(f"echo: {word}")
    child.sendline("exit 0")
    assert finish(child) == 0
    header, events = read_cast(cast)
    assert header["version"] == 2 and (header["width"], header["height"]) == (80, 24)
    assert set(header["env"]) <= {"SHELL", "TERM"} and header["env"]["TERM"] == "xterm-256color"
    assert "echo_loop.py" in header["command"]
    text = output_of(events)
    assert "echo: alpha\r\n" in text and "echo: beta\r\n" in text
    times = [event[0] for event in events]
    assert times == sorted(times)
    assert not any(code == "i" for _, code, _ in events), "input is not captured by default"
    meta = meta_of(cast)
    assert meta["complete"] is True and meta["exit_status"] == 0


def test_the_terminal_gets_exactly_what_is_recorded(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    child = spawn_recorder(program("repaint.py"), cast)
    child.expect(pexpect.EOF)
    seen_by_user = child.before.decode()
    assert finish(child) == 0
    _, events = read_cast(cast)
    recorded = output_of(events)
    assert recorded == seen_by_user
    assert "\x1b[2Kprogress 100%\r\n\x1b[2Kstep 10/10\x1b[1A" in recorded
    assert recorded.endswith("\x1b[1;32mdone\x1b[0m\r\n")


def test_split_utf8_stays_whole_and_invalid_bytes_do_not_break_it(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    child = spawn_recorder(program("wide_chars.py"), cast)
    child.expect("end")
    assert finish(child) == 0
    _, events = read_cast(cast)
    text = output_of(events)
    assert "wide: 日本語テキスト 👨\u200d👩\u200d👧 ⚠️ café\r\n" in text
    assert "bad: \ufffd\ufffd\ufffd end\r\n" in text
    assert len([e for e in events if e[1] == "o"]) > 3, "the program wrote byte by byte"


def test_capture_input_records_keys_only_when_asked(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    child = spawn_recorder(program("echo_loop.py"), cast, options=["--capture-input"])
    child.expect("ready>")
    child.send("secret\r")
    child.expect("echo: secret")
    child.send("exit 0\r")
    assert finish(child) == 0
    _, events = read_cast(cast)
    typed = "".join(data for _, code, data in events if code == "i")
    assert typed == "secret\rexit 0\r"
    assert meta_of(cast)["capture_input"] is True


@pytest.mark.parametrize("code", [0, 3, 42])
def test_exit_status_is_the_childs(tmp_path: Path, code: int) -> None:
    child = spawn_recorder(program("echo_loop.py"), tmp_path / "s.cast")
    child.expect("ready>")
    child.sendline(f"exit {code}")
    assert finish(child) == code
    assert meta_of(tmp_path / "s.cast")["exit_status"] == code


@pytest.mark.parametrize("name", ["SIGKILL", "SIGSEGV", "SIGTERM"])
def test_death_by_signal_exits_128_plus_the_signal(tmp_path: Path, name: str) -> None:
    cast = tmp_path / "s.cast"
    child = spawn_recorder(program("die_by_signal.py") + [name], cast)
    child.expect("about to die")
    expected = 128 + getattr(signal, name)
    assert finish(child) == expected
    meta = meta_of(cast)
    assert meta["exit_status"] == expected and meta["complete"] is True
    assert "about to die" in output_of(read_cast(cast)[1])


def test_ctrl_c_reaches_a_cooked_child_as_sigint(tmp_path: Path) -> None:
    child = spawn_recorder(program("echo_loop.py"), tmp_path / "s.cast")
    child.expect("ready>")
    child.sendintr()
    child.expect(r"\[child got SIGINT\]")
    child.send("still here\r")
    child.expect("echo: still here")
    child.sendeof()  # Ctrl-D on an empty line: end of input for the child
    child.expect(r"\[child got EOF\]")
    assert finish(child) == 0


def test_control_keys_reach_a_raw_child_as_bytes(tmp_path: Path) -> None:
    child = spawn_recorder(program("raw_keys.py"), tmp_path / "s.cast")
    child.expect("raw ready")
    for key, shown in (("\x03", "03"), ("\x1a", "1a"), ("\x04", "04"), ("\x1b[A", "1b 5b 41")):
        child.send(key)
        child.expect(f"keys: {shown}\r\n")
    child.send("q")
    assert finish(child) == 0


def test_a_missing_program_is_a_clear_error(tmp_path: Path) -> None:
    child = spawn_recorder(["no-such-program-xyz"], tmp_path / "s.cast")
    child.expect("claude-rec: no-such-program-xyz: command not found")
    assert finish(child) == 127
    assert not (tmp_path / "s.cast").exists()
