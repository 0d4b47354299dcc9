"""tmux as a second terminal emulator: render a byte stream, read the screen back."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path


def tmux_render(stream: bytes, cols: int, rows: int, history: bool = False) -> list[str]:
    """The rows tmux shows after `stream` is written to a pane of cols x rows
    (with history=True, the scrollback too). Trailing blanks are stripped."""
    assert shutil.which("tmux"), "tmux is installed by .ci/setup"
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "stream"
        data.write_bytes(stream)
        done = Path(tmp) / "done"
        socket = f"claude-rec-oracle-{uuid.uuid4().hex[:8]}"
        base = ["tmux", "-L", socket, "-f", "/dev/null"]
        command = f"stty raw -echo; cat {data}; touch {done}; sleep 60"
        subprocess.run(base + ["new-session", "-d", "-x", str(cols), "-y", str(rows), command],
                       check=True, env={"PATH": "/usr/bin:/bin", "TERM": "xterm-256color", "LANG": "C.UTF-8"})
        try:
            deadline = time.monotonic() + 20
            while not done.exists():
                assert time.monotonic() < deadline, "tmux did not render the stream in time"
                time.sleep(0.02)
            time.sleep(0.1)
            args = ["capture-pane", "-p", "-t", "0"] + (["-S", "-"] if history else [])
            out = subprocess.run(base + args, check=True, capture_output=True).stdout.decode()
        finally:
            subprocess.run(base + ["kill-server"], capture_output=True)
    lines = [line.rstrip() for line in out.split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines
