"""The engine: watches for finished recordings and new session logs, ingests them, and
starts a training when the thresholds say so.

- A recording is ingested once it is complete (its sidecar says so, or its recorder has
  exited), or once it is clearly abandoned (recorder gone, file untouched for
  `abandoned_after_minutes`); never while its recorder still writes it.
- Session logs are ingested when they stop changing; ingest is idempotent, so a log that
  grows is simply read again.
- Training runs as a separate process (`train_command`) under a lock file: never two at
  once, never blocking ingest. A failed training is logged and retried with a doubling
  backoff (10 minutes to 24 hours), never in a hot loop.
- SIGTERM/SIGINT: the ingest under way finishes its transaction, then the engine exits;
  a training under way keeps running to its end in its own process. SIGUSR1: ingest
  everything and train now (what `claude-rec train` sends to a running engine).
- Logs go to `<home>/logs/engine.log`, rotated at 1 MB, five kept: a line per ingest,
  trigger and training outcome.
"""
from __future__ import annotations

import fcntl
import json
import logging
import logging.handlers
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..metadata import recorder_running
from ..home import FILE_MODE, open_private, private_dir, write_private_atomic
from . import pidfile
from .settings import EngineSettings, load_settings

LOG_BYTES = 1 << 20
LOG_KEEP = 5
SETTLE_SECONDS = 2.0  # a session log must be this quiet before it is read
BACKOFF_FIRST = 600.0
BACKOFF_MAX = 86400.0


@dataclass
class EngineState:
    """What the engine remembers between runs (`<home>/engine/state.json`)."""
    last_training_started: float | None = None
    last_training_finished: float | None = None
    last_training_ok: bool | None = None
    traces_at_last_training: int = 0
    failures_in_a_row: int = 0
    next_retry: float | None = None
    ingest_failures: list[dict] = field(default_factory=list)

    @classmethod
    def load(cls, home: Path) -> EngineState:
        try:
            data = json.loads(state_path(home).read_text())
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (OSError, ValueError, TypeError):
            return cls()

    def save(self, home: Path) -> None:
        private_dir(state_path(home).parent)
        write_private_atomic(state_path(home), json.dumps(asdict(self), indent=2).encode())


def state_path(home: Path) -> Path:
    return home / "engine" / "state.json"


def lock_path(home: Path) -> Path:
    return home / "engine" / "training.lock"


def logger_for(home: Path) -> logging.Logger:
    log_dir = private_dir(home / "logs")
    logger = logging.getLogger(f"claude-rec.engine.{home}")
    if not logger.handlers:
        path = log_dir / "engine.log"
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=LOG_KEEP)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        if path.exists():
            os.chmod(path, FILE_MODE)
    return logger


