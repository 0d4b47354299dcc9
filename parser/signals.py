"""Reasoning signals: how a session went, beyond what was said. Each is defined here.

- tool_sequence: the tools called, in order.
- exploration_depth: read/search calls (Read, Grep, Glob, LS, WebFetch, WebSearch, and
  the "Read N files" summaries) before the first change (Edit, Write, MultiEdit,
  NotebookEdit); the number of all such calls when nothing was changed.
- self_corrections: a failed tool call followed by a different attempt (another tool, or
  the same tool with another key argument), or assistant text that states a mistake
  ("my mistake", "didn't match", "that was wrong", "let me try again", ...) followed by
  a tool call; each with what failed and what came next.
- constraints: sentences of user prompts that state a constraint (must, don't, do not,
  never, always, only, without, make sure, avoid).
- pruning: assistant sentences that consider an option and drop it ("instead of",
  "rather than", "won't", "not going to", "alternatively", "I considered", "no need to").
- timing: per turn (the screen's "✻ Verb for 4s", or log timestamps from prompt to last
  message) and per tool (log: tool_use to tool_result).
- context: cwd and git branch, from the recording's sidecar or the log.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

READS = {"Read", "Grep", "Glob", "LS", "WebFetch", "WebSearch", "NotebookRead"}
CHANGES = {"Edit", "Write", "MultiEdit", "NotebookEdit"}
MISTAKE = re.compile(r"\b(my mistake|mistake|didn't match|did not match|that was wrong|I was wrong|let me try again|"
                     r"try again|that failed|failed because|oops|wrong (?:file|path|directory))\b", re.I)
CONSTRAINT = re.compile(r"\b(must|mustn't|don't|do not|never|always|only|without|make sure|avoid|no need)\b", re.I)
PRUNING = re.compile(r"\b(instead of|rather than|won't|will not|not going to|alternatively|I considered|"
                     r"no need to|better not|instead)\b", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass
class Step:
    """One thing that happened, from either source."""
    kind: str  # prompt | text | tool | summary | turn_end
    text: str = ""
    name: str | None = None  # tool name, normalised (Edit, not Update)
    key: str = ""  # the tool's key argument
    is_error: bool = False
    count: int = 1  # a summary of several calls
    seconds: float | None = None  # a turn's or a tool's duration


@dataclass
class Signals:
    tool_sequence: list[str] = field(default_factory=list)
    exploration_depth: int = 0
    self_corrections: list[dict] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    pruning: list[str] = field(default_factory=list)
    turn_seconds: list[float] = field(default_factory=list)
    tool_seconds: list[dict] = field(default_factory=list)
    cwd: str | None = None
    git_branch: str | None = None

    def as_rows(self) -> list[tuple[str, object]]:
        """(kind, value) pairs, as the store keeps them."""
        return [("tool_sequence", self.tool_sequence), ("exploration_depth", self.exploration_depth),
                ("self_corrections", self.self_corrections), ("constraints", self.constraints),
                ("pruning", self.pruning), ("turn_seconds", self.turn_seconds),
                ("tool_seconds", self.tool_seconds), ("cwd", self.cwd), ("git_branch", self.git_branch)]


def compute(steps: list[Step], cwd: str | None = None, git_branch: str | None = None) -> Signals:
    signals = Signals(cwd=cwd, git_branch=git_branch)
    changed = False
    for i, step in enumerate(steps):
        if step.kind in ("tool", "summary") and step.name:
            signals.tool_sequence.extend([step.name] * step.count)
            if step.name in CHANGES:
                changed = True
            elif step.name in READS and not changed:
                signals.exploration_depth += step.count
            if step.kind == "tool" and step.seconds is not None:
                signals.tool_seconds.append({"tool": step.name, "seconds": step.seconds})
        if step.kind == "tool" and step.is_error:
            following = _next_tool(steps, i)
            if following is not None and (following.name != step.name or following.key != step.key):
                signals.self_corrections.append({"failed": _describe(step), "then": _describe(following)})
        elif step.kind == "text" and MISTAKE.search(step.text):
            following = _next_tool(steps, i)
            if following is not None:
                signals.self_corrections.append({"stated": _sentence_with(MISTAKE, step.text),
                                                 "then": _describe(following)})
        elif step.kind == "prompt":
            signals.constraints += [s.strip() for s in _sentences(step.text) if CONSTRAINT.search(s)]
        if step.kind == "text":
            signals.pruning += [s.strip() for s in _sentences(step.text) if PRUNING.search(s)]
        if step.kind == "turn_end" and step.seconds is not None:
            signals.turn_seconds.append(step.seconds)
    return signals


def _sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_END.split(text) if s.strip()]


def _next_tool(steps: list[Step], i: int) -> Step | None:
    for step in steps[i + 1:]:
        if step.kind == "prompt":
            return None  # the user spoke first: not a self-correction
        if step.kind in ("tool", "summary") and step.name:
            return step
    return None


def _describe(step: Step) -> str:
    return f"{step.name}({step.key})" if step.key else str(step.name)


def _sentence_with(pattern: re.Pattern, text: str) -> str:
    return next((s.strip() for s in _sentences(text) if pattern.search(s)), text.strip())


def steps_from_session(parsed) -> list[Step]:
    """Steps from a `model.ParsedSession` of either source (main conversation only)."""
    from .model import Message, ToolCall

    steps: list[Step] = []
    for item in parsed.items:
        if getattr(item, "agent", None):
            continue  # a sub-agent's work is its own conversation
        if isinstance(item, Message) and item.kind in ("prompt", "text"):
            steps.append(Step(item.kind, item.text))
        elif isinstance(item, ToolCall):
            result = item.result
            steps.append(Step("tool", name=item.name, key=item.key_arg or "",
                              is_error=bool(result and result.is_error),
                              seconds=_seconds_between(item.time, result.time if result else None)))
    for signal in parsed.signals:
        if signal.kind == "summary" and isinstance(signal.value, dict):
            steps.append(Step("summary", name=signal.value.get("tool"), count=signal.value.get("count", 1)))
        elif signal.kind == "turn" and isinstance(signal.value, dict):
            steps.append(Step("turn_end", seconds=signal.value.get("seconds")))
    return steps


def reasoning_signals(parsed, source: str) -> list:
    """The signals above, as `model.Signal`s to store with the session."""
    from .model import Signal

    computed = compute(steps_from_session(parsed), parsed.cwd, parsed.git_branch)
    return [Signal(kind, value, None, source) for kind, value in computed.as_rows()]


def _seconds_between(start: str | None, end: str | None) -> float | None:
    from datetime import datetime

    try:
        return round((datetime.fromisoformat(end.replace("Z", "+00:00")) -
                      datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds(), 3)
    except (AttributeError, ValueError, TypeError):
        return None
