"""Drive the real Claude Code CLI against `claude-rec serve` (the local model) instead of the
fake API: the same sandbox, terminal and recorder as `driver.Driver`, but the answers come
from a model, so a prompt is done when the server has answered a request of the main loop
(one that offers tools) with a stop reason other than `tool_use`.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .driver import SETTLE, Driver, Timeouts, claude_rec_executable, with_defaults

ANSWER_RE = re.compile(r"^POST /v1/messages 200 \w+ tools=(\d+) .* stop=(\w+)")


@dataclass
class _State:
    errors: list[str] = field(default_factory=list)


class LocalServer:
    """`claude-rec serve --model MODEL` on a free port of 127.0.0.1, its log in a file."""

    def __init__(self, model: Path, workdir: Path, *, home: Path, extra: list[str] = ()) -> None:
        self.model = Path(model)
        self.workdir = Path(workdir)
        self.home = Path(home)
        self.extra = list(extra)
        self.log_path = self.workdir / "serve.log"
        self.state = _State()
        self.proc: subprocess.Popen | None = None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> "LocalServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        rec = claude_rec_executable()
        argv = [*rec, "--home", str(self.home), "serve", "--model", str(self.model), "--port", str(self.port),
                *self.extra]
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"claude-rec serve exited ({self.proc.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(self.base_url + "/health", timeout=2) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"claude-rec serve did not answer within {timeout:.0f}s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def answers(self) -> list[tuple[int, str]]:
        """(tools offered, stop reason) of every answered /v1/messages request, in order."""
        return [(int(m.group(1)), m.group(2)) for m in map(ANSWER_RE.match, self.log().splitlines()) if m]

    def turns_ended(self) -> int:
        """Answers of the main loop (tools offered) that ended the assistant's turn."""
        return sum(1 for tools, stop in self.answers() if tools and stop != "tool_use")


def scenario(name: str, prompts: list[str], **options) -> dict:
    return with_defaults({"prompts": [{"text": p} for p in prompts], **options}, name)


class ServeDriver(Driver):
    """Driver whose `api` is a started LocalServer."""

    def __init__(self, scenario: dict, claude: Path, workdir: Path, *, server: LocalServer,
                 timeouts: Timeouts | None = None, verbose: bool = False) -> None:
        super().__init__(scenario, claude, workdir, api=server,  # type: ignore[arg-type]
                         timeouts=timeouts or Timeouts(start=40, step=300, exit=30, hard=900), verbose=verbose)
        self.server = server

    def _converse(self) -> None:
        for p, prompt in enumerate(self.scenario["prompts"]):
            ended = self.server.turns_ended()
            self._mark(f"type prompt {p}")
            self._type(prompt["text"])
            self._settle(f"prompt {p} typed", 0.3)
            self._key("enter")
            self._mark(f"submitted prompt {p}")
            self._wait(lambda: self.server.turns_ended() > ended, f"the local model to end its turn on prompt {p}",
                       self.timeouts.step)
            self._settle(f"answer to prompt {p}", SETTLE * 2)
            self._mark(f"answered prompt {p}")
