"""Drive the real Claude Code CLI through `claude-rec run`, as a user at a terminal would.

One scenario (tests/scenarios/<name>.json, format in tests/harness/README.md) runs as:

    claude-rec --home <work>/rec-home run --output <work>/session.cast -- <claude args>

inside a pseudo-terminal driven by pexpect, with a sandbox HOME (.claude.json and
.claude/settings.json written so no first-run dialog shows), a sandbox cwd holding the
scenario's files, and ANTHROPIC_BASE_URL pointing at a FakeAPI replaying the scenario.
The driver types each prompt key by key, answers permission prompts, resizes the window
where the scenario says, waits for the answer (the fake API having served the prompt's
last turn, then the screen settling), and exits the CLI the way the scenario says.

Every wait is bounded: a step that does not happen in time raises ScenarioTimeout naming
the step, and a watchdog kills the whole process tree (each process by its PID) if the
scenario as a whole runs past its hard limit. Nothing is shared between runs: each has its
own work directory and its own fake API port.

Set CLAUDE_REC_HARNESS_DIRECT=1 to spawn claude without the recorder (debugging only;
there is then no .cast to check).
"""
from __future__ import annotations

import codecs
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pexpect

from .fake_api import FakeAPI, tool_use_id

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
API_KEY = "sk-ant-api03-fake-claude-rec-harness-0123456789abcdef"
PATH = "/usr/local/bin:/usr/bin:/bin"

SETTLE = 0.8  # no output for this long = the screen has settled
KEY_DELAY = 0.02  # between two typed keys


@dataclass
class Timeouts:
    """Seconds. A step past its limit raises ScenarioTimeout; past `hard`, a watchdog kills
    the process tree, whatever the driver is doing."""

    start: float = 30.0  # the CLI's first screen
    step: float = 45.0  # one turn, a permission prompt, the screen settling
    exit: float = 20.0  # the CLI exiting after the exit keys
    hard: float = 150.0  # the whole scenario

_ANSI = re.compile(r"\x1b\[[0-9;?<>=!]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1bP[^\x1b]*\x1b\\|\x1b[()][0-9A-Za-z]|\x1b[=>78cDEHM]")
_SPACE = re.compile(r"\s+")


def plain(text: str) -> str:
    """Terminal output without escape sequences."""
    return _ANSI.sub("", text)


def squash(text: str) -> str:
    """Without escapes and whitespace: the classic renderer moves the cursor instead of
    printing spaces, so only the order of the visible characters can be compared."""
    return _SPACE.sub("", plain(text))


class ScenarioTimeout(AssertionError):
    """A step of a scenario did not happen in time."""


class ScenarioError(AssertionError):
    """The CLI did something the scenario does not allow (exited early, ...)."""


def load_scenario(name_or_path: str | Path) -> dict:
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{path}.json"
    return with_defaults(json.loads(path.read_text(encoding="utf-8")), path.stem, str(path))


def with_defaults(scenario: dict, name: str, where: str = "scenario") -> dict:
    """A scenario dict with every optional key filled in (see tests/harness/README.md)."""
    scenario.setdefault("name", name)
    scenario.setdefault("tui", "default")
    scenario.setdefault("permission_mode", "bypassPermissions")
    scenario.setdefault("size", [100, 30])
    scenario.setdefault("files", {})
    scenario.setdefault("exit", "/exit")
    scenario.setdefault("args", [])
    scenario.setdefault("env", {})
    if scenario["exit"] not in ("/exit", "ctrl-c", "ctrl-d"):
        raise ValueError(f"{where}: exit must be /exit, ctrl-c or ctrl-d")
    for prompt in scenario["prompts"]:
        prompt.setdefault("turns", [])
    return scenario


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.json"))


def scripted_tool_uses(scenario: dict) -> list[tuple[str, dict]]:
    """(id, block) for every tool_use block of the scenario, with the id the fake API gives it."""
    return [(block.get("id") or tool_use_id(p, t, b), block)
            for p, prompt in enumerate(scenario["prompts"])
            for t, turn in enumerate(prompt["turns"])
            for b, block in enumerate(turn["content"]) if block["type"] == "tool_use"]


