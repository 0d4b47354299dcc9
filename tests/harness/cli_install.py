"""Where `.ci/install-claude-cli` puts the real Claude Code CLI, and finding its binary.

Cache: `$CLAUDE_REC_CLI_CACHE` (default `~/.cache/claude-rec/claude-code`), one folder per
version holding an npm install of `@anthropic-ai/claude-code@<version>`.
"""
from __future__ import annotations

import os
from pathlib import Path

# Keep in sync with .ci/install-claude-cli (DEFAULT_VERSIONS).
DEFAULT_VERSIONS = ("2.1.197", "2.1.332")


def cache_dir() -> Path:
    explicit = os.environ.get("CLAUDE_REC_CLI_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    return Path.home() / ".cache" / "claude-rec" / "claude-code"


def versions() -> tuple[str, ...]:
    """The versions to test: `$CLAUDE_REC_CLI_VERSIONS` (comma-separated) or the defaults."""
    explicit = os.environ.get("CLAUDE_REC_CLI_VERSIONS")
    if explicit:
        return tuple(v.strip() for v in explicit.split(",") if v.strip())
    return DEFAULT_VERSIONS


def find_claude(version: str) -> Path | None:
    """The `claude` binary of an installed `version`, or None if it is not installed."""
    root = cache_dir() / version / "node_modules"
    for candidate in (root / ".bin" / "claude",
                      root / "@anthropic-ai" / "claude-code" / "bin" / "claude.exe"):
        if candidate.exists() and os.access(candidate, os.X_OK):
            return candidate
    return None

