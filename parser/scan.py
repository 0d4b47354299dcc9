"""Audits for anything that looks like a secret: the store, or a dataset (JSONL).

    scan_store(db_path, redactor)  -> [Finding]   # where = "table/rowid/column[ $.json.path]"
    scan_dataset(path, redactor)   -> [Finding]   # where = "file:line[ $.json.path]"

A finding names where and what kind, never the secret. JSON values are walked: each string
is scanned with its key in front (`password: ...`), so that a secret whose only clue is
its key is found too.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .redact import Finding, Redactor, secret_name

# table -> (text columns, JSON columns)
STORE_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "messages": (("text",), ()),
    "tool_calls": (("key_arg", "visible_args"), ("input",)),
    "tool_results": (("content",), ()),
    "signals": ((), ("value",)),
    "sessions": (("title",), ()),
    "reconciliations": ((), ("screen_only", "log_only")),
}


def _strings(value: Any, path: str = "$", key: str | None = None) -> Iterator[tuple[str, str]]:
    """(json path, text to scan) for every string in a JSON value."""
    if isinstance(value, str):
        yield path, value
        if key is not None and secret_name(key):
            yield path, f"{key}: {json.dumps(value[:500], ensure_ascii=False)}"
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}", str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


def _scan_json_text(text: str, where: str, redactor: Redactor) -> list[Finding]:
    try:
        value = json.loads(text)
    except ValueError:
        return [replace(f, where=where) for f in redactor.find(text)]
    found: dict[tuple[str, str], Finding] = {}
    for path, piece in _strings(value):
        for f in redactor.find(piece):
            label = where if path == "$" else f"{where} {path}"
            found.setdefault((label, f.kind), replace(f, where=label))
    return list(found.values())


def scan_store(db: Path | str, redactor: Redactor | None = None) -> list[Finding]:
    """Every secret-looking text in the store's text columns."""
    redactor = redactor or Redactor()
    conn = sqlite3.connect(f"file:{Path(db)}?mode=ro", uri=True, timeout=120)
    findings: list[Finding] = []
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, (text_cols, json_cols) in STORE_COLUMNS.items():
            if table not in tables:
                continue
            present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            cols = [c for c in (*text_cols, *json_cols) if c in present]
            if not cols:
                continue
            query = f"SELECT rowid, {', '.join(cols)} FROM {table}"
            for row in conn.execute(query):
                rowid = row[0]
                for col, value in zip(cols, row[1:]):
                    if not isinstance(value, str) or not value:
                        continue
                    where = f"{table}/{rowid}/{col}"
                    if col in json_cols:
                        findings.extend(_scan_json_text(value, where, redactor))
                    else:
                        findings.extend(replace(f, where=where) for f in redactor.find(value))
    finally:
        conn.close()
    return findings


def dataset_files(path: Path | str) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*.jsonl") if p.is_file())
    return [path]


def scan_dataset(path: Path | str, redactor: Redactor | None = None) -> list[Finding]:
    """Every secret-looking string in a JSONL dataset (a file, or the *.jsonl under a folder)."""
    redactor = redactor or Redactor()
    findings: list[Finding] = []
    for file in dataset_files(path):
        with open(file, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                line = line.rstrip("\n")
                if line.strip():
                    findings.extend(_scan_json_text(line, f"{file}:{number}", redactor))
    return findings
