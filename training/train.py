"""LoRA fine-tuning with TRL, then evaluation, export and promotion: `claude-rec train`.

A run lives in `<home>/models/<run-id>/`:

| path | |
|---|---|
| `run.json` | the run record (fields in `RUN_FIELDS`), rewritten atomically after each stage |
| `checkpoints/` | Trainer checkpoints (adapter + optimizer), for `--resume` |
| `adapter/` | the LoRA adapter (PEFT) and tokenizer |
| `merged/` | base + adapter, merged (transformers) |
| `gguf/model.f16.gguf`, `gguf/model.<Q>.gguf`, `gguf/adapter.f16.gguf` | llama.cpp files |
| `Modelfile`, `Modelfile.adapter` | Ollama |
| `report.txt`, `loss.png` | the evaluation |

`<home>/models/current` is a symlink to the run that evaluated best; it is switched
(atomically) only when a finished run beats the current one, never to a failed run.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from . import dataset as ds
from . import evaluate as ev
from . import export as ex
from .models import ModelError, hf_dir, load_tokenizer, resolve_base, training_template

RUN_FIELDS = {
    "id": "run id (UTC time + base name)",
    "status": "running | interrupted | failed | trained | done",
    "error": "one line, when failed",
    "created, updated": "UTC times",
    "pid": "the process training it",
    "base": "{spec, kind, path, name, hf_dir}",
    "dataset": "{dir, train, validation}",
    "options": "TrainOptions as given",
    "device, precision": "cpu/cuda, fp32/bf16",
    "packing": "null, or {attention, rows, examples, row_tokens, padding}: packed rows of examples (packing.py)",
    "world_size, processes": "training processes (accelerate launch), [{rank, pid, steps}]",
    "steps, train_loss, tokens_seen, tokens_per_s, seconds, peak_rss_mb": "training figures",
    "history": "Trainer log history (loss per step)",
    "checkpoint": "the checkpoint training resumed from, if any",
    "eval": "{base, tuned, quantized}: {val_loss, tool_call_rate, next_call_accuracy, prompts, samples}",
    "export": "{merged, f16, quantized: {path, type, matrices, fallback, fallback_types, bytes}, "
              "adapter_gguf, generation: {reply, tool_call}, ollama}",
    "current": "whether this run became the current model; current_reason",
    "paths": "{adapter, report, loss_png, modelfile, modelfile_adapter}",
}


# LoRA on every linear layer: on SmolLM2-135M with the synthetic sessions, attention-only
# adapters reached 44 % next-call accuracy after 60 steps where all-linear reached 88 % (fixtures.py).
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class TrainError(Exception):
    """Training cannot go on: one line for the user."""


@dataclass
class TrainOptions:
    base: str | None = None
    dataset_dir: str | None = None
    max_steps: int = -1
    epochs: float = 1.0
    batch_size: int = 4
    learning_rate: float = 2e-4
    lora_r: int = 16
    lora_alpha: int = 32
    max_length: int = 1024
    precision: str = "auto"      # auto | fp32 | bf16
    save_steps: int = 10
    seed: int = 0
    eval_prompts: int = 12
    export: bool = True
    promote: bool = True
    packing: bool | None = None  # pack examples into rows of max_length tokens; None: on with CUDA


def quiet() -> None:
    """No progress bars or warnings from the libraries: our own progress lines say it all."""
    import warnings
    warnings.filterwarnings("ignore")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import datasets
        import transformers
        datasets.disable_progress_bars()
        datasets.utils.logging.set_verbosity_error()
        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except ImportError:
        pass


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def models_dir(home: Path) -> Path:
    from claude_rec.recorder.home import private_dir
    return private_dir(Path(home) / "models")


def load_run(run_dir: Path) -> dict:
    try:
        return json.loads((Path(run_dir) / "run.json").read_text())
    except (OSError, ValueError):
        raise TrainError(f"no run record at {run_dir}") from None


def current_run(home: Path) -> dict | None:
    link = Path(home) / "models" / "current"
    if not link.exists():
        return None
    try:
        return load_run(link.resolve())
    except TrainError:
        return None


def set_current(home: Path, run_dir: Path) -> None:
    link = Path(home) / "models" / "current"
    tmp = link.with_name(f".current.{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(run_dir.name, tmp)
    os.replace(tmp, link)


def _rank() -> int:
    """This process's rank under `accelerate launch`/torchrun (0 when alone)."""
    return int(os.environ.get("RANK", "0"))


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def _save(run_dir: Path, run: dict) -> None:
    if _rank() != 0:  # under several processes, rank 0 owns the run record
        return
    run["updated"] = now()
    ex.write_json(run_dir / "run.json", run)


