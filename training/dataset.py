"""From the store to training examples: `claude-rec dataset build|export`.

One example per session, or per window of whole turns when a session does not fit the
context budget. Each example is a chat in the **claude-rec tool-call format** (SmolLM2's
chat template ignores `tools=`, so the format lives in the text itself):

- ``system``: `SYSTEM_PROMPT`, then the tools the example uses, one signature a line
  (``Bash(command, description?, timeout?): Run a shell command.``; ``?``: optional)
  between ``<tools>`` and ``</tools>``, and how to call them. The full JSON schemas are in
  the ``tools`` column.
- ``user``: what the user typed (a prompt).
- ``assistant``: the assistant's text, then each tool call as one line
  ``<tool_call>{"name": "Bash", "arguments": {"command": "ls"}}</tool_call>``
  (JSON with sorted keys, exactly the input the tool got; consecutive assistant items form
  one turn, so text and the calls that follow it belong together).
- ``tool``: one turn per tool result, in call order:
  ``<tool_response>{"name": "Bash", "is_error": false}\\n<output></tool_response>``
  (long outputs keep their head and tail: `truncate`).

Tool calls come from the session's log rows when it has any (the exact input), else from the
screen rows (the input is rebuilt from the key argument the screen showed, `screen_input`).
Sub-agent rows are left out (they are another conversation).

Files under ``<home>/datasets/<name>/``: ``train.jsonl``, ``validation.jsonl`` (our rows:
``id``, ``session_id``, ``split``, ``messages``, ``tools``), ``manifest.json``; `export`
writes TRL's conversational format (``messages`` + ``tools``) and ShareGPT for
LLaMA-Factory (``conversations`` with human/gpt/function_call/observation, ``system``,
``tools``; see `to_sharegpt`). The split is by session and deterministic (sha256 of the
session id); identical examples are kept once.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

SYSTEM_PROMPT = (
    "You are Claude Code, a coding assistant working in the user's project. "
    "Use the tools to read, run and change things; answer briefly when done."
)
TOOL_INSTRUCTIONS = (
    "To call a tool, write one line per call: "
    '<tool_call>{"name": <tool name>, "arguments": <JSON object>}</tool_call>. '
    "Each result comes back in a tool turn: <tool_response>...</tool_response>."
)
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
RESULT_OPEN, RESULT_CLOSE = "<tool_response>", "</tool_response>"

DEFAULT_MAX_CHARS = 6000       # ~1,700 tokens of SmolLM2's tokenizer for code-ish text
DEFAULT_RESULT_CHARS = 1200    # a tool result longer than this keeps its head and tail
DEFAULT_VALIDATION_PCT = 15
MIN_EXAMPLES = 4               # fewer than this is not a dataset worth training on

# The schemas of Claude Code's common tools (trimmed to what a model needs to call them).
KNOWN_TOOLS: dict[str, dict] = {
    "Bash": {"description": "Run a shell command.", "properties": {
        "command": {"type": "string"}, "description": {"type": "string"}, "timeout": {"type": "number"}},
        "required": ["command"]},
    "Read": {"description": "Read a file.", "properties": {
        "file_path": {"type": "string"}, "offset": {"type": "number"}, "limit": {"type": "number"}},
        "required": ["file_path"]},
    "Write": {"description": "Write a file.", "properties": {
        "file_path": {"type": "string"}, "content": {"type": "string"}}, "required": ["file_path", "content"]},
    "Edit": {"description": "Replace text in a file.", "properties": {
        "file_path": {"type": "string"}, "old_string": {"type": "string"}, "new_string": {"type": "string"},
        "replace_all": {"type": "boolean"}}, "required": ["file_path", "old_string", "new_string"]},
    "Glob": {"description": "Find files by pattern.", "properties": {
        "pattern": {"type": "string"}, "path": {"type": "string"}}, "required": ["pattern"]},
    "Grep": {"description": "Search file contents.", "properties": {
        "pattern": {"type": "string"}, "path": {"type": "string"}, "glob": {"type": "string"},
        "output_mode": {"type": "string"}}, "required": ["pattern"]},
    "WebFetch": {"description": "Fetch a URL.", "properties": {
        "url": {"type": "string"}, "prompt": {"type": "string"}}, "required": ["url"]},
    "WebSearch": {"description": "Search the web.", "properties": {"query": {"type": "string"}},
                  "required": ["query"]},
    "TodoWrite": {"description": "Update the todo list.", "properties": {"todos": {"type": "array"}},
                  "required": ["todos"]},
    "Task": {"description": "Start a sub-agent.", "properties": {
        "description": {"type": "string"}, "prompt": {"type": "string"}}, "required": ["prompt"]},
}
# Which argument a screen-only call's key argument stands for (the store's key_arg order).
SCREEN_KEY = {"Bash": "command", "Read": "file_path", "Write": "file_path", "Edit": "file_path",
              "NotebookEdit": "notebook_path", "Glob": "pattern", "Grep": "pattern", "WebFetch": "url",
              "WebSearch": "query", "Task": "description", "Agent": "description"}
KEY_ARGS = ("command", "file_path", "notebook_path", "pattern", "url", "query", "description", "path", "prompt")


class DatasetError(Exception):
    """A dataset that cannot be built or used: the message is one line for the user."""


# ------------------------------------------------------------------------------ format

def format_call(name: str, arguments: dict) -> str:
    args = json.loads(json.dumps(arguments, sort_keys=True))  # sorted keys, at every depth
    return CALL_OPEN + json.dumps({"name": name, "arguments": args}, ensure_ascii=False) + CALL_CLOSE


def format_result(name: str, content: str, is_error: bool) -> str:
    head = json.dumps({"name": name, "is_error": bool(is_error)})
    return f"{RESULT_OPEN}{head}\n{content}{RESULT_CLOSE}"


def parse_calls(text: str) -> list[dict]:
    """The tool calls in an assistant text: [{"name", "arguments"}]; malformed ones are skipped."""
    calls = []
    pos = 0
    while True:
        start = text.find(CALL_OPEN, pos)
        if start < 0:
            return calls
        end = text.find(CALL_CLOSE, start)
        body = text[start + len(CALL_OPEN): end if end >= 0 else len(text)].strip()
        pos = end + len(CALL_CLOSE) if end >= 0 else len(text)
        try:
            call = json.loads(body)
        except ValueError:
            continue
        if isinstance(call, dict) and isinstance(call.get("name"), str):
            args = call.get("arguments")
            calls.append({"name": call["name"], "arguments": args if isinstance(args, dict) else {}})


def key_argument(arguments: dict) -> tuple[str, Any] | None:
    for key in KEY_ARGS:
        if key in arguments:
            return key, arguments[key]
    return None


def truncate(text: str, limit: int = DEFAULT_RESULT_CHARS) -> str:
    """Head (3/4) and tail (1/4) of a long text, with what was left out said in between."""
    text = text or ""
    if len(text) <= limit:
        return text
    head, tail = limit * 3 // 4, limit // 4
    return f"{text[:head]}\n[… {len(text) - head - tail} characters omitted …]\n{text[len(text) - tail:]}"


def tool_schema(name: str, seen_inputs: Iterable[dict] = ()) -> dict:
    """A JSON schema (OpenAI/TRL `tools` style) for a tool: known, else inferred from its inputs."""
    known = KNOWN_TOOLS.get(name)
    if known:
        params = {"type": "object", "properties": known["properties"], "required": known["required"]}
        description = known["description"]
    else:
        props: dict[str, dict] = {}
        for inp in seen_inputs:
            for key, value in (inp or {}).items():
                props.setdefault(key, {"type": _json_type(value)})
        params = {"type": "object", "properties": dict(sorted(props.items())), "required": []}
        description = f"The {name} tool."
    return {"type": "function", "function": {"name": name, "description": description, "parameters": params}}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def tool_signature(tool: dict) -> str:
    """One short line per tool (the full JSON schemas are in the `tools` column): the system
    prompt is in every example, and every token of it costs training time."""
    fn = tool["function"]
    params = fn["parameters"]
    required = set(params.get("required", []))
    args = ", ".join(k if k in required else k + "?" for k in params.get("properties", {}))
    return f"{fn['name']}({args}): {fn['description']}"


def system_message(tools: list[dict]) -> str:
    if not tools:
        return SYSTEM_PROMPT
    lines = "\n".join(tool_signature(t) for t in tools)
    return f"{SYSTEM_PROMPT}\n\n<tools>\n{lines}\n</tools>\n{TOOL_INSTRUCTIONS}"


def screen_input(name: str, key_arg: str | None) -> dict:
    """A screen-only call's input, rebuilt from the key argument the screen showed."""
    if not key_arg:
        return {}
    return {SCREEN_KEY.get(name, "args"): key_arg}


