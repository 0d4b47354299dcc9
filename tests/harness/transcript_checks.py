"""What a clean transcript of a scenario's recording must show (issue: screen reconstruction).

Used by the real-CLI end-to-end test on every scenario x CLI version, so each recording is
made once and checked by the recorder, the session log and the transcript alike.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from claude_rec.parser.cast import CastReader
from claude_rec.parser.transcript import TranscriptBuilder

from .driver import squash

WORD = re.compile(r"[A-Za-z0-9]+")
HEADER_NAMES = {"Write": "Write", "Edit": "Update"}  # tools every renderer draws as a header


def transcript_of(cast: Path) -> tuple[list[str], list[str], tuple[int, int], bool]:
    """(transcript lines, final screen rows, final size, whether the window was resized)."""
    with CastReader(cast) as reader:
        builder = TranscriptBuilder(reader.header)
        resized = False
        for event in reader.events():
            resized = resized or event.code == "r"
            builder.feed(event)
        screen = builder.screen.rows()
        size = builder.screen.columns, builder.screen.lines
        lines = [line.text for line in builder.finish()]
    return lines, screen, size, resized


def check_transcript(cast: Path, scenario: dict, tmux_render=None) -> None:
    lines, screen, size, resized = transcript_of(cast)
    text = "\n".join(lines)
    stray = [line for line in lines if "\ufffd" in line or any(ord(c) < 32 for c in line)]
    assert not stray, f"stray characters in the transcript: {stray[:3]}"

    for prompt in scenario["prompts"]:
        assert squash("❯" + prompt["text"]) in squash(text), f"prompt {prompt['text']!r} not in the transcript"

    fullscreen = scenario.get("tui") == "fullscreen"
    words = WORD.findall(text)
    for prompt in scenario["prompts"]:
        blocks = [block["text"] for turn in prompt["turns"] for block in turn["content"] if block["type"] == "text"]
        if fullscreen and blocks:
            # The fullscreen renderer shows a long answer's end only: its last paragraph must be there.
            blocks = [[p for p in blocks[-1].split("\n\n") if p.strip()][-1]]
        for block in blocks:
            missing = _missing_subsequence(WORD.findall(block), words)
            assert not missing, f"answer text missing from the transcript near {missing!r}: {block[:80]!r}"

    for turn in (t for p in scenario["prompts"] for t in p["turns"]):
        for block in turn["content"]:
            name = HEADER_NAMES.get(block.get("name", "")) if block["type"] == "tool_use" else None
            if name:
                target = Path(block["input"].get("file_path", "")).name
                assert any(f"{name}(" in line and target in line for line in lines), \
                    f"no {name}({target}) header in the transcript"

    content = [line for line in lines if line.strip()]
    triples = [tuple(content[i:i + 3]) for i in range(len(content) - 2)]
    repeated = {t for t in triples if triples.count(t) > 1}
    assert not repeated, f"lines shown twice (a repaint duplicate?): {sorted(repeated)[0]}"

    if tmux_render is not None and not resized:
        output = "".join(event.data for event in CastReader(cast).events() if event.code == "o")
        ours = list(screen)
        while ours and not ours[-1]:
            ours.pop()
        assert ours == tmux_render(output.encode(), *size), "the final screen differs from tmux's"


def _missing_subsequence(needles: list[str], haystack: list[str]) -> list[str] | None:
    """None if `needles` occur in `haystack` in order; else the words around the first miss."""
    position = 0
    for i, needle in enumerate(needles):
        try:
            position = haystack.index(needle, position) + 1
        except ValueError:
            return needles[max(0, i - 3):i + 3]
    return None


def load(path: Path) -> dict:
    return json.loads(path.read_text())
