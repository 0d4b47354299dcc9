"""The sidecar record: git branch, Claude Code version, and the file name scheme."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from claude_rec.recorder.metadata import claude_version, git_branch, meta_path_for


def test_meta_path() -> None:
    assert meta_path_for(Path("/r/x.cast")) == Path("/r/x.meta.json")
    assert meta_path_for(Path("/r/out.log")) == Path("/r/out.log.meta.json")


def test_git_branch_from_a_real_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "feature/rec", str(repo)], check=True)
    (repo / "sub").mkdir()
    assert git_branch(repo / "sub") == "feature/rec"
    assert git_branch(tmp_path) is None or git_branch(tmp_path) != "feature/rec"


def test_claude_version_from_the_npm_package(tmp_path: Path) -> None:
    package = tmp_path / "node_modules" / "@anthropic-ai" / "claude-code"
    (package / "bin").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@anthropic-ai/claude-code", "version": "2.1.197"}))
    binary = package / "bin" / "claude.exe"
    binary.write_text("")
    link = tmp_path / "claude"
    link.symlink_to(binary)
    assert claude_version(str(link)) == "2.1.197"
    other = tmp_path / "other" / "bin"
    other.mkdir(parents=True)
    (tmp_path / "other" / "package.json").write_text(json.dumps({"name": "left-pad", "version": "1.0.0"}))
    (other / "tool").write_text("")
    assert claude_version(str(other / "tool")) is None
