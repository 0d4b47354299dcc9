"""CLI commands over recordings: `transcript` and `replay` (thin: the work is in the library)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .cast import CastError, CastReader
from .replay import play
from .transcript import Line, render_text, screen_at, transcript

CAST = click.Path(exists=True, dir_okay=False, path_type=Path)


def _warn(message: str) -> None:
    click.echo(f"claude-rec: warning: {message}", err=True)


@click.command("transcript")
@click.argument("cast", type=CAST)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="json: one object per line with first_seen/last_changed times.")
def transcript_command(cast: Path, fmt: str) -> None:
    """Print the clean transcript of CAST: every line that was on screen, once, in order."""
    try:
        header, lines = transcript(cast, _warn)
    except CastError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "text":
        sys.stdout.write(render_text(lines))
    elif fmt == "markdown":
        title = header.command or cast.name
        sys.stdout.write(f"# Transcript of `{title}`\n\n```text\n{render_text(lines)}```\n")
    else:
        for line in lines:
            sys.stdout.write(json.dumps(_as_json(line), ensure_ascii=False) + "\n")


def _as_json(line: Line) -> dict:
    return {"text": line.text, "first_seen": round(line.first_seen, 3),
            "last_changed": round(line.last_changed, 3)}


@click.command("replay")
@click.argument("cast", type=CAST)
@click.option("--speed", type=float, default=1.0, show_default=True, help="Playback speed factor.")
@click.option("--idle-limit", type=float, default=None, help="Cap pauses at this many seconds.")
@click.option("--at", "at", type=float, default=None, help="Print the screen at T seconds and exit.")
def replay_command(cast: Path, speed: float, idle_limit: float | None, at: float | None) -> None:
    """Play CAST in the terminal with its timing (space: pause, '.': step, Ctrl-C: stop)."""
    if speed <= 0:
        raise click.BadParameter("must be > 0", param_hint="--speed")
    try:
        if at is not None:
            rows = screen_at(cast, at, _warn)
            while rows and not rows[-1]:
                rows.pop()
            sys.stdout.write("".join(row + "\n" for row in rows))
            return
        with CastReader(cast, _warn) as reader:
            play(reader.events(), speed, idle_limit)
    except CastError as exc:
        raise click.ClickException(str(exc)) from None
