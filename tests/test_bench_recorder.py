"""The recorder benchmark (bench/recorder_bench.py) runs end to end with tiny parameters.

It is a benchmark, not a test of speed: this only checks that it completes and reports
a row of numeric figures for every recorder (or says one is not installed).
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "recorder_bench.py"
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def _row(stdout: str, name: str) -> list[str]:
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == name:
            return cells
    raise AssertionError(f"no row for {name!r} in:\n{stdout}")


@pytest.mark.slow
def test_benchmark_runs_with_tiny_parameters(tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--mb", "2", "--keys", "50", "--timeout", "60", "--json", str(out_json)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    installed = {
        "script": shutil.which("script") is not None,
        "asciinema": importlib.util.find_spec("asciinema") is not None,
        "claude-rec": True,
        "direct": True,
    }
    figures = json.loads(out_json.read_text())["results"]
    for name, present in installed.items():
        cells = _row(proc.stdout, name)
        if not present:
            assert cells[1] == "not installed", cells
            continue
        # MB/s, × script, CPU ms/MB, CPU s, peak RSS, recording, echo p50, p99, added p99, start
        numeric = cells[1:2] + cells[3:6] + cells[7:11]
        if installed["script"]:
            numeric.append(cells[2])
        assert all(NUMBER.match(cell) for cell in numeric), cells
        assert cells[6] == ("-" if name == "direct" else "ok"), cells
        assert figures[name]["burst"]["mb_per_s"] > 0
        assert figures[name]["echo"]["p99_ms"] > 0
