"""The data directory: where it is, and that it is private."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from claude_rec.recorder.cli import cli
from claude_rec.recorder.home import default_home, ensure_home, open_private, private_dir


def test_env_then_xdg_then_local_share(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLAUDE_REC_HOME", str(tmp_path / "explicit"))
    assert default_home() == tmp_path / "explicit"
    monkeypatch.delenv("CLAUDE_REC_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_home() == tmp_path / "xdg" / "claude-rec"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_home() == tmp_path / "user" / ".local" / "share" / "claude-rec"


def test_created_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        home = ensure_home(tmp_path / "a" / "b")
        fd = open_private(home / "f")
        os.close(fd)
    finally:
        os.umask(old)
    for path in (tmp_path / "a", home):
        assert path.stat().st_mode & 0o777 == 0o700
    assert (home / "f").stat().st_mode & 0o777 == 0o600


def test_an_existing_home_is_tightened_but_other_directories_are_not(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    ensure_home(home)
    assert home.stat().st_mode & 0o777 == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    private_dir(shared / "mine")
    assert shared.stat().st_mode & 0o777 == 0o755  # never chmod a directory we did not create
    assert (shared / "mine").stat().st_mode & 0o777 == 0o700


def test_an_existing_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("x")
    os.chmod(path, 0o644)
    os.close(open_private(path))
    assert path.stat().st_mode & 0o777 == 0o600


def test_home_option_overrides_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    @cli.command("show-home-for-test")
    def show_home() -> None:
        import click

        seen["home"] = click.get_current_context().obj["home"]

    try:
        monkeypatch.setenv("CLAUDE_REC_HOME", str(tmp_path / "env"))
        assert CliRunner().invoke(cli, ["show-home-for-test"]).exit_code == 0
        assert seen["home"] == tmp_path / "env"
        assert CliRunner().invoke(cli, ["--home", str(tmp_path / "opt"), "show-home-for-test"]).exit_code == 0
        assert seen["home"] == tmp_path / "opt"
    finally:
        cli.commands.pop("show-home-for-test")
