"""Sequence packing without cross-contamination.

Variable-length examples (`input_ids`, `labels` with -100 on tokens that carry no loss) are
packed into rows of a fixed token budget by best-fit decreasing, and attention is made
document-aware so that no token attends across a sequence boundary:

- `block_mask(document_ids)`: a flex-attention `BlockMask` (causal AND same document), for
  `attn_implementation="flex_attention"`: block-sparse, so cheap at any row length;
- `dense_mask(document_ids)`: a 4D block-diagonal causal mask `[B, 1, L, L]` (bool for sdpa,
  additive for eager): the fallback, quadratic in memory and forcing sdpa's masked kernel.

Position ids restart at 0 for each packed sequence (RoPE sees the positions the sequence would
have alone) and the first label of every sequence is -100 (its first token is never predicted
from the previous sequence's last one). Position ids alone are not enough: transformers 5.x
only infers packed documents from them when no attention mask at all is given, and a trainer
always passes one (measured: the later sequence's logits change); so the 4D mask is explicit,
and transformers hands a ready 4D mask (tensor or BlockMask) to the attention unchanged.

`enable_document_masking(model)` lets a trainer pass `document_ids` as a model input: a
forward pre-hook on the decoder turns it into the 4D mask on the model's device, so the 2D
`attention_mask` the collator also returns stays what trainers count tokens with.

Depends on torch only (transformers through the model), so it can be loaded by file path
(`importlib.util.spec_from_file_location`) where claude_rec is not installed.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch

IGNORE_INDEX = -100
PAD_DOCUMENT = -1  # document id of the padding at the end of a row


def best_fit_decreasing(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Indices of `lengths` grouped into bins of at most `capacity` tokens: longest first, each
    into the fullest bin it still fits in (ties: the earlier bin), else a new bin."""
    if capacity <= 0:
        raise ValueError("capacity must be positive")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # sorted (free tokens, bin index)
    for i in order:
        n = lengths[i]
        if n > capacity:
            raise ValueError(f"sequence {i} has {n} tokens, more than the row budget {capacity}")
        if n <= 0:
            continue
        at = bisect.bisect_left(free, (n, -1))
        if at < len(free):
            room, b = free.pop(at)
            bins[b].append(i)
            room -= n
        else:
            b = len(bins)
            bins.append([i])
            room = capacity - n
        if room > 0:
            bisect.insort(free, (room, b))
    return bins


def pack(examples: Iterable[dict], capacity: int, truncate: bool = True) -> list[dict]:
    """Rows `{"input_ids", "labels", "seq_lengths"}` of at most `capacity` tokens each.

    Examples longer than `capacity` keep their start (or raise, with `truncate=False`). The first
    label of every sequence becomes -100, so no loss crosses a boundary."""
    items = []
    for example in examples:
        ids, labels = list(example["input_ids"]), list(example.get("labels", example["input_ids"]))
        if len(ids) != len(labels):
            raise ValueError("input_ids and labels differ in length")
        if len(ids) > capacity:
            if not truncate:
                raise ValueError(f"an example has {len(ids)} tokens, more than the row budget {capacity}")
            ids, labels = ids[:capacity], labels[:capacity]
        if ids:
            items.append((ids, labels))
    rows = []
    for group in best_fit_decreasing([len(ids) for ids, _ in items], capacity):
        row_ids: list[int] = []
        row_labels: list[int] = []
        lengths = []
        for i in group:
            ids, labels = items[i]
            row_ids += ids
            row_labels += [IGNORE_INDEX] + labels[1:]
            lengths.append(len(ids))
        rows.append({"input_ids": row_ids, "labels": row_labels, "seq_lengths": lengths})
    return rows


def padding_fraction(rows: Sequence[dict], capacity: int) -> float:
    used = sum(len(r["input_ids"]) for r in rows)
    return 1 - used / (capacity * len(rows)) if rows else 0.0


def document_ids(seq_lengths: Sequence[int], length: int) -> torch.Tensor:
    """[length]: 0, 0, 0, 1, 1, ... per sequence, PAD_DOCUMENT on the padding."""
    out = torch.full((length,), PAD_DOCUMENT, dtype=torch.long)
    start = 0
    for doc, n in enumerate(seq_lengths):
        out[start:start + n] = doc
        start += n
    return out


def position_ids(seq_lengths: Sequence[int], length: int) -> torch.Tensor:
    """[length]: 0..n-1 for each sequence; the padding counts on from 0 too."""
    parts = [torch.arange(n) for n in seq_lengths]
    used = sum(seq_lengths)
    if length > used:
        parts.append(torch.arange(length - used))
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)


