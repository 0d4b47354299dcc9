"""Screen against log: which tool calls the screen showed, matched to Claude Code's own log.

The log is exact; the screen is what the user saw, in any client version. Matching them,
in order, by tool name and key argument, measures the screen parser and shows what each
side has that the other lacks. Calls the screen only summarised ("Read 1 file") count as
drawn only when the summary names them (the fullscreen renderer's `⎿ hello.py`,
`⎿ $ command`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .blocks import ScreenParse

SCREEN_NAMES = {"Update": "Edit", "Search": "Grep", "Fetch": "WebFetch", "Web Search": "WebSearch"}
KEY_FIELDS = ("command", "file_path", "notebook_path", "pattern", "url", "query", "description", "path", "prompt")
PATH_TOOLS = {"Read", "Edit", "Write", "MultiEdit", "NotebookEdit"}
SUMMARY_TOOLS = {"Read": "Read", "Ran": "Bash"}  # summary verb -> the tool its detail lines name


@dataclass
class Call:
    name: str
    key: str
    source: str
    index: int = 0


@dataclass
class Reconciliation:
    matched: list[tuple[Call, Call]] = field(default_factory=list)
    screen_only: list[Call] = field(default_factory=list)
    log_only: list[Call] = field(default_factory=list)

    @property
    def match_rate(self) -> float:
        """Share of the calls the screen drew that the log confirms (1.0 when it drew none)."""
        drawn = len(self.matched) + len(self.screen_only)
        return len(self.matched) / drawn if drawn else 1.0


def key_argument(name: str, tool_input: dict) -> str:
    """The argument that identifies a call: the command, the file, the pattern, ..."""
    for key in KEY_FIELDS:
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return value
    return next((v for v in tool_input.values() if isinstance(v, str)), "")


def screen_calls(parse: ScreenParse) -> list[Call]:
    calls: list[Call] = []
    for block in parse.blocks:
        if block.kind == "tool" and block.name:
            name = SCREEN_NAMES.get(block.name, block.name)
            calls.append(Call(name, _screen_key(name, block.args or ""), "screen", len(calls)))
        elif block.kind == "summary":
            verb = block.text.split(" ", 1)[0]
            tool = SUMMARY_TOOLS.get(verb)
            for detail in block.result if tool else ():
                key = detail[2:] if tool == "Bash" and detail.startswith("$ ") else detail
                calls.append(Call(tool, key.strip(), "screen", len(calls)))
    return calls


def reconcile(screen: list[Call], log: list[Call]) -> Reconciliation:
    """Match in order: each screen call to the next log call of that name and key argument."""
    result = Reconciliation()
    position = 0
    for call in screen:
        for i in range(position, len(log)):
            if log[i].name == call.name and same_key(call.name, call.key, log[i].key):
                result.log_only.extend(log[position:i])
                result.matched.append((call, log[i]))
                position = i + 1
                break
        else:
            result.screen_only.append(call)
    result.log_only.extend(log[position:])
    return result


def same_key(name: str, screen_key: str, log_key: str) -> bool:
    shown, exact = _normal(screen_key), _normal(log_key)
    if not shown:
        return True  # the header showed no argument
    if shown == exact:
        return True
    if shown.endswith("…") and exact.startswith(shown[:-1].rstrip()):
        return True  # the screen cut a long argument
    if name in PATH_TOOLS:
        return PurePosixPath(exact).parts[-len(PurePosixPath(shown).parts):] == PurePosixPath(shown).parts
    return False


def _screen_key(name: str, args: str) -> str:
    if name in ("Grep", "Glob") and (m := re.search(r'pattern: "((?:[^"\\]|\\.)*)"', args)):
        return m.group(1)
    return args


def _normal(text: str) -> str:
    return " ".join(text.split())
