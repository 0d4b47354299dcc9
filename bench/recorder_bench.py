#!/usr/bin/env python3
"""Benchmark `claude-rec run` against util-linux `script` and `asciinema rec` 2.4.

Not a test: it prints a markdown table. Every recorder (and a no-recorder baseline,
"direct") runs on the slave side of a pseudo-terminal that this script opens itself,
as the recorder's controlling terminal; this script drains the master side as a
terminal emulator would (blocking 64 KiB reads, nothing rendered).

Workloads
  burst  `cat` of an N MB file (MB = 10**6 bytes) of text lines with ANSI colour codes
         and some UTF-8, through each recorder. Reported: MB/s over the wall time from
         fork to the recorder's exit (startup and final flush included), the ratio to
         `script`, and the recorder's CPU time per MB.
         Recorder CPU = rusage of the whole process tree from os.wait4() (the recorder
         plus every descendant it reaped: asciinema's writer process, claude-rec's
         supervisor, the shell, cat) minus the inner command's own cost. The inner command
         is `bash -c 'cat FILE; times > T'`, and bash's `times` gives the CPU time of
         bash and cat (1 ms resolution), so what remains is the recorder's: its relay,
         its writer, its pty reads/writes, its interpreter's startup and exit.
         Each recording is checked: the recorded output must be exactly the bytes the
         program wrote (after the pty's \\n -> \\r\\n), then the file is deleted.
  echo   the recorder runs `cat` in its pty (cooked mode: the inner pty echoes); this
         script sends K single keys (letters, a carriage return every 50th), each after
         the previous key's echo came back, and times key -> echo. Reported: p50/p99 in
         ms and the p99 added over direct (cat on the terminal itself).
  start  the recorder running `true`: time from fork to exit (best of 3), for reading
         the burst figures at small sizes.

Usage: python bench/recorder_bench.py [--mb 200] [--keys 1000] [--repeat 1] [--json PATH]
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.util
import json
import os
import platform
import pty
import random
import shlex
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

MB = 10**6
COLS, ROWS = 120, 40
READ_SIZE = 1 << 16
NEWLINE_EVERY = 50
TARGET_RATIO = 0.9
TARGET_ADDED_P99_MS = 1.0
SAMPLE_INTERVAL = 0.02
INNER_NAMES = ("bash", "cat", "true", "sh")
RECORDERS = ("script", "asciinema", "claude-rec", "direct")


# -- recorders ---------------------------------------------------------------------------
@dataclass
class Recorder:
    name: str
    # (inner argv, recording path) -> argv to run on the terminal
    command: Callable[[list[str], Path], list[str]] | None
    cast_format: str | None  # "typescript", "asciicast" or None (no recording)
    missing: str | None = None  # why it cannot run ("not installed")
    version: str = ""


def find_recorders(selected: list[str], claude_rec: str | None = None) -> list[Recorder]:
    found = []
    for name in selected:
        if name == "script":
            exe = shutil.which("script")
            if exe is None:
                found.append(Recorder(name, None, None, "not installed"))
                continue
            version = _first_line([exe, "--version"])
            found.append(Recorder(name, lambda inner, cast, exe=exe: [exe, "-q", "-c", shlex.join(inner), str(cast)],
                                  "typescript", version=version))
        elif name == "asciinema":
            if importlib.util.find_spec("asciinema") is None:
                found.append(Recorder(name, None, None, "not installed"))
                continue
            import asciinema  # noqa: PLC0415

            found.append(Recorder(
                name,
                lambda inner, cast: [sys.executable, "-m", "asciinema", "rec", "--quiet", "--overwrite",
                                     "-c", shlex.join(inner), str(cast)],
                "asciicast", version=f"asciinema {asciinema.__version__}"))
        elif name == "claude-rec":
            exe = Path(sys.executable).parent / "claude-rec"
            exe_s = claude_rec or (str(exe) if exe.exists() else shutil.which("claude-rec"))
            if exe_s is None:
                found.append(Recorder(name, None, None, "not installed"))
                continue
            found.append(Recorder(
                name, lambda inner, cast, exe=exe_s: [exe, "run", "--output", str(cast), "--exec", inner[0],
                                                      "--", *inner[1:]],
                "asciicast", version=_first_line([exe_s, "--version"])))
        elif name == "direct":
            found.append(Recorder(name, lambda inner, cast: list(inner), None, version="(no recorder)"))
        else:
            raise SystemExit(f"unknown recorder {name!r}; choose from {', '.join(RECORDERS)}")
    return found


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    return out.strip().splitlines()[0] if out.strip() else "?"


# -- running on a terminal ---------------------------------------------------------------
class Session:
    """`argv` running as session leader on a fresh pty whose master we hold."""

    def __init__(self, argv: list[str], env: dict[str, str], timeout: float) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.started = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # child: the slave becomes the controlling terminal and stdio
            try:
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(slave, fd)
                os.close(slave)
                os.close(master)
                os.execvpe(argv[0], argv, env)
            except BaseException as exc:  # noqa: BLE001
                os.write(2, f"recorder_bench: cannot run {argv[0]}: {exc}\r\n".encode())
            finally:
                os._exit(127)
        os.close(slave)
        self.pid = pid
        self.master = master
        self.buffer = bytearray()
        self.timed_out = False
        self._watchdog = threading.Timer(timeout, self._kill)
        self._watchdog.daemon = True
        self._watchdog.start()
        self.peak_rss: dict[int, tuple[str, int]] = {}  # pid -> (name, VmHWM in kB)
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        """Every SAMPLE_INTERVAL, the high-water RSS (VmHWM) of each process in the tree.

        rusage's ru_maxrss is useless here: a process forked from this (Python) benchmark
        keeps the benchmark's RSS as its high-water mark across exec.
        """
        while not self._done.wait(SAMPLE_INTERVAL):
            for pid in _tree(self.pid):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                name = hwm = None
                for line in status.splitlines():
                    if line.startswith("Name:"):
                        name = line.split(None, 1)[1] if len(line.split(None, 1)) > 1 else "?"
                    elif line.startswith("VmHWM:"):
                        hwm = int(line.split()[1])
                if name is not None and hwm is not None:
                    self.peak_rss[pid] = (name, max(hwm, self.peak_rss.get(pid, (name, 0))[1]))

    def _kill(self) -> None:
        self.timed_out = True
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass

    def read(self) -> bytes:
        """One blocking read; b"" once every process closed the terminal."""
        try:
            return os.read(self.master, READ_SIZE)
        except OSError:  # EIO: the slave side is closed everywhere
            return b""

    def expect(self, n: int) -> bytes:
        """The next `n` bytes of output (blocking)."""
        while len(self.buffer) < n:
            data = self.read()
            if not data:
                raise RuntimeError(f"terminal closed while waiting for {n} bytes; got {bytes(self.buffer)!r}")
            self.buffer += data
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def drain(self) -> int:
        """Read until end of output; the number of bytes read."""
        total = len(self.buffer)
        self.buffer.clear()
        while True:
            data = self.read()
            if not data:
                return total
            total += len(data)

    def finish(self) -> tuple[int, float, os.struct_rusage]:
        """Wait for the process: (exit code, wall seconds since fork, rusage of the tree)."""
        _, status, usage = os.wait4(self.pid, 0)
        wall = time.perf_counter() - self.started
        self._watchdog.cancel()
        self._watchdog.join()
        self._done.set()
        self._sampler.join()
        os.close(self.master)
        if self.timed_out:
            raise RuntimeError("timed out")
        return os.waitstatus_to_exitcode(status), wall, usage


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (through /proc/PID/task/TID/children)."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return pids


def recorder_rss_mb(session: Session) -> float:
    """Peak RSS of the largest recorder process (the workload's bash/cat/true left out)."""
    sizes = [kb for name, kb in session.peak_rss.values() if name not in INNER_NAMES]
    return max(sizes, default=0) / 1024


def wait_raw(session: Session, timeout: float = 20.0) -> None:
    """Wait until the recorder has put our terminal in raw mode (echo off)."""
    deadline = time.monotonic() + timeout
    while termios.tcgetattr(session.master)[3] & termios.ECHO:
        if time.monotonic() > deadline:
            raise RuntimeError("the recorder never put the terminal in raw mode")
        time.sleep(0.002)


# -- workload ----------------------------------------------------------------------------
WORDS = ("request", "worker", "cache", "token", "session", "stream", "render", "commit", "queue",
         "parse", "résumé", "naïve", "façade", "Grüße", "日本語", "données", "λ-calc", "→", "✓", "…",
         "emoji 🙂", "Ωmega", "tool_use", "stdout", "Read(src/main.py)", "Edit", "diff")
COLOURS = ("31", "32", "33", "34", "35", "36", "1;31", "1;32", "2", "38;5;208", "38;2;120;200;255")


@dataclass
class Workload:
    path: Path
    size: int  # bytes in the file
    newlines: int
    terminal_bytes: int  # what the pty delivers: each \n becomes \r\n
    terminal_sha256: str


def make_workload(directory: Path, megabytes: float, seed: int = 1) -> Workload:
    """A file of coloured log-like lines; a 1 MB block of distinct lines, repeated."""
    rng = random.Random(seed)
    lines = []
    size = 0
    n = 0
    while size < MB:
        n += 1
        colour = rng.choice(COLOURS)
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14)))
        line = (f"\x1b[2m{n:07d}\x1b[0m \x1b[{colour}m{rng.choice(('INFO', 'WARN', 'DEBUG', 'ERROR'))}\x1b[0m "
                f"{words} \x1b[1m{rng.randint(0, 10**6)}\x1b[0m\n").encode("utf-8")
        lines.append(line)
        size += len(line)
    block = b"".join(lines)
    target = int(megabytes * MB)
    path = directory / "burst.txt"
    crlf_block = block.replace(b"\n", b"\r\n")
    sha = hashlib.sha256()
    written = newlines = 0
    with open(path, "wb") as f:
        while written < target:
            chunk = block
            if written + len(chunk) > target:
                cut = block.rfind(b"\n", 0, target - written) + 1
                chunk = block[:cut] if cut > 0 else block[: block.index(b"\n") + 1]
            f.write(chunk)
            written += len(chunk)
            count = chunk.count(b"\n")
            newlines += count
            sha.update(crlf_block if chunk is block else chunk.replace(b"\n", b"\r\n"))
    return Workload(path, written, newlines, written + newlines, sha.hexdigest())


