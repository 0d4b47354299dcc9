"""The `claude-rec` command line: a thin click layer over the library functions."""
from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import click

from .home import default_home
from .locate import ProgramNotFound, find_claude, find_program
from .record import record


class LazyGroup(click.Group):
    """Commands of the later stages are imported only when used, so `run` starts fast."""

    lazy = {
        "transcript": "claude_rec.parser.commands:transcript_command",
        "replay": "claude_rec.parser.commands:replay_command",
        "ingest": "claude_rec.parser.store_commands:ingest_command",
        "sessions": "claude_rec.parser.store_commands:sessions_command",
        "show": "claude_rec.parser.store_commands:show_command",
        "search": "claude_rec.parser.store_commands:search_command",
        "check": "claude_rec.parser.store_commands:check_command",
        "dataset": "claude_rec.training.commands:dataset_command",
        "train": "claude_rec.training.commands:train_command",
        "demo": "claude_rec.training.commands:demo_command",
        "serve": "claude_rec.training.serve.commands:serve_command",
        "redact": "claude_rec.parser.privacy_commands:redact_command",
        "scan": "claude_rec.parser.privacy_commands:scan_command",
        "engine": "claude_rec.recorder.engine.commands:engine_command",
        "start": "claude_rec.recorder.engine.commands:start_command",
        "stop": "claude_rec.recorder.engine.commands:stop_command",
        "status": "claude_rec.recorder.engine.commands:status_command",
        "install": "claude_rec.recorder.engine.commands:install_command",
        "uninstall": "claude_rec.recorder.engine.commands:uninstall_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, attr = self.lazy[name].split(":")
            try:
                command = getattr(importlib.import_module(module), attr)
            except ImportError as exc:  # e.g. training without the `train` extra installed
                command = _unavailable(name, exc)
            self.add_command(command, name)
        return super().get_command(ctx, name)


def _unavailable(name: str, exc: ImportError) -> click.Command:
    missing = exc.name or str(exc)
    hint = " (pip install 'claude-rec[train]')" if module_is_training(name) else ""

    def fail() -> None:
        raise click.ClickException(f"{name} needs {missing}, which is not installed{hint}")

    return click.Command(name, callback=fail, help=f"Unavailable here: needs {missing}{hint}.",
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


def module_is_training(name: str) -> bool:
    return LazyGroup.lazy.get(name, "").startswith("claude_rec.training")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="claude-rec")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar="CLAUDE_REC_HOME",
              help="Data directory [env CLAUDE_REC_HOME; default $XDG_DATA_HOME/claude-rec].")
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """Record Claude Code sessions and learn from them, locally."""
    ctx.obj = {"home": home or default_home()}


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the .cast file [default: HOME/recordings/YYYY/MM/DD/ID.cast].")
@click.option("--exec", "program", metavar="PROGRAM",
              help="Record PROGRAM instead of claude.")
@click.option("--capture-input", is_flag=True,
              help="Also record keystrokes ('i' events). Off by default: people type passwords.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def run(obj: dict, output: Path | None, program: str | None, capture_input: bool, args: tuple[str, ...]) -> None:
    """Run claude (or --exec PROGRAM) with ARGS in a pseudo-terminal and record it.

    The session behaves as without the recorder; the exit status is the program's.
    claude is $CLAUDE_REC_CLAUDE, else the first `claude` on PATH that is not
    claude-rec's own shim. Put ARGS after `--`: claude-rec run -- --resume
    """
    try:
        executable = find_program(program) if program else find_claude()
    except ProgramNotFound as exc:
        click.echo(f"claude-rec: {exc}", err=True)
        sys.exit(127)
    hook_command = None if program else _own_executable()
    result = record([str(executable), *args], home=obj["home"], output=output, capture_input=capture_input,
                    hook_command=hook_command)
    sys.exit(result.exit_code)


def _own_executable() -> str | None:
    """The `claude-rec` the hooks should call: this one."""
    me = Path(sys.argv[0])
    if me.name.startswith("claude-rec") and me.is_file():
        return str(me.resolve())
    found = shutil.which("claude-rec")
    return str(Path(found).resolve()) if found else None