def collate(rows: Sequence[dict], pad_token_id: int, length: int | None = None,
            multiple: int = 8) -> dict[str, torch.Tensor]:
    """Tensors `[B, L]` of packed rows: input_ids, labels, position_ids, document_ids and the 2D
    attention_mask (1 on tokens, 0 on padding). L is `length`, else the longest row rounded up
    to `multiple`. Every row the same length means one compiled shape for flex attention."""
    longest = max(len(r["input_ids"]) for r in rows)
    if length is None:
        length = -(-longest // multiple) * multiple
    if longest > length:
        raise ValueError(f"a row has {longest} tokens, more than {length}")
    ids = torch.full((len(rows), length), pad_token_id, dtype=torch.long)
    labels = torch.full((len(rows), length), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    pos = torch.zeros((len(rows), length), dtype=torch.long)
    docs = torch.empty((len(rows), length), dtype=torch.long)
    for b, row in enumerate(rows):
        n = len(row["input_ids"])
        lengths = list(row.get("seq_lengths") or [n])
        if sum(lengths) != n:
            raise ValueError("seq_lengths do not add up to the row length")
        ids[b, :n] = torch.as_tensor(row["input_ids"])
        labels[b, :n] = torch.as_tensor(row["labels"])
        mask[b, :n] = 1
        pos[b] = position_ids(lengths, length)
        docs[b] = document_ids(lengths, length)
    return {"input_ids": ids, "labels": labels, "attention_mask": mask, "position_ids": pos, "document_ids": docs}


@dataclass
class PackedCollator:
    """A data collator for rows made by `pack` (a list of rows in, `collate`'s tensors out)."""
    pad_token_id: int
    length: int | None = None   # fixed row length (flex attention: one shape), else per batch
    multiple: int = 8

    def __call__(self, rows: Sequence[dict]) -> dict[str, torch.Tensor]:
        return collate(rows, self.pad_token_id, self.length, self.multiple)


def block_mask(docs: torch.Tensor, compile: bool = False):
    """A flex-attention BlockMask: query q sees key k iff k <= q and both are in the same document.
    `docs`: [B, L] document ids on the device the attention runs on."""
    from torch.nn.attention.flex_attention import create_block_mask

    def causal_same_document(b, h, q, kv):
        return (docs[b, q] == docs[b, kv]) & (q >= kv)

    batch, length = docs.shape
    return create_block_mask(causal_same_document, batch, None, length, length, device=docs.device,
                             _compile=compile)


def dense_mask(docs: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The same mask as a dense [B, 1, L, L] tensor: bool (True = attend, for sdpa), or additive in
    `dtype` (0 / the dtype's minimum, for eager attention)."""
    length = docs.shape[-1]
    causal = torch.ones((length, length), dtype=torch.bool, device=docs.device).tril()
    allowed = (docs[:, :, None] == docs[:, None, :]) & causal
    allowed = allowed[:, None]
    if dtype is None:
        return allowed
    zero = torch.zeros((), dtype=dtype, device=docs.device)
    return torch.where(allowed, zero, torch.finfo(dtype).min)


def attention_mask(docs: torch.Tensor, implementation: str, dtype: torch.dtype = torch.float32):
    """The document mask in the form `implementation` (a model's `config._attn_implementation`) takes."""
    if implementation == "flex_attention":
        return block_mask(docs)
    if implementation == "sdpa":
        return dense_mask(docs)
    if implementation == "eager":
        return dense_mask(docs, dtype)
    raise ValueError(f"no document mask for attention {implementation!r} (use flex_attention, sdpa or eager)")


def _decoder(model):
    """The decoder stack (e.g. LlamaModel) under DDP, PEFT and causal-LM wrappers."""
    while hasattr(model, "module") and isinstance(model.module, torch.nn.Module):
        model = model.module
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else getattr(model, "model", None)
    if decoder is None:
        raise ValueError(f"cannot find the decoder of {type(model).__name__}")
    return decoder


def enable_document_masking(model):
    """Accept `document_ids` as a model input: the decoder's forward turns it into the document
    mask (replacing the 2D `attention_mask`). Returns the hook's handle (`.remove()` undoes it)."""
    decoder = _decoder(model)

    def hook(module, args, kwargs):
        docs = kwargs.pop("document_ids", None)
        if docs is None:
            return args, kwargs
        config = module.config
        implementation = getattr(config, "_attn_implementation", None) or "eager"
        dtype = next(module.parameters()).dtype
        if torch.is_autocast_enabled(docs.device.type):
            dtype = torch.get_autocast_dtype(docs.device.type)
        kwargs["attention_mask"] = attention_mask(docs, implementation, dtype)
        return args, kwargs

    return decoder.register_forward_pre_hook(hook, with_kwargs=True)
