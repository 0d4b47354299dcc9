"""From a trained adapter to files llama.cpp and Ollama run.

- `merge`: the adapter folded into the base (`merge_and_unload`), saved with the plain chat
  template (no training markers).
- `convert`: llama.cpp's own `convert_hf_to_gguf.py` / `convert_lora_to_gguf.py`, run in
  place from the llama-cpp-python source distribution with its bundled gguf-py (the PyPI
  `gguf` lacks what the converter needs). Found at `$CLAUDE_REC_LLAMA_CPP` (the
  `vendor/llama.cpp` folder), else under `~/.cache/claude-rec/llama-sdist/`.
- `quantize`: `llama_cpp.llama_model_quantize`: Q8_0 when the model's widths are not
  multiples of 256 (K-quants would fall back to other types on most tensors), else Q4_K_M;
  the tensors that did not get the target type are counted.
- `generate`: load a GGUF with `llama_cpp.Llama` (its embedded chat template) and reply.
- `modelfile`: Ollama Modelfiles (the merged model, and base + ADAPTER).
"""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .models import CHATML_TEMPLATE, STOP_STRINGS, cache_dir

SDIST_VERSION = "0.3.36"


class ExportError(Exception):
    """An export step that failed: one line for the user."""


def llama_cpp_dir() -> Path:
    explicit = os.environ.get("CLAUDE_REC_LLAMA_CPP")
    candidates = [Path(explicit)] if explicit else []
    candidates.append(cache_dir() / "llama-sdist" / f"llama_cpp_python-{SDIST_VERSION}" / "vendor" / "llama.cpp")
    for c in candidates:
        if (c / "convert_hf_to_gguf.py").is_file() and (c / "gguf-py").is_dir():
            return c
    raise ExportError("llama.cpp's converters not found: run .ci/setup (it unpacks the llama-cpp-python "
                      f"{SDIST_VERSION} sdist under ~/.cache/claude-rec/llama-sdist) or set CLAUDE_REC_LLAMA_CPP")


def merge(base_dir: Path, adapter_dir: Path, out: Path) -> Path:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from .models import load_tokenizer
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    tokenizer = load_tokenizer(base_dir)
    tokenizer.chat_template = CHATML_TEMPLATE
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return Path(out)


def _run_converter(script: str, args: list[str]) -> None:
    root = llama_cpp_dir()
    env = dict(os.environ, PYTHONPATH=str(root / "gguf-py") + os.pathsep + str(root))
    env.pop("NO_LOCAL_GGUF", None)
    proc = subprocess.run([sys.executable, str(root / script), *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = [l for l in (proc.stderr or proc.stdout).splitlines() if l.strip()][-1:] or ["no output"]
        raise ExportError(f"{script} failed: {tail[0][:300]}")


def convert(model_dir: Path, out: Path, outtype: str = "f16") -> Path:
    _run_converter("convert_hf_to_gguf.py", [str(model_dir), "--outfile", str(out), "--outtype", outtype])
    return Path(out)


def convert_adapter(adapter_dir: Path, base_dir: Path, out: Path, outtype: str = "f16") -> Path:
    _run_converter("convert_lora_to_gguf.py", [str(adapter_dir), "--base", str(base_dir),
                                               "--outfile", str(out), "--outtype", outtype])
    return Path(out)


def choose_quant(config: dict) -> str:
    widths = [config.get(k) for k in ("hidden_size", "intermediate_size") if config.get(k)]
    return "Q4_K_M" if widths and all(w % 256 == 0 for w in widths) else "Q8_0"


_SILENT = None


def silence_llama() -> None:
    """llama.cpp logs every tensor to stderr; keep the terminal for our own lines
    (set CLAUDE_REC_LLAMA_LOG=1 to see them)."""
    global _SILENT
    if _SILENT is not None or os.environ.get("CLAUDE_REC_LLAMA_LOG"):
        return
    import llama_cpp
    try:
        _SILENT = llama_cpp.llama_log_callback(lambda level, text, data: None)
        llama_cpp.llama_log_set(_SILENT, ctypes.c_void_p(0))
    except (AttributeError, TypeError):
        _SILENT = False


def quantize(src: Path, out: Path, qtype: str = "Q8_0", threads: int = 0) -> dict:
    import llama_cpp
    silence_llama()
    ftype = {"Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "Q4_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
             "Q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0, "F16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16}[qtype]
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(out).encode(), ctypes.byref(params))
    if rc != 0 or not Path(out).is_file():
        raise ExportError(f"quantizing {src} to {qtype} failed (llama_model_quantize returned {rc})")
    types = tensor_types(out)
    matrices = {name: t for name, (t, dims) in types.items() if dims >= 2}
    expected = {"Q8_0": {"Q8_0"}, "Q4_K_M": {"Q4_K", "Q6_K"}, "Q4_0": {"Q4_0"}, "F16": {"F16"}}[qtype]
    fallback = {name: t for name, t in matrices.items() if t not in expected}
    return {"path": str(out), "type": qtype, "matrices": len(matrices), "fallback": len(fallback),
            "fallback_types": sorted(set(fallback.values())), "bytes": Path(out).stat().st_size}


def tensor_types(path: Path) -> dict[str, tuple[str, int]]:
    """{tensor name: (type name, number of dimensions)} of a GGUF file."""
    root = llama_cpp_dir()
    sys.path.insert(0, str(root / "gguf-py"))
    try:
        from gguf import GGUFReader
    finally:
        sys.path.pop(0)
    reader = GGUFReader(str(path))
    return {t.name: (t.tensor_type.name, sum(1 for d in t.shape if d > 1)) for t in reader.tensors}


def load_llama(path: Path, lora: Path | None = None, n_ctx: int = 2048):
    import llama_cpp
    silence_llama()
    kwargs = {"lora_path": str(lora)} if lora else {}
    return llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=max(1, min(4, os.cpu_count() or 1)),
                           verbose=False, seed=0, **kwargs)


def generate(llm, messages: list[dict], max_tokens: int = 96) -> str:
    out = llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0,
                                     stop=STOP_STRINGS)
    return out["choices"][0]["message"]["content"] or ""


OLLAMA_TEMPLATE = """{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
"""


def modelfile(from_path: str, system: str, adapter: str | None = None) -> str:
    """An Ollama Modelfile whose TEMPLATE renders exactly the ChatML the model was trained on."""
    lines = [f"FROM {from_path}"]
    if adapter:
        lines.append(f"ADAPTER {adapter}")
    lines.append(f'TEMPLATE """{OLLAMA_TEMPLATE}"""')
    lines.append(f'SYSTEM """{system}"""')
    lines += [f'PARAMETER stop "{s}"' for s in STOP_STRINGS]
    lines += ["PARAMETER temperature 0", "PARAMETER num_ctx 4096"]
    return "\n".join(lines) + "\n"


def ollama_create(name: str, modelfile_path: Path) -> str:
    """Run `ollama create` if ollama is installed: returns what happened, one line."""
    exe = shutil.which("ollama")
    if not exe:
        return "ollama not on PATH: Modelfile written, `ollama create` not run"
    proc = subprocess.run([exe, "create", name, "-f", str(modelfile_path)], capture_output=True, text=True,
                          cwd=str(Path(modelfile_path).parent))
    if proc.returncode != 0:
        return f"ollama create failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}"
    return f"ollama model {name} created"


def write_json(path: Path, value) -> None:
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, default=str) + "\n")
    os.replace(tmp, path)
