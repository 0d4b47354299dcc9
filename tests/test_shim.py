"""bin/claude: the shim a user puts first on PATH runs the real claude through the recorder."""
from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

import pexpect
import pytest

from conftest import VENV_BIN, read_cast, output_of

SHIM = Path(__file__).resolve().parent.parent / "bin" / "claude"


@pytest.fixture
def real_claude(tmp_path: Path) -> Path:
    """A stand-in for the real claude further down PATH: prints its args, exits 4."""
    directory = tmp_path / "real"
    directory.mkdir()
    fake = directory / "claude"
    fake.write_text("#!/bin/sh\necho \"real claude got: $*\"\necho \"recording=${CLAUDE_REC_RECORDING:-none}\"\nexit 4\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake


def run_shim(path: list[Path], *args: str, **env: str) -> tuple[str, int]:
    full_env = {"PATH": os.pathsep.join(str(p) for p in path) + ":/usr/bin:/bin",
                "HOME": os.environ.get("HOME", "/tmp"), "TERM": "xterm",
                "CLAUDE_REC_HOME": os.environ["CLAUDE_REC_HOME"], **env}
    child = pexpect.spawn(str(path[0] / "claude"), list(args), env=full_env, timeout=15)
    child.expect(pexpect.EOF)
    child.close()
    return child.before.decode(), child.exitstatus


def test_shim_records_the_real_claude(real_claude: Path, isolated_home: Path) -> None:
    out, code = run_shim([SHIM.parent, real_claude.parent, VENV_BIN], "--resume", "a b")
    assert code == 4
    casts = list(isolated_home.glob("recordings/*/*/*/*.cast"))
    assert len(casts) == 1
    settings = casts[0].with_name(casts[0].name.removesuffix(".cast") + ".settings.json")
    assert f"real claude got: --settings {settings} --resume a b" in out  # hooks, then the user's args
    assert settings.stat().st_mode & 0o777 == 0o600
    header, events = read_cast(casts[0])
    assert str(real_claude) in header["command"]
    assert "--resume a b" in output_of(events)
    recording_id = casts[0].name.removesuffix(".cast")
    assert f"recording={recording_id}" in out


def test_shim_skips_other_shims_and_never_runs_itself(real_claude: Path, tmp_path: Path) -> None:
    copy_dir = tmp_path / "another-shim"
    copy_dir.mkdir()
    shutil.copy2(SHIM, copy_dir / "claude")
    out, code = run_shim([SHIM.parent, copy_dir, SHIM.parent, real_claude.parent, VENV_BIN], "x")
    assert code == 4 and re.search(r"real claude got: (--settings \S+ )?x\r", out)


def test_shim_without_a_real_claude_says_so(tmp_path: Path) -> None:
    out, code = run_shim([SHIM.parent, VENV_BIN])
    assert code == 127
    assert "the real claude was not found on PATH" in out


def test_shim_runs_claude_directly_inside_a_recording(real_claude: Path, isolated_home: Path) -> None:
    out, code = run_shim([SHIM.parent, real_claude.parent, VENV_BIN], "nested", CLAUDE_REC_RECORDING="outer")
    assert code == 4 and "recording=outer" in out
    assert not isolated_home.exists() or not list(isolated_home.rglob("*.cast"))


def test_shim_runs_claude_directly_when_the_recorder_is_missing(real_claude: Path, isolated_home: Path) -> None:
    out, code = run_shim([SHIM.parent, real_claude.parent], "plain")
    assert code == 4 and "recording=none" in out


def test_run_finds_claude_past_the_shim(real_claude: Path, isolated_home: Path) -> None:
    """`claude-rec run` itself skips the shim when it looks for claude on PATH."""
    env = {"PATH": f"{SHIM.parent}:{real_claude.parent}:/usr/bin:/bin", "TERM": "xterm",
           "CLAUDE_REC_HOME": str(isolated_home)}
    child = pexpect.spawn(str(VENV_BIN / "claude-rec"), ["run", "--", "direct"], env=env, timeout=15)
    child.expect(r"real claude got: --settings \S+ direct")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4
