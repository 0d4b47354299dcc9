"""Synthetic tool-call chats in the store's shape, for tests, the demo and the benchmark.

`write_logs(dir, n)` writes `n` Claude Code session logs (the JSONL the CLI writes: user and
assistant records, tool_use / tool_result blocks), deterministically (seeded): the same
arguments give byte-identical files. `populate(store, n)` writes them to a temporary folder
and ingests them, so they reach the store through the real parser, like a real session.

Each session is three to five turns in a project at `CWD`: the user asks for something, the
assistant says what it will do, calls a tool (Bash, Read, Grep, Glob, Write, Edit) whose key
argument follows from the request (`run billing.py` -> Bash `python3 billing.py`, `show me
src/auth.py` -> Read `/home/dev/project/src/auth.py`, `list the files in this folder` -> Bash
`ls`), reads the result and answers. A 135M model learns that mapping in a few dozen steps.

Held out by construction: a session that `dataset.split_of` sends to validation draws its
file names, identifiers, folders and extensions from `HELD_OUT` slices of the vocabularies that
no training session uses, so the validation prompts measure whether the model copies an
argument it never saw in training, not whether it remembers one.
"""
from __future__ import annotations

import json
import random
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

NAMESPACE = uuid.UUID("6f1c1a52-2a4b-4a0e-9b1e-7d0c5e7a3c11")
CWD = "/home/dev/project"
STEMS = ["main", "utils", "app", "config", "server", "models", "cli", "db", "api", "auth", "billing", "client",
         "handlers", "jobs", "mailer", "metrics", "parser", "queue", "render", "report", "routes", "schema",
         "search", "settings", "storage", "sync", "tasks", "upload", "views", "worker", "cart", "invoice",
         "loader", "notify", "orders", "profile", "scheduler", "shipping", "stats", "webhooks"]
DIRS = ["", "", "src/", "lib/", "scripts/"]
WORDS = ["logger", "timeout", "retry", "cache_size", "parse_args", "connect", "VERSION", "TODO", "max_items",
         "load_config", "send_mail", "user_id", "fetch_all", "DEBUG", "render_page", "base_url", "on_error",
         "batch_size", "close_db", "get_user", "run_job", "FIXME", "handle_request", "page_size", "start_server",
         "validate", "to_json", "from_dict", "flush", "shutdown", "retry_count", "build_index", "is_admin",
         "slugify", "parse_date", "format_price", "cleanup", "dispatch", "make_app", "read_rows"]
EXTS = ["py", "md", "json", "txt", "toml", "yaml", "cfg", "sh", "html", "csv"]
FOLDERS = ["src", "lib", "tests", "docs", "scripts", "config", "assets", "build", "examples", "tools",
           "migrations", "static", "templates", "data", "bin"]
NOTES = ["notes", "todo", "plan", "ideas", "changes", "summary", "status", "draft"]
TURNS = (3, 4, 5)  # turns per session: more calls per copy of the system prompt
# How the demo (and the slow test) tune the embedded SmolLM2-135M on these sessions. Measured on
# 40-48 sessions (~640 tokens, ~4 calls an example): at lr 2e-3, batch 2, LoRA on all linear
# layers, next-call accuracy on held-out prompts went 0 -> ~0.7 after 20 steps, ~0.85 after 25-30.
RECIPE = {"max_steps": 24, "learning_rate": 2e-3, "batch_size": 2}
HELD_OUT = 5  # every 5th entry of each vocabulary is for validation sessions only


def _split(values: list[str], held_out: bool) -> list[str]:
    return [v for i, v in enumerate(values) if (i % HELD_OUT == HELD_OUT - 1) == held_out]