def training_running(home: Path) -> bool:
    """True while a training holds the lock (whoever started it)."""
    path = lock_path(home)
    if not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class Engine:
    def __init__(self, home: Path, settings: EngineSettings | None = None) -> None:
        self.home = home
        self.settings = settings or load_settings(home)
        self.log = logger_for(home)
        self.state = EngineState.load(home)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._train_now = False
        self._training: subprocess.Popen | None = None
        self._seen: dict[str, float] = {}  # path -> mtime when last ingested

    # -- lifecycle -----------------------------------------------------------------------------
    def run(self) -> int:
        if not pidfile.claim(self.home):
            other = pidfile.running(self.home)
            print(f"claude-rec: the engine already runs (pid {other.pid if other else '?'})", file=sys.stderr)
            return 1
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGUSR1, self._on_train_now)
        observer = self._watch()
        self.log.info("engine started (pid %d, home %s)", os.getpid(), self.home)
        try:
            while not self._stop.is_set():
                self.cycle()
                self._wake.wait(self.settings.scan_every_seconds)
                self._wake.clear()
        finally:
            if observer is not None:
                observer.stop()
            self.log.info("engine stopped")
            pidfile.release(self.home)
        return 0

    def _on_stop(self, signum: int, frame: object) -> None:
        self._stop.set()
        self._wake.set()

    def _on_train_now(self, signum: int, frame: object) -> None:
        self._train_now = True
        self._wake.set()

    def _watch(self):
        """File-system events wake the loop early; the periodic scan is the safety net."""
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return None
        engine = self

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                if not event.is_directory and str(event.src_path).endswith((".cast", ".meta.json", ".jsonl")):
                    engine._wake.set()

        observer = Observer()
        for directory in (private_dir(self.home / "recordings"), _claude_logs()):
            if directory.is_dir():
                observer.schedule(Wake(), str(directory), recursive=True)
        observer.daemon = True
        observer.start()
        return observer

    # -- one pass --------------------------------------------------------------------------------
    def cycle(self) -> None:
        """Ingest what is ready, then see whether a training is due."""
        from ...parser.store import Store

        with Store.open(self.home) as store:
            for path in self._ready_recordings() + self._ready_logs():
                if self._stop.is_set():
                    break  # SIGTERM: the ingest under way has finished; stop here
                result = store.ingest_recording(path) if path.suffix == ".cast" else store.ingest_log(path)
                self._seen[str(path)] = path.stat().st_mtime if path.exists() else 0
                if result.status == "failed":
                    self.log.warning("ingest failed: %s", result.line())
                    self.state.ingest_failures = (self.state.ingest_failures + [
                        {"path": str(path), "error": result.detail, "time": time.time()}])[-50:]
                elif result.status == "ingested":
                    self.log.info("ingested: %s", result.line())
            traces = store.stats().get("sessions", 0)
        self._check_training(traces)
        self.state.save(self.home)

    def _ready_recordings(self) -> list[Path]:
        root = self.home / "recordings"
        ready = []
        for cast in sorted(root.rglob("*.cast")) if root.is_dir() else []:
            if self._unchanged(cast):
                continue
            state = recording_state(cast, self.settings.abandoned_after_minutes * 60)
            if state in ("complete", "abandoned"):
                if state == "abandoned":
                    self.log.info("abandoned recording (its recorder died): %s", cast)
                ready.append(cast)
        return ready

    def _ready_logs(self) -> list[Path]:
        root = _claude_logs()
        now = time.time()
        ready = []
        for log in sorted(root.rglob("*.jsonl")) if root.is_dir() else []:
            if "subagents" in log.parts or self._unchanged(log):
                continue
            if now - log.stat().st_mtime >= SETTLE_SECONDS:
                ready.append(log)
        return ready

    def _unchanged(self, path: Path) -> bool:
        try:
            return self._seen.get(str(path)) == path.stat().st_mtime
        except OSError:
            return True

    # -- training --------------------------------------------------------------------------------
    def _check_training(self, traces: int) -> None:
        if self._training is not None:
            code = self._training.poll()
            if code is None:
                return
            self._finish_training(code)
        reason = self.training_due(traces, time.time())
        if reason:
            self._start_training(reason, traces)

    def training_due(self, traces: int, now: float) -> str | None:
        """Why a training should start now, or None."""
        settings, state = self.settings, self.state
        forced, self._train_now = self._train_now, False
        if forced:
            return "asked for (claude-rec train)"
        if state.next_retry and now < state.next_retry:
            return None
        if traces < settings.min_traces or training_running(self.home):
            return None
        new = traces - state.traces_at_last_training
        if new >= settings.train_after_new_traces:
            return f"{new} new traces since the last training (threshold {settings.train_after_new_traces})"
        last = state.last_training_started
        if new > 0 and (last is None or now - last >= settings.train_every_hours * 3600):
            return f"{settings.train_every_hours:g} h since the last training, {traces} traces in all"
        return None

    def _start_training(self, reason: str, traces: int) -> None:
        command = list(self.settings.train_command or (_own_executable(), "train"))
        private_dir(self.home / "logs")
        log_fd = open_private(self.home / "logs" / "training.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            env = dict(os.environ, CLAUDE_REC_HOME=str(self.home), CLAUDE_REC_TRAINING_LOCK=str(lock_path(self.home)))
            self._training = subprocess.Popen(
                ["flock", "--nonblock", "--conflict-exit-code", "75", str(lock_path(self.home)), *command],
                stdout=log_fd, stderr=log_fd, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        except OSError as exc:
            self.log.error("training could not start: %s", exc)
            self._finish_training(127)
            return
        finally:
            os.close(log_fd)
        self.state.last_training_started = time.time()
        self.state.traces_at_last_training = traces
        self.log.info("training started (pid %d): %s", self._training.pid, reason)

    def _finish_training(self, code: int) -> None:
        self._training = None
        now = time.time()
        self.state.last_training_finished = now
        self.state.last_training_ok = code == 0
        if code == 0:
            self.state.failures_in_a_row, self.state.next_retry = 0, None
            self.log.info("training finished")
            return
        self.state.failures_in_a_row += 1
        wait = min(BACKOFF_FIRST * 2 ** (self.state.failures_in_a_row - 1), BACKOFF_MAX)
        self.state.next_retry = now + wait
        self.log.warning("training failed (exit %d); retry in %.0f min (see logs/training.log)", code, wait / 60)


def recording_state(cast: Path, abandoned_after: float) -> str:
    """'complete', 'recording' (its recorder still writes it), or 'abandoned' (a crash-leftover)."""
    meta_path = cast.with_name(cast.name.removesuffix(".cast") + ".meta.json")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        meta = {}
    if meta.get("ended"):
        return "complete"
    if recorder_running(meta):
        return "recording"
    try:
        quiet = time.time() - cast.stat().st_mtime
    except OSError:
        return "recording"
    return "abandoned" if quiet >= abandoned_after else "recording"


def _claude_logs() -> Path:
    root = os.environ.get("CLAUDE_CONFIG_DIR")
    return (Path(root) if root else Path.home() / ".claude") / "projects"


def _own_executable() -> str:
    me = Path(sys.argv[0])
    return str(me.resolve()) if me.name.startswith("claude-rec") and me.is_file() else "claude-rec"
