"""Ctrl-Z suspends the recorded program back to the user's shell, and `fg` resumes it,
exactly as without the recorder."""
from __future__ import annotations

from pathlib import Path

import pexpect

from conftest import CLAUDE_REC, child_env, meta_of, program


def interactive_shell() -> pexpect.spawn:
    shell = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=child_env(PS1="$ "),
                          dimensions=(24, 80), timeout=15, echo=False)
    shell.expect(r"\$ ")
    return shell


def test_ctrl_z_then_fg_with_a_cooked_program(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    shell = interactive_shell()
    shell.sendline(f"'{CLAUDE_REC}' run -o '{cast}' --exec sh -- -c 'echo started; exec sleep 30'")
    shell.expect("started")
    shell.sendcontrol("z")
    shell.expect("Stopped")
    shell.expect(r"\$ ")
    shell.sendline("jobs -s | wc -l")
    shell.expect(r"\b1\b")
    shell.sendline("fg")
    shell.expect("sleep")  # bash names the job it resumes
    shell.sendintr()  # the resumed program is in the foreground again: Ctrl-C ends it
    shell.sendline("echo rc=$?")
    shell.expect("rc=130")
    shell.sendline("exit")
    shell.expect(pexpect.EOF)
    assert meta_of(cast)["exit_status"] == 130


def test_ctrl_z_then_fg_with_a_raw_program_that_suspends_itself(tmp_path: Path) -> None:
    """Claude Code reads Ctrl-Z as a byte in raw mode and suspends itself with SIGTSTP."""
    cast = tmp_path / "s.cast"
    shell = interactive_shell()
    argv = " ".join(program("raw_keys.py"))
    shell.sendline(f"'{CLAUDE_REC}' run -o '{cast}' --exec {argv.replace(' ', ' -- ', 1)} suspend")
    shell.expect("raw ready")
    shell.sendcontrol("z")
    shell.expect("Stopped")
    shell.expect(r"\$ ")
    shell.sendline("stty -a | grep -o ' icanon'")  # the shell got its terminal back, cooked
    shell.expect(" icanon")
    shell.sendline("fg")
    shell.expect("resumed")
    shell.send("x")
    shell.expect("keys: 78")
    shell.send("q")
    shell.sendline("echo rc=$?")
    shell.expect("rc=0")
    shell.sendline("exit")
    shell.expect(pexpect.EOF)
    assert meta_of(cast)["complete"] is True
