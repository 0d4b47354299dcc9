"""Sequence packing (training/packing.py): best-fit decreasing rows, and no contamination.

A tiny random Llama (2 layers, hidden 64, built here, fp32): the logits of each sequence inside
a packed row equal its logits run alone, with the flex-attention BlockMask and with the dense 4D
mask; packing with per-sequence position ids alone (what a naive collator does) does change
them, so the check can fail; the packed loss is the token-weighted loss of the sequences."""
from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from claude_rec.training import packing  # noqa: E402

VOCAB = 97
LENGTHS = [7, 13, 5, 20, 3, 11]
CAPACITY = 32


@pytest.fixture(scope="module")
def model():
    from transformers import AutoModelForCausalLM, LlamaConfig

    config = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         rope_theta=10000.0, tie_word_embeddings=False)
    torch.manual_seed(0)
    m = AutoModelForCausalLM.from_config(config, attn_implementation="eager", dtype=torch.float32)
    return m.eval()


@pytest.fixture(scope="module")
def examples():
    rng = random.Random(1)
    out = []
    for n in LENGTHS:
        ids = [rng.randrange(VOCAB) for _ in range(n)]
        # loss on a random suffix only, like assistant-only loss
        cut = rng.randrange(1, n)
        out.append({"input_ids": ids, "labels": [-100] * cut + ids[cut:]})
    return out


@pytest.fixture(scope="module")
def batch(examples):
    rows = packing.pack(examples, CAPACITY)
    return rows, packing.collate(rows, pad_token_id=0, length=CAPACITY)


def alone_logits(model, ids):
    model.set_attn_implementation("eager")
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0]


def packed_logits(model, implementation, batch, mask):
    model.set_attn_implementation(implementation)
    with torch.no_grad():
        return model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], attention_mask=mask).logits


def max_error(model, examples, rows, logits) -> float:
    worst = 0.0
    for b, row in enumerate(rows):
        start = 0
        for n in row["seq_lengths"]:
            ids = row["input_ids"][start:start + n]
            (match,) = [e for e in examples if e["input_ids"] == ids]
            worst = max(worst, (logits[b, start:start + n] - alone_logits(model, match["input_ids"])).abs().max().item())
            start += n
    return worst


def test_best_fit_decreasing():
    lengths = [9, 2, 7, 4, 4, 1, 8, 3]
    bins = packing.best_fit_decreasing(lengths, 10)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= 10 for b in bins)
    assert sorted(sorted(lengths[i] for i in b) for b in bins) == [[1, 9], [2, 8], [3, 7], [4, 4]]
    with pytest.raises(ValueError):
        packing.best_fit_decreasing([11], 10)


def test_rows_positions_documents_labels(examples, batch):
    rows, t = batch
    assert sum(len(r["input_ids"]) for r in rows) == sum(LENGTHS)
    assert all(len(r["input_ids"]) <= CAPACITY for r in rows)
    assert len(rows) == 2 and packing.padding_fraction(rows, CAPACITY) == pytest.approx(1 - 59 / 64)
    for b, row in enumerate(rows):
        start = 0
        for doc, n in enumerate(row["seq_lengths"]):
            assert t["position_ids"][b, start:start + n].tolist() == list(range(n))
            assert set(t["document_ids"][b, start:start + n].tolist()) == {doc}
            assert t["labels"][b, start].item() == -100  # never predicted from the previous sequence
            start += n
        assert t["attention_mask"][b].sum().item() == start
        assert (t["labels"][b, start:] == -100).all() and (t["document_ids"][b, start:] == packing.PAD_DOCUMENT).all()
    long = packing.pack([{"input_ids": list(range(40)), "labels": list(range(40))}], CAPACITY)
    assert len(long[0]["input_ids"]) == CAPACITY  # truncated, keeping the start


def test_dense_mask_isolates_sequences(model, examples, batch):
    rows, t = batch
    sdpa = packed_logits(model, "sdpa", t, packing.dense_mask(t["document_ids"]))
    assert max_error(model, examples, rows, sdpa) < 1e-4
    eager = packed_logits(model, "eager", t, packing.dense_mask(t["document_ids"], torch.float32))
    assert max_error(model, examples, rows, eager) < 1e-4


