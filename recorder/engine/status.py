"""`claude-rec status`: where things stand, from files only (it never waits on the engine)."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from . import install, pidfile
from .daemon import EngineState, recording_state, training_running
from .settings import EngineSettings


def gather(home: Path, settings: EngineSettings, user_home: Path) -> dict:
    engine = pidfile.running(home)
    state = EngineState.load(home)
    casts = sorted((home / "recordings").rglob("*.cast")) if (home / "recordings").is_dir() else []
    store = _store_counts(home)
    traces = store.get("sessions", 0)
    model = latest_model(home)
    return {
        "engine": {"running": engine is not None, "pid": engine.pid if engine else None,
                   "since": _iso(engine.since) if engine else None},
        "recordings": {"captured": len(casts),
                       "in_progress": sum(1 for c in casts if recording_state(c, 1e12) == "recording"),
                       "ingested": store.get("recordings", 0), "failed": store.get("failed_recordings", 0)},
        "traces": traces,
        "ingest_failures": state.ingest_failures[-5:],
        "progress": {"first_training": f"{min(traces, settings.min_traces)}/{settings.min_traces}",
                     "production": f"{min(traces, settings.production_traces)}/{settings.production_traces}"},
        "training": {"running": training_running(home),
                     "last_started": _iso(state.last_training_started),
                     "last_finished": _iso(state.last_training_finished), "last_ok": state.last_training_ok,
                     "failures_in_a_row": state.failures_in_a_row, "next": next_trigger(settings, state, traces)},
        "dataset": latest_dataset(home),
        "model": model,
        "installed": install.installed(home, user_home),
        "disk_bytes": _disk_used(home),
    }


def next_trigger(settings: EngineSettings, state: EngineState, traces: int) -> str:
    if state.next_retry and state.next_retry > time.time():
        return f"retry after the failed training at {_iso(state.next_retry)}"
    if traces < settings.min_traces:
        return f"first training after {settings.min_traces - traces} more traces"
    new = traces - state.traces_at_last_training
    after = max(settings.train_after_new_traces - new, 0)
    when = (state.last_training_started or 0) + settings.train_every_hours * 3600
    timed = f", or at {_iso(when)} if any trace is new" if state.last_training_started else ""
    return f"after {after} more new traces{timed}" if after else "due now"


def latest_model(home: Path) -> dict | None:
    """The current model's run record (training writes `<home>/models/<run>/run.json`)."""
    models = home / "models"
    current = models / "current"
    runs = [current / "run.json"] if current.exists() else sorted(models.glob("*/run.json"), key=os.path.getmtime)
    for path in reversed(runs):
        try:
            return {"path": str(path.parent.resolve()), **json.loads(path.read_text())}
        except (OSError, ValueError):
            continue
    return None


def latest_dataset(home: Path) -> dict | None:
    """The dataset the last training built (`<home>/datasets/*/manifest.json`)."""
    manifests = sorted((home / "datasets").glob("*/manifest.json"), key=os.path.getmtime) \
        if (home / "datasets").is_dir() else []
    for path in reversed(manifests):
        try:
            return {"path": str(path.parent), "built": _iso(path.stat().st_mtime), **json.loads(path.read_text())}
        except (OSError, ValueError):
            continue
    return None


def render(status: dict) -> str:
    e, r, t = status["engine"], status["recordings"], status["training"]
    lines = [
        f"engine      {'running, pid ' + str(e['pid']) + ' since ' + e['since'] if e['running'] else 'not running'}",
        f"recordings  {r['captured']} captured, {r['in_progress']} in progress, {r['ingested']} ingested, "
        f"{r['failed']} failed",
        f"traces      {status['traces']} (first training {status['progress']['first_training']}, "
        f"production {status['progress']['production']})",
        f"training    {'running' if t['running'] else 'idle'}; last {t['last_finished'] or 'never'}"
        + ("" if t["last_ok"] is None else (" (ok)" if t["last_ok"] else " (failed)")) + f"; next: {t['next']}",
    ]
    dataset = status["dataset"]
    if dataset:
        lines.append(f"dataset     {dataset['path']}: {dataset.get('train', '?')} train, "
                     f"{dataset.get('validation', '?')} validation examples (built {dataset['built']})")
    model = status["model"]
    if model:
        tuned = (model.get("eval") or {}).get("tuned") or {}
        shown = ", ".join(f"{label} {tuned[key]:.0%}" if "rate" in key or "accuracy" in key else f"{label} {tuned[key]:.3f}"
                          for key, label in (("val_loss", "validation loss"), ("tool_call_rate", "tool calls"),
                                             ("next_call_accuracy", "next call right"))
                          if isinstance(tuned.get(key), (int, float)))
        lines.append(f"model       {model['path']}" + (f" ({shown})" if shown else ""))
    else:
        lines.append("model       none yet")
    for failure in status["ingest_failures"]:
        lines.append(f"failed      {failure['path']}: {failure['error']}")
    inst = status["installed"]
    lines.append(f"installed   wrapper {'yes' if inst['wrapper'] else 'no'}, systemd unit {'yes' if inst['unit'] else 'no'}"
                 + ("" if inst["wrapper"] else " (claude-rec install)"))
    lines.append(f"disk        {status['disk_bytes'] / 1e6:.1f} MB in the data directory")
    return "\n".join(lines)


def _store_counts(home: Path) -> dict:
    from ...parser.store import db_path

    path = db_path(home)
    if not path.exists():
        return {}
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
        counts = {"sessions": conn.execute("SELECT count(*) FROM sessions WHERE status = 'ingested'").fetchone()[0],
                  "recordings": conn.execute("SELECT count(*) FROM recordings WHERE status = 'ingested'").fetchone()[0],
                  "failed_recordings": conn.execute("SELECT count(*) FROM recordings WHERE status = 'failed'").fetchone()[0]}
    return counts


def _disk_used(home: Path) -> int:
    total = 0
    for root, _, files in os.walk(home):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
