"""Benchmark: clean transcripts of real Claude Code recordings, ours against stock pyte.

Input: the real-CLI sample recordings in data/samples/ (both renderers), concatenated
and time-shifted into one long session of about --mb MB, as a day of use would give.
Each engine runs in a fresh subprocess on one core; we report MB of .cast per second
(wall), peak RSS, and the ratio to stock pyte. Stock pyte is fed the same output
events through `pyte.Stream` into `pyte.Screen` and into `pyte.HistoryScreen`. The CPU
seconds each engine used are printed too: on a shared machine the wall figures drop with
the load, and the CPU ones much less.

    .venv/bin/python bench/transcript_bench.py [--mb 50] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"

STOCK = """
import json, pyte
with open(PATH, encoding="utf-8") as f:
    head = json.loads(f.readline())
    screen = {screen}; stream = pyte.Stream(screen)
    for line in f:
        t, code, data = json.loads(line)
        if code == "o":
            stream.feed(data)
        elif code == "r":
            cols, rows = map(int, data.split("x")); screen.resize(rows, cols)
print({result})
"""

ENGINES = {
    "claude-rec transcript": """
from claude_rec.parser.transcript import transcript
header, lines = transcript(PATH)
print(len(lines))
""",
    "pyte.Screen (stock)": STOCK.format(screen="pyte.Screen(head['width'], head['height'])",
                                        result="len(screen.display)"),
    "pyte.HistoryScreen (stock)": STOCK.format(
        screen="pyte.HistoryScreen(head['width'], head['height'], history=10**9)",
        result="len(screen.history.top)"),
}


def build_input(target_mb: float, out: Path) -> int:
    """Concatenate the sample recordings, shifted in time, until the file is target_mb."""
    casts = sorted(SAMPLES.glob("*.cast"))
    if not casts:
        sys.exit("no recordings in data/samples/")
    first = json.loads(casts[0].read_text(encoding="utf-8").splitlines()[0])
    with open(out, "w", encoding="utf-8") as f:
        f.write(json.dumps({"version": 2, "width": first["width"], "height": first["height"]}) + "\n")
        offset = 0.0
        while f.tell() < target_mb * 1e6:
            for cast in casts:
                last = 0.0
                for line in cast.read_text(encoding="utf-8").splitlines()[1:]:
                    t, code, data = json.loads(line)
                    if code == "r":
                        continue
                    f.write(json.dumps([round(offset + t, 6), code, data], ensure_ascii=False) + "\n")
                    last = t
                offset += last + 1.0
        return f.tell()


def run_engine(code: str, path: Path, timeout: float) -> dict:
    """Run one engine in a fresh interpreter pinned to one core; it reports its own time and RSS."""
    script = (f"import json as _j, resource as _r, time as _t\nPATH = {str(path)!r}\n"
              "_start, _cpu = _t.perf_counter(), _t.process_time()\n"
              + code + "\nprint(_j.dumps({'seconds': _t.perf_counter() - _start, "
              "'cpu_seconds': _t.process_time() - _cpu, "
              "'rss_mb': _r.getrusage(_r.RUSAGE_SELF).ru_maxrss / 1024}))\n")
    core = {min(os.sched_getaffinity(0))}
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout,
                              preexec_fn=lambda: os.sched_setaffinity(0, core))
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f}s"}
    if done.returncode != 0:
        return {"error": done.stderr[-300:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50, help="size of the recording to transcribe (default 50)")
    parser.add_argument("--timeout", type=float, default=900, help="per engine, seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "day.cast"
        size = build_input(args.mb, path)
        mb = size / 1e6
        rows = {name: run_engine(code, path, args.timeout) for name, code in ENGINES.items()}
    print(f"# Transcript benchmark: {mb:.1f} MB of real Claude Code recordings "
          f"({len(list(SAMPLES.glob('*.cast')))} samples, concatenated)")
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, one core per engine, "
          f"load {os.getloadavg()[0]:.2f}\n")
    print("| engine | MB/s | seconds | peak RSS MB | vs stock HistoryScreen | CPU seconds | MB per CPU second |")
    print("|---|---|---|---|---|---|---|")
    base = rows["pyte.HistoryScreen (stock)"].get("seconds")
    for name, row in rows.items():
        if "error" in row:
            error = row['error'].strip().splitlines()[-1] if row['error'].strip() else 'failed'
            print(f"| {name} | - | - | - | {error} | - | - |")
            continue
        ratio = f"{base / row['seconds']:.1f}x" if base else "-"
        print(f"| {name} | {mb / row['seconds']:.2f} | {row['seconds']:.1f} | {row['rss_mb']:.0f} | {ratio} "
              f"| {row['cpu_seconds']:.1f} | {mb / row['cpu_seconds']:.2f} |")
    ours = rows["claude-rec transcript"]
    if "seconds" in ours:
        verdict = "meets" if mb / ours["seconds"] >= 5 else "misses"
        print(f"\nTarget >= 5 MB/s of .cast on one core: {verdict} ({mb / ours['seconds']:.2f} MB/s wall, "
              f"{mb / ours['cpu_seconds']:.2f} MB per CPU second).")
    if args.json:
        args.json.write_text(json.dumps({"mb": mb, "engines": rows}, indent=2))


if __name__ == "__main__":
    main()