# ------------------------------------------------------------------------------ building

@dataclass
class Example:
    id: str
    session_id: str
    split: str
    messages: list[dict]
    tools: list[dict]
    source: str = "log"

    def row(self) -> dict:
        return {"id": self.id, "session_id": self.session_id, "split": self.split, "source": self.source,
                "messages": self.messages, "tools": self.tools}


@dataclass
class BuildResult:
    directory: Path
    train: int
    validation: int
    sessions: int
    skipped: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    privacy: str = ""

    def line(self) -> str:
        skipped = ", ".join(f"{v} {k}" for k, v in self.skipped.items() if v)
        return (f"dataset {self.directory}: {self.train} train, {self.validation} validation examples "
                f"from {self.sessions} sessions; {self.duplicates} duplicates dropped"
                + (f"; skipped: {skipped}" if skipped else "") + (f"; {self.privacy}" if self.privacy else ""))


def split_of(session_id: str, validation_pct: int = DEFAULT_VALIDATION_PCT) -> str:
    bucket = int(hashlib.sha256(session_id.encode()).hexdigest()[:8], 16) % 100
    return "validation" if bucket < validation_pct else "train"


def session_turns(session: dict, result_chars: int = DEFAULT_RESULT_CHARS) -> tuple[list[dict], list[dict], str]:
    """(messages without the system turn, tools used, source) for one store session (`Store.session`)."""
    items = session["items"]
    sources = {i["source"] for i in items}
    source = "log" if "log" in sources else ("screen" if "screen" in sources else "")
    items = [i for i in items if i["source"] == source and not i.get("agent")]
    messages: list[dict] = []
    used: dict[str, list[dict]] = {}
    pending: list[dict] = []  # tool results waiting for the end of the assistant turn

    def flush_results() -> None:
        for name, content, is_error in pending:
            messages.append({"role": "tool", "content": format_result(name, content, is_error)})
        pending.clear()

    for item in items:
        if item["type"] == "message":
            if item["kind"] == "thinking" or not (item.get("text") or "").strip():
                continue
            role = "user" if item["role"] == "user" else "assistant"
            text = item["text"].strip()
            if role == "assistant" and pending:
                flush_results()
            if role == "user":
                flush_results()
            if messages and messages[-1]["role"] == role:
                messages[-1]["content"] += "\n\n" + text
            else:
                messages.append({"role": role, "content": text})
        else:
            name = item["name"]
            arguments = item["input"] if isinstance(item.get("input"), dict) else \
                screen_input(name, item.get("key_arg") or item.get("visible_args"))
            used.setdefault(name, []).append(arguments)
            if pending:  # a call after results: a new assistant turn
                flush_results()
            line = format_call(name, arguments)
            if messages and messages[-1]["role"] == "assistant":
                messages[-1]["content"] += "\n" + line
            else:
                messages.append({"role": "assistant", "content": line})
            result = item.get("result")
            pending.append((name, truncate(result or "", result_chars), bool(item.get("is_error"))))
    flush_results()
    while messages and messages[-1]["role"] != "assistant":  # nothing to learn after the last answer
        messages.pop()
    tools = [tool_schema(name, inputs) for name, inputs in sorted(used.items())]
    return messages, tools, source