def prepare(scenario: dict, workdir: Path) -> dict:
    """The scenario for a run in `workdir`: "{cwd}" in its strings becomes the sandbox cwd."""
    return _substitute(scenario, {"{cwd}": str(Path(workdir).resolve() / "project")})


def claude_rec_executable() -> list[str]:
    """The claude-rec command: next to this Python (the venv), else on PATH."""
    beside = Path(sys.executable).with_name("claude-rec")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("claude-rec")
    if found:
        return [found]
    return [sys.executable, "-c", "from claude_rec.recorder.cli import cli; cli()"]


@dataclass
class Result:
    scenario: dict
    workdir: Path
    home: Path
    cwd: Path
    cast: Path
    meta: Path
    api_log: Path
    pty_log: Path
    exit_status: int | None
    signal_status: int | None
    output: str  # everything the driver's terminal received, decoded
    api_errors: list[str]
    duration: float
    steps: list[tuple[float, str]] = field(default_factory=list)

    def session_logs(self) -> list[Path]:
        """The CLI's own session logs (not sub-agents') under the sandbox HOME."""
        root = self.home / ".claude" / "projects"
        return sorted(p for p in root.glob("**/*.jsonl") if "subagents" not in p.parts)

    def session_entries(self) -> list[dict]:
        entries = []
        for path in self.session_logs():
            with open(path, encoding="utf-8") as f:
                entries.extend(json.loads(line) for line in f if line.strip())
        return entries


