"""`claude-rec install` / `uninstall`: make `claude` run through the recorder for this user,
and run the engine as a systemd user service where systemd is there.

What install writes, all of it undone by uninstall:
- `<home>/bin/claude`: the shim (recorder/shim/claude) with this claude-rec's path baked
  in, so recording works even when claude-rec itself is not on PATH;
- a marked block in the shell's rc file putting `<home>/bin` first on PATH (bash:
  ~/.bashrc, zsh: ~/.zshrc, fish: ~/.config/fish/conf.d/claude-rec.fish); run again, it
  replaces its block instead of adding another;
- `~/.config/systemd/user/claude-rec.service`, enabled and started with `systemctl --user`
  when a user manager answers; otherwise the manual steps are printed.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..home import private_dir

BEGIN = "# >>> claude-rec >>>"
END = "# <<< claude-rec <<<"
UNIT_NAME = "claude-rec.service"
SHIM_SOURCE = Path(__file__).resolve().parent.parent / "shim" / "claude"


@dataclass
class Report:
    done: list[str] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)


def rc_file(shell: str, user_home: Path) -> Path:
    return {"bash": user_home / ".bashrc", "zsh": user_home / ".zshrc",
            "fish": user_home / ".config" / "fish" / "conf.d" / "claude-rec.fish"}[shell]


def detect_shell() -> str:
    name = Path(os.environ.get("SHELL", "bash")).name
    return name if name in ("bash", "zsh", "fish") else "bash"


def unit_path(user_home: Path) -> Path:
    return user_home / ".config" / "systemd" / "user" / UNIT_NAME


def unit_text(executable: str, home: Path) -> str:
    return f"""[Unit]
Description=claude-rec engine: ingest Claude Code sessions and train on them
After=default.target

[Service]
Type=simple
Environment=CLAUDE_REC_HOME={home}
ExecStart={shlex.quote(executable)} engine
Restart=on-failure
RestartSec=10
Nice=10

[Install]
WantedBy=default.target
"""


def install(home: Path, executable: str, shell: str, user_home: Path, systemd: bool = True) -> Report:
    report = Report()
    bin_dir = private_dir(home / "bin")
    shim = bin_dir / "claude"
    text = SHIM_SOURCE.read_text()
    baked = text.replace('rec=${CLAUDE_REC_BIN:-$(command -v claude-rec 2>/dev/null)}',
                         f'rec=${{CLAUDE_REC_BIN:-{shlex.quote(executable)}}}')
    shim.write_text(baked)
    shim.chmod(0o755)
    report.done.append(f"wrote the claude shim {shim}")
    rc = rc_file(shell, user_home)
    line = (f'fish_add_path --prepend --move {shlex.quote(str(bin_dir))}' if shell == "fish"
            else f'export PATH={shlex.quote(str(bin_dir))}:"$PATH"')
    _write_block(rc, f"{BEGIN}\n{line}\n{END}\n")
    report.done.append(f"put {bin_dir} first on PATH in {rc} (open a new shell, or: source {rc})")
    if systemd:
        path = unit_path(user_home)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(unit_text(executable, home))
        report.done.append(f"wrote the systemd user unit {path}")
        if _systemctl("daemon-reload") and _systemctl("enable", "--now", UNIT_NAME):
            report.done.append(f"enabled and started {UNIT_NAME}")
        else:
            report.manual += ["systemd (user) is not available here; start the engine yourself:",
                              f"  {executable} start        (or, where systemd runs: "
                              f"systemctl --user enable --now {UNIT_NAME})"]
    return report


def uninstall(home: Path, user_home: Path) -> Report:
    report = Report()
    shim = home / "bin" / "claude"
    if shim.exists():
        shim.unlink()
        report.done.append(f"removed {shim}")
    for shell in ("bash", "zsh", "fish"):
        rc = rc_file(shell, user_home)
        if rc.exists() and BEGIN in rc.read_text():
            _write_block(rc, "")
            report.done.append(f"removed claude-rec's lines from {rc}")
    path = unit_path(user_home)
    if path.exists():
        _systemctl("disable", "--now", UNIT_NAME)
        path.unlink()
        _systemctl("daemon-reload")
        report.done.append(f"removed {path}")
    if not report.done:
        report.done.append("nothing to undo: claude-rec was not installed")
    return report


def installed(home: Path, user_home: Path) -> dict[str, bool]:
    return {"wrapper": (home / "bin" / "claude").exists()
            and any(rc_file(s, user_home).exists() and BEGIN in rc_file(s, user_home).read_text()
                    for s in ("bash", "zsh", "fish")),
            "unit": unit_path(user_home).exists()}


def _write_block(rc: Path, block: str) -> None:
    """Replace claude-rec's block in `rc` (or append it); an empty block removes it."""
    text = rc.read_text() if rc.exists() else ""
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        text = before + block + after
    elif block:
        text = text + ("\n" if text and not text.endswith("\n") else "") + block
    rc.parent.mkdir(parents=True, exist_ok=True)
    rc.write_text(text)


def _systemctl(*args: str) -> bool:
    if not shutil.which("systemctl"):
        return False
    try:
        return subprocess.run(["systemctl", "--user", *args], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
