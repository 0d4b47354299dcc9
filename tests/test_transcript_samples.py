"""Transcripts of the real-CLI sample recordings kept in data/samples/ (no CLI needed).

The same checks run on every fresh recording in test_real_cli.py; these keep them fast
and always on, including the comparison of the final screen with tmux.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import CLAUDE_REC, child_env
from harness.driver import load_scenario, prepare
from harness.transcript_checks import check_transcript, transcript_of
from tmux_oracle import tmux_render

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
CASTS = sorted(SAMPLES.glob("*.cast"))


def scenario_for(cast: Path) -> dict:
    meta = json.loads(cast.with_name(cast.stem + ".meta.json").read_text())
    return prepare(load_scenario(cast.stem), Path(meta["cwd"]).parent)


def test_there_are_samples_of_both_renderers() -> None:
    renderers = {load_scenario(cast.stem).get("tui", "default") for cast in CASTS}
    assert renderers == {"default", "fullscreen"}


@pytest.mark.parametrize("cast", CASTS, ids=[c.stem for c in CASTS])
def test_sample_transcript(cast: Path) -> None:
    check_transcript(cast, scenario_for(cast), tmux_render)


@pytest.mark.parametrize("cast", CASTS, ids=[c.stem for c in CASTS])
def test_no_spinner_or_input_box_in_transcript(cast: Path) -> None:
    lines, _, _, _ = transcript_of(cast)
    assert not [line for line in lines if "esc to interrupt" in line or line.startswith("─" * 20)]
    assert not [line for line in lines if line.rstrip().endswith("…") and line.lstrip()[:1] in "·✢✳✶✻✽*"]


def test_transcript_command_on_a_sample() -> None:
    cast = SAMPLES / "bash_read_answer.cast"
    done = subprocess.run([CLAUDE_REC, "transcript", str(cast)], capture_output=True, text=True,
                          env=child_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert "❯ run hello.py and tell me what it prints" in done.stdout.splitlines()
    assert "● Bash(python3 hello.py)" in done.stdout.splitlines()
