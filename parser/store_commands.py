"""CLI commands over the store: `ingest`, `sessions`, `show`, `search` (thin: the work is in store.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..recorder.metadata import recorder_running
from . import session_log
from .store import IngestResult, Store


def _store(ctx: click.Context) -> Store:
    home = (ctx.obj or {}).get("home")
    if home is None:
        from ..recorder.home import default_home
        home = default_home()
    return Store.open(Path(home))


def _in_progress(cast: Path) -> bool:
    """A recording still being written: its sidecar says incomplete and its recorder is alive."""
    meta_path = cast.with_name(cast.name.removesuffix(".cast") + ".meta.json")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return False
    return recorder_running(meta)


def _expand(paths: tuple[Path, ...], home: Path) -> tuple[list[Path], list[Path], bool]:
    """(logs, recordings, scanning): what to ingest. Logs go first so that recordings link to them."""
    logs: list[Path] = []
    casts: list[Path] = []
    scanning = not paths
    if scanning:
        recordings = home / "recordings"
        casts = sorted(recordings.rglob("*.cast")) if recordings.is_dir() else []
        logs = session_log.all_logs()
        return logs, casts, True
    for path in paths:
        if path.is_dir():
            casts.extend(sorted(path.rglob("*.cast")))
            logs.extend(p for p in sorted(path.rglob("*.jsonl"))
                        if not p.name.endswith(".hooks.jsonl") and p.parent.name != "subagents")
        elif path.name.endswith(".cast"):
            casts.append(path)
        elif path.name.endswith((".meta.json", ".hooks.jsonl")):  # a recording's companions
            casts.append(path.with_name(path.name.removesuffix(".meta.json").removesuffix(".hooks.jsonl") + ".cast"))
        else:
            logs.append(path)
    return list(dict.fromkeys(logs)), list(dict.fromkeys(casts)), scanning


def ingest_paths(store: Store, paths: tuple[Path, ...] = ()) -> list[IngestResult]:
    """Ingest PATHS, or (none given) everything new that is not still being recorded."""
    logs, casts, scanning = _expand(paths, store.home)
    results = [store.ingest_log(log) for log in logs]
    for cast in casts:
        if scanning and _in_progress(cast):
            results.append(IngestResult(cast, "skipped", "recording in progress", kind="recording"))
        else:
            results.append(store.ingest_recording(cast))
    return results


@click.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
def ingest_command(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Ingest recordings (.cast) and Claude Code session logs (.jsonl) into the store.

    Without PATHS: everything new under HOME/recordings and the Claude Code log directory
    (~/.claude/projects, or $CLAUDE_CONFIG_DIR/projects). A recording is linked to its
    session log by the hooks file next to it, else by its cwd and time window. One line per
    file; the exit status is 1 if any file failed.
    """
    store = _store(ctx)
    failed = False
    with store:
        results = ingest_paths(store, paths)
        for result in results:
            for warning in result.warnings:
                click.echo(f"claude-rec: warning: {warning}", err=True)
            click.echo(result.line())
            failed = failed or result.status == "failed"
        if not results:
            click.echo("nothing to ingest", err=True)
    sys.exit(1 if failed else 0)


@click.command("sessions")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of sessions.")
@click.pass_context
def sessions_command(ctx: click.Context, as_json: bool) -> None:
    """List the stored sessions, newest first."""
    with _store(ctx) as store:
        rows = store.sessions()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no sessions (run `claude-rec ingest`)", err=True)
        return
    headers = ("SESSION", "STARTED", "RECORDING", "PROMPTS", "CALLS", "SOURCES", "FIRST PROMPT")
    table = [headers]
    for row in rows:
        prompt = (row.get("first_prompt") or row.get("title") or row.get("error") or "").replace("\n", " ")
        table.append((row["id"], (row.get("started") or "")[:19].replace("T", " "), row.get("recording_id") or "-",
                      str(row.get("prompts") or 0), str(row.get("tool_calls") or 0),
                      row.get("sources") or row.get("status") or "-", _cut(prompt, 60)))
    widths = [max(len(r[i]) for r in table) for i in range(len(headers) - 1)]
    for r in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])


