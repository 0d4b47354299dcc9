"""`claude-rec redact` and `claude-rec scan` (thin: the work is in redact_cast.py and scan.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .cast import CastError
from .config import ConfigError, load_config, privacy_settings
from .redact import Redactor, current_identity


def _home(ctx: click.Context) -> Path:
    home = (ctx.obj or {}).get("home")
    if home is None:
        from ..recorder.home import default_home
        home = default_home()
    return Path(home)


def _settings(ctx: click.Context):
    try:
        return privacy_settings(load_config(_home(ctx)))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("redact")
@click.argument("cast", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the copy [default: CAST with .redacted.cast].")
@click.option("--identity/--no-identity", default=None,
              help="Also hide the home path, host name and user name [default: privacy.identity_exports, on].")
@click.pass_context
def redact_command(ctx: click.Context, cast: Path, output: Path | None, identity: bool | None) -> None:
    """Write a copy of CAST with every secret in it replaced, for sharing (mode 0600).

    The recording itself is not changed. Secrets are found in the decoded terminal
    output, across events, lines and colour changes. Keystrokes ('i' events) are left out.
    """
    from .redact_cast import redact_cast

    settings = _settings(ctx)
    use_identity = settings.identity_exports if identity is None else identity
    out = output or cast.with_name(cast.name.removesuffix(".cast") + ".redacted.cast")
    try:
        stats = redact_cast(cast, out, Redactor(settings), current_identity() if use_identity else None,
                            lambda message: click.echo(f"claude-rec: warning: {message}", err=True))
    except CastError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write: {exc.strerror or exc}") from None
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(stats.findings.items())) or "no secrets found"
    dropped = f"; {stats.dropped_input} input events left out" if stats.dropped_input else ""
    click.echo(f"{out}: {kinds}{dropped}")


@click.command("scan")
@click.option("--db", "use_db", is_flag=True, help="Scan the store (the default).")
@click.option("--dataset", type=click.Path(exists=True, path_type=Path),
              help="Scan a JSONL dataset (a file, or the *.jsonl files under a folder).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per finding.")
@click.pass_context
def scan_command(ctx: click.Context, use_db: bool, dataset: Path | None, as_json: bool) -> None:
    """Look for anything that looks like a secret; exit 1 if something is found.

    Prints where (table/row/column, or file:line) and the kind, never the secret.
    """
    from .scan import scan_dataset, scan_store
    from .store import db_path

    if use_db and dataset is not None:
        raise click.UsageError("give --db or --dataset, not both")
    redactor = Redactor(_settings(ctx))
    if dataset is not None:
        findings = scan_dataset(dataset, redactor)
        target = str(dataset)
    else:
        db = db_path(_home(ctx))
        if not db.is_file():
            raise click.ClickException(f"{db}: no store (nothing ingested yet)")
        findings = scan_store(db, redactor)
        target = str(db)
    for f in findings:
        if as_json:
            click.echo(json.dumps({"where": f.where, "kind": f.kind, "detector": f.detector}))
        else:
            click.echo(f"{f.where}: {f.kind} ({f.detector})")
    if not as_json:
        click.echo(f"{target}: {len(findings)} possible secret(s)" if findings else f"{target}: clean",
                   err=True)
    sys.exit(1 if findings else 0)
