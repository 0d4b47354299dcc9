"""Claude Code's own session logs: the ground truth the screen parser is measured against.

A log is `~/.claude/projects/<cwd with / and . replaced by ->/<session-id>.jsonl`
(`CLAUDE_CONFIG_DIR` moves `~/.claude`), one JSON object a line. Sub-agents write
`<session-id>/subagents/*.jsonl` next to it (records with `isSidechain: true`). The format
is internal and changes between versions, so reading is tolerant:

- unknown record `type`s, unknown content blocks and unknown fields are skipped and
  counted (`LogParse.stats`);
- a line that is not JSON gives a warning naming the file and line; the others still count;
- a file none of whose lines is a record this parser knows raises `LogFormatError`
  (a newer format: the caller records the log as failed with that reason).

Records are put in time order (the CLI does not always write them in order), then turned
into a `model.ParsedSession` with `source="log"`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .signals import reasoning_signals
from .model import Message, ParsedSession, Signal, ToolCall, ToolResult

SOURCE = "log"
CONVERSATION_TYPES = {"user", "assistant"}
KNOWN_TYPES = CONVERSATION_TYPES | {
    "system", "summary", "ai-title", "custom-title", "mode", "permission-mode", "last-prompt",
    "file-history-snapshot", "attachment", "progress", "queue-operation", "tag",
}
IGNORED_TYPES = {"last-prompt", "file-history-snapshot", "attachment", "progress", "queue-operation", "tag"}
INTERRUPTED = "[Request interrupted by user"
REJECTED_PREFIX = "The user doesn't want to proceed with this tool use"
COMMAND = re.compile(r"<command-name>(?P<name>.*?)</command-name>", re.S)
COMMAND_ARGS = re.compile(r"<command-args>(?P<args>.*?)</command-args>", re.S)
BASH_INPUT = re.compile(r"^<bash-input>(?P<cmd>.*)</bash-input>$", re.S)
LOCAL_OUTPUT = re.compile(r"^<(local-command-stdout|local-command-stderr|bash-stdout|bash-stderr|local-command-caveat)>")


class LogFormatError(Exception):
    """The file is not a session log this parser understands (str() names the file)."""


@dataclass
class LogParse:
    parsed: ParsedSession
    files: list[Path]  # the main log, then its sub-agent logs
    stats: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)


def claude_root() -> Path:
    """`$CLAUDE_CONFIG_DIR`, else `~/.claude`."""
    explicit = os.environ.get("CLAUDE_CONFIG_DIR")
    return Path(explicit).expanduser() if explicit else Path.home() / ".claude"


def projects_dir() -> Path:
    return claude_root() / "projects"


def project_dir_names(cwd: str) -> list[str]:
    """Candidate folder names under projects/ for a working directory (the rule drifts)."""
    names = [cwd.replace("/", "-").replace(".", "-"), re.sub(r"[^A-Za-z0-9]", "-", cwd)]
    return list(dict.fromkeys(names))


def logs_for_cwd(cwd: str, root: Path | None = None) -> list[Path]:
    root = root or projects_dir()
    found: list[Path] = []
    for name in project_dir_names(cwd):
        folder = root / name
        if folder.is_dir():
            found.extend(sorted(folder.glob("*.jsonl")))
    return found


def all_logs(root: Path | None = None) -> list[Path]:
    """Every main session log under projects/ (sub-agent logs come with their session)."""
    root = root or projects_dir()
    return sorted(root.glob("*/*.jsonl")) if root.is_dir() else []


def main_log(path: Path) -> Path:
    """A sub-agent log stands for its session's main log when that exists."""
    path = Path(path)
    if path.parent.name == "subagents":
        candidate = path.parent.parent.with_suffix(".jsonl")
        if candidate.is_file():
            return candidate
    return path