@click.command("show")
@click.argument("ident", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="The whole session as JSON.")
@click.pass_context
def show_command(ctx: click.Context, ident: str, as_json: bool) -> None:
    """Show a session (by id, unique id prefix, or recording id): prompts, messages, tool calls
    with input, result and source, and signals."""
    with _store(ctx) as store:
        session = store.session(ident)
    if session is None:
        raise click.ClickException(f"no session matches {ident!r}")
    if as_json:
        click.echo(json.dumps(session, indent=2, ensure_ascii=False))
        return
    echo = click.echo
    echo(f"session   {session['id']}")
    for key in ("title", "started", "ended", "cwd", "git_branch", "version", "recording_id", "log_path", "status",
                "error"):
        if session.get(key):
            echo(f"{key:<9} {session[key]}" if len(key) <= 9 else f"{key} {session[key]}")
    echo("")
    for item in session["items"]:
        source = item["source"]
        agent = f" [{item['agent']}]" if item.get("agent") else ""
        if item["type"] == "message":
            label = {"prompt": "❯ prompt", "text": "● text", "thinking": "✻ thinking"}.get(item["kind"], item["kind"])
            echo(f"[{source}]{agent} {label}: {_indent(item['text'])}")
        else:
            echo(f"[{source}]{agent} ● {item['name']}({item.get('key_arg') or item.get('visible_args') or ''})")
            if item.get("input") is not None:
                echo(f"    input: {_indent(json.dumps(item['input'], ensure_ascii=False), 11)}")
            if item.get("result") is not None:
                flag = " (error)" if item.get("is_error") else ""
                echo(f"    result{flag}: {_indent(_cut(item['result'], 2000), 12)}")
    if session["signals"]:
        echo("")
        echo("signals:")
        for signal in session["signals"]:
            echo(f"  [{signal['source']}] {signal['kind']}: {json.dumps(signal['value'], ensure_ascii=False)}")
    for rec in session["reconciliations"]:
        echo("")
        echo(f"reconciliation: match rate {rec['match_rate']:.2f}, "
             f"{len(rec['screen_only'])} screen-only, {len(rec['log_only'])} log-only")


@click.command("search")
@click.argument("text")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def search_command(ctx: click.Context, text: str, limit: int, as_json: bool) -> None:
    """Full-text search over prompts and answers."""
    with _store(ctx) as store:
        hits = store.search(text, limit=limit)
    if as_json:
        click.echo(json.dumps(hits, indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo("no match", err=True)
        sys.exit(1)
    for hit in hits:
        snippet = hit["snippet"].replace("\n", " ")
        click.echo(f"{hit['session_id']}  {hit['seq']:>4}  {hit['kind']:<8} {hit['source']:<6} {snippet}")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _indent(text: str, by: int = 4) -> str:
    return text.replace("\n", "\n" + " " * by)


@click.command("check")
@click.argument("ident", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--min-rate", type=float, default=0.98, show_default=True,
              help="Fail when the screen's tool calls match the log less often than this.")
@click.pass_context
def check_command(ctx: click.Context, ident: str | None, as_json: bool, min_rate: float) -> None:
    """Screen against log: do the tool calls and prompts the screen showed match Claude Code's
    own log? Every session with both, or only IDENT. Exits 1 on a call or prompt the log
    lacks, or a match rate under --min-rate."""
    with _store(ctx) as store:
        if ident:
            session_id = store.resolve(ident)
            if session_id is None:
                raise click.ClickException(f"no session matches {ident!r}")
            ids = [session_id]
        else:
            ids = [row["id"] for row in store.sessions()]
        for session_id in ids:
            store.reconcile_session(session_id)
        found = [r for r in (store.reconciliation(i) for i in ids) if r is not None]
    if not found:
        raise click.ClickException("no session has both a recording and a session log to compare")
    bad = [r for r in found if r["screen_only"] or r["match_rate"] < min_rate]
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
    else:
        for r in found:
            verdict = "ok" if r not in bad else "MISMATCH"
            click.echo(f"{r['session_id']}  {verdict}  tool calls matched: {r['match_rate']:.0%}")
            for item in r["screen_only"]:
                click.echo(f"  screen only: {_describe(item)}")
            for item in r["log_only"]:
                click.echo(f"  log only:    {_describe(item)}")
    sys.exit(1 if bad else 0)


def _describe(item: dict) -> str:
    if item.get("kind") == "prompt":
        return f"prompt {item['text']!r}"
    return f"{item['name']}({item['key']})"
