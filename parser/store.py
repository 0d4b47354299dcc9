"""The store: one SQLite file, `<home>/claude-rec.db`, holding recordings, sessions and their content.

    store = Store(home / "claude-rec.db")      # or Store.open(home)
    store.ingest_log(path)                     # a Claude Code session log (.jsonl)
    store.ingest_recording(cast_path)          # a recording (.cast + sidecar), linked to its log
    store.sessions(); store.session(id); store.search("greeting")

Several writers at once (two recorders and the engine) are fine: WAL mode, a long busy
timeout, and every write in one `BEGIN IMMEDIATE` transaction (taken up front, so a
transaction never has to upgrade a read lock and fail). Ingest is idempotent (the content
hash of the files decides) and one session is written in one transaction: a bad file or a
crash leaves nothing half-written. Every text goes through `redact_gate.clean` on its way in.
Content rows say where they come from (`source`: 'screen', 'log' or 'hook'); each source's
rows of a session are replaced together, so the screen parser and the log ingest do not
disturb each other.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from ..recorder.home import FILE_MODE, ensure_home, open_private, private_dir, write_private_atomic
from . import migrations, redact_gate, session_log
from .redact import secret_name
from .reconcile import Call, Reconciliation, reconcile
from .model import Message, ParsedSession, Signal, ToolCall

DB_NAME = "claude-rec.db"
BUSY_TIMEOUT_S = 120.0
WINDOW_SLACK_S = 10.0  # clock slack when matching a log's times to a recording's
SCREEN_PARSER_MODULE = "claude_rec.parser.blocks"


@dataclass
class IngestResult:
    path: Path
    status: str  # ingested | unchanged | failed | skipped
    detail: str = ""
    kind: str = "log"  # log | recording
    id: str | None = None  # the session id (log) or recording id
    sessions: list[str] = field(default_factory=list)  # sessions linked to a recording
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"{self.status}: {self.path}"
        return f"{text}: {self.detail}" if self.detail else text


def db_path(home: Path) -> Path:
    return Path(home) / DB_NAME


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    """The database. Open one per process (or thread); close it, or use it as a context manager."""

    def __init__(self, path: Path | str, home: Path | None = None) -> None:
        self.path = Path(path)
        self.home = Path(home) if home is not None else self.path.parent
        private_dir(self.path.parent)  # missing folders are created 0700; an existing one is left alone
        if not self.path.exists():
            os.close(open_private(self.path, os.O_RDWR | os.O_CREAT))
        elif self.path.stat().st_mode & 0o777 != FILE_MODE:
            os.chmod(self.path, FILE_MODE)
        conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        self.db = Database(conn)
        if migrations.pending(self.db):
            with self.write():  # re-checked under the write lock: one process migrates
                migrations.apply(self.db)

    @classmethod
    def open(cls, home: Path) -> Store:
        """The store of a data directory (created 0700, or made private)."""
        ensure_home(Path(home))
        redact_gate.configure(home)  # this home's privacy settings gate what goes in
        return cls(db_path(home), home)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    @contextmanager
    def write(self) -> Iterator[Database]:
        """One write transaction, the write lock taken up front (waits up to the busy timeout)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    # ---------------------------------------------------------------- session logs

    def ingest_log(self, path: Path | str) -> IngestResult:
        """Ingest a Claude Code session log (and its sub-agent logs); link it to its recording."""
        path = session_log.main_log(Path(path))
        result = IngestResult(path, "ingested", kind="log")
        try:
            if not path.is_file():
                return _failed(result, "no such file")
            files = [path, *session_log.subagent_logs(path)]
            if path.stat().st_size == 0:
                result.status, result.detail = "skipped", "empty file"
                return result
            digest = session_log.content_hash(files)
            row = self.conn.execute("SELECT id FROM sessions WHERE log_hash = ? AND status = 'ingested'",
                                    [digest]).fetchone()
            if row:
                result.status, result.id = "unchanged", row[0]
                result.detail = f"session {row[0]}"
                return result
            try:
                parse = session_log.parse_log(path)
            except session_log.LogFormatError as exc:
                session_id = path.stem.removesuffix(".session")
                self._record_failed_session(session_id, path, str(exc))
                result.id = session_id
                return _failed(result, str(exc))
            parsed = parse.parsed
            result.id = parsed.session_id
            result.warnings = list(parse.warnings)
            copy = self._copy_log(files, parsed.session_id)
            with self.write():
                self._save_log(path, copy, digest, parse)
                recording = self._recording_for_session(parsed.session_id, parsed.cwd, parsed.started)
                if recording:
                    self._link(parsed.session_id, recording)
            self.reconcile_session(parsed.session_id)
            counts = f"{len(parsed.messages)} messages, {len(parsed.tool_calls)} tool calls"
            result.detail = f"session {parsed.session_id}, {counts}" + (f", recording {recording}" if recording else "")
            return result
        except (OSError, sqlite3.Error, ValueError, TypeError) as exc:
            return _failed(result, f"{type(exc).__name__}: {exc}")

    def _save_log(self, path: Path, copy: Path | None, digest: str, parse: session_log.LogParse) -> None:
        parsed = parse.parsed
        sid = parsed.session_id
        row = {
            "id": sid, "log_path": str(path.resolve()), "log_copy": str(copy) if copy else None, "log_hash": digest,
            "cwd": parsed.cwd, "git_branch": parsed.git_branch, "version": parsed.version,
            "started": parsed.started, "ended": parsed.ended,
            "title": _clean(parsed.title), "status": "ingested", "error": None,
            "warnings": json.dumps(parse.warnings), "stats": json.dumps(dict(sorted(parse.stats.items()))),
            "ingested_at": now(),
        }
        self._upsert_session(row)
        self._replace_content(sid, "log", parsed)

    def _record_failed_session(self, session_id: str, path: Path, error: str) -> None:
        with self.write():
            self._upsert_session({"id": session_id, "log_path": str(path.resolve()), "log_hash": None,
                                  "status": "failed", "error": error, "ingested_at": now()})

    def _upsert_session(self, row: dict) -> None:
        """Insert or update a session row, keeping the columns `row` does not name (recording_id)."""
        existing = self.conn.execute("SELECT 1 FROM sessions WHERE id = ?", [row["id"]]).fetchone()
        if existing:
            self.db["sessions"].update(row["id"], {k: v for k, v in row.items() if k != "id"})
        else:
            self.db["sessions"].insert(row)

    def _copy_log(self, files: list[Path], session_id: str) -> Path | None:
        """Keep a private copy under <home>/logs-copy (the CLI deletes its logs after 30 days)."""
        main = files[0]
        root = session_log.projects_dir()
        try:
            relative = main.resolve().relative_to(root.resolve())
        except ValueError:
            relative = Path("other") / f"{session_id}.jsonl"
        base = self.home / "logs-copy"
        target = base / relative
        if main.resolve() == target.resolve():
            return target
        private_dir(target.parent)
        write_private_atomic(target, main.read_bytes())
        for sub in files[1:]:
            sub_target = target.with_suffix("") / "subagents" / sub.name
            private_dir(sub_target.parent)
            write_private_atomic(sub_target, sub.read_bytes())
        return target

    # ---------------------------------------------------------------- content rows

    def _replace_content(self, session_id: str, source: str, parsed: ParsedSession) -> None:
        """Replace all rows of one source of a session (inside the caller's transaction)."""
        for table in ("signals", "tool_results", "tool_calls", "messages"):
            self.conn.execute(f"DELETE FROM {table} WHERE session_id = ? AND source = ?", [session_id, source])
        for seq, item in enumerate(parsed.items):
            if isinstance(item, Message):
                self.db["messages"].insert({
                    "session_id": session_id, "seq": seq, "role": item.role, "kind": item.kind,
                    "text": _clean(item.text) or "", "time": item.time, "agent": item.agent,
                    "uuid": item.uuid, "source": source,
                })
            elif isinstance(item, ToolCall):
                call_id = self.db["tool_calls"].insert({
                    "session_id": session_id, "seq": seq, "tool_use_id": item.tool_use_id, "name": item.name,
                    "input": None if item.input is None else json.dumps(_clean_json(item.input), ensure_ascii=False),
                    "key_arg": _clean(item.key_arg), "visible_args": _clean(item.visible_args),
                    "time": item.time, "agent": item.agent, "uuid": item.uuid, "source": source,
                }).last_pk
                if item.result is not None:
                    self.db["tool_results"].insert({
                        "tool_call_id": call_id, "session_id": session_id,
                        "content": _clean(item.result.content) or "", "is_error": int(bool(item.result.is_error)),
                        "time": item.result.time, "source": source,
                    })
            else:
                raise TypeError(f"not a Message or ToolCall: {type(item).__name__}")
        for signal in parsed.signals:
            self._insert_signal(session_id, signal, source)

    def _insert_signal(self, session_id: str, signal: Signal, source: str) -> None:
        self.db["signals"].insert({
            "session_id": session_id, "kind": signal.kind,
            "value": json.dumps(_clean_json(signal.value), ensure_ascii=False),
            "time": signal.time, "source": source,
        })

    # ---------------------------------------------------------------- recordings

    def ingest_recording(self, cast_path: Path | str) -> IngestResult:
        """Store a recording and its sidecar, link its session log(s), and parse its screen if a
        screen parser is installed."""
        cast = Path(cast_path)
        result = IngestResult(cast, "ingested", kind="recording")
        try:
            if not cast.is_file():
                return _failed(result, "no such file")
            stem = cast.name.removesuffix(".cast")
            meta_path = cast.with_name(stem + ".meta.json")
            hooks_path = cast.with_name(stem + ".hooks.jsonl")
            sibling_log = cast.with_name(stem + ".session.jsonl")
            digest = _hash_files([cast, meta_path, hooks_path])
            meta, meta_error = _read_meta(meta_path)
            recording_id = str(meta.get("id") or stem)
            result.id = recording_id
            parser = _screen_parser()
            parser_version = _parser_version(parser)
            previous = self.conn.execute(
                "SELECT content_hash, status, screen_parser FROM recordings WHERE id = ?", [recording_id]).fetchone()
            if previous and previous[0] == digest and previous[1] == "ingested" and previous[2] == parser_version:
                linked = self._sessions_of(recording_id)
                result.status, result.sessions = "unchanged", linked
                result.detail = f"recording {recording_id}" + (f", session {', '.join(linked)}" if linked else "")
                return result
            header_error = _check_header(cast)
            hooks = _read_hooks(hooks_path)
            warnings = [w for w in (meta_error,) if w]
            row = {
                "id": recording_id, "cast_path": str(cast.resolve()),
                "meta": json.dumps(meta) if meta else None,
                "started": session_log.iso_utc(meta.get("started")) or _header_time(cast),
                "ended": session_log.iso_utc(meta.get("ended")),
                "cwd": meta.get("cwd"), "git_branch": meta.get("git_branch"),
                "command": " ".join([meta.get("command") or "", *map(str, meta.get("args") or [])]).strip() or None,
                "claude_version": meta.get("claude_version"), "exit_status": meta.get("exit_status"),
                "complete": None if meta.get("complete") is None else int(bool(meta.get("complete"))),
                "content_hash": digest, "status": "failed" if header_error else "ingested",
                "error": header_error, "warnings": json.dumps(warnings),
                "hook_session_ids": json.dumps(sorted({h["session_id"] for h in hooks if h.get("session_id")})),
                "screen_parser": None, "ingested_at": now(),
            }
            with self.write():
                self.db["recordings"].upsert(row, pk="id")
                for session_id in self._sessions_for_recording(row):
                    self._link(session_id, recording_id)
            if header_error:
                return _failed(result, header_error)

            # The session logs: named by hooks, next to the recording, or found by cwd and time.
            candidates = [Path(h["transcript_path"]) for h in hooks if h.get("transcript_path")]
            if sibling_log.is_file():
                candidates.append(sibling_log)
            if not candidates and row["cwd"]:
                candidates = [p for p in session_log.logs_for_cwd(row["cwd"]) if _overlaps(p, row)]
            for log in dict.fromkeys(candidates):
                if log.is_file():
                    sub = self.ingest_log(log)
                    result.warnings.extend(sub.warnings)
                    if sub.status == "failed":
                        result.warnings.append(f"{log}: {sub.detail}")
            with self.write():
                for session_id in self._sessions_for_recording(row):
                    self._link(session_id, recording_id)

            if parser is not None:
                try:
                    parsed = parser.parse_screen(cast)
                    if isinstance(parsed, ParsedSession):
                        self.reconcile_session(self.save_screen_session(recording_id, parsed))
                    else:  # a screen parser that does not speak model.ParsedSession yet
                        result.warnings.append(f"{cast}: screen parser output not stored "
                                               f"({type(parsed).__name__} is not model.ParsedSession)")
                    with self.write():
                        self.db["recordings"].update(recording_id, {"screen_parser": parser_version})
                except Exception as exc:  # the screen parser's bug must not lose the recording
                    error = f"screen parser: {type(exc).__name__}: {exc}"
                    with self.write():
                        self.db["recordings"].update(recording_id, {"status": "failed", "error": error})
                    result.sessions = self._sessions_of(recording_id)
                    return _failed(result, error)
            result.sessions = self._sessions_of(recording_id)
            result.detail = f"recording {recording_id}" + (
                f", session {', '.join(result.sessions)}" if result.sessions else ", no session log found")
            return result
        except (OSError, sqlite3.Error, ValueError, TypeError) as exc:
            return _failed(result, f"{type(exc).__name__}: {exc}")

    def save_screen_session(self, recording_id: str, parsed: ParsedSession) -> str:
        """Store what the screen parser read from a recording (rows with source='screen').

        They go to the recording's session: its (earliest) linked Claude Code session, else a
        session whose id is the recording id. Replaces that session's earlier screen rows, in
        one transaction. Returns the session id.
        """
        with self.write():
            recording = self.db["recordings"].get(recording_id)
            linked = self._sessions_of(recording_id)
            session_id = linked[0] if linked else recording_id
            if not linked:
                self._upsert_session({
                    "id": recording_id, "recording_id": recording_id, "cwd": recording.get("cwd"),
                    "git_branch": recording.get("git_branch"), "version": recording.get("claude_version"),
                    "started": recording.get("started"), "ended": recording.get("ended"),
                    "status": "ingested", "ingested_at": now(),
                })
            self._replace_content(session_id, "screen", parsed)
        return session_id

    def save_reconciliation(self, session_id: str, match_rate: float, screen_only: list, log_only: list,
                            recording_id: str | None = None) -> None:
        """Replace the session's reconciliation (screen against log)."""
        with self.write():
            self.conn.execute("DELETE FROM reconciliations WHERE session_id = ?", [session_id])
            self.db["reconciliations"].insert({
                "session_id": session_id, "recording_id": recording_id, "match_rate": match_rate,
                "screen_only": json.dumps(_clean_json(screen_only), ensure_ascii=False),
                "log_only": json.dumps(_clean_json(log_only), ensure_ascii=False), "created": now(),
            })

    def reconcile_session(self, session_id: str) -> Reconciliation | None:
        """Check the screen's tool calls and prompts against the log's and store the result.

        None (and nothing stored) unless the session has rows from both sources."""
        rows = self.conn.execute(
            "SELECT source, name, key_arg FROM tool_calls WHERE session_id = ? AND agent IS NULL ORDER BY seq",
            [session_id]).fetchall()
        prompts = self.conn.execute(
            "SELECT source, text FROM messages WHERE session_id = ? AND kind = 'prompt' AND agent IS NULL "
            "ORDER BY seq", [session_id]).fetchall()
        sources = {source for source, *_ in rows} | {source for source, _ in prompts}
        if not {"screen", "log"} <= sources:
            return None
        calls = {source: [Call(name, key or "", source, i) for i, (src, name, key) in enumerate(rows) if src == source]
                 for source in ("screen", "log")}
        result = reconcile(calls["screen"], calls["log"])
        said = {source: [" ".join(text.split()) for src, text in prompts if src == source and not _is_command(text)]
                for source in ("screen", "log")}
        screen_only = [{"kind": "tool", "name": c.name, "key": c.key} for c in result.screen_only]
        screen_only += [{"kind": "prompt", "text": p} for p in said["screen"] if p not in said["log"]]
        log_only = [{"kind": "tool", "name": c.name, "key": c.key} for c in result.log_only]
        log_only += [{"kind": "prompt", "text": p} for p in said["log"] if p not in said["screen"]]
        recording = self.conn.execute("SELECT recording_id FROM sessions WHERE id = ?", [session_id]).fetchone()
        self.save_reconciliation(session_id, result.match_rate, screen_only, log_only,
                                 recording[0] if recording else None)
        return result

    def reconciliation(self, session_id: str) -> dict | None:
        row = self.conn.execute("SELECT session_id, recording_id, match_rate, screen_only, log_only, created "
                                "FROM reconciliations WHERE session_id = ?", [session_id]).fetchone()
        if row is None:
            return None
        keys = ("session_id", "recording_id", "match_rate", "screen_only", "log_only", "created")
        found = dict(zip(keys, row))
        found["screen_only"], found["log_only"] = json.loads(found["screen_only"]), json.loads(found["log_only"])
        return found

    def _sessions_of(self, recording_id: str) -> list[str]:
        """Claude Code sessions linked to a recording, earliest first (not the screen-only one)."""
        rows = self.conn.execute(
            "SELECT id FROM sessions WHERE recording_id = ? AND id != ? ORDER BY started, id",
            [recording_id, recording_id]).fetchall()
        return [r[0] for r in rows]

    def _sessions_for_recording(self, recording: dict) -> list[str]:
        """Stored sessions that belong to a recording: named by its hooks, or same cwd and in its window."""
        ids = set(json.loads(recording.get("hook_session_ids") or "[]"))
        found = [r[0] for r in self.conn.execute(
            f"SELECT id FROM sessions WHERE id IN ({','.join('?' * len(ids))})", sorted(ids))] if ids else []
        if not found and recording.get("cwd") and recording.get("started"):
            found = [r[0] for r in self.conn.execute(
                """SELECT id FROM sessions
                   WHERE cwd = ? AND log_hash IS NOT NULL AND started IS NOT NULL
                     AND julianday(started) >= julianday(?) - ?
                     AND julianday(started) <= julianday(coalesce(?, '9999-12-31')) + ?""",
                [recording["cwd"], recording["started"], WINDOW_SLACK_S / 86400,
                 recording.get("ended"), WINDOW_SLACK_S / 86400])]
        return found

    def _recording_for_session(self, session_id: str, cwd: str | None, started: str | None) -> str | None:
        row = self.conn.execute(
            """SELECT r.id FROM recordings r, json_each(coalesce(r.hook_session_ids, '[]')) j
               WHERE j.value = ? ORDER BY r.started DESC LIMIT 1""", [session_id]).fetchone()
        if row is None and cwd and started:
            row = self.conn.execute(
                """SELECT id FROM recordings
                   WHERE cwd = ? AND started IS NOT NULL
                     AND julianday(?) >= julianday(started) - ?
                     AND julianday(?) <= julianday(coalesce(ended, '9999-12-31')) + ?
                   ORDER BY started DESC LIMIT 1""",
                [cwd, started, WINDOW_SLACK_S / 86400, started, WINDOW_SLACK_S / 86400]).fetchone()
        return row[0] if row else None

    def _link(self, session_id: str, recording_id: str) -> None:
        """Link a session to its recording (inside the caller's transaction). Screen rows held by
        the screen-only session of that recording move to its primary Claude Code session."""
        if session_id == recording_id:
            return
        self.conn.execute("UPDATE sessions SET recording_id = ? WHERE id = ?", [recording_id, session_id])
        primary = self._sessions_of(recording_id)
        placeholder = self.conn.execute("SELECT 1 FROM sessions WHERE id = ?", [recording_id]).fetchone()
        if placeholder and primary:
            target = primary[0]
            self.conn.execute("DELETE FROM tool_calls WHERE session_id = ? AND source = 'screen'", [target])
            for table in ("signals", "tool_results", "messages"):
                self.conn.execute(f"DELETE FROM {table} WHERE session_id = ? AND source = 'screen'", [target])
            for table in ("messages", "tool_calls", "tool_results", "signals", "reconciliations"):
                self.conn.execute(f"UPDATE {table} SET session_id = ? WHERE session_id = ?", [target, recording_id])
            self.conn.execute("DELETE FROM sessions WHERE id = ?", [recording_id])

    # ---------------------------------------------------------------- reading

    def sessions(self) -> list[dict]:
        """Every session, newest first, with counts and its first prompt."""
        rows = self.conn.execute("""
            SELECT s.id, s.recording_id, s.started, s.ended, s.cwd, s.git_branch, s.version, s.title,
                   s.status, s.error,
                   (SELECT count(*) FROM messages m WHERE m.session_id = s.id AND m.kind = 'prompt'
                      AND m.source = s.main_source) AS prompts,
                   (SELECT count(*) FROM messages m WHERE m.session_id = s.id
                      AND m.source = s.main_source) AS messages,
                   (SELECT count(*) FROM tool_calls t WHERE t.session_id = s.id
                      AND t.source = s.main_source) AS tool_calls,
                   (SELECT group_concat(DISTINCT source) FROM (
                        SELECT source FROM messages WHERE session_id = s.id
                        UNION SELECT source FROM tool_calls WHERE session_id = s.id)) AS sources,
                   (SELECT text FROM messages m WHERE m.session_id = s.id AND m.kind = 'prompt'
                      ORDER BY m.source = 'log' DESC, m.seq LIMIT 1) AS first_prompt
            FROM (SELECT *, CASE WHEN log_hash IS NULL THEN 'screen' ELSE 'log' END AS main_source
                  FROM sessions) s
            ORDER BY s.started DESC, s.id""")
        return [_row(rows, r) for r in rows.fetchall()]

    def resolve(self, ident: str) -> str | None:
        """A session id from a session id, a unique prefix of one, or a recording id."""
        if self.conn.execute("SELECT 1 FROM sessions WHERE id = ?", [ident]).fetchone():
            return ident
        linked = self._sessions_of(ident)
        if linked:
            return linked[0]
        rows = self.conn.execute("SELECT id FROM sessions WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                                 [ident.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"]).fetchall()
        return rows[0][0] if len(rows) == 1 else None

    def session(self, ident: str) -> dict | None:
        """A session with its recording, messages and tool calls (each with its result), signals
        and reconciliation; `items` interleaves messages and tool calls in order, per source."""
        session_id = self.resolve(ident)
        if session_id is None:
            return None
        cur = self.conn.execute("SELECT * FROM sessions WHERE id = ?", [session_id])
        out = _row(cur, cur.fetchone())
        for key in ("warnings", "stats"):
            out[key] = json.loads(out[key]) if out.get(key) else None
        recording = None
        if out.get("recording_id"):
            cur = self.conn.execute("SELECT * FROM recordings WHERE id = ?", [out["recording_id"]])
            fetched = cur.fetchone()
            if fetched:
                recording = _row(cur, fetched)
                recording["meta"] = json.loads(recording["meta"]) if recording.get("meta") else None
        out["recording"] = recording
        cur = self.conn.execute("SELECT * FROM messages WHERE session_id = ? ORDER BY source, seq", [session_id])
        messages = [_row(cur, r) for r in cur.fetchall()]
        cur = self.conn.execute("""
            SELECT t.*, r.content AS result, r.is_error AS is_error FROM tool_calls t
            LEFT JOIN tool_results r ON r.tool_call_id = t.id
            WHERE t.session_id = ? ORDER BY t.source, t.seq""", [session_id])
        calls = []
        for r in cur.fetchall():
            call = _row(cur, r)
            call["input"] = json.loads(call["input"]) if call.get("input") else None
            call["is_error"] = None if call["is_error"] is None else bool(call["is_error"])
            calls.append(call)
        cur = self.conn.execute("SELECT * FROM signals WHERE session_id = ? ORDER BY source, id", [session_id])
        signals = []
        for r in cur.fetchall():
            signal = _row(cur, r)
            signal["value"] = json.loads(signal["value"]) if signal.get("value") else None
            signals.append(signal)
        cur = self.conn.execute("SELECT * FROM reconciliations WHERE session_id = ?", [session_id])
        recs = []
        for r in cur.fetchall():
            rec = _row(cur, r)
            rec["screen_only"] = json.loads(rec["screen_only"] or "[]")
            rec["log_only"] = json.loads(rec["log_only"] or "[]")
            recs.append(rec)
        out["messages"] = messages
        out["prompts"] = [m["text"] for m in messages if m["kind"] == "prompt" and m["source"] == "log"] or \
            [m["text"] for m in messages if m["kind"] == "prompt"]
        out["tool_calls"] = calls
        out["signals"] = signals
        out["reconciliations"] = recs
        items = [dict(m, type="message") for m in messages] + [dict(c, type="tool_call") for c in calls]
        out["items"] = sorted(items, key=lambda i: (i["source"], i["seq"]))
        return out

    def search(self, text: str, limit: int = 50) -> list[dict]:
        """Full-text search over prompts and answers (words; porter stemming)."""
        if not text.strip():
            return []
        cur = self.conn.execute("""
            SELECT m.session_id, m.seq, m.role, m.kind, m.source, m.time,
                   snippet(messages_fts, 0, '[', ']', '…', 12) AS snippet, m.text
            FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid
            WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?""", [self.db.quote_fts(text), limit])
        return [_row(cur, r) for r in cur.fetchall()]

    def log_served(self, row: dict) -> None:
        """One exchange of `claude-rec serve` (table `served`), its texts through the privacy gate."""
        def clean(text: str) -> str:  # field by field, so that a secret split by JSON escaping is still seen
            return json.dumps(_clean_json(json.loads(text)), ensure_ascii=False)
        row = {**row, "time": row.get("time") or now(), "prompt": clean(row["prompt"]),
               "response": clean(row["response"]), "context": _clean(row.get("context"))}
        with self.write() as db:
            db["served"].insert(row, replace=True)

    def served(self, limit: int = 50) -> list[dict]:
        cur = self.conn.execute("SELECT * FROM served ORDER BY time DESC LIMIT ?", [limit])
        return [_row(cur, r) for r in cur.fetchall()]

    def stats(self) -> dict[str, int]:
        tables = ("recordings", "sessions", "messages", "tool_calls", "tool_results", "signals", "reconciliations")
        return {t: self.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


# -------------------------------------------------------------------- helpers

def _is_command(prompt: str) -> bool:
    """A slash command (/exit, /clear, ...): logged by some versions, not a prompt to compare."""
    return prompt.startswith("/") and prompt[1:2].isalpha()


def _failed(result: IngestResult, reason: str) -> IngestResult:
    result.status, result.detail = "failed", reason
    return result


def _row(cursor: sqlite3.Cursor, row: tuple) -> dict:
    return {d[0]: v for d, v in zip(cursor.description, row)}


def _clean(text: str | None) -> str | None:
    return None if text is None else redact_gate.clean(text)


SECRET_VALUE = "[REDACTED:secret]"


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return redact_gate.clean(value)
    if isinstance(value, dict):  # {"password": "x"}: only the key says that the value is a secret
        return {k: SECRET_VALUE if isinstance(v, str) and v and secret_name(str(k)) else _clean_json(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    return value


def _hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"\0{path.name}\0".encode())
        if path.is_file():
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        else:
            digest.update(b"<absent>")
    return digest.hexdigest()


def _read_meta(path: Path) -> tuple[dict, str | None]:
    if not path.is_file():
        return {}, f"{path.name}: no sidecar"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        return {}, f"{path}: unreadable sidecar ({exc})"
    return (meta, None) if isinstance(meta, dict) else ({}, f"{path}: sidecar is not a JSON object")


def _read_hooks(path: Path) -> list[dict]:
    """Hook events saved next to a recording (`<stem>.hooks.jsonl`, one event JSON a line)."""
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _check_header(cast: Path) -> str | None:
    """None if the file starts with an asciicast v2 header, else why not."""
    with open(cast, "rb") as handle:
        first = handle.readline(1 << 20)
    try:
        header = json.loads(first)
    except ValueError:
        return "not an asciicast file (first line is not a JSON header)"
    if not isinstance(header, dict) or header.get("version") != 2:
        return f"not an asciicast v2 file (version {header.get('version') if isinstance(header, dict) else '?'})"
    return None


def _header_time(cast: Path) -> str | None:
    try:
        with open(cast, "rb") as handle:
            header = json.loads(handle.readline(1 << 20))
        return session_log.iso_utc(header.get("timestamp"))
    except (ValueError, OSError, AttributeError):
        return None


def _overlaps(log: Path, recording: dict) -> bool:
    """Whether a log's first timestamp falls in the recording's time window."""
    started = recording.get("started")
    if not started:
        return False
    try:
        with open(log, "rb") as handle:
            for raw in handle:
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue
                stamp = session_log.iso_utc(record.get("timestamp")) if isinstance(record, dict) else None
                if stamp:
                    return _within(stamp, started, recording.get("ended"))
    except OSError:
        return False
    return False


def _within(stamp: str, started: str, ended: str | None) -> bool:
    def parse(value: str) -> float:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    moment = parse(stamp)
    return parse(started) - WINDOW_SLACK_S <= moment and (ended is None or moment <= parse(ended) + WINDOW_SLACK_S)


def _screen_parser():
    """The screen parser module, if it exists (the lead's `blocks.parse_screen`)."""
    try:
        if importlib.util.find_spec(SCREEN_PARSER_MODULE) is None:
            return None
        module = importlib.import_module(SCREEN_PARSER_MODULE)
    except ImportError:
        return None
    return module if hasattr(module, "parse_screen") else None


def _parser_version(module) -> str | None:
    return None if module is None else str(getattr(module, "PARSER_VERSION", "1"))
