"""CLI commands of the training stage: `dataset build|export`, `train`, `demo` (thin layers)."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from . import dataset as ds
from .fixtures import RECIPE


def _home(ctx: click.Context) -> Path:
    home = (ctx.obj or {}).get("home")
    if home is None:
        from claude_rec.recorder.home import default_home
        home = default_home()
    return Path(home)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"claude-rec: {message}", err=True)
    sys.exit(code)


@click.group("dataset")
def dataset_command() -> None:
    """Training examples from the store (build), in TRL and ShareGPT files (export)."""


@dataset_command.command("build")
@click.option("--name", default="default", show_default=True, help="Dataset name: HOME/datasets/NAME.")
@click.option("--fixtures", type=int, default=0, help="Also ingest N synthetic tool-call sessions first.")
@click.option("--max-chars", type=int, default=ds.DEFAULT_MAX_CHARS, show_default=True,
              help="Longest example (characters); longer sessions are cut into windows of whole turns.")
@click.option("--result-chars", type=int, default=ds.DEFAULT_RESULT_CHARS, show_default=True,
              help="Tool results longer than this keep their head and tail.")
@click.option("--validation-pct", type=int, default=ds.DEFAULT_VALIDATION_PCT, show_default=True)
@click.pass_context
def build_command(ctx: click.Context, name: str, fixtures: int, max_chars: int, result_chars: int,
                  validation_pct: int) -> None:
    """Build HOME/datasets/NAME from every session in the store (refused if the privacy scan finds anything)."""
    from claude_rec.parser.store import Store
    home = _home(ctx)
    with Store.open(home) as store:
        if fixtures:
            from .fixtures import populate
            populate(store, fixtures)
        try:
            result = ds.build(store, ds.default_dir(home, name), max_chars=max_chars, result_chars=result_chars,
                              validation_pct=validation_pct)
        except ds.DatasetError as exc:
            _fail(str(exc))
    click.echo(result.line())


@dataset_command.command("export")
@click.option("--name", default="default", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["trl", "sharegpt", "all"]), default="all", show_default=True)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder [default: HOME/datasets/NAME/export].")
@click.pass_context
def export_command(ctx: click.Context, name: str, fmt: str, output: Path | None) -> None:
    """Write the dataset as TRL conversational JSONL and/or ShareGPT (LLaMA-Factory)."""
    directory = ds.default_dir(_home(ctx), name)
    try:
        paths = ds.export(directory, output or directory / "export", fmt)
    except ds.DatasetError as exc:
        _fail(str(exc))
    for path in paths:
        click.echo(str(path))


def _train_options(func):
    options = [
        click.option("--base", metavar="PATH_OR_DEFAULT", help="A model folder, a .gguf, or 'default' "
                     "(the embedded SmolLM2-135M-Instruct)."),
        click.option("--dataset", "dataset_name", default="default", show_default=True),
        click.option("--max-steps", type=int, default=-1, help="Stop after N steps (default: whole epochs)."),
        click.option("--epochs", type=float, default=1.0, show_default=True),
        click.option("--batch-size", type=int, default=4, show_default=True),
        click.option("--learning-rate", type=float, default=2e-4, show_default=True),
        click.option("--lora-r", type=int, default=16, show_default=True),
        click.option("--max-length", type=int, default=1024, show_default=True),
        click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True),
        click.option("--save-steps", type=int, default=10, show_default=True, help="Checkpoint every N steps."),
        click.option("--packing/--no-packing", default=None,
                     help="Pack examples into rows of --max-length tokens, each sequence masked off from the "
                          "others (--batch-size then counts rows) [default: on with CUDA, off on CPU]."),
        click.option("--no-export", is_flag=True, help="Stop after training and evaluation."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _options(home: Path, base, dataset_name, max_steps, epochs, batch_size, learning_rate, lora_r, max_length,
             precision, save_steps, no_export, packing=None):
    from .train import TrainOptions
    return TrainOptions(base=base, dataset_dir=str(ds.default_dir(home, dataset_name)), max_steps=max_steps,
                        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, lora_r=lora_r,
                        lora_alpha=2 * lora_r, max_length=max_length, precision=precision, save_steps=save_steps,
                        export=not no_export, packing=packing)


@click.command("train")
@_train_options
@click.option("--resume", metavar="RUN_ID", help="Resume an interrupted run from its last checkpoint.")
@click.option("--demo", is_flag=True, help="Run the whole demo instead (see `claude-rec demo`).")
@click.option("--build/--no-build", default=True, show_default=True,
              help="First ingest what is new and build the dataset from the store.")
@click.pass_context
def train_command(ctx: click.Context, resume: str | None, demo: bool, build: bool, **kw) -> None:
    """LoRA fine-tune a base model on the dataset, evaluate it, export GGUF files and a Modelfile.

    The run goes to HOME/models/RUN_ID (run.json, adapter, gguf/, report.txt, loss.png);
    HOME/models/current points at the best run so far.
    """
    home = _home(ctx)
    if demo:
        ctx.invoke(demo_command, **({"max_steps": kw["max_steps"]} if kw["max_steps"] > 0 else {}))
        return
    from .models import ModelError, resolve_base

    try:
        resolve_base(kw["base"])  # a bad base is one line of error before anything else happens
    except ModelError as exc:
        _fail(str(exc))
    if build and not resume and os.environ.get("RANK", "0") == "0":  # under accelerate launch: rank 0 builds
        from claude_rec.parser.store import Store
        from claude_rec.parser.store_commands import ingest_paths

        with Store.open(home) as store:
            ingested = [r for r in ingest_paths(store) if r.status == "ingested"]
            click.echo(f"ingested {len(ingested)} new recordings and logs")
            try:
                click.echo(ds.build(store, ds.default_dir(home, kw["dataset_name"])).line())
            except ds.DatasetError as exc:
                _fail(str(exc))
    _run_training(home, _options(home, **kw), resume)


def _run_training(home: Path, opts, resume: str | None = None) -> dict:
    from .export import ExportError
    from .models import ModelError
    from .train import TrainError, train
    try:
        return train(home, opts, resume=resume, echo=click.echo)
    except (TrainError, ModelError, ds.DatasetError, ExportError) as exc:
        _fail(str(exc), 130 if str(exc).startswith("interrupted") else 1)
    return {}


@click.command("demo")
@click.option("--max-steps", type=int, default=RECIPE["max_steps"], show_default=True)
@click.option("--learning-rate", type=float, default=RECIPE["learning_rate"], show_default=True)
@click.option("--batch-size", type=int, default=RECIPE["batch_size"], show_default=True)
@click.option("--fixtures", type=int, default=48, show_default=True, help="Synthetic sessions added to the samples.")
@click.option("--base", metavar="PATH_OR_DEFAULT")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Recordings and logs to ingest [default: the repository's data/samples].")
@click.pass_context
def demo_command(ctx: click.Context, max_steps: int, learning_rate: float, batch_size: int, fixtures: int,
                 base: str | None, data_dir: Path | None) -> None:
    """The whole pipeline in minutes: samples + fixtures → store → dataset → short fine-tune of the
    embedded model → evaluation → GGUF → quantized → a reply from llama.cpp."""
    from claude_rec.parser.store import Store

    from .fixtures import populate
    from .train import TrainOptions
    home = _home(ctx)
    t0 = time.monotonic()
    data_dir = data_dir or _samples_dir()
    with Store.open(home) as store:
        if data_dir:
            logs = sorted(p for p in data_dir.rglob("*.jsonl") if not p.name.endswith(".hooks.jsonl"))
            for path in logs:
                click.echo(store.ingest_log(path).line())
            for cast in sorted(data_dir.rglob("*.cast")):
                click.echo(store.ingest_recording(cast).line())
        else:
            click.echo("no sample data found; using the synthetic sessions only")
        populate(store, fixtures)
        click.echo(f"store {store.path}: {len(store.sessions())} sessions ({fixtures} synthetic)")
        try:
            result = ds.build(store, ds.default_dir(home))
        except ds.DatasetError as exc:
            _fail(str(exc))
    click.echo(result.line())
    exported = ds.export(result.directory, result.directory / "export")
    click.echo(f"exported: {exported[0].parent}")
    opts = TrainOptions(base=base, dataset_dir=str(result.directory), max_steps=max_steps,
                        learning_rate=learning_rate, batch_size=batch_size, eval_prompts=8)
    run = _run_training(home, opts)
    run_dir = home / "models" / run["id"]
    click.echo("")
    _eval_table(run, click.echo)
    click.echo("")
    click.echo(f"demo done in {time.monotonic() - t0:.0f} s. Everything is under {home}:")
    click.echo(f"  store      {home / 'claude-rec.db'}")
    click.echo(f"  dataset    {result.directory}  (TRL/ShareGPT: {exported[0].parent})")
    click.echo(f"  run        {run_dir}  (run.json, report.txt, loss.png)")
    click.echo(f"  adapter    {run_dir / 'adapter'}")
    exp = run.get("export") or {}
    if exp:
        click.echo(f"  gguf       {exp.get('f16')}")
        click.echo(f"  quantized  {exp['quantized']['path']}")
        click.echo(f"  adapter    {exp.get('adapter_gguf')}")
        click.echo(f"  Modelfile  {run_dir / 'Modelfile'}  ({exp.get('ollama')})")
        gen = exp.get("generation") or {}
        click.echo(f"  reply      {gen.get('prompt')!r} -> {gen.get('reply', '')[:160]!r}")
    click.echo(f"  current    {home / 'models' / 'current'} -> "
               f"{'this run' if run.get('current') else 'unchanged'}")


def _eval_table(run: dict, echo) -> None:
    """Base (adapter off) and tuned in transformers, the quantized GGUF in llama.cpp, on the same
    held-out prompts (the validation sessions' calls; a synthetic one's arguments are in no
    training session: fixtures.HELD_OUT)."""
    evals = run.get("eval") or {}
    prompts = max((e.get("prompts") or 0 for e in evals.values() if isinstance(e, dict)), default=0)
    echo(f"held-out prompts ({prompts}):  tool-call rate  next-call accuracy")
    for name, label in (("base", "base model"), ("tuned", "tuned"), ("quantized", "quantized (GGUF)")):
        e = evals.get(name) or {}
        rate, acc = e.get("tool_call_rate"), e.get("next_call_accuracy")
        echo(f"  {label:18s}  {'-' if rate is None else f'{rate:.0%}':>14s}  {'-' if acc is None else f'{acc:.0%}':>18s}")


def _samples_dir() -> Path | None:
    here = Path(__file__).resolve().parent.parent / "data" / "samples"
    if here.is_dir():
        return here
    cwd = Path.cwd() / "data" / "samples"
    return cwd if cwd.is_dir() else None