def check_recording(fmt: str | None, cast: Path, work: Workload) -> str:
    """'ok' if the recording holds exactly the bytes the terminal received, else why not."""
    if fmt is None:
        return "-"
    if not cast.exists():
        return "missing"
    sha = hashlib.sha256()
    got = 0
    if fmt == "typescript":
        # "Script started on ...\n" + output + "\nScript done on ...\n"
        with open(cast, "rb") as f:
            f.readline()
            start = f.tell()
            end = cast.stat().st_size
            f.seek(max(start, end - 4096))
            tail = f.read()
            footer = tail.rfind(b"\nScript done on ")
            if footer >= 0:
                end = max(start, end - 4096) + footer
            f.seek(start)
            remaining = end - start
            while remaining:
                chunk = f.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                sha.update(chunk)
                got += len(chunk)
                remaining -= len(chunk)
    else:
        with open(cast, "rb") as f:
            json.loads(f.readline())  # the header
            for line in f:
                t, code, data = json.loads(line)
                if code == "o":
                    raw = data.encode("utf-8")
                    sha.update(raw)
                    got += len(raw)
    if got != work.terminal_bytes:
        return f"size {got / work.terminal_bytes:.4f}x"
    return "ok" if sha.hexdigest() == work.terminal_sha256 else "content differs"


