"""`claude-rec install` / `uninstall` against a temporary HOME and a fake shell rc file."""
from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from claude_rec.recorder.engine.install import BEGIN, unit_text
from conftest import CLAUDE_REC, child_env


@pytest.fixture
def user(tmp_path: Path) -> Path:
    home = tmp_path / "user"
    home.mkdir()
    (home / ".bashrc").write_text("# my own settings\nalias ll='ls -l'\n")
    return home


def rec(user: Path, rec_home: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = child_env(HOME=str(user), CLAUDE_REC_HOME=str(rec_home))
    if path is not None:
        env["PATH"] = path
    return subprocess.run([CLAUDE_REC, *args], env=env, capture_output=True, text=True, timeout=60)


def test_install_is_idempotent_and_uninstall_undoes_it(user: Path, isolated_home: Path) -> None:
    for _ in range(2):
        done = rec(user, isolated_home, "install", "--shell", "bash", "--no-systemd")
        assert done.returncode == 0, done.stderr
    bashrc = (user / ".bashrc").read_text()
    assert bashrc.count(BEGIN) == 1 and bashrc.startswith("# my own settings\nalias ll='ls -l'\n")
    assert f"export PATH={isolated_home / 'bin'}:\"$PATH\"" in bashrc
    shim = isolated_home / "bin" / "claude"
    assert shim.stat().st_mode & stat.S_IXUSR and "claude-rec-shim" in shim.read_text()
    assert "undo all of it with: claude-rec uninstall" in done.stdout

    done = rec(user, isolated_home, "uninstall")
    assert done.returncode == 0 and "removed" in done.stdout
    assert (user / ".bashrc").read_text() == "# my own settings\nalias ll='ls -l'\n"
    assert not shim.exists()
    assert "nothing to undo" in rec(user, isolated_home, "uninstall").stdout


def test_the_installed_shim_records_even_without_claude_rec_on_path(user: Path, isolated_home: Path,
                                                                   tmp_path: Path) -> None:
    rec(user, isolated_home, "install", "--shell", "bash", "--no-systemd")
    real = tmp_path / "real"
    real.mkdir()
    (real / "claude").write_text("#!/bin/sh\necho real claude ran\n")
    (real / "claude").chmod(0o755)
    env = {"HOME": str(user), "CLAUDE_REC_HOME": str(isolated_home), "TERM": "xterm",
           "PATH": f"{isolated_home / 'bin'}:{real}:/usr/bin:/bin"}  # no claude-rec on PATH
    done = subprocess.run(["claude"], env=env, capture_output=True, text=True, timeout=60)
    assert "real claude ran" in done.stdout
    assert list(isolated_home.glob("recordings/*/*/*/*.cast")), "the session was not recorded"


def test_zsh_and_fish(user: Path, isolated_home: Path) -> None:
    rec(user, isolated_home, "install", "--shell", "zsh", "--no-systemd")
    assert BEGIN in (user / ".zshrc").read_text()
    rec(user, isolated_home, "install", "--shell", "fish", "--no-systemd")
    fish = user / ".config" / "fish" / "conf.d" / "claude-rec.fish"
    assert f"fish_add_path --prepend --move {isolated_home / 'bin'}" in fish.read_text()
    rec(user, isolated_home, "uninstall")
    assert BEGIN not in (user / ".zshrc").read_text() and BEGIN not in fish.read_text()


def test_the_systemd_unit(user: Path, isolated_home: Path) -> None:
    done = rec(user, isolated_home, "install", "--shell", "bash")
    unit = user / ".config" / "systemd" / "user" / "claude-rec.service"
    text = unit.read_text()
    assert f"Environment=CLAUDE_REC_HOME={isolated_home}" in text and " engine" in text
    assert "Restart=on-failure" in text  # a killed engine comes back
    if not shutil.which("systemctl"):
        assert "start the engine yourself" in done.stdout
    status = rec(user, isolated_home, "status", "--json")
    assert '"unit": true' in status.stdout
    if shutil.which("systemd-analyze"):  # where systemd is installed, its own check of the unit
        verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
        assert verify.returncode == 0, verify.stderr


def test_unit_text_quotes_paths() -> None:
    assert "ExecStart='/opt/my tools/claude-rec' engine" in unit_text("/opt/my tools/claude-rec", Path("/data"))
