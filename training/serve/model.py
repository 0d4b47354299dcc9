"""The served model: a GGUF (optionally with a LoRA adapter GGUF) in llama.cpp.

The prompt is rendered with the chat template the GGUF carries (`tokenizer.chat_template`,
the one the model was trained with), falling back to the ChatML template training uses.
One generation runs at a time (a llama.cpp context is not thread-safe); llama-cpp-python
reuses the cached prefix of the previous prompt, so a conversation that grows by a turn
only evaluates the new tokens.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from jinja2.sandbox import ImmutableSandboxedEnvironment

from .. import export as ex
from ..models import CHATML_TEMPLATE, STOP_STRINGS

DEFAULT_CTX = 4096
GENERATION_TAG_RE = re.compile(r"{%-?\s*(?:end)?generation\s*-?%}")


class ModelNotFound(Exception):
    """No servable model at the given place: one line for the user."""


@dataclass
class Finished:
    """How a generation ended."""

    reason: str              # "stop" (end of turn or a stop string) | "length" | "cancelled"
    output_tokens: int
    prompt_tokens: int
    first_token_s: float | None
    seconds: float


def trained_tools(run: dict) -> set[str] | None:
    """Names of the tools in a run's training data (its dataset's `tools` column), if readable."""
    names: set[str] = set()
    try:
        with open(Path(run["dataset"]["dir"]) / "train.jsonl", encoding="utf-8") as f:
            for line in f:
                names.update(t["function"]["name"] for t in json.loads(line).get("tools") or [])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return names or None


def resolve(spec: str | None, home: Path) -> tuple[Path, Path | None, str, set[str] | None]:
    """(gguf, adapter gguf or None, display name, tools it was trained on or None) for
    `--model current|RUN_DIR|FILE.gguf`."""
    spec = spec or "current"
    if spec == "current":
        run_dir = Path(home) / "models" / "current"
        if not run_dir.exists():
            raise ModelNotFound(f"no current model in {Path(home) / 'models'}: run `claude-rec train` "
                                "(or `claude-rec demo`) first, or pass --model FILE.gguf")
        return _from_run(run_dir.resolve())
    path = Path(spec).expanduser()
    if path.is_dir():
        return _from_run(path)
    if path.is_file():
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                raise ModelNotFound(f"{path} is not a GGUF file")
        return path, None, path.stem, None
    raise ModelNotFound(f"{path}: no such model file or run folder")


def _from_run(run_dir: Path) -> tuple[Path, Path | None, str, set[str] | None]:
    try:
        run = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        raise ModelNotFound(f"{run_dir} has no readable run.json") from None
    export = run.get("export") or {}
    for key in ("quantized", "f16"):
        value = export.get(key)
        path = Path(value["path"] if isinstance(value, dict) else value) if value else None
        if path and path.is_file():
            return path, None, run.get("id") or run_dir.name, trained_tools(run)
    raise ModelNotFound(f"run {run_dir.name} has no exported GGUF (status {run.get('status')})")


def chat_template(source: str | None):
    """(source, compiled) of the GGUF's chat template; TRL's `{% generation %}` markers (a
    training-only extension) are removed; a template that does not compile gives ChatML."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)  # as transformers renders
    if source:
        source = GENERATION_TAG_RE.sub("", source)
        try:
            return source, env.from_string(source)
        except Exception:  # noqa: BLE001 - any template error: the training template instead
            pass
    return CHATML_TEMPLATE, env.from_string(CHATML_TEMPLATE)


class LocalModel:
    """A loaded GGUF: render, count, and stream completions."""

    def __init__(self, path: Path, *, adapter: Path | None = None, n_ctx: int = DEFAULT_CTX,
                 name: str | None = None, threads: int | None = None, known_tools: set[str] | None = None) -> None:
        import llama_cpp
        ex.silence_llama()
        self.path = Path(path)
        self.adapter = Path(adapter) if adapter else None
        self.name = name or self.path.stem
        self.known_tools = known_tools  # the tools its training data used (None: not known)
        kwargs = {"lora_path": str(self.adapter)} if self.adapter else {}
        self.llm = llama_cpp.Llama(model_path=str(self.path), n_ctx=n_ctx, verbose=False, seed=0,
                                   n_threads=threads or max(1, min(8, os.cpu_count() or 1)), **kwargs)
        self.n_ctx = self.llm.n_ctx()
        self.template_source, self.template = chat_template((self.llm.metadata or {}).get("tokenizer.chat_template"))
        self.lock = threading.Lock()

    def render(self, messages: list[dict]) -> str:
        return self.template.render(messages=messages, add_generation_prompt=True, bos_token="", eos_token="")

    def tokens(self, messages: list[dict]) -> list[int]:
        return self.llm.tokenize(self.render(messages).encode("utf-8"), add_bos=False, special=True)

    def count(self, messages: list[dict]) -> int:
        return len(self.tokens(messages))

    def stream(self, prompt: list[int], *, max_tokens: int, temperature: float = 0.0, top_p: float = 1.0,
               top_k: int = 0, cancel: threading.Event | None = None) -> Iterator[str | Finished]:
        """Text pieces as they come, then one Finished. Holds the model's lock throughout."""
        with self.lock:
            start = time.perf_counter()
            first: float | None = None
            pieces: list[str] = []
            reason = "stop"
            chunks = self.llm.create_completion(prompt, max_tokens=max_tokens, temperature=temperature,
                                                top_p=top_p, top_k=top_k, stop=STOP_STRINGS, stream=True)
            try:
                for chunk in chunks:
                    if cancel is not None and cancel.is_set():
                        reason = "cancelled"
                        break
                    choice = chunk["choices"][0]
                    if choice.get("text"):
                        if first is None:
                            first = time.perf_counter() - start
                        pieces.append(choice["text"])
                        yield choice["text"]
                    if choice.get("finish_reason"):
                        reason = choice["finish_reason"]
            finally:
                chunks.close()
            text = "".join(pieces)
            output = len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0
            yield Finished(reason, output, len(prompt), first, time.perf_counter() - start)
