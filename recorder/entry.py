"""The `claude-rec` executable. `claude-rec hook` runs at once, with nothing else imported:
Claude Code waits for its hooks, so their cost is the session's latency."""
from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["hook"]:
        from .hooks import run_hook

        sys.exit(run_hook(sys.argv[2:]))
    from .cli import cli

    cli()
