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


SUMMARY_VERBS = {"read": "Read", "listed": "LS", "searched": "Grep", "ran": "Bash", "fetched": "WebFetch",
                 "found": "Glob", "wrote": "Write", "edited": "Edit", "updated": "Edit"}
SUMMARY_PART = re.compile(r"(?P<verb>[A-Za-z]+)(?: for)? (?P<count>\d+) ")


def screen_steps(parse) -> list[Step]:
    """Steps from a `blocks.ScreenParse`."""
    from .reconcile import SCREEN_NAMES, _screen_key

    steps: list[Step] = []
    for block in parse.blocks:
        if block.kind == "prompt":
            steps.append(Step("prompt", block.text))
        elif block.kind == "text":
            steps.append(Step("text", block.text))
        elif block.kind == "tool" and block.name:
            name = SCREEN_NAMES.get(block.name, block.name)
            steps.append(Step("tool", name=name, key=_screen_key(name, block.args or ""), is_error=block.is_error))
        elif block.kind == "summary":
            for part in block.text.split(", "):
                if (m := SUMMARY_PART.match(part)) and m.group("verb").lower() in SUMMARY_VERBS:
                    steps.append(Step("summary", name=SUMMARY_VERBS[m.group("verb").lower()],
                                      count=int(m.group("count"))))
        elif block.kind == "status":
            steps.append(Step("turn_end", seconds=block.seconds))
    return steps