def _tasks(rng: random.Random, held_out: bool = False) -> list[dict]:
    """The turns a session can hold: prompt, intro text, tool, input, result, answer."""
    pick = lambda values: rng.choice(_split(values, held_out))  # noqa: E731
    cwd = CWD
    stem, stem2 = pick(STEMS), pick(STEMS)
    f = rng.choice(DIRS) + stem + ".py"
    w, w2 = pick(WORDS), pick(WORDS)
    e = pick(EXTS)
    d = pick(FOLDERS)
    t = f"tests/test_{stem2}.py"
    note = pick(NOTES) + ".txt"
    n = rng.randint(2, 9)
    say = lambda *options: rng.choice(options)  # noqa: E731
    return [
        dict(prompt=say(f"run {f}", f"what does {f} print?"), intro=f"I'll run {f}.",
             tool="Bash", input={"command": f"python3 {f}", "description": f"Run {f}"},
             result=f"{stem} ok: {n} items", answer=f"It prints `{stem} ok: {n} items`."),
        dict(prompt=say(f"show me {f}", f"read {f}"), intro=f"Reading {f}.", tool="Read",
             input={"file_path": f"{cwd}/{f}"},
             result=f"1\tdef main():\n2\t    return {n}\n",
             answer=f"`{f}` defines `main()`, which returns {n}."),
        dict(prompt=say(f"where is {w} used?", f"find {w} in the code"), intro=f"Searching for {w}.",
             tool="Grep", input={"pattern": w},
             result=f"{f}:{n}:    {w} = None", answer=f"`{w}` is used once, in `{f}` line {n}."),
        dict(prompt=say(f"list the .{e} files", f"find all .{e} files"), intro=f"Looking for .{e} files.",
             tool="Glob", input={"pattern": f"**/*.{e}"},
             result=f"{cwd}/a.{e}\n{cwd}/b.{e}", answer=f"Two: `a.{e}` and `b.{e}`."),
        dict(prompt=say(f"run the tests in {t}", f"run pytest on {t}"), intro=f"Running {t}.", tool="Bash",
             input={"command": f"python3 -m pytest {t} -q", "description": "Run the tests"},
             result=f"{n} passed in 0.{n}s", answer=f"All {n} tests in `{t}` pass."),
        dict(prompt=say("list the files in this folder", "what files are here?"), intro="Listing the files.",
             tool="Bash", input={"command": "ls", "description": "List files"},
             result=f"README.md\n{d}\n{stem}.py", answer=f"`README.md`, `{d}/` and `{stem}.py`."),
        dict(prompt=say(f"list the files in {d}", f"what is in the {d} folder?"), intro=f"Listing {d}.",
             tool="Bash", input={"command": f"ls {d}", "description": f"List {d}"},
             result=f"{stem}.py\n{stem2}.py", answer=f"`{d}` holds `{stem}.py` and `{stem2}.py`."),
        dict(prompt=say("what changed since the last commit?", "show me the git status"), intro="Checking git.",
             tool="Bash", input={"command": "git status --short", "description": "Show changed files"},
             result=f" M {f}\n?? {t}", answer=f"`{f}` is modified and `{t}` is new."),
        dict(prompt=f"create {note} saying {w}", intro=f"Writing {note}.", tool="Write",
             input={"file_path": f"{cwd}/{note}", "content": f"{w}\n"},
             result=f"File created successfully at: {cwd}/{note}", answer=f"Created `{note}` with `{w}`."),
        dict(prompt=f"rename {w} to {w2} in {f}", intro=f"Editing {f}.", tool="Edit",
             input={"file_path": f"{cwd}/{f}", "old_string": w, "new_string": w2, "replace_all": True},
             result=f"The file {cwd}/{f} has been updated.", answer=f"Renamed `{w}` to `{w2}` in `{f}`."),
    ]


def session_id_of(index: int, seed: int = 0) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{seed}:{index}"))


def held_out(session_id: str) -> bool:
    """Whether the dataset's split (`dataset.split_of`, default percentage) sends this session to validation."""
    from .dataset import split_of
    return split_of(session_id) == "validation"


def session_records(index: int, seed: int = 0) -> tuple[str, list[dict]]:
    """(session id, log records) of synthetic session `index`."""
    rng = random.Random(f"{seed}:{index}")
    session_id = session_id_of(index, seed)
    cwd = CWD
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

    turns = rng.sample(_tasks(rng, held_out(session_id)), k=rng.choice(TURNS))
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


def tool_calling_model(home: Path, count: int = 48, seed: int = 0, *, echo=None, **options) -> Path:
    """A tuned, quantized GGUF (Q8_0) of the embedded SmolLM2-135M that calls tools the way these
    sessions do: given "list the files in this folder" it answers
    `Listing the files.\\n<tool_call>{"name": "Bash", "arguments": {"command": "ls", ...}}</tool_call>`.

    `count` synthetic sessions (no real samples) make the dataset HOME/datasets/fixtures-<count>-<seed>
    (through a store of their own: HOME's store is not touched); the run (`RECIPE`, overridable by `options`, e.g.
    `max_steps=`) goes to HOME/models/ like any run and becomes HOME/models/current if it is the
    best. A finished run of the same dataset and recipe in HOME is reused. Prompt it with the
    dataset's format (`dataset.system_message` over the tools, then the user's words).
    """
    from claude_rec.parser.store import Store

    from . import dataset as ds
    from .train import TrainOptions, train

    home = Path(home)
    recipe = {**RECIPE, **options}
    directory = ds.default_dir(home, f"fixtures-{count}-{seed}")
    for run_json in sorted(home.glob("models/*/run.json"), reverse=True):
        try:
            run = json.loads(run_json.read_text())
            quantized = Path(run["export"]["quantized"]["path"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        same = run.get("options", {}).get("dataset_dir") == str(directory) and \
            all(run["options"].get(k) == v for k, v in recipe.items())
        if run.get("status") == "done" and same and quantized.is_file():
            return quantized
    if not (directory / "train.jsonl").is_file():
        with tempfile.TemporaryDirectory(prefix="claude-rec-fixtures-") as tmp, Store.open(Path(tmp)) as store:
            populate(store, count, seed)  # a store of their own: HOME's store is left as it is
            ds.build(store, directory)
    run = train(home, TrainOptions(**recipe, dataset_dir=str(directory), eval_prompts=4),
                echo=echo or (lambda line: None))
    return Path(run["export"]["quantized"]["path"])