# -- measurements ------------------------------------------------------------------------
@dataclass
class Burst:
    mb_per_s: float
    wall_s: float
    recorder_cpu_s: float
    inner_cpu_s: float
    tree_cpu_s: float
    max_rss_mb: float
    terminal_bytes_ok: bool
    recording: str
    recording_mb: float


@dataclass
class Result:
    name: str
    version: str
    missing: str | None = None
    burst: Burst | None = None
    burst_runs: list[float] = field(default_factory=list)
    echo_ms: list[float] = field(default_factory=list)
    start_ms: float | None = None
    errors: list[str] = field(default_factory=list)


def parse_times(path: Path) -> float:
    """Sum of the four figures bash's `times` prints ("0m0.012s 0m0.003s" twice)."""
    total = 0.0
    for word in path.read_text().split():
        minutes, _, seconds = word.rstrip("s").partition("m")
        total += int(minutes) * 60 + float(seconds)
    return total


def run_burst(rec: Recorder, work: Workload, tmp: Path, env: dict[str, str], timeout: float) -> Burst:
    cast = tmp / f"{rec.name}.rec"
    times_file = tmp / f"{rec.name}.times"
    times_file.unlink(missing_ok=True)
    inner = ["bash", "-c", f"cat {shlex.quote(str(work.path))}; times > {shlex.quote(str(times_file))}"]
    session = Session(rec.command(inner, cast), env, timeout)
    received = session.drain()
    code, wall, usage = session.finish()
    if code != 0:
        raise RuntimeError(f"exit code {code}")
    tree = usage.ru_utime + usage.ru_stime
    inner_cpu = parse_times(times_file)
    recording_mb = cast.stat().st_size / MB if cast.exists() else 0.0
    verdict = check_recording(rec.cast_format, cast, work)
    for path in (cast, times_file, cast.with_name(cast.name + ".meta.json"), tmp / f"{rec.name}.meta.json"):
        path.unlink(missing_ok=True)
    # The recorder also relays the shell's terminal set-up; allow a few bytes of noise.
    ok = work.terminal_bytes <= received <= work.terminal_bytes + 4096
    return Burst(work.size / MB / wall, wall, max(0.0, tree - inner_cpu), inner_cpu, tree,
                 recorder_rss_mb(session), ok, verdict, recording_mb)


