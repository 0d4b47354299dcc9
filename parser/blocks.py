"""The screen parser: from a clean transcript to the blocks of a Claude Code conversation.

What the screen shows (see shared reference, and the recordings in data/samples):

    ❯ prompt                         a user prompt (continuation lines indented)
    ● text                           assistant text (until the next block)
    ● Name(args)                     a tool call; `⏺` on some platforms
      ⎿  result                      its result, continuation lines indented under it
      Read 1 file (ctrl+o to expand) a collapsed summary of read-only calls; under the
      ⎿  hello.py                    fullscreen renderer a `⎿` line may name the file or
                                     (after "Ran 1 shell command") show `$ command`
    ✻ Baked for 4s · done 8:08 AM    the end of a turn, with its duration
    Do you want to proceed?          a permission dialog (live area; see transcript.Dialog)
    claude --resume <id>             printed at exit: the session id

Anything not understood is kept as a `raw` block, never dropped. Tolerant of glyph
variants, unknown tool names and new summary phrases.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .model import Message, ParsedSession, Signal, ToolCall, ToolResult
from .cast import CastReader
from .transcript import Dialog, Line, TranscriptBuilder

BULLETS = "●⏺"
PROMPT = re.compile(r"^[❯>] (?P<text>.*)$")
TOOL = re.compile(r"^[●⏺] (?P<name>[A-Za-z][\w.:-]*(?: - [\w.:-]+ \(MCP\))?)\((?P<args>.*)$")
TEXT = re.compile(r"^[●⏺] (?P<text>.*)$")
RESULT = re.compile(r"^\s{1,4}⎿\s\s?(?P<text>.*)$")
SUMMARY = re.compile(r"^\s{1,4}(?P<text>[A-Z][a-z]+(?: [a-z]+)? \d+ [a-z]+\b.*?)(?:\s*\(ctrl\+o to expand\))?$")
STATUS = re.compile(r"^[✻✽✶✳✢·*] (?P<verb>[A-Z][\w'-]*) for (?P<duration>(?:\d+h ?)?(?:\d+m ?)?(?:\d+s)?)\b(?P<rest>.*)$")
RESUME = re.compile(r"^claude --resume (?P<id>[0-9a-f-]{36})\s*$")
BANNER_VERSION = re.compile(r"Claude Code v(?P<version>\d+\.\d+\.\d+)")
FOLDED = re.compile(r"^… \+(?P<count>\d+) lines?")
REJECTED = re.compile(r"(User rejected|Interrupted|Rejected)")


@dataclass
class Block:
    kind: str  # prompt | text | tool | summary | status | banner | raw
    text: str
    first_seen: float = 0.0
    last_changed: float = 0.0
    name: str | None = None  # tool name as drawn ("Update", "Bash", ...)
    args: str | None = None  # the visible arguments
    result: list[str] = field(default_factory=list)
    is_error: bool = False
    folded_lines: int = 0  # "… +N lines" under a result
    seconds: float | None = None  # a status line's turn duration


@dataclass
class ScreenParse:
    blocks: list[Block]
    version: str | None = None
    session_id: str | None = None
    dialogs: list[Dialog] = field(default_factory=list)

    def of(self, kind: str) -> list[Block]:
        return [block for block in self.blocks if block.kind == kind]


PARSER_VERSION = "1"  # bump to make the store read every recording again
SUMMARY_VERBS = {"read": "Read", "listed": "LS", "searched": "Grep", "ran": "Bash", "fetched": "WebFetch",
                 "found": "Glob"}
SUMMARY_PART = re.compile(r"(?P<verb>[A-Za-z]+)(?: for)? (?P<count>\d+) ")


def screen_blocks(cast_path: Path) -> ScreenParse:
    """The blocks of the recording at `cast_path` (via its clean transcript), and the
    permission dialogs it showed."""
    with CastReader(cast_path) as reader:
        builder = TranscriptBuilder(reader.header)
        for event in reader.events():
            builder.feed(event)
        parse = parse_lines(builder.finish())
    parse.dialogs = builder.dialogs
    return parse


def permission(dialog: Dialog, blocks: list[Block]) -> dict:
    """A permission dialog and the answer given: rejected when a call it names was drawn
    with a rejection ("User rejected ...", "Interrupted ..."), else accepted."""
    question = next(line for line in dialog.lines if line.startswith("Do you want to"))
    subject = dialog.lines[1] if len(dialog.lines) > 1 else ""
    rejected = any(block.kind == "tool" and block.result and REJECTED.match(block.result[0])
                   and subject and (subject in (block.args or "") or subject in block.result[0])
                   for block in blocks)
    return {"question": question, "subject": subject, "dialog": dialog.lines,
            "answer": "rejected" if rejected else "accepted", "seconds_open": round(dialog.last_seen - dialog.first_seen, 3)}


def parse_screen(cast_path: Path) -> ParsedSession:
    """The recording at `cast_path` as the store keeps it (rows with source='screen')."""
    return to_session(screen_blocks(cast_path))


def to_session(parse: ScreenParse) -> ParsedSession:
    from .reconcile import SCREEN_NAMES, screen_key
    from .signals import reasoning_signals

    session = ParsedSession(session_id=parse.session_id, version=parse.version)
    for block in parse.blocks:
        time = f"{block.first_seen:.3f}"
        if block.kind == "prompt":
            session.items.append(Message("user", "prompt", " ".join(block.text.split("\n")), time))
        elif block.kind == "text":
            session.items.append(Message("assistant", "text", block.text, time))
        elif block.kind == "tool" and block.name:
            name = SCREEN_NAMES.get(block.name, block.name)
            result = ToolResult("\n".join(block.result), block.is_error) if block.result else None
            session.items.append(ToolCall(name, key_arg=screen_key(name, block.args or ""),
                                          visible_args=block.args, result=result, time=time))
        elif block.kind == "summary":
            parts = [m for part in block.text.split(", ") if (m := SUMMARY_PART.match(part))]
            for m in parts:
                tool = SUMMARY_VERBS.get(m.group("verb").lower())
                session.signals.append(Signal("summary", {"text": block.text, "tool": tool,
                                                          "count": int(m.group("count"))}, time))
            for detail in block.result:  # what the fullscreen renderer shows under a summary
                if detail.startswith("$ "):  # a shell command, whatever the summary calls it
                    session.items.append(ToolCall("Bash", key_arg=detail[2:].strip(), visible_args=detail, time=time))
                elif block.text.startswith("Read "):
                    session.items.append(ToolCall("Read", key_arg=detail.strip(), visible_args=detail, time=time))
        elif block.kind == "status":
            session.signals.append(Signal("turn", {"text": block.text, "seconds": block.seconds}, time))
        elif block.kind == "raw":
            session.signals.append(Signal("raw", block.text, time))  # kept, never dropped
    for dialog in parse.dialogs:
        session.signals.append(Signal("permission", permission(dialog, parse.blocks), f"{dialog.first_seen:.3f}"))
    session.signals += reasoning_signals(session, "screen")
    return session


def parse_lines(lines: list[Line]) -> ScreenParse:
    parse = ScreenParse([])
    current: Block | None = None
    for line in lines:
        text = line.text
        if not text.strip():
            if current is not None and current.kind == "text":
                current.text += "\n"
            elif current is not None and current.kind == "prompt":
                current = None  # a blank line ends a prompt: what follows is not the user's
            continue
        block = _start_of_block(text, line, parse)
        if block is not None:
            current = _finish(current)
            if block.kind != "ignore":
                parse.blocks.append(block)
                current = block
            else:
                current = None
            continue
        current = _continue(current, text, line, parse)
    _finish(current)
    for block in parse.blocks:
        if block.kind in ("text", "prompt"):
            block.text = block.text.strip("\n")
    return parse


def _start_of_block(text: str, line: Line, parse: ScreenParse) -> Block | None:
    times = {"first_seen": line.first_seen, "last_changed": line.last_changed}
    if (m := BANNER_VERSION.search(text)) and not text.startswith(tuple(BULLETS)):
        parse.version = parse.version or m.group("version")
        return Block("banner", text, **times)
    if m := RESUME.match(text):
        parse.session_id = m.group("id")
        return Block("ignore", text)
    if text.startswith("Resume this session with"):
        return Block("ignore", text)
    if m := PROMPT.match(text):
        return Block("prompt", m.group("text"), **times)
    if m := TOOL.match(text):
        return Block("tool", text, name=m.group("name"), args=m.group("args"), **times)
    if m := TEXT.match(text):
        return Block("text", m.group("text"), **times)
    if m := STATUS.match(text):
        return Block("status", text, seconds=_seconds(m.group("duration")), **times)
    if (m := SUMMARY.match(text)) and not RESULT.match(text):
        return Block("summary", m.group("text").rstrip(), **times)
    return None


def _continue(current: Block | None, text: str, line: Line, parse: ScreenParse) -> Block | None:
    if current is not None and current.kind == "banner":
        current.text += "\n" + text  # the logo's other lines: model, plan, cwd
        return current
    result = RESULT.match(text)
    if current is not None and current.kind == "tool" and current.args is not None and \
            not current.args.endswith(")") and not result:
        current.args += " " + text.strip()  # the header's arguments wrapped
        return current
    if result and current is not None and current.kind in ("tool", "summary"):
        current.result.append(result.group("text"))
        return current
    if current is not None and current.kind in ("tool", "summary") and current.result and text.startswith("   "):
        stripped = text.strip()
        if m := FOLDED.match(stripped):
            current.folded_lines = int(m.group("count"))
        else:
            current.result.append(stripped)
        return current
    if current is not None and current.kind in ("text", "prompt") and text.startswith("  "):
        current.text += "\n" + text[2:]  # after a blank line this makes a paragraph break
        return current
    raw = Block("raw", text, line.first_seen, line.last_changed)
    parse.blocks.append(raw)
    return raw if current is None or current.kind != "raw" else _merge_raw(parse)


def _merge_raw(parse: ScreenParse) -> Block:
    last = parse.blocks.pop()
    parse.blocks[-1].text += "\n" + last.text
    return parse.blocks[-1]


def _finish(block: Block | None) -> None:
    if block is None or block.kind != "tool":
        return None
    if block.args is not None and block.args.endswith(")"):
        block.args = block.args[:-1]
    first = block.result[0] if block.result else ""
    block.is_error = bool(re.match(r"(Error\b|Error:|Couldn't|Failed|User rejected|Interrupted)", first))
    return None


def _seconds(duration: str) -> float | None:
    total = 0.0
    found = False
    for amount, unit in re.findall(r"(\d+)([hms])", duration):
        total += int(amount) * {"h": 3600, "m": 60, "s": 1}[unit]
        found = True
    return total if found else None
