"""The store's schema, as an ordered list of migrations (sqlite-migrate / sqlite-utils).

Applied migrations are recorded in `_sqlite_migrations` (set "claude-rec"). Never edit a
migration that has shipped: add a new one at the end. `SCHEMA.md` describes the result.
"""
from __future__ import annotations

from sqlite_migrate import Migrations
from sqlite_utils import Database

MIGRATION_SET = "claude-rec"
migrations = Migrations(MIGRATION_SET)

_SOURCE = "source TEXT NOT NULL CHECK (source IN ('screen', 'log', 'hook'))"


@migrations()
def m001_initial(db: Database) -> None:
    _run(db, f"""
    CREATE TABLE recordings (
        id TEXT PRIMARY KEY,               -- the recording id (sidecar "id", else the file stem)
        cast_path TEXT NOT NULL,
        meta TEXT,                         -- the sidecar .meta.json, verbatim JSON
        started TEXT, ended TEXT,          -- UTC, 'YYYY-MM-DDTHH:MM:SS.ffffffZ'
        cwd TEXT, git_branch TEXT, command TEXT, claude_version TEXT,
        exit_status INTEGER, complete INTEGER,
        content_hash TEXT NOT NULL,        -- sha256 of the .cast, sidecar and hooks files
        status TEXT NOT NULL CHECK (status IN ('ingested', 'failed')),
        error TEXT,
        warnings TEXT,                     -- JSON list
        hook_session_ids TEXT,             -- JSON list of session ids named by <stem>.hooks.jsonl
        screen_parser TEXT,                -- version of the screen parser that read it (NULL: none)
        ingested_at TEXT NOT NULL
    );
    CREATE INDEX recordings_cwd_started ON recordings (cwd, started);

    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,               -- Claude Code session id, or a recording id (screen only)
        recording_id TEXT REFERENCES recordings (id) ON DELETE SET NULL,
        log_path TEXT, log_copy TEXT, log_hash TEXT,
        cwd TEXT, git_branch TEXT, version TEXT,
        started TEXT, ended TEXT, title TEXT,
        status TEXT NOT NULL DEFAULT 'ingested' CHECK (status IN ('ingested', 'failed')),
        error TEXT,
        warnings TEXT,                     -- JSON list
        stats TEXT,                        -- JSON: records by type, skipped, bad lines
        ingested_at TEXT NOT NULL
    );
    CREATE INDEX sessions_recording ON sessions (recording_id);
    CREATE INDEX sessions_log_hash ON sessions (log_hash);
    CREATE INDEX sessions_cwd_started ON sessions (cwd, started);

    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,              -- order within (session, source), shared with tool_calls
        role TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('prompt', 'text', 'thinking')),
        text TEXT NOT NULL,
        time TEXT,
        agent TEXT,                        -- sub-agent id; NULL for the main conversation
        uuid TEXT,                         -- the log record's uuid
        {_SOURCE}
    );
    CREATE INDEX messages_session ON messages (session_id, source, seq);

    CREATE TABLE tool_calls (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        tool_use_id TEXT,
        name TEXT NOT NULL,
        input TEXT,                        -- JSON (full input from the log; NULL from the screen)
        key_arg TEXT,                      -- command / file_path / pattern / url / description
        visible_args TEXT,                 -- what the screen drew inside Name(...)
        time TEXT,
        agent TEXT,
        uuid TEXT,
        {_SOURCE}
    );
    CREATE INDEX tool_calls_session ON tool_calls (session_id, source, seq);
    CREATE INDEX tool_calls_tool_use_id ON tool_calls (tool_use_id);

    CREATE TABLE tool_results (
        id INTEGER PRIMARY KEY,
        tool_call_id INTEGER NOT NULL REFERENCES tool_calls (id) ON DELETE CASCADE,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        content TEXT NOT NULL,
        is_error INTEGER NOT NULL DEFAULT 0,
        time TEXT,
        {_SOURCE}
    );
    CREATE INDEX tool_results_call ON tool_results (tool_call_id);
    CREATE INDEX tool_results_session ON tool_results (session_id);

    CREATE TABLE signals (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,                -- interrupted, rejected, system:turn_duration, ...
        value TEXT,                        -- JSON
        time TEXT,
        {_SOURCE}
    );
    CREATE INDEX signals_session ON signals (session_id, source);

    CREATE TABLE reconciliations (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        recording_id TEXT REFERENCES recordings (id) ON DELETE CASCADE,
        match_rate REAL,
        screen_only TEXT,                  -- JSON list of calls only the screen showed
        log_only TEXT,                     -- JSON list of calls only the log has
        created TEXT NOT NULL
    );
    CREATE INDEX reconciliations_session ON reconciliations (session_id);
    """)
    db["messages"].enable_fts(["text"], create_triggers=True, tokenize="porter")


@migrations()
def m002_served(db: Database) -> None:
    """Exchanges of `claude-rec serve`: the local model's own traces, beside Claude's."""
    _run(db, """
    CREATE TABLE served (
        id TEXT PRIMARY KEY,               -- the message id the server answered with (msg_...)
        time TEXT NOT NULL,                -- UTC, when the answer ended
        model TEXT NOT NULL, model_path TEXT,
        requested_model TEXT,              -- the model name the client asked for
        client_session TEXT,               -- the client's session id (Claude Code's metadata), if sent
        stream INTEGER NOT NULL,
        system_mode TEXT,                  -- trained | client (training/serve/prompt.py)
        context TEXT,                      -- what fitting the context did ('' when nothing)
        prompt TEXT NOT NULL,              -- JSON: the chat the model was given
        response TEXT NOT NULL,            -- JSON: the content blocks it answered
        stop_reason TEXT, input_tokens INTEGER, output_tokens INTEGER,
        first_token_ms REAL, total_ms REAL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'cancelled'))
    );
    CREATE INDEX served_session ON served (client_session, time);
    """)


def _run(db: Database, script: str) -> None:
    """Statement by statement: `executescript` would commit the caller's transaction."""
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


def apply(db: Database) -> list[str]:
    """Apply the pending migrations; the names applied (the caller holds the write lock)."""
    pending = [m.name for m in migrations.pending(db)]
    if pending:
        migrations.apply(db)
    return pending


def pending(db: Database) -> list[str]:
    return [m.name for m in migrations.pending(db)]