def run_echo(rec: Recorder, keys: int, tmp: Path, env: dict[str, str], timeout: float) -> list[float]:
    cast = tmp / f"{rec.name}-echo.rec"
    session = Session(rec.command(["cat"], cast), env, timeout)
    if rec.cast_format is not None:
        wait_raw(session)
    warm = b"warmup"
    session.buffer.clear()
    os.write(session.master, warm + b"\r")
    expected = warm + b"\r\n" + warm + b"\r\n"  # the echo, then cat's copy of the line
    got = session.expect(len(expected))
    if got != expected:
        raise RuntimeError(f"warm-up: expected {expected!r}, got {got!r}")
    latencies = []
    line = bytearray()
    letters = b"abcdefghijklmnopqrstuvwxyz"
    for i in range(keys):
        is_newline = (i + 1) % NEWLINE_EVERY == 0 or i == keys - 1
        key = b"\r" if is_newline else letters[i % 26: i % 26 + 1]
        echo = b"\r\n" if is_newline else key
        t0 = time.perf_counter_ns()
        os.write(session.master, key)
        got = session.expect(len(echo))
        t1 = time.perf_counter_ns()
        if got != echo:
            raise RuntimeError(f"key {i}: expected echo {echo!r}, got {got!r}")
        latencies.append((t1 - t0) / 1e6)
        if is_newline:
            rest = bytes(line) + b"\r\n"
            got = session.expect(len(rest))
            if got != rest:
                raise RuntimeError(f"key {i}: expected line {rest!r}, got {got!r}")
            line.clear()
        else:
            line += key
    os.write(session.master, b"\x04")  # end of file on an empty line: cat exits
    session.drain()
    code, _, _ = session.finish()
    for path in (cast, cast.with_name(cast.name + ".meta.json"), tmp / f"{rec.name}-echo.meta.json"):
        path.unlink(missing_ok=True)
    if code != 0:
        raise RuntimeError(f"exit code {code}")
    return latencies