class Driver:
    """Runs one scenario against one claude binary in `workdir` (created, must be private)."""

    def __init__(self, scenario: dict, claude: Path, workdir: Path, *, api: FakeAPI | None = None,
                 direct: bool | None = None, timeouts: Timeouts | None = None,
                 verbose: bool = False) -> None:
        """`api`: a started FakeAPI serving prepare(scenario, workdir) (the pytest fixture's);
        without it the driver starts and stops its own."""
        self.claude = Path(claude)
        self.workdir = Path(workdir).resolve()
        self.scenario = prepare(scenario, self.workdir)
        self.own_api = api is None
        self.direct = os.environ.get("CLAUDE_REC_HARNESS_DIRECT") == "1" if direct is None else direct
        self.timeouts = timeouts or Timeouts()
        self.verbose = verbose
        self.home = self.workdir / "home"
        self.cwd = self.workdir / "project"
        self.cast = self.workdir / "session.cast"
        self.meta = self.workdir / "session.meta.json"
        self.api_log = api.log_path if api else self.workdir / "api.jsonl"
        self.pty_log = self.workdir / "pty.log"
        self.child: pexpect.spawn | None = None
        self.api: FakeAPI | None = api
        self._out: list[str] = []
        self._len = 0
        self._last_output = time.monotonic()
        self._steps: list[tuple[float, str]] = []
        self._t0 = time.monotonic()
        self._step = "start"
        self._killed_by_watchdog = False
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._log = None  # pty.log: the raw bytes the terminal received

    # -- public ---------------------------------------------------------------------------
    def run(self) -> Result:
        self._t0 = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._prepare_sandbox()
        watchdog = threading.Timer(self.timeouts.hard, self._watchdog)
        watchdog.daemon = True
        if self.own_api:
            self.api = FakeAPI(self.scenario, self.api_log).start()
        assert self.api is not None
        try:
            watchdog.start()
            self._spawn()
            self._converse()
            status = self._exit()
        except pexpect.EOF:
            if self._killed_by_watchdog:
                raise ScenarioTimeout(self._describe(
                    f"hard timeout ({self.timeouts.hard:.0f}s) while {self._step}")) from None
            raise ScenarioError(self._describe(f"the CLI exited while the driver was {self._step}")) from None
        finally:
            watchdog.cancel()
            self._cleanup()
            if self.own_api:
                self.api.stop()
        assert self.child is not None
        return Result(self.scenario, self.workdir, self.home, self.cwd, self.cast, self.meta,
                      self.api_log, self.pty_log, status, self.child.signalstatus, self.output,
                      list(self.api.state.errors), time.monotonic() - self._t0, self._steps)

    @property
    def output(self) -> str:
        return "".join(self._out)

    # -- sandbox --------------------------------------------------------------------------
    def _prepare_sandbox(self) -> None:
        version = _version_of(self.claude)
        (self.home / ".claude").mkdir(parents=True, exist_ok=True)
        self.cwd.mkdir(parents=True, exist_ok=True)
        cwd = str(self.cwd.resolve())
        (self.home / ".claude.json").write_text(json.dumps({
            "hasCompletedOnboarding": True, "lastOnboardingVersion": version or "2.1.0",
            "theme": "dark", "numStartups": 5,
            "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
            "bypassPermissionsModeAccepted": True, "fullscreenUpsellSeenCount": 99,
            "projects": {cwd: {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}},
        }, indent=2))
        settings = {"tui": self.scenario["tui"], "autoUpdates": False,
                    "permissions": {"defaultMode": self.scenario["permission_mode"],
                                    "disableAutoMode": "disable"}}
        settings.update(self.scenario.get("settings", {}))
        (self.home / ".claude" / "settings.json").write_text(json.dumps(settings, indent=2))
        for name, content in self.scenario["files"].items():
            path = self.cwd / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")

    def env(self) -> dict[str, str]:
        assert self.api is not None
        env = {
            "HOME": str(self.home), "PATH": PATH, "TERM": "xterm-256color", "COLORTERM": "truecolor",
            "LANG": "C.UTF-8", "ANTHROPIC_BASE_URL": self.api.base_url, "ANTHROPIC_API_KEY": API_KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1", "NO_PROXY": "127.0.0.1,localhost",
            "CLAUDE_REC_CLAUDE": str(self.claude), "CLAUDE_REC_HOME": str(self.workdir / "rec-home"),
        }
        if self.scenario["permission_mode"] == "bypassPermissions":
            env["IS_SANDBOX"] = "1"  # root may not bypass permissions otherwise
        env.update(self.scenario["env"])
        return env

    # -- the terminal -----------------------------------------------------------------------
    def _spawn(self) -> None:
        args = list(self.scenario["args"])
        if self.direct:
            command, argv = str(self.claude), args
        else:
            rec = claude_rec_executable()
            command = rec[0]
            argv = [*rec[1:], "--home", str(self.workdir / "rec-home"), "run",
                    "--output", str(self.cast), "--", *args]
        cols, rows = self.scenario["size"]
        self._mark("spawn")
        self._log = open(self.pty_log, "wb")
        self.child = pexpect.spawn(command, argv, cwd=str(self.cwd), env=self.env(),
                                   dimensions=(rows, cols), echo=False)
        self.child.delaybeforesend = None  # _type paces the keys itself
        self._wait(lambda: self._len > 0 and self._quiet(SETTLE * 1.5), "the CLI's first screen",
                   self.timeouts.start)
        # The input box must be there before typing (the CLI drops keys typed too early).
        self._wait(lambda: "❯" in self.output or ">" in plain(self.output), "the input prompt",
                   self.timeouts.start)

    def _pump(self, timeout: float) -> None:
        """Read whatever the CLI writes for up to `timeout` seconds."""
        assert self.child is not None
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return
        self._log.write(data)
        self._log.flush()
        data = self._decoder.decode(data)
        if data:
            self._out.append(data)
            self._len += len(data)
            self._last_output = time.monotonic()

    def _quiet(self, seconds: float) -> bool:
        return time.monotonic() - self._last_output >= seconds

    def _wait(self, predicate: Callable[[], bool], step: str, timeout: float) -> None:
        """Pump output until `predicate()`; ScenarioTimeout naming `step` after `timeout`."""
        self._step = f"waiting for {step}"
        deadline = time.monotonic() + timeout
        while not predicate():
            if self._killed_by_watchdog:
                raise ScenarioTimeout(self._describe(
                    f"hard timeout ({self.timeouts.hard:.0f}s) while waiting for {step}"))
            if time.monotonic() > deadline:
                raise ScenarioTimeout(self._describe(f"timed out after {timeout:.0f}s waiting for {step}"))
            self._pump(0.05)

    def _settle(self, step: str, seconds: float = SETTLE, timeout: float | None = None) -> None:
        self._wait(lambda: self._quiet(seconds), f"the screen to settle ({step})",
                   timeout or self.timeouts.step)

    def _pause(self, quiet: float, at_most: float) -> None:
        """Pump output until it has been quiet for `quiet` seconds or `at_most` has passed."""
        deadline = time.monotonic() + at_most
        while not self._quiet(quiet) and time.monotonic() < deadline:
            self._pump(0.05)

    def _type(self, text: str) -> None:
        """Type `text` key by key (a character at a time, as a terminal sends it)."""
        assert self.child is not None
        for char in text:
            self.child.send(char.encode("utf-8"))
            self._pump(KEY_DELAY)

    def _key(self, key: str) -> None:
        assert self.child is not None
        self.child.send({"enter": b"\r", "esc": b"\x1b", "ctrl-c": b"\x03", "ctrl-d": b"\x04"}.get(key, key.encode()))

    def _mark(self, step: str) -> None:
        self._steps.append((round(time.monotonic() - self._t0, 3), step))
        if self.verbose:
            print(f"[{self._steps[-1][0]:7.2f}s] {step}", file=sys.stderr)

    def _describe(self, what: str) -> str:
        tail = plain(self.output)[-1500:]
        return (f"scenario {self.scenario['name']!r} with {self.claude}: {what}\n"
                f"  steps so far: {[s for _, s in self._steps][-6:]}\n"
                f"  fake API errors: {self.api.state.errors if self.api else []}\n"
                f"  logs: {self.workdir}\n  last output (escapes removed):\n{tail}")

    # -- the conversation ---------------------------------------------------------------------
    def _converse(self) -> None:
        assert self.api is not None
        for p, prompt in enumerate(self.scenario["prompts"]):
            if prompt.get("resize_before"):
                self._resize(*prompt["resize_before"], f"before prompt {p}")
            self._mark(f"type prompt {p}")
            self._type(prompt["text"])
            self._settle(f"prompt {p} typed", 0.3)
            self._key("enter")
            self._mark(f"submitted prompt {p}")
            turns = prompt["turns"]
            for t, turn in enumerate(turns):
                self._wait(lambda: self._served(p, t), f"the CLI to request turn {t} of prompt {p}",
                           self.timeouts.step)
                since = self._len  # what the CLI draws for this turn starts here
                if turn.get("hold"):
                    self._wait(lambda: self.api.state.held == (p, t) or self._finished(p, t),
                               f"turn {t} of prompt {p} to reach its hold point", self.timeouts.step)
                    # The spinner animates all the time here: give the screen a moment, no more.
                    self._pause(0.3, 1.0)
                    if turn.get("resize"):
                        self._resize(*turn["resize"], f"during turn {t} of prompt {p}")
                    self.api.release_hold()
                self._wait(lambda: self._finished(p, t), f"the fake API to finish turn {t} of prompt {p}",
                           self.timeouts.step)
                for block in turn["content"]:
                    if block["type"] == "tool_use" and block.get("permission"):
                        self._answer_permission(block["permission"], p, t, block["name"], since)
                        since = self._len
            self._settle(f"answer to prompt {p}", prompt.get("settle", SETTLE))
            self._mark(f"answered prompt {p}")

    def _served(self, p: int, t: int) -> bool:
        assert self.api is not None
        with self.api.state.cond:
            return any(s.prompt == p and s.turn == t for s in self.api.state.served)

    def _finished(self, p: int, t: int) -> bool:
        assert self.api is not None
        with self.api.state.cond:
            return self.api.finished(p, t)

    def _answer_permission(self, answer: str, p: int, t: int, tool: str, start: int) -> None:
        """Wait for 'Do you want to proceed?' (or similar) drawn after `start`; answer yes / no."""
        question = re.compile(r"Doyouwantto(?:proceed|make|create|allow)", re.I)
        self._wait(lambda: bool(question.search(squash(self.output[start:]))),
                   f"the permission prompt for {tool} (turn {t} of prompt {p})", self.timeouts.step)
        self._settle(f"permission prompt for {tool}", 0.4)
        self._mark(f"permission {answer} for {tool}")
        if answer == "yes":
            self._key("enter")  # "❯ 1. Yes" is preselected
        elif answer == "no":
            self._key("esc")  # "Esc to cancel" rejects the call
        else:
            self._type(answer)  # a menu number
        self._pump(0.2)

    def _resize(self, cols: int, rows: int, when: str) -> None:
        assert self.child is not None
        self._mark(f"resize to {cols}x{rows} {when}")
        self.child.setwinsize(rows, cols)
        self._pause(0.4, 1.5)  # the CLI repaints; a spinner may keep the screen busy

    def _exit(self) -> int | None:
        assert self.child is not None
        how = self.scenario["exit"]
        self._mark(f"exit with {how}")
        if how == "/exit":
            self._type("/exit")
            self._settle("/exit typed", 0.4)
            self._key("enter")
        else:
            start = self._len
            self._key(how)
            # The CLI shows "Press Ctrl-C again to exit" for a moment; the second key must
            # come while it is there.
            self._wait(lambda: "again" in squash(self.output[start:]) or self._quiet(0.5),
                       f"the CLI to react to the first {how}", self.timeouts.step)
            self._key(how)
        self._step = f"waiting for the CLI to exit after {how}"
        deadline = time.monotonic() + self.timeouts.exit
        while self.child.isalive():
            if time.monotonic() > deadline or self._killed_by_watchdog:
                raise ScenarioTimeout(self._describe(f"timed out after {self.timeouts.exit:.0f}s waiting for "
                                                     f"the CLI to exit after {how}"))
            try:
                self._pump(0.1)
            except pexpect.EOF:
                break
        self.child.close()  # reaps it: exitstatus / signalstatus
        self._mark(f"exited: status {self.child.exitstatus} signal {self.child.signalstatus}")
        return self.child.exitstatus

    # -- ending processes ------------------------------------------------------------------------
    def _watchdog(self) -> None:
        self._killed_by_watchdog = True
        self._kill_tree()

    def _cleanup(self) -> None:
        try:
            self._kill_tree()
        finally:
            if self._log is not None:
                self._log.close()
            if self.child is not None:
                try:
                    self.child.close(force=True)
                except Exception:
                    pass

    def _kill_tree(self) -> None:
        """End the child and everything under it, each by its PID: TERM, then KILL."""
        if self.child is None or self.child.pid is None:
            return
        pids = [*_descendants(self.child.pid), self.child.pid]
        if not any(_alive(pid) for pid in pids):
            return
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.05)
        for pid in pids:
            if _alive(pid):
                _signal(pid, signal.SIGKILL)


