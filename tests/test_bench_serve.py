"""The serve benchmark runs both sides and reports them (a small run; figures are not asserted)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "serve_bench.py"


@pytest.mark.slow
def test_serve_benchmark_reports_both_sides() -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--requests", "2", "--max-tokens", "8", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    direct, served = report["rows"]
    assert direct["side"].startswith("llama-cpp-python") and served["side"].startswith("claude-rec serve")
    # greedy on both sides: the same tokens come out, so the timings compare like with like
    assert direct["tokens"] == served["tokens"] > 0
    assert served["ttft_s"] > 0 and "ttft_ms" in report["overhead"]