def run_start(rec: Recorder, tmp: Path, env: dict[str, str], timeout: float, tries: int = 3) -> float:
    best = float("inf")
    cast = tmp / f"{rec.name}-start.rec"
    for _ in range(tries):
        session = Session(rec.command(["true"], cast), env, timeout)
        session.drain()
        code, wall, _ = session.finish()
        if code != 0:
            raise RuntimeError(f"exit code {code}")
        best = min(best, wall)
    for path in (cast, cast.with_name(cast.name + ".meta.json"), tmp / f"{rec.name}-start.meta.json"):
        path.unlink(missing_ok=True)
    return best * 1000


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# -- report ------------------------------------------------------------------------------
def machine_info() -> dict[str, str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": f"{platform.system()} {platform.release()}",
        "platform": platform.platform(),
        "loadavg_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def summarise(results: list[Result]) -> dict:
    by = {r.name: r for r in results}
    direct = by.get("direct")
    direct_p99 = percentile(direct.echo_ms, 99) if direct and direct.echo_ms else None
    script = by.get("script")
    script_rate = script.burst.mb_per_s if script and script.burst else None
    rows = {}
    for r in results:
        row: dict = {"version": r.version, "missing": r.missing, "errors": r.errors}
        if r.burst:
            row["burst"] = {
                "mb_per_s": r.burst.mb_per_s, "runs_mb_per_s": r.burst_runs, "wall_s": r.burst.wall_s,
                "ratio_to_script": r.burst.mb_per_s / script_rate if script_rate else None,
                "recorder_cpu_s": r.burst.recorder_cpu_s, "inner_cpu_s": r.burst.inner_cpu_s,
                "tree_cpu_s": r.burst.tree_cpu_s, "max_rss_mb": r.burst.max_rss_mb,
                "terminal_bytes_ok": r.burst.terminal_bytes_ok, "recording": r.burst.recording,
                "recording_mb": r.burst.recording_mb,
            }
        if r.echo_ms:
            p99 = percentile(r.echo_ms, 99)
            row["echo"] = {"p50_ms": percentile(r.echo_ms, 50), "p99_ms": p99,
                           "mean_ms": statistics.fmean(r.echo_ms), "max_ms": max(r.echo_ms),
                           "added_p99_ms": p99 - direct_p99 if direct_p99 is not None else None}
        row["start_ms"] = r.start_ms
        rows[r.name] = row
    return rows


def print_report(info: dict, args: argparse.Namespace, work: Workload | None, rows: dict) -> None:
    print("\n## Recorder benchmark\n")
    print(f"Machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, {info['kernel']}, "
          f"load average at start {info['loadavg_at_start']} (other load skews every figure)")
    print(f"Burst: cat of {work.size / MB:.1f} MB ({work.newlines} lines, ANSI colours + UTF-8), "
          f"best of {args.repeat}; echo: {args.keys} keys, a newline every {NEWLINE_EVERY}; "
          f"terminal {COLS}x{ROWS}\n" if work else "")
    header = ("| recorder | MB/s | × script | recorder CPU ms/MB | recorder CPU s | peak RSS MB | recording "
              "| echo p50 ms | echo p99 ms | added p99 ms | start+exit ms |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, row in rows.items():
        if row["missing"]:
            print(f"| {name} | {row['missing']} |" + " |" * (header.count("|") - 3))
            continue
        b = row.get("burst")
        e = row.get("echo")
        cells = [
            name,
            fmt(b and b["mb_per_s"], ".1f"),
            fmt(b and b["ratio_to_script"], ".2f"),
            fmt(b and b["recorder_cpu_s"] * 1000 / (work.size / MB), ".2f") if b else "-",
            fmt(b and b["recorder_cpu_s"], ".2f"),
            fmt(b and b["max_rss_mb"], ".0f"),
            (b["recording"] + ("" if b["terminal_bytes_ok"] else ", terminal bytes differ")) if b else "-",
            fmt(e and e["p50_ms"], ".3f"),
            fmt(e and e["p99_ms"], ".3f"),
            fmt(e and e["added_p99_ms"], "+.3f") if e and e["added_p99_ms"] is not None else "-",
            fmt(row["start_ms"], ".0f"),
        ]
        print("| " + " | ".join(cells) + " |")
    for name, row in rows.items():
        for error in row["errors"]:
            print(f"\n{name}: ERROR {error}")
    print("\nVersions: " + "; ".join(f"{name}: {row['version']}" for name, row in rows.items() if row["version"]))
    print("\nRecorder CPU = CPU time of the recorder's whole process tree (os.wait4 rusage) minus "
          "bash+cat's own (bash `times`); peak RSS = largest recorder process's VmHWM, sampled every "
          f"{SAMPLE_INTERVAL * 1000:.0f} ms; start+exit = recording `true`, best of 3.")
    cr = rows.get("claude-rec", {})
    if cr.get("missing") or not cr:
        return
    print("\n### Targets (claude-rec)\n")
    b, e = cr.get("burst"), cr.get("echo")
    if b and b["ratio_to_script"] is not None:
        verdict = "PASS" if b["ratio_to_script"] >= TARGET_RATIO else "FAIL"
        print(f"- throughput ≥ {TARGET_RATIO}× script: {b['ratio_to_script']:.2f}× → {verdict}")
    if e and e["added_p99_ms"] is not None:
        verdict = "PASS" if e["added_p99_ms"] < TARGET_ADDED_P99_MS else "FAIL"
        print(f"- added echo latency at p99 < {TARGET_ADDED_P99_MS} ms: {e['added_p99_ms']:+.3f} ms → {verdict}")
    if b and work:
        others = ", ".join(f"{n} {rows[n]['burst']['recorder_cpu_s'] * 1000 / (work.size / MB):.2f}"
                           for n in ("script", "asciinema") if rows.get(n, {}).get("burst"))
        print(f"- recorder CPU per MB: {b['recorder_cpu_s'] * 1000 / (work.size / MB):.2f} ms/MB "
              f"(anchors: {others or 'none'}; no fixed target)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=200, help="burst size in MB of 10**6 bytes [200]")
    parser.add_argument("--keys", type=int, default=1000, help="keys for the echo latency test [1000]")
    parser.add_argument("--repeat", type=int, default=1, help="burst runs per recorder; the best counts [1]")
    parser.add_argument("--recorders", default=",".join(RECORDERS),
                        help=f"comma-separated subset of {','.join(RECORDERS)}")
    parser.add_argument("--claude-rec", metavar="EXE",
                        help="the claude-rec to run, e.g. a patched copy [the one next to this Python]")
    parser.add_argument("--json", type=Path, help="also save the figures as JSON here")
    parser.add_argument("--tmpdir", type=Path, help="where to put the workload and recordings [system temp]")
    parser.add_argument("--timeout", type=float, default=300, help="per run, seconds [300]")
    args = parser.parse_args(argv)
    if args.mb <= 0 or args.keys < 1 or args.repeat < 1:
        parser.error("--mb, --keys and --repeat must be positive")

    recorders = find_recorders([n.strip() for n in args.recorders.split(",") if n.strip()], args.claude_rec)
    info = machine_info()
    tmp = Path(tempfile.mkdtemp(prefix="recorder-bench-", dir=args.tmpdir))
    env = dict(os.environ)
    env.update({
        "TERM": "xterm-256color", "SHELL": "/bin/sh", "LANG": env.get("LANG", "C.UTF-8"),
        "ASCIINEMA_CONFIG_HOME": str(tmp / "asciinema-config"),
        "CLAUDE_REC_HOME": str(tmp / "claude-rec-home"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    })
    for key in ("CLAUDE_REC_RECORDING", "CLAUDE_REC_CAST", "CLAUDE_REC_CLAUDE", "ASCIINEMA_API_URL"):
        env.pop(key, None)
    results = [Result(r.name, r.version, r.missing) for r in recorders]
    work = None
    try:
        t0 = time.monotonic()
        work = make_workload(tmp, args.mb)
        print(f"workload: {work.size / MB:.1f} MB in {time.monotonic() - t0:.1f}s", file=sys.stderr)
        runnable = [(r, res) for r, res in zip(recorders, results) if r.missing is None]
        for attempt in range(args.repeat):  # interleaved, so drifts hit every recorder alike
            for rec, res in runnable:
                try:
                    burst = run_burst(rec, work, tmp, env, args.timeout)
                except Exception as exc:  # noqa: BLE001
                    res.errors.append(f"burst: {exc}")
                    continue
                res.burst_runs.append(burst.mb_per_s)
                if res.burst is None or burst.mb_per_s > res.burst.mb_per_s:
                    res.burst = burst
                print(f"burst {attempt + 1}/{args.repeat} {rec.name}: {burst.mb_per_s:.1f} MB/s, "
                      f"recorder CPU {burst.recorder_cpu_s:.2f}s, recording {burst.recording}", file=sys.stderr)
        for rec, res in runnable:
            try:
                res.echo_ms = run_echo(rec, args.keys, tmp, env, args.timeout)
                print(f"echo {rec.name}: p50 {percentile(res.echo_ms, 50):.3f} ms, "
                      f"p99 {percentile(res.echo_ms, 99):.3f} ms", file=sys.stderr)
            except Exception as exc:  # noqa: BLE001
                res.errors.append(f"echo: {exc}")
            try:
                res.start_ms = run_start(rec, tmp, env, args.timeout)
            except Exception as exc:  # noqa: BLE001
                res.errors.append(f"start: {exc}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = summarise(results)
    print_report(info, args, work, rows)
    if args.json:
        args.json.write_text(json.dumps({
            "machine": info,
            "params": {"mb": args.mb, "keys": args.keys, "repeat": args.repeat,
                       "burst_bytes": work.size if work else None, "terminal": f"{COLS}x{ROWS}"},
            "targets": {"throughput_ratio_to_script": TARGET_RATIO, "added_echo_p99_ms": TARGET_ADDED_P99_MS},
            "results": rows,
        }, indent=2) + "\n")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
