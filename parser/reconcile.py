"""Screen against log: which tool calls the screen showed, matched to Claude Code's own log.

The log is exact; the screen is what the user saw, in any client version. Matching them,
in order, by tool name and key argument, measures the screen parser and shows what each
side has that the other lacks. Calls the screen only summarised ("Read 1 file") count as
drawn only when the summary names them (the fullscreen renderer's `⎿ hello.py`,
`⎿ $ command`): the screen parser turns those into tool calls.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath


SCREEN_NAMES = {"Update": "Edit", "Search": "Grep", "Fetch": "WebFetch", "Web Search": "WebSearch"}
PATH_TOOLS = {"Read", "Edit", "Write", "MultiEdit", "NotebookEdit"}


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


def screen_key(name: str, args: str) -> str:
    """The key argument as the screen shows it inside `Name(...)`."""
    if name in ("Grep", "Glob") and (m := re.search(r'pattern: "((?:[^"\\]|\\.)*)"', args)):
        return m.group(1)
    return args


def _normal(text: str) -> str:
    return " ".join(text.split())
