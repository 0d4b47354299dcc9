"""Our recordings play in asciinema; asciinema's recordings transcribe and replay in ours."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pexpect

from conftest import CLAUDE_REC, child_env, finish, output_of, program, read_cast, spawn_recorder

ASCIINEMA = [sys.executable, "-m", "asciinema"]  # asciinema 2.4, the `bench` extra


def test_asciinema_cat_prints_our_recording(tmp_path: Path) -> None:
    cast = tmp_path / "ours.cast"
    assert finish(spawn_recorder(program("wide_chars.py"), cast)) == 0
    done = subprocess.run(ASCIINEMA + ["cat", str(cast)], capture_output=True, env=child_env(), timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == output_of(read_cast(cast)[1])


def test_asciinema_play_plays_our_recording(tmp_path: Path) -> None:
    cast = tmp_path / "ours.cast"
    assert finish(spawn_recorder(program("repaint.py"), cast)) == 0
    player = pexpect.spawn(ASCIINEMA[0], ASCIINEMA[1:] + ["play", "-s", "5", str(cast)], env=child_env(),
                           timeout=20)
    player.expect("done")
    player.expect(pexpect.EOF)
    player.close()
    assert player.exitstatus == 0


def test_an_asciinema_recording_transcribes_and_replays(tmp_path: Path) -> None:
    cast = tmp_path / "theirs.cast"
    env = child_env(ASCIINEMA_CONFIG_HOME=str(tmp_path / "asciinema-config"))
    recorder = pexpect.spawn(ASCIINEMA[0], ASCIINEMA[1:] + ["rec", "--quiet", "--overwrite", "-c",
                                                            " ".join(program("repaint.py")), str(cast)],
                             env=env, timeout=30)
    recorder.expect(pexpect.EOF)
    recorder.close()
    assert recorder.exitstatus == 0 and cast.exists()
    transcript = subprocess.run([CLAUDE_REC, "transcript", str(cast)], capture_output=True, text=True,
                                env=env, timeout=30)
    assert transcript.returncode == 0, transcript.stderr
    assert transcript.stdout.splitlines() == ["header line", "progress 100%", "step 10/10", "done"]
    at_end = subprocess.run([CLAUDE_REC, "replay", "--at", "999", str(cast)], capture_output=True, text=True,
                            env=env, timeout=30)
    assert "done" in at_end.stdout
