"""Reasoning signals, each on a case that has it and one that does not."""
from __future__ import annotations

from pathlib import Path

from claude_rec.parser.blocks import parse_screen
from claude_rec.parser.signals import Step, compute, steps_from_session

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def tool(name: str, key: str = "", error: bool = False) -> Step:
    return Step("tool", name=name, key=key, is_error=error)


def test_tool_sequence_and_exploration_depth() -> None:
    signals = compute([Step("prompt", "fix it"), tool("Grep", "foo"), Step("summary", name="Read", count=2),
                       tool("Edit", "a.py"), tool("Read", "b.py")])
    assert signals.tool_sequence == ["Grep", "Read", "Read", "Edit", "Read"]
    assert signals.exploration_depth == 3  # the read after the edit does not count
    assert compute([tool("Read", "a"), tool("Bash", "ls")]).exploration_depth == 1


def test_self_correction_after_a_failed_call() -> None:
    signals = compute([tool("Bash", "python3 greet.py", error=True), Step("text", "Let me look around."),
                       tool("Bash", "python3 src/greet.py")])
    assert signals.self_corrections == [{"failed": "Bash(python3 greet.py)", "then": "Bash(python3 src/greet.py)"}]
    retried_same = compute([tool("Bash", "flaky", error=True), tool("Bash", "flaky")])
    assert retried_same.self_corrections == []  # the same call again is a retry, not a correction
    user_stepped_in = compute([tool("Bash", "x", error=True), Step("prompt", "stop"), tool("Read", "y")])
    assert user_stepped_in.self_corrections == []


def test_self_correction_stated_in_text() -> None:
    signals = compute([Step("text", "Oops, that was wrong: the file is in src. Fixing it."), tool("Edit", "src/a.py")])
    assert signals.self_corrections == [{"stated": "Oops, that was wrong: the file is in src.", "then": "Edit(src/a.py)"}]


def test_constraints_and_pruning() -> None:
    signals = compute([Step("prompt", "Add a test. Don't touch main.py. Use only the standard library."),
                       Step("text", "I'll use unittest rather than pytest. Then I run it.")])
    assert signals.constraints == ["Don't touch main.py.", "Use only the standard library."]
    assert signals.pruning == ["I'll use unittest rather than pytest."]
    assert compute([Step("prompt", "Add a test."), Step("text", "Done.")]).constraints == []


def test_timing_and_context() -> None:
    signals = compute([Step("turn_end", seconds=4.0), Step("tool", name="Bash", seconds=1.5)], cwd="/p", git_branch="main")
    assert signals.turn_seconds == [4.0] and signals.tool_seconds == [{"tool": "Bash", "seconds": 1.5}]
    assert (signals.cwd, signals.git_branch) == ("/p", "main")


def test_from_a_real_screen() -> None:
    steps = steps_from_session(parse_screen(SAMPLES / "bash_read_answer.cast"))
    signals = compute(steps)
    assert signals.tool_sequence == ["Bash", "Read"]
    assert signals.exploration_depth == 1 and signals.turn_seconds == [0.0]
