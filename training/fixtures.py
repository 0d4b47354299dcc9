"""Synthetic tool-call chats in the store's shape, for tests, the demo and the benchmark.

`write_logs(dir, n)` writes `n` Claude Code session logs (the JSONL the CLI writes: user and
assistant records, tool_use / tool_result blocks), deterministically (seeded): the same
arguments give byte-identical files. `populate(store, n)` writes them to a temporary folder
and ingests them, so they reach the store through the real parser, like a real session.

Each session is one or two turns over a small project: the user asks for something, the
assistant says what it will do, calls a tool (Bash, Read, Grep, Glob, Write, Edit) with
arguments that follow from the request, reads the result and answers. The mapping from
request to call is regular enough for a 135M model to pick up in a few dozen steps.
"""
from __future__ import annotations

import json
import random
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

NAMESPACE = uuid.UUID("6f1c1a52-2a4b-4a0e-9b1e-7d0c5e7a3c11")
FILES = ["main.py", "utils.py", "app.py", "config.py", "server.py", "models.py", "cli.py", "db.py"]
WORDS = ["TODO", "logger", "timeout", "retry", "cache", "parse_args", "connect", "VERSION"]
EXTS = ["py", "md", "json", "txt", "toml"]
TESTS = ["test_main.py", "test_utils.py", "test_app.py", "test_db.py"]


def _tasks(rng: random.Random, cwd: str) -> list[dict]:
    """One turn: prompt, intro text, tool, input, result, answer."""
    f = rng.choice(FILES)
    w = rng.choice(WORDS)
    e = rng.choice(EXTS)
    t = rng.choice(TESTS)
    n = rng.randint(2, 9)
    return [
        dict(prompt=f"run {f} and tell me what it prints", intro=f"I'll run {f}.", tool="Bash",
             input={"command": f"python3 {f}", "description": f"Run {f}"},
             result=f"{f[:-3]} ok: {n} items", answer=f"It prints `{f[:-3]} ok: {n} items`."),
        dict(prompt=f"show me {f}", intro=f"Reading {f}.", tool="Read",
             input={"file_path": f"{cwd}/{f}"},
             result=f"1\timport sys\n2\t\n3\tdef main():\n4\t    return {n}\n",
             answer=f"`{f}` defines `main()`, which returns {n}."),
        dict(prompt=f"where is {w} used?", intro=f"Searching for {w}.", tool="Grep",
             input={"pattern": w, "path": cwd},
             result=f"{f}:{n}:    {w} = None", answer=f"`{w}` is used once, in `{f}` line {n}."),
        dict(prompt=f"list the .{e} files", intro=f"Looking for .{e} files.", tool="Glob",
             input={"pattern": f"**/*.{e}"},
             result=f"{cwd}/a.{e}\n{cwd}/b.{e}", answer=f"There are 2 .{e} files: `a.{e}` and `b.{e}`."),
        dict(prompt=f"run the tests in {t}", intro=f"Running {t}.", tool="Bash",
             input={"command": f"python3 -m pytest {t} -q", "description": "Run the tests"},
             result=f"{n} passed in 0.{n}s", answer=f"All {n} tests in `{t}` pass."),
        dict(prompt=f"create notes.txt saying {w}", intro="Writing notes.txt.", tool="Write",
             input={"file_path": f"{cwd}/notes.txt", "content": f"{w}\n"},
             result=f"File created successfully at: {cwd}/notes.txt", answer=f"Created `notes.txt` with `{w}`."),
        dict(prompt=f"rename {w} to {w.lower()}_new in {f}", intro=f"Editing {f}.", tool="Edit",
             input={"file_path": f"{cwd}/{f}", "old_string": w, "new_string": f"{w.lower()}_new",
                    "replace_all": True},
             result=f"The file {cwd}/{f} has been updated.", answer=f"Renamed `{w}` in `{f}`."),
        dict(prompt="what changed since the last commit?", intro="Checking git.", tool="Bash",
             input={"command": "git status --short", "description": "Show changed files"},
             result=f" M {f}\n?? {t}", answer=f"`{f}` is modified and `{t}` is new."),
    ]


def session_records(index: int, seed: int = 0) -> tuple[str, list[dict]]:
    """(session id, log records) of synthetic session `index`."""
    rng = random.Random(f"{seed}:{index}")
    session_id = str(uuid.uuid5(NAMESPACE, f"{seed}:{index}"))
    cwd = f"/home/dev/project{index % 7}"
    start = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(hours=index)
    clock = [start]
    records: list[dict] = []
    parent: list[str | None] = [None]

    def record(kind: str, message: dict, **extra) -> None:
        clock[0] += timedelta(seconds=1)
        rid = str(uuid.uuid5(NAMESPACE, f"{session_id}:{len(records)}"))
        records.append({"parentUuid": parent[0], "isSidechain": False, "type": kind, "message": message,
                        "uuid": rid, "timestamp": clock[0].strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                        "userType": "external", "cwd": cwd, "sessionId": session_id, "version": "2.1.197",
                        "gitBranch": "main", **extra})
        parent[0] = rid

    turns = rng.sample(_tasks(rng, cwd), k=rng.choice([1, 1, 2]))
    for t_index, task in enumerate(turns):
        record("user", {"role": "user", "content": task["prompt"]})
        msg_id = f"msg_fx{index:03d}{t_index}"
        record("assistant", {"id": msg_id, "type": "message", "role": "assistant", "model": "fixture",
                             "content": [{"type": "text", "text": task["intro"]}]})
        tool_id = f"toolu_fx{index:03d}{t_index}"
        record("assistant", {"id": msg_id, "type": "message", "role": "assistant", "model": "fixture",
                             "content": [{"type": "tool_use", "id": tool_id, "name": task["tool"],
                                          "input": task["input"]}]})
        record("user", {"role": "user", "content": [{"tool_use_id": tool_id, "type": "tool_result",
                                                     "content": task["result"], "is_error": False}]})
        record("assistant", {"id": msg_id + "b", "type": "message", "role": "assistant", "model": "fixture",
                             "content": [{"type": "text", "text": task["answer"]}]})
    return session_id, records


def write_logs(directory: Path, count: int = 48, seed: int = 0) -> list[Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        session_id, records = session_records(index, seed)
        path = directory / f"{session_id}.jsonl"
        path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
        paths.append(path)
    return paths


def populate(store, count: int = 48, seed: int = 0) -> list[str]:
    """Ingest `count` synthetic sessions into `store`; returns their session ids."""
    ids = []
    with tempfile.TemporaryDirectory(prefix="claude-rec-fixtures-") as tmp:
        for path in write_logs(Path(tmp), count, seed):
            result = store.ingest_log(path)
            if result.status not in ("ingested", "unchanged"):
                raise RuntimeError(f"fixture {path.name}: {result.line()}")
            ids.append(path.stem)
    return ids
