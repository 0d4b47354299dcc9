"""The transcript benchmark runs and prints a row per engine (a smoke run; figures are not asserted)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "transcript_bench.py"


@pytest.mark.slow
def test_transcript_benchmark_prints_its_table(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(BENCH), "--mb", "0.3", "--json", str(out)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for engine in ("claude-rec transcript", "pyte.Screen (stock)", "pyte.HistoryScreen (stock)"):
        row = next(line for line in done.stdout.splitlines() if line.startswith(f"| {engine} |"))
        assert re.match(rf"\| {re.escape(engine)} \| [0-9.]+ \| [0-9.]+ \| \d+ \| [0-9.]+x \|", row), row
    assert out.exists()
