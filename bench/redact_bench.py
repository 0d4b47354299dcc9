"""Benchmark: secret redaction throughput on realistic text, against ingest's own speed.

Input: the real-CLI sample session logs (their JSON text) and the decoded terminal output of
the sample recordings, concatenated to about --mb MB, with a few planted secrets so that
replacing is exercised too. Reported per operation: MB/s of text (one core, in process):
`find` and `redact` with detect-secrets' detectors, our rules alone, `redact_cast` on the
recordings concatenated, and `claude-rec ingest`-equivalent work (Store.ingest_log of the
sample logs, fresh store each time) with the gate on and with the gate as the identity.

    .venv/bin/python bench/redact_bench.py [--mb 20] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"


def build_text(target_mb: float) -> str:
    from claude_rec.parser.redact_cast import decode

    parts = [p.read_text() for p in sorted(SAMPLES.glob("*.session.jsonl"))]
    for cast in sorted(SAMPLES.glob("*.cast")):
        lines = cast.read_text().splitlines()[1:]
        parts.append(decode("".join(e[2] for e in map(json.loads, lines) if e[1] == "o")).text)
    unit = "\n".join(parts)
    planted = "\nexport API_TOKEN=tv0123456789abcdefghij\nkey sk-ant-api03-" + "Ab1" * 31 + "AA\n"
    reps = max(1, int(target_mb * 1e6 / (len(unit) + len(planted))))
    return (unit + planted) * reps


def timed(fn, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_ingest(copies: int, gate_on: bool) -> tuple[float, int]:
    """Seconds and bytes to ingest `copies` distinct copies of the sample logs into a fresh store."""
    from claude_rec.parser import redact_gate
    from claude_rec.parser.store import Store

    original = redact_gate.clean
    if not gate_on:
        redact_gate.clean = lambda text: text
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            redact_gate.configure(tmp / "home")
            logs, size = [], 0
            for i in range(copies):
                for log in sorted(SAMPLES.glob("*.session.jsonl")):
                    text = log.read_text()
                    sid = json.loads(text.splitlines()[0])["sessionId"]
                    text = text.replace(sid, f"{sid[:-4]}{i:04d}")
                    dst = tmp / "in" / f"{i}-{log.name}"
                    dst.parent.mkdir(exist_ok=True)
                    dst.write_text(text)
                    logs.append(dst)
                    size += len(text)
            redact_gate.redactor()  # built once per process: not part of the figure
            with Store.open(tmp / "home") as store:
                t0 = time.perf_counter()
                for log in logs:
                    store.ingest_log(log)
                return time.perf_counter() - t0, size
    finally:
        redact_gate.clean = original
        redact_gate.configure(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--ingest-copies", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from claude_rec.parser.config import PrivacySettings
    from claude_rec.parser.redact import Redactor
    from claude_rec.parser.redact_cast import redact_cast

    text = build_text(args.mb)
    mb = len(text.encode()) / 1e6
    full, ours = Redactor(), Redactor(PrivacySettings(detect_secrets=False))
    rows = []
    for name, fn in (("find (ours + detect-secrets)", lambda: full.find(text)),
                     ("redact (ours + detect-secrets)", lambda: full.redact(text)),
                     ("redact (ours only)", lambda: ours.redact(text))):
        seconds = timed(fn)
        rows.append({"operation": name, "mb": round(mb, 2), "seconds": round(seconds, 3),
                     "mb_per_s": round(mb / seconds, 2)})
    findings = len(full.find(text))
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.cast"
        lines = []
        for cast in sorted(SAMPLES.glob("*.cast")):
            lines.extend(cast.read_text().splitlines()[1:])
        reps = max(1, int(args.mb * 1e6 / 4 / sum(len(l) for l in lines)))
        head = (SAMPLES / "edit_write_bash.cast").read_text().splitlines()[0]
        big.write_text(head + "\n" + "\n".join(lines * reps) + "\n")
        cast_mb = big.stat().st_size / 1e6
        seconds = timed(lambda: redact_cast(big, Path(tmp) / "out.cast", full), repeat=1)
        rows.append({"operation": "redact_cast (.cast file)", "mb": round(cast_mb, 2), "seconds": round(seconds, 3),
                     "mb_per_s": round(cast_mb / seconds, 2)})
    for gate_on in (False, True):
        seconds, size = bench_ingest(args.ingest_copies, gate_on)
        rows.append({"operation": f"ingest logs, gate {'on' if gate_on else 'off (identity)'}",
                     "mb": round(size / 1e6, 2), "seconds": round(seconds, 3),
                     "mb_per_s": round(size / 1e6 / seconds, 2)})
    print(f"redaction benchmark: {mb:.1f} MB of sample logs and decoded output, {findings} findings; "
          f"python {platform.python_version()}, one core")
    print("| operation | MB | s | MB/s |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['operation']} | {row['mb']} | {row['seconds']} | {row['mb_per_s']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    sys.exit(main())