def _latest_checkpoint(run_dir: Path) -> Path | None:
    found = [p for p in (run_dir / "checkpoints").glob("checkpoint-*")
             if p.is_dir() and (p / "trainer_state.json").is_file()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def cpu_has_bf16() -> bool:
    """bf16 autocast pays on a CPU only with native bf16 instructions; emulated it is ~50x slower
    than fp32 (measured on an AMD EPYC without avx512_bf16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _peak_rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train(home: Path, opts: TrainOptions | None = None, *, resume: str | None = None,
          echo: Callable[[str], None] = print, callbacks: tuple = ()) -> dict:
    """Train (or resume) a run; evaluate, export and promote it. Returns the run record.

    Under `accelerate launch` (several processes, DDP) every process trains on its share of the
    batches; rank 0 names the run, writes the record, the checkpoints and the adapter, then
    evaluates, exports and promotes alone; the other ranks return after training."""
    home = Path(home)
    if _world_size() > 1:
        from accelerate import PartialState
        PartialState()  # joins the process group now: the run id below is rank 0's
        if _rank() != 0:
            echo = lambda line: None  # noqa: E731 - rank 0 speaks for the run
    if resume:
        run_dir = models_dir(home) / resume
        run = load_run(run_dir)
        if run["status"] == "done":
            raise TrainError(f"run {resume} is already done")
        opts = TrainOptions(**run["options"])
    else:
        opts = opts or TrainOptions()
        base = resolve_base(opts.base)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        run_id = f"{stamp}-{base.name.lower()}"[:80]
        run_dir = models_dir(home) / run_id
        n = 1
        while run_dir.exists():
            n += 1
            run_dir = models_dir(home) / f"{run_id}-{n}"
        if _world_size() > 1:
            import torch.distributed as dist
            name = [run_dir.name]
            dist.broadcast_object_list(name, src=0)
            run_dir = models_dir(home) / name[0]
        run = {"id": run_dir.name, "status": "running", "created": now(), "options": asdict(opts),
               "base": {"spec": opts.base or "default", "kind": base.kind, "path": str(base.path), "name": base.name}}
    dataset_dir = Path(opts.dataset_dir) if opts.dataset_dir else ds.default_dir(home)
    train_rows = ds.load(dataset_dir, "train")
    val_rows = ds.load(dataset_dir, "validation")
    if len(train_rows) < ds.MIN_EXAMPLES:
        raise ds.DatasetError(f"the dataset at {dataset_dir} has {len(train_rows)} training example(s); "
                              f"at least {ds.MIN_EXAMPLES} are needed")
    run_dir.mkdir(parents=True, exist_ok=True)
    run.update(status="running", pid=os.getpid(), error=None,
               dataset={"dir": str(dataset_dir), "train": len(train_rows), "validation": len(val_rows)})
    _save(run_dir, run)
    try:
        _train(run_dir, run, opts, train_rows, val_rows, resume is not None, echo, callbacks)
    except KeyboardInterrupt:
        run["status"] = "interrupted"
        _save(run_dir, run)
        raise TrainError(f"interrupted: resume with `claude-rec train --resume {run['id']}`") from None
    except (TrainError, ModelError, ds.DatasetError, ex.ExportError) as exc:
        run.update(status="failed", error=str(exc))
        _save(run_dir, run)
        raise
    except Exception as exc:
        run.update(status="failed", error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}")
        _save(run_dir, run)
        raise
    return run


def _train(run_dir: Path, run: dict, opts: TrainOptions, train_rows: list[dict], val_rows: list[dict],
           resuming: bool, echo: Callable[[str], None], callbacks: tuple = ()) -> None:
    quiet()
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, TrainerCallback
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    from . import packing as pk

    base = resolve_base(run["base"]["spec"] if run["base"]["spec"] != "default" else None)
    if base.kind == "gguf":
        echo(f"base: {base.path.name} (dequantized once into the cache; later runs reuse it)")
    world = _world_size()
    if world > 1:
        from accelerate import PartialState
        with PartialState().main_process_first():  # one process fills the base cache
            base_dir = hf_dir(base)
    else:
        base_dir = hf_dir(base)
    run["base"]["hf_dir"] = str(base_dir)
    tokenizer = load_tokenizer(base_dir)
    template = training_template(tokenizer)
    tokenizer.chat_template = template
    cuda = torch.cuda.is_available()
    precision = opts.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp32") if cuda else \
            ("bf16" if cpu_has_bf16() else "fp32")
    packing = cuda if opts.packing is None else opts.packing
    # Packed rows need a document-aware mask: flex attention's BlockMask on CUDA (block-sparse),
    # a dense block-diagonal mask under sdpa on CPU (torch has no flex-attention backward on CPU).
    attention = ("flex_attention" if cuda else "sdpa") if packing else None
    run.update(device="cuda" if cuda else "cpu", precision=precision, world_size=world)
    try:
        model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32,
                                                     **({"attn_implementation": attention} if attention else {}))
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"cannot load the base model from {base_dir}: {str(exc).splitlines()[0][:200]}") from None
    if cuda:
        model = model.to("cuda")

    checkpoint = _latest_checkpoint(run_dir) if resuming else None
    if resuming and checkpoint is None:
        echo("no checkpoint yet: training from the start")
    run["checkpoint"] = str(checkpoint) if checkpoint else None
    max_steps = opts.max_steps if opts.max_steps and opts.max_steps > 0 else -1
    config = SFTConfig(
        output_dir=str(run_dir / "checkpoints"), max_steps=max_steps, num_train_epochs=opts.epochs,
        per_device_train_batch_size=opts.batch_size, gradient_accumulation_steps=1,
        learning_rate=opts.learning_rate, lr_scheduler_type="constant", warmup_steps=0,
        logging_steps=1, save_strategy="steps", save_steps=opts.save_steps, save_total_limit=2,
        report_to=[], seed=opts.seed, data_seed=opts.seed, bf16=precision == "bf16", use_cpu=not cuda,
        max_length=opts.max_length, assistant_only_loss=True, packing=False,
        include_num_input_tokens_seen="non_padding", dataloader_num_workers=0, disable_tqdm=True,
        eval_strategy="no", remove_unused_columns=True,
    )
    peft_config = LoraConfig(r=opts.lora_r, lora_alpha=opts.lora_alpha, lora_dropout=0.0,
                             target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
    train_ds = Dataset.from_list([{"messages": r["messages"]} for r in train_rows])

    class Progress(TrainerCallback):
        def __init__(self) -> None:
            self.t0 = time.monotonic()
            self.last = (self.t0, 0)
            self.first_tokens = None

        def on_log(self, args, state, control, logs=None, **kw):
            if not logs or "loss" not in logs:
                return
            t, tokens = time.monotonic(), state.num_input_tokens_seen
            if self.first_tokens is None:
                self.first_tokens = (self.t0, 0 if not checkpoint else tokens - tokens)
            rate = (tokens - self.last[1]) / max(t - self.last[0], 1e-9)
            self.last = (t, tokens)
            echo(f"step {state.global_step}/{state.max_steps}  loss {logs['loss']:.4f}  {rate:.0f} tokens/s")

        def on_save(self, args, state, control, **kw):
            run["steps"] = state.global_step
            _save(run_dir, run)

    trainer = SFTTrainer(model=model, args=config, train_dataset=train_ds, processing_class=tokenizer,
                         peft_config=peft_config, callbacks=[Progress(), *callbacks])
    trainer.remove_callback(PrinterCallback)  # our Progress line replaces its dict dumps
    peft_model = trainer.model
    mask_hook = None
    run["packing"] = None
    if packing:
        # TRL tokenized the chats (assistant-only labels, truncated to max_length): pack them into
        # rows of max_length tokens, each row's sequences isolated by the document mask.
        examples = trainer.train_dataset.select_columns(["input_ids", "labels"])
        rows = pk.pack(examples, opts.max_length)
        trainer.train_dataset = Dataset.from_list(rows)
        trainer.data_collator = pk.PackedCollator(tokenizer.pad_token_id,
                                                  length=opts.max_length if attention == "flex_attention" else None)
        mask_hook = pk.enable_document_masking(peft_model)
        run["packing"] = {"attention": attention if attention == "flex_attention" else "sdpa (dense 4D mask)",
                          "rows": len(rows), "examples": len(examples), "row_tokens": opts.max_length,
                          "padding": round(pk.padding_fraction(rows, opts.max_length), 4)}
    tokens_before = 0
    if checkpoint:
        try:
            tokens_before = json.loads((checkpoint / "trainer_state.json").read_text()).get("num_input_tokens_seen", 0)
        except (OSError, ValueError):
            tokens_before = 0
    echo(f"training {run['id']}: {len(train_rows)} examples, {'cuda' if cuda else 'cpu'} {precision}"
         + (f", packed into {run['packing']['rows']} rows of {opts.max_length} tokens" if packing else "")
         + (f", {world} processes" if world > 1 else "")
         + (f", resuming from {checkpoint.name}" if checkpoint else ""))
    t0 = time.monotonic()
    out = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    seconds = time.monotonic() - t0
    tokens = trainer.state.num_input_tokens_seen - tokens_before
    history = [h for h in trainer.state.log_history if "loss" in h]
    run.update(steps=trainer.state.global_step, train_loss=history[-1]["loss"] if history else out.training_loss,
               tokens_seen=trainer.state.num_input_tokens_seen, seconds=round(seconds, 1),
               tokens_per_s=round(tokens / seconds, 1) if seconds else None, peak_rss_mb=round(_peak_rss_mb()),
               history=[{"step": h["step"], "loss": h["loss"]} for h in history])
    adapter = run_dir / "adapter"
    trainer.save_model(str(adapter))  # rank 0 only writes it
    if mask_hook is not None:
        mask_hook.remove()
    if attention == "flex_attention":
        model.set_attn_implementation("sdpa")  # evaluation generates: no packed rows there
    if world > 1:
        import torch.distributed as dist
        processes: list = [None] * world
        dist.all_gather_object(processes, {"rank": _rank(), "pid": os.getpid(), "steps": trainer.state.global_step})
        run["processes"] = processes
        if _rank() != 0:
            run["status"] = "trained"
            return  # rank 0 evaluates, exports and promotes
    run.setdefault("paths", {})["adapter"] = str(adapter)
    run["status"] = "trained"
    _save(run_dir, run)
    echo(f"trained: {run['steps']} steps in {seconds:.0f} s, {run['tokens_per_s']} tokens/s, adapter {adapter}")

    # ---------------------------------------------------------------- evaluation
    eval_rows = val_rows or train_rows[:4]
    echo(f"evaluating base and tuned on {len(eval_rows)} validation examples")
    peft_model.eval()
    with peft_model.disable_adapter():
        base_eval = ev.evaluate_model(peft_model, tokenizer, eval_rows, template, max_prompts=opts.eval_prompts,
                                      max_length=opts.max_length)
    tuned_eval = ev.evaluate_model(peft_model, tokenizer, eval_rows, template, max_prompts=opts.eval_prompts,
                                   max_length=opts.max_length)
    run["eval"] = {"base": base_eval, "tuned": tuned_eval, "on": "validation" if val_rows else "train (no validation)"}
    png = ev.loss_plot(run["history"], run_dir / "loss.png", base_eval.get("val_loss"), tuned_eval.get("val_loss"))
    run["paths"]["loss_png"] = str(png) if png else None
    _save(run_dir, run)
    del trainer, peft_model, model

    # ---------------------------------------------------------------- export
    if opts.export:
        export_run(run_dir, run, base_dir, base, eval_rows, echo)
    run["status"] = "done"
    # ---------------------------------------------------------------- promotion
    home = run_dir.parent.parent
    if opts.promote:
        current = current_run(home)
        old = (current or {}).get("eval", {}).get("tuned")
        if ev.better(tuned_eval, old):
            run["current"] = True
            run["current_reason"] = "beats the current model" if current else "first model"
        else:
            run["current"] = False
            run["current_reason"] = f"the current model ({current['id']}) evaluates as well or better"
    report = run_dir / "report.txt"
    run["paths"]["report"] = str(report)
    report.write_text(ev.report_text(run))
    _save(run_dir, run)
    if run.get("current"):
        set_current(home, run_dir)  # only after everything is on disk
    echo(report.read_text().rstrip())


def export_run(run_dir: Path, run: dict, base_dir: Path, base, eval_rows: list[dict],
               echo: Callable[[str], None]) -> None:
    out = run_dir / "gguf"
    out.mkdir(exist_ok=True)
    info: dict = {}
    run["export"] = info
    t = time.monotonic()
    merged = ex.merge(base_dir, run_dir / "adapter", run_dir / "merged")
    info["merged"] = str(merged)
    f16 = ex.convert(merged, out / "model.f16.gguf")
    info["f16"] = str(f16)
    config = json.loads((merged / "config.json").read_text())
    qtype = ex.choose_quant(config)
    q = ex.quantize(f16, out / f"model.{qtype}.gguf", qtype)
    info["quantized"] = q
    echo(f"gguf: {f16.name} ({f16.stat().st_size >> 20} MB), {Path(q['path']).name} ({q['bytes'] >> 20} MB, "
         f"{q['fallback']} of {q['matrices']} matrices fell back to other types)")
    adapter_gguf = ex.convert_adapter(run_dir / "adapter", base_dir, out / "adapter.f16.gguf")
    info["adapter_gguf"] = str(adapter_gguf)
    _save(run_dir, run)

    # The quantized model, loaded by llama.cpp, on the held-out prompts.
    prompts = ev.call_prompts(eval_rows, run["options"].get("eval_prompts", 12))
    llm = ex.load_llama(Path(q["path"]))
    replies = [ex.generate(llm, p) for p, _ in prompts]
    run["eval"]["quantized"] = ev.score(replies, [e for _, e in prompts])
    sample = replies[0] if replies else ex.generate(llm, [{"role": "user", "content": "hello"}])
    info["generation"] = {"prompt": prompts[0][0][-1]["content"] if prompts else "hello", "reply": sample,
                          "tool_call": bool(ds.parse_calls(sample))}
    del llm
    # Ollama
    system = ds.system_message([ds.tool_schema(n) for n in sorted(ds.KNOWN_TOOLS)])
    mf = run_dir / "Modelfile"
    mf.write_text(ex.modelfile(f"./gguf/{Path(q['path']).name}", system))
    base_gguf = base.path if base.kind == "gguf" else None
    if base_gguf is None:
        base_gguf = ex.convert(base_dir, out / "base.f16.gguf")
    mfa = run_dir / "Modelfile.adapter"
    mfa.write_text(ex.modelfile(str(base_gguf), system, adapter="./gguf/adapter.f16.gguf"))
    run["paths"].update(modelfile=str(mf), modelfile_adapter=str(mfa))
    info["ollama"] = ex.ollama_create(f"claude-rec-{run['id'][:15].lower()}", mf)
    info["seconds"] = round(time.monotonic() - t, 1)
    _save(run_dir, run)
    echo(f"llama.cpp reply ({Path(q['path']).name}): {sample[:200]!r}")


def clean_checkpoints(run_dir: Path) -> None:
    shutil.rmtree(Path(run_dir) / "checkpoints", ignore_errors=True)