def windows(messages: list[dict], max_chars: int) -> list[list[dict]]:
    """Whole turns (a user prompt and everything up to the next one) packed into windows of at
    most `max_chars`; a single turn longer than that is a window of its own."""
    turns: list[list[dict]] = []
    for message in messages:
        if message["role"] == "user" or not turns:
            turns.append([])
        turns[-1].append(message)
    out: list[list[dict]] = []
    size = 0
    for turn in turns:
        n = sum(len(m["content"]) for m in turn)
        if out and size + n <= max_chars:
            out[-1].extend(turn)
            size += n
        else:
            out.append(list(turn))
            size = n
    return [w for w in out if any(m["role"] == "assistant" for m in w)]


def examples_from_store(store, *, max_chars: int = DEFAULT_MAX_CHARS, result_chars: int = DEFAULT_RESULT_CHARS,
                        validation_pct: int = DEFAULT_VALIDATION_PCT) -> tuple[list[Example], dict[str, int], int]:
    """(examples, skipped counts, duplicates) from every ingested session of a store."""
    examples: list[Example] = []
    skipped = {"failed sessions": 0, "sessions without an answer": 0, "sessions of the local model": 0}
    seen: set[str] = set()
    duplicates = 0
    local = _local_model_sessions(store)
    for row in sorted(store.sessions(), key=lambda r: r["id"]):
        if row.get("status") not in (None, "ingested"):
            skipped["failed sessions"] += 1
            continue
        if row["id"] in local:  # answered by `claude-rec serve`: the model must not learn from itself
            skipped["sessions of the local model"] += 1
            continue
        session = store.session(row["id"])
        messages, tools, source = session_turns(session, result_chars)
        if not any(m["role"] == "assistant" for m in messages):
            skipped["sessions without an answer"] += 1
            continue
        split = split_of(row["id"], validation_pct)
        for n, window in enumerate(windows(messages, max_chars)):
            names = {c["name"] for m in window if m["role"] == "assistant" for c in parse_calls(m["content"])}
            window_tools = [t for t in tools if t["function"]["name"] in names]
            full = [{"role": "system", "content": system_message(window_tools)}, *window]
            digest = hashlib.sha256(json.dumps(full, sort_keys=True).encode()).hexdigest()
            if digest in seen:
                duplicates += 1
                continue
            seen.add(digest)
            examples.append(Example(f"{row['id']}#{n}", row["id"], split, full, window_tools, source))
    # A validation set must exist whenever there is more than one session: the session whose
    # hash is smallest goes there if the hash split sent none (deterministic too).
    sessions = sorted({e.session_id for e in examples})
    if len(sessions) > 1 and not any(e.split == "validation" for e in examples):
        chosen = min(sessions, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
        for e in examples:
            if e.session_id == chosen:
                e.split = "validation"
    return examples, skipped, duplicates


def _local_model_sessions(store) -> set[str]:
    """Ids of Claude Code sessions that `claude-rec serve` answered (its `served` table)."""
    try:
        rows = store.conn.execute("SELECT DISTINCT client_session FROM served WHERE client_session IS NOT NULL")
    except Exception:  # noqa: BLE001 - a store from before the table existed
        return set()
    return {r[0] for r in rows}


def privacy_check(folder: Path) -> str:
    """Run the privacy scan over the written JSONL files (`claude_rec.parser.scan.scan_dataset`,
    or `parser.redact.scan_dataset` in older trees); raise on any finding."""
    scan = None
    for module_name in ("claude_rec.parser.scan", "claude_rec.parser.redact"):
        try:
            module = __import__(module_name, fromlist=["scan_dataset"])
        except ImportError:
            continue
        scan = getattr(module, "scan_dataset", None)
        if scan:
            break
    if scan is None:
        return "privacy scan not available (no claude_rec.parser.scan.scan_dataset): not scanned"
    findings = scan(Path(folder))
    findings = list(getattr(findings, "findings", findings) or [])
    if findings:
        raise DatasetError(f"the privacy scan found {len(findings)} problem(s) (first: {str(findings[0])[:200]}); "
                           "nothing was built")
    return "privacy scan: clean"


def default_dir(home: Path, name: str = "default") -> Path:
    return Path(home) / "datasets" / name


def build(store, out_dir: Path, *, max_chars: int = DEFAULT_MAX_CHARS, result_chars: int = DEFAULT_RESULT_CHARS,
          validation_pct: int = DEFAULT_VALIDATION_PCT, min_examples: int = MIN_EXAMPLES,
          privacy: bool = True) -> BuildResult:
    """Build the dataset of a store into `out_dir` (replaced atomically)."""
    examples, skipped, duplicates = examples_from_store(store, max_chars=max_chars, result_chars=result_chars,
                                                        validation_pct=validation_pct)
    if len(examples) < min_examples:
        raise DatasetError(f"only {len(examples)} usable example(s) in the store (at least {min_examples} "
                           "needed): ingest more sessions first")
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    _private_mkdir(tmp)
    hide_identity = _identity_redaction(store)
    for name in ("train", "validation"):
        rows = [e.row() for e in examples if e.split == name]
        _write_jsonl(tmp / f"{name}.jsonl", [hide_identity(row) for row in rows])
    try:
        privacy_note = privacy_check(tmp) if privacy else "privacy scan skipped"
    except BaseException:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result = BuildResult(out_dir, sum(e.split == "train" for e in examples),
                         sum(e.split == "validation" for e in examples), len({e.session_id for e in examples}),
                         skipped, duplicates, privacy_note)
    manifest = {"format": "claude-rec tool-call format v1", "system_prompt": SYSTEM_PROMPT,
                "train": result.train, "validation": result.validation, "sessions": result.sessions,
                "duplicates": duplicates, "skipped": skipped, "privacy": privacy_note,
                "max_chars": max_chars, "result_chars": result_chars, "validation_pct": validation_pct}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    _replace_dir(tmp, out_dir)
    return result


def _identity_redaction(store):
    """The user's home path, host name and user name out of every string of a row, unless the
    config's `[privacy] identity_exports = false` keeps them (see parser/redact.py)."""
    from claude_rec.parser.config import load_config, privacy_settings
    from claude_rec.parser.redact import redact_identity

    if not privacy_settings(load_config(store.home)).identity_exports:
        return lambda row: row

    def walk(value):
        if isinstance(value, str):
            return redact_identity(value)
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return walk


def load(directory: Path, split: str) -> list[dict]:
    path = Path(directory) / f"{split}.jsonl"
    if not path.is_file():
        raise DatasetError(f"no dataset at {directory} (missing {path.name}): run `claude-rec dataset build`")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise DatasetError(f"{path}:{n}: not JSON") from None
        if not isinstance(row, dict) or not isinstance(row.get("messages"), list):
            raise DatasetError(f"{path}:{n}: no messages")
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------ export

def to_trl(row: dict) -> dict:
    """TRL's conversational format: `messages` (role/content) and `tools` (JSON schemas)."""
    return {"messages": row["messages"], "tools": row.get("tools") or []}


def to_sharegpt(row: dict) -> dict:
    """LLaMA-Factory's ShareGPT format (`formatting: sharegpt`, tags from/value, roles human,
    gpt, function_call, observation). An assistant turn with calls becomes `function_call`
    (one call: a JSON object; several: a JSON list) and its text before the calls is kept in a
    `gpt` turn only when there are no calls (LLaMA-Factory has no slot for both); results of one
    turn are one `observation`. Turns strictly alternate, as LLaMA-Factory requires."""
    system = ""
    conversations: list[dict] = []
    for message in row["messages"]:
        role, content = message["role"], message["content"]
        if role == "system":
            system = content
            continue
        if role == "assistant":
            calls = parse_calls(content)
            if calls:
                value = json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)
                turn = {"from": "function_call", "value": value}
            else:
                turn = {"from": "gpt", "value": content}
        elif role == "tool":
            turn = {"from": "observation", "value": content}
        else:
            turn = {"from": "human", "value": content}
        odd = turn["from"] in ("gpt", "function_call")
        if conversations and (conversations[-1]["from"] in ("gpt", "function_call")) == odd:
            if turn["from"] == conversations[-1]["from"] and turn["from"] != "function_call":
                conversations[-1]["value"] += "\n\n" + turn["value"]
            elif turn["from"] == "function_call" and conversations[-1]["from"] == "function_call":
                before, after = json.loads(conversations[-1]["value"]), json.loads(turn["value"])
                merged = (before if isinstance(before, list) else [before]) + \
                    (after if isinstance(after, list) else [after])
                conversations[-1]["value"] = json.dumps(merged, ensure_ascii=False)
            else:  # e.g. observation then human: keep both texts in one even turn
                conversations[-1]["value"] += "\n\n" + turn["value"]
            continue
        if not conversations and odd:
            continue  # must start with the human
        conversations.append(turn)
    while conversations and conversations[-1]["from"] not in ("gpt", "function_call"):
        conversations.pop()
    tools = [t["function"] for t in row.get("tools") or []]
    return {"conversations": conversations, "system": system, "tools": json.dumps(tools, ensure_ascii=False)}


