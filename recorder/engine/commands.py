"""CLI commands of the engine (thin: the work is in the modules beside this one)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from . import install as installer
from . import pidfile
from .daemon import Engine, _own_executable
from .settings import SettingsError, load_settings
from .status import gather, render


def _home(ctx: click.Context) -> Path:
    return Path(ctx.obj["home"])


def _settings(home: Path):
    try:
        return load_settings(home)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("engine")
@click.pass_context
def engine_command(ctx: click.Context) -> None:
    """Run the engine in the foreground (what the systemd unit and `start` run)."""
    home = _home(ctx)
    sys.exit(Engine(home, _settings(home)).run())


@click.command("start")
@click.pass_context
def start_command(ctx: click.Context) -> None:
    """Start the engine in the background."""
    home = _home(ctx)
    _settings(home)  # a broken config is an error now, not a silent engine death
    running = pidfile.running(home)
    if running:
        click.echo(f"the engine already runs (pid {running.pid})")
        return
    log = home / "logs" / "engine.out"
    from ..home import ensure_home, open_private, private_dir

    ensure_home(home)
    private_dir(log.parent)
    fd = open_private(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        process = subprocess.Popen([_own_executable(), "--home", str(home), "engine"], stdin=subprocess.DEVNULL,
                                   stdout=fd, stderr=fd, start_new_session=True)
    finally:
        os.close(fd)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        running = pidfile.running(home)
        if running:
            click.echo(f"engine started (pid {running.pid}); logs in {home / 'logs'}")
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise click.ClickException(f"the engine did not start; see {log}")


@click.command("stop")
@click.option("--timeout", type=float, default=60, show_default=True, help="Seconds to wait for it to finish.")
@click.pass_context
def stop_command(ctx: click.Context, timeout: float) -> None:
    """Stop the engine gracefully (the ingest under way finishes first)."""
    home = _home(ctx)
    running = pidfile.running(home)
    if running is None:
        click.echo("the engine is not running")
        return
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pidfile.running(home) is None:
            click.echo(f"engine stopped (pid {running.pid})")
            return
        time.sleep(0.1)
    raise click.ClickException(f"the engine (pid {running.pid}) did not stop within {timeout:g}s")


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status_command(ctx: click.Context, as_json: bool) -> None:
    """Where things stand: engine, recordings, traces, training, model, installation."""
    home = _home(ctx)
    status = gather(home, _settings(home), Path.home())
    click.echo(json.dumps(status, indent=2) if as_json else render(status))


@click.command("install")
@click.option("--shell", type=click.Choice(["bash", "zsh", "fish"]), default=None,
              help="The shell whose rc file gets the PATH line [default: from $SHELL].")
@click.option("--systemd/--no-systemd", default=True, show_default=True,
              help="Write (and enable, where systemd runs) a user unit for the engine.")
@click.pass_context
def install_command(ctx: click.Context, shell: str | None, systemd: bool) -> None:
    """Make `claude` run through the recorder for this user, and run the engine."""
    home = _home(ctx)
    report = installer.install(home, _own_executable(), shell or installer.detect_shell(), Path.home(), systemd)
    for line in report.done:
        click.echo(f"- {line}")
    for line in report.manual:
        click.echo(line)
    click.echo("undo all of it with: claude-rec uninstall")


@click.command("uninstall")
@click.pass_context
def uninstall_command(ctx: click.Context) -> None:
    """Undo `claude-rec install` (recordings and the store are kept)."""
    home = _home(ctx)
    running = pidfile.running(home)
    if running:
        os.kill(running.pid, signal.SIGTERM)
    for line in installer.uninstall(home, Path.home()).done:
        click.echo(f"- {line}")