def subagent_logs(path: Path) -> list[Path]:
    folder = Path(path).with_suffix("") / "subagents"
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def content_hash(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for index, path in enumerate(files):
        name = path.name if index else ""  # the main log may be a copy under another name
        digest.update(f"\0{index}:{name}\0".encode())
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def iso_utc(value: Any) -> str | None:
    """A timestamp (ISO 8601 string, or epoch seconds) as 'YYYY-MM-DDTHH:MM:SS.ffffffZ'."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, (int, float)):
            moment = datetime.fromtimestamp(value, timezone.utc)
        else:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_records(path: Path, stats: Counter, warnings: list[str]) -> list[tuple[int, dict]]:
    """(line number, object) for each JSON object line; problems become warnings."""
    records: list[tuple[int, dict]] = []
    data = Path(path).read_bytes()
    lines = data.split(b"\n")
    last = len(lines) - 1
    for index, raw in enumerate(lines):
        if not raw.strip():
            continue
        number = index + 1
        try:
            record = json.loads(raw.decode("utf-8", errors="replace"))
        except json.JSONDecodeError as exc:
            stats["bad_lines"] += 1
            if index == last:  # no newline after it: still being written, or cut
                warnings.append(f"{path}:{number}: truncated last line skipped ({exc.msg})")
            else:
                warnings.append(f"{path}:{number}: not JSON, line skipped ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(record, dict):
            stats["bad_lines"] += 1
            warnings.append(f"{path}:{number}: not a JSON object, line skipped")
            continue
        records.append((number, record))
    return records


def parse_log(path: Path) -> LogParse:
    """Read a main session log and its sub-agent logs into one `ParsedSession`."""
    path = main_log(Path(path))
    files = [path, *subagent_logs(path)]
    stats: Counter = Counter()
    warnings: list[str] = []
    entries: list[tuple[str, int, int, dict, str | None]] = []  # (time, file, line, record, agent)
    known = 0
    total = 0
    for file_index, file in enumerate(files):
        agent = file.stem if file_index else None
        for number, record in read_records(file, stats, warnings):
            total += 1
            kind = record.get("type")
            if kind in KNOWN_TYPES:
                known += 1
            entries.append((iso_utc(record.get("timestamp")) or "", file_index, number, record, agent))
    if total and not known:
        types = sorted({str(e[3].get("type")) for e in entries})
        raise LogFormatError(f"{path}: unknown session log format: none of its {total} records is of a "
                             f"known type (types: {', '.join(types[:8])})")
    if not total and stats["bad_lines"]:
        raise LogFormatError(f"{path}: no JSON records ({stats['bad_lines']} bad lines)")

    # Records without a timestamp (titles, modes, snapshots) keep their place at the start.
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    builder = _Builder(path, stats)
    for _time, _file, _line, record, agent in entries:
        builder.add(record, agent)
    parsed = builder.finish()
    parsed.warnings = warnings
    return LogParse(parsed, files, stats, warnings)


class _Builder:
    def __init__(self, path: Path, stats: Counter) -> None:
        self.path = path
        self.stats = stats
        self.parsed = ParsedSession()
        self.calls: dict[str, ToolCall] = {}
        self.seen_text: set[tuple[str, str, str]] = set()
        self.times: list[str] = []

    def add(self, record: dict, agent: str | None) -> None:
        kind = record.get("type")
        self.stats[f"type:{kind}"] += 1
        session_id = record.get("sessionId")
        if isinstance(session_id, str) and self.parsed.session_id is None and agent is None:
            self.parsed.session_id = session_id
        if kind not in KNOWN_TYPES:
            self.stats["skipped_unknown_type"] += 1
            return
        if kind in IGNORED_TYPES:
            return
        time = iso_utc(record.get("timestamp"))
        if kind in CONVERSATION_TYPES and agent is None and record.get("isSidechain"):
            agent = record.get("agentId") or "sidechain"
        if time and kind in CONVERSATION_TYPES | {"system"}:
            self.times.append(time)
        if kind in CONVERSATION_TYPES:
            for attr, key in (("cwd", "cwd"), ("git_branch", "gitBranch"), ("version", "version")):
                if getattr(self.parsed, attr) is None and isinstance(record.get(key), str) and agent is None:
                    setattr(self.parsed, attr, record[key])
        if kind == "ai-title" and isinstance(record.get("aiTitle"), str):
            self.parsed.title = self.parsed.title or record["aiTitle"]
        elif kind == "custom-title" and isinstance(record.get("customTitle"), str):
            self.parsed.title = record["customTitle"]
        elif kind in ("mode", "permission-mode"):
            value = record.get("permissionMode", record.get("mode"))
            self._signal(kind.replace("-", "_"), value, time)
        elif kind == "summary":
            self._signal("summary", {"summary": record.get("summary"), "leafUuid": record.get("leafUuid")}, time)
        elif kind == "system":
            subtype = record.get("subtype") or "system"
            value = {k: v for k, v in record.items() if k in ("durationMs", "content", "level", "messageCount")}
            self._signal(f"system:{subtype}", value, time)
        elif kind == "user":
            self._user(record, time, agent)
        elif kind == "assistant":
            self._assistant(record, time, agent)

    def _signal(self, kind: str, value: Any, time: str | None) -> None:
        self.parsed.signals.append(Signal(kind, value, time, SOURCE))

    def _message_content(self, record: dict) -> Any:
        message = record.get("message")
        if not isinstance(message, dict):
            self.stats["skipped_no_message"] += 1
            return None
        return message.get("content")

    def _user(self, record: dict, time: str | None, agent: str | None) -> None:
        if record.get("isMeta"):
            self.stats["skipped_meta"] += 1
            return
        content = self._message_content(record)
        if content is None:
            return
        if record.get("isCompactSummary"):
            self._signal("compact_summary", _text_of(content), time)
            return
        if isinstance(content, str):
            self._user_text(content, record, time, agent)
            return
        if not isinstance(content, list):
            self.stats["skipped_content"] += 1
            return
        texts: list[str] = []
        for block in content:
            if not isinstance(block, dict):
                self.stats["skipped_block"] += 1
                continue
            btype = block.get("type")
            if btype == "tool_result":
                self._tool_result(block, record, time)
            elif btype == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif btype == "image":
                texts.append("[Image]")
            else:
                self.stats[f"skipped_block:{btype}"] += 1
        if texts:
            self._user_text("\n".join(texts), record, time, agent)

    def _user_text(self, text: str, record: dict, time: str | None, agent: str | None) -> None:
        stripped = text.strip()
        if stripped.startswith(INTERRUPTED):
            self._signal("interrupted", stripped, time)
            return
        if LOCAL_OUTPUT.match(stripped):
            self._signal("local_output", stripped, time)
            return
        command = COMMAND.search(stripped)
        if command and stripped.startswith("<command-"):
            args = COMMAND_ARGS.search(stripped)
            name = command.group("name").strip()
            if not name.startswith("/"):
                name = "/" + name
            text = f"{name} {args.group('args').strip()}".strip() if args else name
            self._signal("command", text, time)
        bash = BASH_INPUT.match(stripped)
        if bash:
            text = "!" + bash.group("cmd")
        if agent is not None:
            # A sub-agent's "prompt" is the task its parent gave it, not something the user typed.
            self.parsed.items.append(Message("user", "text", text, time, SOURCE, record.get("uuid"), agent))
            return
        self.parsed.items.append(Message("user", "prompt", text, time, SOURCE, record.get("uuid"), agent))

    def _tool_result(self, block: dict, record: dict, time: str | None) -> None:
        tool_use_id = block.get("tool_use_id")
        content = _text_of(block.get("content"))
        result = ToolResult(content, bool(block.get("is_error")), time, SOURCE)
        call = self.calls.get(tool_use_id) if isinstance(tool_use_id, str) else None
        detail = record.get("toolUseResult")
        if detail == "User rejected tool use" or (result.is_error and content.startswith(REJECTED_PREFIX)):
            self._signal("rejected", {"tool_use_id": tool_use_id}, time)
        elif isinstance(detail, dict) and detail.get("interrupted"):
            self._signal("interrupted", {"tool_use_id": tool_use_id}, time)
        if call is None:
            self.stats["orphan_tool_result"] += 1
            self._signal("orphan_tool_result", {"tool_use_id": tool_use_id, "content": content,
                                                "is_error": result.is_error}, time)
            return
        if call.result is not None:
            self.stats["duplicate_tool_result"] += 1
            return
        call.result = result

    def _assistant(self, record: dict, time: str | None, agent: str | None) -> None:
        content = self._message_content(record)
        if content is None:
            return
        message_id = str((record.get("message") or {}).get("id") or record.get("uuid"))
        if record.get("isApiErrorMessage"):
            self._signal("api_error", _text_of(content), time)
            return
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            self.stats["skipped_content"] += 1
            return
        uuid = record.get("uuid")
        for block in content:
            if not isinstance(block, dict):
                self.stats["skipped_block"] += 1
                continue
            btype = block.get("type")
            if btype == "text" and isinstance(block.get("text"), str):
                self._assistant_text("text", block["text"], message_id, time, uuid, agent)
            elif btype == "thinking" and isinstance(block.get("thinking"), str):
                self._assistant_text("thinking", block["thinking"], message_id, time, uuid, agent)
            elif btype == "tool_use" and isinstance(block.get("name"), str):
                tool_use_id = block.get("id")
                if isinstance(tool_use_id, str) and tool_use_id in self.calls:
                    self.stats["duplicate_tool_use"] += 1
                    continue
                tool_input = block.get("input")
                if not isinstance(tool_input, dict):
                    tool_input = {"input": tool_input}
                call = ToolCall(block["name"], tool_input, tool_use_id, time=time, source=SOURCE,
                                uuid=uuid, agent=agent)
                if isinstance(tool_use_id, str):
                    self.calls[tool_use_id] = call
                self.parsed.items.append(call)
            else:
                self.stats[f"skipped_block:{btype}"] += 1

    def _assistant_text(self, kind: str, text: str, message_id: str, time: str | None, uuid: Any,
                        agent: str | None) -> None:
        key = (message_id, kind, text)
        if key in self.seen_text:  # the same block written again (streamed message rewritten)
            self.stats["duplicate_block"] += 1
            return
        self.seen_text.add(key)
        if not text.strip():  # an empty text, or thinking whose text the API withheld
            return
        self.parsed.items.append(Message("assistant", kind, text, time, SOURCE, uuid, agent))

    def finish(self) -> ParsedSession:
        if self.parsed.session_id is None:
            self.parsed.session_id = self.path.stem.removesuffix(".session")
        if self.times:
            self.parsed.started = min(self.times)
            self.parsed.ended = max(self.times)
        self.parsed.signals += reasoning_signals(self.parsed, SOURCE)
        return self.parsed


def _text_of(content: Any) -> str:
    """A tool result's or message's content as text (text blocks joined; images noted)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                if block.get("type") == "text" and isinstance(block.get("text"), str):
                    parts.append(block["text"])
                elif block.get("type") == "image":
                    parts.append("[Image]")
                else:
                    parts.append(json.dumps(block, ensure_ascii=False))
            elif isinstance(block, str):
                parts.append(block)
        return "\n".join(parts)
    return json.dumps(content, ensure_ascii=False)