def export(directory: Path, out_dir: Path, fmt: str = "all") -> list[Path]:
    """Write `<split>.trl.jsonl` and/or `<split>.sharegpt.jsonl` (+ LLaMA-Factory's dataset_info.json)."""
    out_dir = Path(out_dir)
    _private_mkdir(out_dir)
    written = []
    for split in ("train", "validation"):
        rows = load(directory, split)
        if fmt in ("trl", "all"):
            written.append(_write_jsonl(out_dir / f"{split}.trl.jsonl", [to_trl(r) for r in rows]))
        if fmt in ("sharegpt", "all"):
            written.append(_write_jsonl(out_dir / f"{split}.sharegpt.jsonl", [to_sharegpt(r) for r in rows]))
    if fmt in ("sharegpt", "all"):
        info = {f"claude_rec_{split}": {"file_name": f"{split}.sharegpt.jsonl", "formatting": "sharegpt",
                                        "columns": {"messages": "conversations", "system": "system",
                                                    "tools": "tools"}}
                for split in ("train", "validation")}
        path = out_dir / "dataset_info.json"
        path.write_text(json.dumps(info, indent=2) + "\n")
        written.append(path)
    return written


# ------------------------------------------------------------------------------ files

def _private_mkdir(path: Path) -> Path:
    from claude_rec.recorder.home import private_dir
    return private_dir(Path(path))


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    from claude_rec.recorder.home import open_private
    fd = open_private(Path(path))
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return Path(path)


def _replace_dir(tmp: Path, final: Path) -> None:
    import shutil
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    if old.exists():
        shutil.rmtree(old)