def test_flex_block_mask_isolates_sequences(model, examples, batch):
    """flex_attention runs on CPU here: transformers compiles it with inductor (gcc), ~15 s the
    first time."""
    rows, t = batch
    flex = packed_logits(model, "flex_attention", t, packing.block_mask(t["document_ids"]))
    assert max_error(model, examples, rows, flex) < 1e-4


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
def test_position_ids_alone_do_contaminate(model, examples, batch, implementation):
    """The check can fail: a plain 2D attention mask with per-sequence position ids (what a
    padding-free collator gives a trainer) lets later sequences see earlier ones."""
    rows, t = batch
    naive = packed_logits(model, implementation, t, t["attention_mask"])
    assert max_error(model, examples, rows, naive) > 1e-2
    # no mask at all: transformers 5.24 does not isolate them either
    assert max_error(model, examples, rows, packed_logits(model, implementation, t, None)) > 1e-2


def test_packed_loss_is_token_weighted_loss(model, examples, batch):
    rows, t = batch
    model.set_attn_implementation("sdpa")
    with torch.no_grad():
        packed = model(input_ids=t["input_ids"], position_ids=t["position_ids"], labels=t["labels"],
                       attention_mask=packing.dense_mask(t["document_ids"])).loss.item()
        model.set_attn_implementation("eager")
        total, count = 0.0, 0
        for e in examples:
            n = sum(1 for x in e["labels"][1:] if x != -100)  # labels are shifted: the first is never scored
            loss = model(input_ids=torch.tensor([e["input_ids"]]), labels=torch.tensor([e["labels"]])).loss.item()
            total, count = total + loss * n, count + n
    assert packed == pytest.approx(total / count, rel=1e-5)


@pytest.mark.parametrize("implementation", ["sdpa", "flex_attention"])
def test_document_ids_input_through_peft(model, examples, batch, implementation):
    """What the trainer does: the collator's `document_ids` go in as a model input, through a
    PEFT wrapper; the decoder's pre-hook builds the mask."""
    peft = pytest.importorskip("peft")
    rows, t = batch
    wrapped = peft.get_peft_model(model, peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    handle = packing.enable_document_masking(wrapped)
    try:
        wrapped.base_model.model.set_attn_implementation(implementation)
        with torch.no_grad():
            logits = wrapped(**{k: t[k] for k in ("input_ids", "attention_mask", "position_ids", "document_ids")}).logits
        assert max_error(model, examples, rows, logits) < 1e-4
    finally:
        handle.remove()
        wrapped.unload()


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory):
    """A tiny random model with SmolLM2's tokenizer, and a home with a dataset of 40 synthetic chats."""
    pytest.importorskip("trl")
    from claude_rec.parser.store import Store
    from claude_rec.training import dataset as ds
    from claude_rec.training import fixtures, models

    try:
        base = models.hf_dir(models.resolve_base(None))
    except models.ModelError as exc:
        pytest.skip(str(exc))
    tiny = models.make_tiny(tmp_path_factory.mktemp("tiny") / "tiny", base, hidden=64)
    home = tmp_path_factory.mktemp("home")
    with Store.open(home) as store:
        fixtures.populate(store, 40)
        ds.build(store, ds.default_dir(home))
    return tiny, home


def test_training_with_packing_on_cpu(tiny_home, monkeypatch):
    """The real trainer with packing on (CPU: sdpa with the dense document mask), end to end."""
    from claude_rec.training.train import TrainOptions, train

    tiny, home = tiny_home
    masks = []
    build = packing.attention_mask

    def spy(docs, implementation, dtype=torch.float32):
        masks.append((tuple(docs.shape), implementation, len(set(docs[0].tolist()))))
        return build(docs, implementation, dtype)

    monkeypatch.setattr(packing, "attention_mask", spy)
    lines: list[str] = []
    run = train(home, TrainOptions(base=str(tiny), max_steps=2, batch_size=2, max_length=2048, packing=True,
                                   export=False, promote=False, eval_prompts=1, save_steps=100), echo=lines.append)
    assert run["status"] == "done" and run["steps"] == 2
    info = run["packing"]
    assert info["attention"] == "sdpa (dense 4D mask)" and info["row_tokens"] == 2048
    assert info["examples"] == run["dataset"]["train"] and 0 < info["rows"] < info["examples"]
    assert info["padding"] < 0.3
    assert 0 < run["tokens_seen"] <= 2 * 2 * 2048  # non-padding tokens of 2 steps of 2 rows
    assert all(h["loss"] == h["loss"] and h["loss"] > 0 for h in run["history"])  # finite
    assert any(f"packed into {info['rows']} rows of 2048 tokens" in line for line in lines)
    # every training forward got the document mask (not only the 2D padding mask)
    assert len(masks) == 2 and all(shape[0] == 2 and impl == "sdpa" and docs >= 2 for shape, impl, docs in masks)
    assert (home / "models" / run["id"] / "adapter" / "adapter_config.json").is_file()
