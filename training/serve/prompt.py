"""An Anthropic Messages request -> the chat the model was trained on, fitted to its context.

The model learned the dataset's format (`training/README.md`): a short system prompt listing
the tools one line each, assistant calls as `<tool_call>{...}</tool_call>` lines, and each
result in a `tool` turn as `<tool_response>{"name", "is_error"}\\n...</tool_response>`. The
request is rewritten into exactly that:

- `system`: by default the dataset's system prompt with the request's tools (`trained`; only
  those the model was trained on, when its run says which: `listed_tools`); Claude
  Code's own system prompt (about 15k tokens) is not what a small model learned and would not
  fit. `client` keeps the client's system text and appends the tools and the call format. A
  request without tools (the CLI's side requests: a title, a summary) keeps its own system
  prompt in both modes: there the instructions are the task.
- user text: `<system-reminder>` blocks (context the CLI injects, not what the user typed, and
  absent from the training data) are removed; images become `[image]`.
- assistant turns: text, then one call line per `tool_use`; thinking blocks are dropped.
- system-role messages among the turns (newer CLIs send some): left out in `trained` mode,
  added to the system turn in `client` mode.
- `tool_result` blocks: one `tool` turn each, the tool's name looked up from its `tool_use` id,
  long results cut like the dataset cuts them.

Fitting (`fit`): when the rendered prompt plus the room for the reply exceeds the context, the
oldest whole turns (a user prompt and everything after it up to the next prompt) are dropped
first, never the last one; then tool results are cut shorter (down to 200 characters). What
was done is returned, and the server says it in a header and its log.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import dataset as ds

REMINDER_RE = re.compile(r"<system-reminder>.*?</system-reminder>\s*", re.DOTALL)
MIN_RESULT_CHARS = 200


class RequestError(ValueError):
    """A request the server cannot answer: the message goes back as an invalid_request_error."""


@dataclass
class Chat:
    """The translated request: ChatML-ready messages and what the model may call."""

    messages: list[dict]
    tool_names: set[str]
    dropped_turns: int = 0
    system_messages: int = 0  # system-role messages among the turns (see to_chat)
    unlisted: int = 0         # offered tools left out of the prompt (see listed_tools)
    cut: set[int] = field(default_factory=set)  # indices of tool turns cut shorter
    notes: list[str] = field(default_factory=list)

    def context_note(self) -> str:
        return ", ".join(self.notes) if self.notes else ""


# ---------------------------------------------------------------------------- tools

def tool_schemas(tools: list[dict] | None) -> list[dict]:
    """The request's custom tools as the dataset's schemas (known Claude Code tools keep the
    dataset's short descriptions, so the prompt reads as in training)."""
    out = []
    for tool in tools or []:
        name = tool.get("name")
        if not isinstance(name, str) or tool.get("type") not in (None, "custom"):
            continue  # server tools (web_search_..., bash_...) run on Anthropic's side: not ours
        schema = tool.get("input_schema") or {}
        known = ds.KNOWN_TOOLS.get(name)
        description = known["description"] if known else _first_sentence(tool.get("description") or "")
        params = {"type": "object", "properties": schema.get("properties") or {},
                  "required": list(schema.get("required") or [])}
        out.append({"type": "function", "function": {"name": name, "description": description or f"The {name} tool.",
                                                     "parameters": params}})
    return out


def listed_tools(offered: list[dict], known: set[str] | None) -> list[dict]:
    """The tools the prompt lists, sorted by name as in training. A model knows the tools its
    training data used: Claude Code offers a dozen more (ListAgents, TaskCreate, ...), and a small
    model shown names it never learned picks among them at random. So when the tools the model
    was trained on are known, only those of the request are listed (all of them if none is).
    A call to any tool the request offers is still accepted."""
    chosen = [t for t in offered if known is None or t["function"]["name"] in known] or offered
    return sorted(chosen, key=lambda t: t["function"]["name"])


def _first_sentence(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    text = text[: end + 1] if 0 <= end < limit else text
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------------- messages

def system_text(system: Any) -> str:
    if isinstance(system, list):
        return "\n".join(b.get("text", "") for b in system if isinstance(b, dict) and b.get("type") == "text")
    return system if isinstance(system, str) else ""


def to_chat(body: dict, *, system_mode: str = "trained", result_chars: int = ds.DEFAULT_RESULT_CHARS,
            known_tools: set[str] | None = None) -> Chat:
    """Translate a Messages request body; raises RequestError on a malformed one. `known_tools`:
    list only these of the request's tools in the prompt (see `listed_tools`)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages: at least one message is required")
    offered = tool_schemas(body.get("tools"))
    schemas = listed_tools(offered, known_tools)
    if not schemas and system_text(body.get("system")).strip():
        system_mode = "client"  # a side request (a title, a summary): its own instructions are the task
    if system_mode == "client":
        client = system_text(body.get("system")).strip()
        base = ds.system_message(schemas)
        system = (client + base[len(ds.SYSTEM_PROMPT):]) if client else base
    else:
        system = ds.system_message(schemas)
    out: list[dict] = [{"role": "system", "content": system}]
    names: dict[str, str] = {}  # tool_use id -> tool name
    system_seen = 0
    for index, message in enumerate(messages):
        if isinstance(message, dict) and message.get("role") == "system":
            # Newer CLIs put some of their instructions in system messages between the turns:
            # part of the client's system prompt, kept only in `client` mode (on the system turn).
            text = REMINDER_RE.sub("", system_text(message.get("content")) if isinstance(message.get("content"), list)
                                   else str(message.get("content") or "")).strip()
            if text and system_mode == "client":
                out[0]["content"] += "\n\n" + text
            system_seen += 1
            continue
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            role = message.get("role") if isinstance(message, dict) else type(message).__name__
            raise RequestError(f"messages.{index}: role must be 'user' or 'assistant', not {role!r}")
        blocks = _blocks(message.get("content"), index)
        if message["role"] == "assistant":
            _assistant(blocks, out, names)
        else:
            _user(blocks, out, names, result_chars)
    return Chat(out, {s["function"]["name"] for s in offered}, system_messages=system_seen,
                unlisted=len(offered) - len(schemas))


def _blocks(content: Any, index: int) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list) and all(isinstance(b, dict) for b in content):
        return content
    raise RequestError(f"messages.{index}.content: a string or a list of content blocks is required")


def _append(out: list[dict], role: str, text: str, sep: str = "\n\n") -> None:
    if out and out[-1]["role"] == role and role != "tool":
        out[-1]["content"] += sep + text
    else:
        out.append({"role": role, "content": text})


def _assistant(blocks: list[dict], out: list[dict], names: dict[str, str]) -> None:
    lines = []
    for block in blocks:
        if block.get("type") == "text" and block.get("text", "").strip():
            lines.append(block["text"].strip())
        elif block.get("type") == "tool_use":
            names[str(block.get("id"))] = str(block.get("name"))
            lines.append(ds.format_call(str(block.get("name")), block.get("input") or {}))
    if lines:
        _append(out, "assistant", "\n".join(lines), "\n")


def _user(blocks: list[dict], out: list[dict], names: dict[str, str], result_chars: int) -> None:
    texts = []
    for block in blocks:
        kind = block.get("type")
        if kind == "tool_result":
            name = names.get(str(block.get("tool_use_id")), "unknown")
            content = ds.truncate(_result_text(block.get("content")), result_chars)
            out.append({"role": "tool", "content": ds.format_result(name, content, bool(block.get("is_error")))})
        elif kind == "text":
            text = REMINDER_RE.sub("", block.get("text") or "").strip()
            if text:
                texts.append(text)
        elif kind in ("image", "document"):
            texts.append(f"[{kind}]")
    if texts:
        _append(out, "user", "\n\n".join(texts))


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif isinstance(block, dict):
            parts.append(f"[{block.get('type', 'block')}]")
    return "\n".join(parts)


# ---------------------------------------------------------------------------- fitting

def fit(chat: Chat, count: Callable[[list[dict]], int], budget: int) -> int:
    """Make the chat's prompt fit `budget` tokens (see the module docstring); returns its size.
    Raises RequestError when even the last turn alone does not fit."""
    size = count(chat.messages)
    while size > budget and _drop_oldest_turn(chat):
        size = count(chat.messages)
    limit = ds.DEFAULT_RESULT_CHARS
    while size > budget and limit > MIN_RESULT_CHARS:
        limit = max(MIN_RESULT_CHARS, limit // 2)
        if _cut_results(chat, limit):
            size = count(chat.messages)
    if chat.dropped_turns:
        chat.notes.append(f"dropped {chat.dropped_turns} oldest turn(s)")
    if chat.cut:
        chat.notes.append(f"cut {len(chat.cut)} tool result(s) shorter")
    if size > budget:
        raise RequestError(f"prompt is too long: {size} tokens > {budget} maximum")
    return size


def _turn_starts(messages: list[dict]) -> list[int]:
    return [i for i, m in enumerate(messages) if m["role"] == "user"]


def _drop_oldest_turn(chat: Chat) -> bool:
    starts = _turn_starts(chat.messages)
    if len(starts) < 2:
        return False
    del chat.messages[starts[0]:starts[1]]
    chat.dropped_turns += 1
    return True


def _cut_results(chat: Chat, limit: int) -> bool:
    changed = False
    for index, message in enumerate(chat.messages):
        if message["role"] != "tool":
            continue
        head, _, rest = message["content"].partition("\n")
        body = rest[: -len(ds.RESULT_CLOSE)] if rest.endswith(ds.RESULT_CLOSE) else rest
        if len(body) > limit:
            message["content"] = f"{head}\n{ds.truncate(body, limit)}{ds.RESULT_CLOSE}"
            chat.cut.add(index)
            changed = True
    return changed


def dumps(messages: list[dict]) -> str:
    return json.dumps(messages, ensure_ascii=False)
