"""Shared fixtures: an isolated data directory for every test, and a way to drive
`claude-rec run` in a real pseudo-terminal as a user's terminal would (pexpect)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
import pytest

PROGRAMS = Path(__file__).parent / "programs"
VENV_BIN = Path(sys.executable).parent
CLAUDE_REC = str(VENV_BIN / "claude-rec")


@pytest.fixture(autouse=True)
def claude_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Claude Code's config and log directory: a fresh one, never the user's ~/.claude."""
    root = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    return root


@pytest.fixture
def store(isolated_home: Path):
    """The store of the test's data directory, open."""
    from claude_rec.parser.store import Store

    with Store.open(isolated_home) as opened:
        yield opened


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test touches the real data directory."""
    home = tmp_path / "rec-home"
    monkeypatch.setenv("CLAUDE_REC_HOME", str(home))
    monkeypatch.delenv("CLAUDE_REC_CLAUDE", raising=False)
    monkeypatch.delenv("CLAUDE_REC_RECORDING", raising=False)
    return home


@pytest.fixture
def env(tmp_path: Path, isolated_home: Path) -> dict[str, str]:
    """The environment of a claude-rec subprocess with a sandbox HOME of its own."""
    user = tmp_path / "user"
    user.mkdir()
    return child_env(HOME=str(user), CLAUDE_REC_HOME=str(isolated_home), CLAUDE_CONFIG_DIR=str(user / ".claude"))


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


def program(name: str) -> list[str]:
    """argv that runs one of tests/programs/ with this interpreter."""
    return [sys.executable, str(PROGRAMS / name)]


def spawn_recorder(argv: list[str], cast: Path | None, *, options: list[str] = (),
                   dimensions: tuple[int, int] = (24, 80), env: dict[str, str] | None = None,
                   timeout: float = 15) -> pexpect.spawn:
    """`claude-rec run [--output cast] --exec argv[0] -- argv[1:]` in a pexpect terminal."""
    args = ["run", *options]
    if cast is not None:
        args += ["--output", str(cast)]
    args += ["--exec", argv[0], "--", *argv[1:]]
    return pexpect.spawn(CLAUDE_REC, args, dimensions=dimensions, env=env or child_env(),
                         timeout=timeout)


def finish(child: pexpect.spawn, timeout: float = 15) -> int:
    """Wait for the recorder to exit; its exit code (or 128 + signal, as a shell says)."""
    child.expect(pexpect.EOF, timeout=timeout)
    child.close()
    if child.signalstatus is not None:
        return 128 + child.signalstatus
    return child.exitstatus


def read_cast(path: Path) -> tuple[dict, list[list]]:
    """Parse an asciicast v2 file strictly: every line must be JSON."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    events = [json.loads(line) for line in lines[1:]]
    return header, events


def output_of(events: list[list]) -> str:
    return "".join(data for _, code, data in events if code == "o")


def meta_of(cast: Path) -> dict:
    return json.loads(cast.with_name(cast.name.removesuffix(".cast") + ".meta.json").read_text())
