"""The screen parser: prompts, answers, tool calls, results, summaries, turn timing."""
from __future__ import annotations

from pathlib import Path

from claude_rec.parser.blocks import parse_lines, parse_screen, screen_blocks
from claude_rec.parser.transcript import Line

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def parse(*texts: str):
    return parse_lines([Line(text, float(i), float(i)) for i, text in enumerate(texts)])


def test_a_classic_session() -> None:
    parse_ = screen_blocks(SAMPLES / "bash_read_answer.cast")
    assert parse_.version == "2.1.197"
    assert [b.text for b in parse_.of("prompt")] == ["run hello.py and tell me what it prints"]
    tool = parse_.of("tool")[0]
    assert (tool.name, tool.args, tool.result, tool.is_error) == ("Bash", "python3 hello.py", ["hello world"], False)
    assert [b.text for b in parse_.of("summary")] == ["Read 1 file"]
    assert parse_.of("text")[-1].text.startswith("It prints hello world")
    assert parse_.of("status")[0].seconds == 0.0


def test_fullscreen_summaries_keep_their_details_and_the_session_id() -> None:
    parse_ = screen_blocks(SAMPLES / "edit_write_bash.cast")
    summaries = {b.text: b.result for b in parse_.of("summary")}
    assert summaries["Ran 1 shell command"] == ["$ python3 hello.py && python3 test_hello.py"]
    assert [(b.name, b.args) for b in parse_.of("tool")] == [("Update", "hello.py"), ("Write", "test_hello.py")]
    assert parse_.session_id == "b6b2602e-386f-4fbb-8130-562c4c569015"


def test_a_rejected_call_is_an_error() -> None:
    write = screen_blocks(SAMPLES / "permission_prompts.cast").of("tool")[0]
    assert write.name == "Write" and write.is_error and write.result[0] == "User rejected write to total.txt"


def test_glyph_variants_unknown_tools_and_mcp() -> None:
    parse_ = parse("⏺ Bash(ls -la)", "  ⎿  total 0", "⏺ FancyNewTool(x=1)", "● github - create_issue (MCP)(title: \"x\")",
                   "  ⎿  Created")
    assert [(b.name, b.args) for b in parse_.of("tool")] == [
        ("Bash", "ls -la"), ("FancyNewTool", "x=1"), ("github - create_issue (MCP)", 'title: "x"')]


def test_wrapped_header_folded_result_and_errors() -> None:
    parse_ = parse("● Bash(python3 -c 'print(1)' && echo a very long", "  command that wraps)",
                   "  ⎿  Error: Exit code 1", "     Traceback (most recent call last):", "     … +12 lines (ctrl+o to expand)")
    tool = parse_.of("tool")[0]
    assert tool.args == "python3 -c 'print(1)' && echo a very long command that wraps"
    assert tool.is_error and tool.folded_lines == 12
    assert tool.result == ["Error: Exit code 1", "Traceback (most recent call last):"]


def test_multi_paragraph_answers_and_wrapped_prompts() -> None:
    parse_ = parse("❯ a prompt long enough", "  to wrap", "", "● First paragraph.", "", "  Second paragraph.",
                   "  - a list item", "", "✻ Crunched for 1m 5s · done 8:08 AM")
    assert parse_.of("prompt")[0].text == "a prompt long enough\nto wrap"
    assert parse_.of("text")[0].text == "First paragraph.\n\nSecond paragraph.\n- a list item"
    assert parse_.of("status")[0].seconds == 65


def test_nothing_is_dropped() -> None:
    parse_ = parse("something new the parser has never seen", "  ⎿  and a stray result", "● text")
    assert [b.kind for b in parse_.blocks] == ["raw", "text"]
    assert "never seen" in parse_.blocks[0].text and "stray result" in parse_.blocks[0].text


def test_the_store_model_of_a_screen() -> None:
    session = parse_screen(SAMPLES / "edit_write_bash.cast")
    assert session.session_id == "b6b2602e-386f-4fbb-8130-562c4c569015" and session.version == "2.1.197"
    assert session.prompts == ["change the greeting in hello.py to 'hello, recorder' and add a test"]
    assert [(c.name, c.key_arg) for c in session.tool_calls] == [
        ("Read", "hello.py"), ("Edit", "hello.py"), ("Write", "test_hello.py"),
        ("Bash", "python3 hello.py && python3 test_hello.py")]
    assert all(item.source == "screen" for item in session.items)
    kinds = {signal.kind for signal in session.signals}
    assert {"summary", "turn", "tool_sequence", "exploration_depth"} <= kinds


def test_permission_dialogs_and_their_answers() -> None:
    session = parse_screen(SAMPLES / "permission_prompts.cast")
    asked = [s.value for s in session.signals if s.kind == "permission"]
    assert [(a["question"], a["answer"]) for a in asked] == [
        ("Do you want to proceed?", "accepted"), ("Do you want to create total.txt?", "rejected")]
    assert asked[0]["subject"] == "awk -F, 'NR>1 {s+=$2} END {print s}' data.csv"
    assert "3. No" in asked[0]["dialog"]