def _substitute(obj: Any, mapping: dict[str, str]) -> Any:
    if isinstance(obj, str):
        for key, value in mapping.items():
            obj = obj.replace(key, value)
        return obj
    if isinstance(obj, list):
        return [_substitute(item, mapping) for item in obj]
    if isinstance(obj, dict):
        return {key: _substitute(value, mapping) for key, value in obj.items()}
    return obj


def _version_of(claude: Path) -> str | None:
    for directory in Path(claude).resolve().parents:
        package = directory / "package.json"
        if package.is_file():
            try:
                return json.loads(package.read_text()).get("version")
            except ValueError:
                return None
    return None


def _descendants(root: int) -> list[int]:
    """PIDs below `root`, deepest first, from /proc (children of children ...)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out: list[int] = []

    def walk(pid: int) -> None:
        for child in parents.get(pid, []):
            walk(child)
            out.append(child)

    walk(root)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().decode(errors="replace").rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str] | None = None) -> int:
    """python -m harness.driver SCENARIO VERSION_OR_BINARY [WORKDIR]: run one scenario by hand."""
    import argparse
    import tempfile

    from .cli_install import find_claude

    parser = argparse.ArgumentParser(prog="python -m harness.driver", description=main.__doc__)
    parser.add_argument("scenario", help="a name in tests/scenarios/ or a path to a .json file")
    parser.add_argument("claude", help="a CLI version installed by .ci/install-claude-cli, or a binary")
    parser.add_argument("workdir", nargs="?", help="default: a new temporary directory (kept)")
    parser.add_argument("--direct", action="store_true", help="spawn claude without claude-rec")
    args = parser.parse_args(argv)
    binary = Path(args.claude) if os.sep in args.claude else find_claude(args.claude)
    if binary is None:
        parser.error(f"claude {args.claude} is not installed: run .ci/install-claude-cli {args.claude}")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="claude-rec-scenario-"))
    result = Driver(load_scenario(args.scenario), binary, workdir, direct=args.direct or None,
                    verbose=True).run()
    print(f"exit status {result.exit_status}, {result.duration:.1f}s, files in {workdir}")
    return 0 if result.exit_status == 0 and not result.api_errors else 1


if __name__ == "__main__":
    sys.exit(main())
