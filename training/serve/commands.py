"""`claude-rec serve`: the click layer over `serve.app`."""
from __future__ import annotations

import ipaddress
import os
import shlex
import sys
from pathlib import Path

import click

from claude_rec.recorder.home import default_home

from .app import DEFAULT_MAX_TOKENS_CAP, ServeConfig
from .model import DEFAULT_CTX

LOCAL_KEY = "claude-rec-local"  # what --print-env gives the CLI when no key is required
API_KEY_ENV = "CLAUDE_REC_SERVE_KEY"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def env_lines(host: str, port: int, api_key: str | None) -> list[str]:
    """The environment for running the real `claude` against this server."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    values = {
        "ANTHROPIC_BASE_URL": url,
        "ANTHROPIC_API_KEY": api_key or LOCAL_KEY,
        # nothing else leaves the machine: no telemetry, error reports, update checks
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1", "DISABLE_AUTOUPDATER": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    return [f"export {k}={shlex.quote(v)}" for k, v in values.items()]


@click.command("serve")
@click.option("--model", "model_spec", default="current", show_default=True, metavar="current|RUN_DIR|FILE.gguf",
              help="The model: the current trained run, a run folder, or a GGUF file.")
@click.option("--adapter", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A LoRA adapter GGUF to apply to --model (FILE.gguf).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback requires an API key.")
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--api-key", envvar=API_KEY_ENV, help=f"Key clients must send (x-api-key). Env: {API_KEY_ENV}.")
@click.option("--ctx", "n_ctx", type=int, default=DEFAULT_CTX, show_default=True, help="Context size in tokens.")
@click.option("--max-tokens-cap", type=int, default=DEFAULT_MAX_TOKENS_CAP, show_default=True,
              help="Most tokens one answer may have, whatever the client asks.")
@click.option("--system", "system_mode", type=click.Choice(["trained", "client"]), default="trained",
              show_default=True, help="System prompt: the one the model was trained with, or the client's.")
@click.option("--all-tools", is_flag=True,
              help="List every tool the client offers in the prompt, not only those the model was trained on.")
@click.option("--log/--no-log", default=True, show_default=True,
              help="Log each exchange to the store (table `served`).")
@click.option("--print-env", is_flag=True, help="Print the environment for `claude` against this server, and exit.")
@click.pass_context
def serve_command(ctx: click.Context, model_spec: str, adapter: Path | None, host: str, port: int,
                  api_key: str | None, n_ctx: int, max_tokens_cap: int, system_mode: str, all_tools: bool,
                  log: bool, print_env: bool) -> None:
    """Serve the local model as an Anthropic Messages API, for `claude` itself.

    \b
    eval "$(claude-rec serve --print-env)"   # in the shell that will run claude
    claude-rec serve &                         # then: claude
    """
    if not is_loopback(host) and not api_key:
        raise click.ClickException(f"--host {host} is reachable from other machines: set --api-key "
                                   f"(or {API_KEY_ENV}) so that only your clients can use it")
    if print_env:
        click.echo("\n".join(env_lines(host, port, api_key)))
        return
    home = Path((ctx.obj or {}).get("home") or default_home())
    from .app import create_app
    from .model import LocalModel, ModelNotFound, resolve
    try:
        path, run_adapter, name, known_tools = resolve(model_spec, home)
        model = LocalModel(path, adapter=adapter or run_adapter, n_ctx=n_ctx, name=name,
                           known_tools=None if all_tools else known_tools)
    except ModelNotFound as exc:
        raise click.ClickException(str(exc)) from None
    except (ValueError, RuntimeError) as exc:  # llama.cpp could not load it
        raise click.ClickException(f"{path}: llama.cpp could not load it ({exc})") from None
    config = ServeConfig(system_mode=system_mode, max_tokens_cap=max_tokens_cap, api_key=api_key,
                         log_home=home if log else None)
    app = create_app(model, config)
    import uvicorn
    listed = ", ".join(sorted(model.known_tools)) if model.known_tools else "all the client offers"
    click.echo(f"claude-rec serve: {name} ({path}), context {model.n_ctx} tokens, tools listed: {listed}, "
               f"on http://{host}:{port}; Ctrl-C stops", err=True)
    for line in env_lines(host, port, api_key):
        click.echo(f"  {line}", err=True)
    sys.stderr.flush()
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("CLAUDE_REC_SERVE_LOG_LEVEL", "warning"),
                timeout_graceful_shutdown=5)
