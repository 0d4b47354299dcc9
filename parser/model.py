"""The plain data a parser hands to the store: one conversation, in order.

Both parsers produce a `ParsedSession`: the session-log parser (`session_log.py`, with
`source="log"`) and the screen parser (`blocks.parse_screen`, with `source="screen"`).
`Store.save_log_session` / `Store.save_screen_session` write it. Nothing here touches
the database; every field is a plain Python value (tool inputs are JSON-able dicts).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

SOURCES = ("screen", "log", "hook")
MESSAGE_KINDS = ("prompt", "text", "thinking")
KEY_FIELDS = ("command", "file_path", "notebook_path", "pattern", "url", "query", "description",
              "path", "prompt")


@dataclass
class Message:
    role: str  # "user" | "assistant"
    kind: str  # "prompt" | "text" | "thinking"
    text: str
    time: str | None = None  # ISO 8601 (log) or seconds into the recording as a string (screen)
    source: str = "screen"
    uuid: str | None = None  # the log record's uuid
    agent: str | None = None  # sub-agent id (None: the main conversation)


@dataclass
class ToolResult:
    content: str
    is_error: bool = False
    time: str | None = None
    source: str = "screen"


@dataclass
class ToolCall:
    name: str
    input: dict[str, Any] | None = None  # full input (log); None when only the screen saw it
    tool_use_id: str | None = None
    key_arg: str | None = None  # derived from input when None (see `key_argument`)
    visible_args: str | None = None  # what the screen drew inside Name(...)
    result: ToolResult | None = None
    time: str | None = None
    source: str = "screen"
    uuid: str | None = None
    agent: str | None = None

    def __post_init__(self) -> None:
        if self.key_arg is None and self.input:
            self.key_arg = key_argument(self.input)


@dataclass
class Signal:
    """Anything else worth keeping: an interruption, a turn's duration, a title, a rejected call."""
    kind: str
    value: Any = None  # JSON-able
    time: str | None = None
    source: str = "screen"


Item = Union[Message, ToolCall]


@dataclass
class ParsedSession:
    """One conversation. `items` is in conversation order (messages and tool calls interleaved)."""
    session_id: str | None = None  # Claude Code's session id when known
    items: list[Item] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    cwd: str | None = None
    git_branch: str | None = None
    version: str | None = None  # Claude Code version
    started: str | None = None
    ended: str | None = None
    title: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def messages(self) -> list[Message]:
        return [item for item in self.items if isinstance(item, Message)]

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [item for item in self.items if isinstance(item, ToolCall)]

    @property
    def prompts(self) -> list[str]:
        return [m.text for m in self.messages if m.kind == "prompt"]


def key_argument(tool_input: dict[str, Any]) -> str:
    """The argument that identifies a call: the command, the file, the pattern, the url, ..."""
    for key in KEY_FIELDS:
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return value
    return next((v for v in tool_input.values() if isinstance(v, str)), "")
