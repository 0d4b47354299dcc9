"""The redaction benchmark runs and prints its table (a smoke run; figures are not asserted)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "redact_bench.py"


@pytest.mark.slow
def test_redact_benchmark_prints_its_table(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(BENCH), "--mb", "0.3", "--ingest-copies", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for op in ("redact (ours + detect-secrets)", "redact_cast (.cast file)", "ingest logs, gate on"):
        row = next(line for line in done.stdout.splitlines() if line.startswith(f"| {op} |"))
        assert re.match(rf"\| {re.escape(op)} \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|", row), row
    assert out.exists()
