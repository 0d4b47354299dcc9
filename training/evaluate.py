"""Evaluation: validation loss and next-tool-call accuracy, base against tuned; the report.

- **Validation loss**: mean cross-entropy over the assistant tokens of the validation
  examples (the same tokens the training loss covers).
- **Next tool call**: for every assistant turn of a validation example that calls a tool,
  the model is given the conversation so far and generates greedily. `tool_call_rate`: the
  share of those prompts where the reply holds a well-formed `<tool_call>`;
  `next_call_accuracy`: the share where its first call names the same tool with the same key
  argument (command, file_path, pattern, ...) as the recorded call.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from .dataset import key_argument, parse_calls


def call_prompts(rows: list[dict], limit: int | None = None) -> list[tuple[list[dict], dict]]:
    """(conversation so far, expected first call) for each assistant turn that calls a tool."""
    out = []
    for row in rows:
        messages = row["messages"]
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            calls = parse_calls(message["content"])
            if calls:
                out.append((messages[:i], calls[0]))
    return out[:limit] if limit else out


def unseen(prompts: list[tuple[list[dict], dict]], train_rows: list[dict]) -> list[tuple[list[dict], dict]]:
    """The prompts whose expected key argument (tool and value) no training call has: what the
    model can only get right by generalizing, not by remembering."""
    seen = {json.dumps([c["name"], key_argument(c["arguments"])], sort_keys=True, default=str)
            for row in train_rows for m in row["messages"] if m["role"] == "assistant"
            for c in parse_calls(m["content"])}
    return [(p, e) for p, e in prompts
            if json.dumps([e["name"], key_argument(e["arguments"])], sort_keys=True, default=str) not in seen]


def evaluate_gguf(path: Path, prompts: list[tuple[list[dict], dict]], *, lora: Path | None = None,
                  max_tokens: int = 96) -> dict:
    """Tool-call rate and next-call accuracy of a GGUF (llama.cpp, greedy) on (conversation, expected call) prompts."""
    from . import export as ex
    llm = ex.load_llama(Path(path), lora=lora)
    try:
        replies = [ex.generate(llm, p, max_tokens=max_tokens) for p, _ in prompts]
    finally:
        del llm
    result = score(replies, [e for _, e in prompts])
    result["samples"] = [{"prompt": p[-1]["content"], "expected": e, "reply": r} for (p, e), r in zip(prompts, replies)]
    return result


def _norm(value):
    """An argument value as compared: strings without surrounding whitespace; anything else as
    canonical JSON (sorted keys, no spacing), so key order and spacing never decide a match."""
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def same_call(expected: dict, got: dict | None) -> bool:
    """Same tool, and the expected call's key argument (command, file_path, pattern, ...) has the
    same value in the reply's call, whatever else either call holds; a call without any key
    argument must match on all its arguments."""
    if not got or got.get("name") != expected["name"]:
        return False
    arguments = got.get("arguments") if isinstance(got.get("arguments"), dict) else {}
    want = key_argument(expected["arguments"])
    if want is None:
        return _norm(arguments) == _norm(expected["arguments"])
    key, value = want
    return key in arguments and _norm(arguments[key]) == _norm(value)


def score(replies: list[str], expected: list[dict]) -> dict:
    calls = [parse_calls(r) for r in replies]
    n = len(replies)
    return {"prompts": n,
            "tool_call_rate": sum(bool(c) for c in calls) / n if n else None,
            "next_call_accuracy": sum(same_call(e, c[0] if c else None) for e, c in zip(expected, calls)) / n
            if n else None}


def validation_loss(model, tokenizer, rows: list[dict], template: str, max_length: int = 1024) -> float | None:
    import torch
    total, count = 0.0, 0
    model.eval()
    device = next(model.parameters()).device
    for row in rows:
        enc = tokenizer.apply_chat_template(row["messages"], chat_template=template, tokenize=True,
                                            return_dict=True, return_assistant_tokens_mask=True)
        ids = enc["input_ids"][:max_length]
        mask = enc["assistant_masks"][:max_length]
        if sum(mask[1:]) == 0:
            continue
        input_ids = torch.tensor([ids], device=device)
        labels = torch.tensor([[t if m else -100 for t, m in zip(ids, mask)]], device=device)
        with torch.no_grad():
            logits = model(input_ids=input_ids).logits.float()
        loss = torch.nn.functional.cross_entropy(logits[0, :-1], labels[0, 1:], ignore_index=-100, reduction="sum")
        total += loss.item()
        count += int((labels[0, 1:] != -100).sum())
    return total / count if count else None


def generate_replies(model, tokenizer, prompts: list[list[dict]], template: str, max_new_tokens: int = 96) -> list[str]:
    import torch
    model.eval()
    device = next(model.parameters()).device
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>")
    replies = []
    for messages in prompts:
        text = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False,
                                             add_generation_prompt=True)
        ids = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(device)
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False,
                                 eos_token_id=stop, pad_token_id=tokenizer.pad_token_id)
        replies.append(tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True))
    return replies


def evaluate_model(model, tokenizer, rows: list[dict], template: str, *, max_prompts: int = 12,
                   max_length: int = 1024, max_new_tokens: int = 96) -> dict:
    prompts = call_prompts(rows, max_prompts)
    replies = generate_replies(model, tokenizer, [p for p, _ in prompts], template, max_new_tokens)
    result = score(replies, [e for _, e in prompts])
    loss = validation_loss(model, tokenizer, rows, template, max_length)
    result["val_loss"] = loss
    result["samples"] = [{"expected": e, "reply": r} for (_, e), r in zip(prompts[:3], replies[:3])]
    return result


def better(new: dict, old: dict | None) -> bool:
    """Does a tuned model's evaluation beat the current model's? Accuracy first, then loss."""
    if not old:
        return True
    a_new, a_old = new.get("next_call_accuracy") or 0.0, old.get("next_call_accuracy") or 0.0
    if abs(a_new - a_old) > 1e-9:
        return a_new > a_old
    l_new, l_old = new.get("val_loss"), old.get("val_loss")
    if l_new is None or l_old is None or math.isnan(l_new):
        return False
    return l_new < l_old


def loss_plot(history: list[dict], out: Path, base_val: float | None = None, tuned_val: float | None = None) -> Path | None:
    steps = [h["step"] for h in history if "loss" in h]
    losses = [h["loss"] for h in history if "loss" in h]
    if not steps:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(steps, losses, marker=".", label="training loss")
    if base_val is not None:
        ax.axhline(base_val, color="grey", linestyle=":", label=f"base validation {base_val:.3f}")
    if tuned_val is not None:
        ax.axhline(tuned_val, color="green", linestyle="--", label=f"tuned validation {tuned_val:.3f}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return Path(out)


def report_text(run: dict) -> str:
    ev = run.get("eval") or {}
    lines = [f"run {run['id']}  base {run['base']['name']}  status {run['status']}",
             f"dataset {run['dataset']['dir']}: {run['dataset']['train']} train, "
             f"{run['dataset']['validation']} validation examples",
             f"training: {run.get('steps', 0)} steps, final loss {_f(run.get('train_loss'))}, "
             f"{_f(run.get('tokens_per_s'), 0)} tokens/s, {_f(run.get('seconds'), 0)} s on {run.get('device')}"]
    for name in ("base", "tuned", "quantized"):
        e = ev.get(name)
        if e:
            lines.append(f"{name:9s}: validation loss {_f(e.get('val_loss'))}, tool-call rate "
                         f"{_pct(e.get('tool_call_rate'))}, next-call accuracy {_pct(e.get('next_call_accuracy'))} "
                         f"({e.get('prompts')} prompts)")
    if "current" in run:
        lines.append("current model: " + ("this run" if run["current"] else f"unchanged ({run.get('current_reason', '')})"))
    for sample in (ev.get("tuned") or {}).get("samples", [])[:2]:
        lines.append(f"  expected {json.dumps(sample['expected'])[:120]}")
        lines.append(f"  got      {sample['reply'][:160]!r}")
    return "\n".join(lines) + "\n"


def _f(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pct(value) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"
