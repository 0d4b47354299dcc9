"""End-to-end harness: the real Claude Code CLI, recorded by claude-rec, against a fake API."""
