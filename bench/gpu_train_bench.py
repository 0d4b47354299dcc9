"""GPU benchmark: LoRA fine-tuning on variable-length data, padded batches vs packed rows.

    python3 bench/gpu_train_bench.py --out DIR          # one CUDA GPU, from the repository root
    python3 bench/gpu_train_bench.py --tiny --out DIR   # the same code on CPU, tiny model, short data

Needs torch (with flex attention), transformers and peft; not trl, not claude_rec: the packing
code is loaded by file path from training/packing.py. Nothing is downloaded.

Model: Llama-3.2-1B's shape (hidden 2048, 16 layers, 32 heads, 8 KV heads, MLP 8192, vocab
128256, tied embeddings, rope theta 500000), random weights, bf16 on cuda; LoRA r=16 on every
linear layer (peft), activation checkpointing, AdamW. Data: 96 sequences of random tokens,
lognormal lengths (median ~1,631, sigma 0.8, clipped to 8,192; seeded), loss on every token.

Phases, each a couple of warm-up steps (every distinct shape compiled before the clock starts),
then one timed epoch over the whole data set with torch.cuda.synchronize around it:
  contamination  packed logits vs each sequence alone (small fp32 model, flex and dense masks)
  a padded       batches of 4 in arrival order, sdpa (the baseline)
  b packed-flex  rows of --row-tokens, best-fit decreasing, flex-attention document BlockMask
  c grouped      batches of 4 sorted by length (batch order shuffled), sdpa
  d packed-dense the same rows as b, dense 4D block-diagonal mask under sdpa
Figures: useful (non-padding) tokens/s, padding fraction, peak GPU memory; ratio b/a (target
>= 2.5). Every phase is guarded: one failing still lets the others print. A time budget
(--budget-s) skips the optional phases c and d when the clock runs short. Results go to
DIR/gpu_train_bench.json (rewritten after every phase) and a table to stdout.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", flush=True)


def load_packing():
    path = ROOT / "training" / "packing.py"
    spec = importlib.util.spec_from_file_location("claude_rec_packing", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def lengths(n: int, median: int, sigma: float, longest: int, shortest: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [max(shortest, min(longest, int(rng.lognormvariate(math.log(median), sigma)))) for _ in range(n)]


def set_attention(model, implementation: str) -> None:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        base.set_attn_implementation(implementation)
    except Exception:  # noqa: BLE001 - older transformers: set the config field
        for module in base.modules():
            config = getattr(module, "config", None)
            if config is not None and hasattr(config, "_attn_implementation"):
                config._attn_implementation = implementation


class Bench:
    def __init__(self, args):
        import torch
        self.torch = torch
        self.args = args
        self.pk = load_packing()
        self.device = torch.device("cpu" if args.tiny else "cuda")
        self.dtype = torch.float32 if args.tiny else torch.bfloat16
        self.results: dict = {"phases": {}, "errors": {}}
        self.model = None
        self.optimizer = None

    # ------------------------------------------------------------------ setup
    def config(self, small: bool = False):
        from transformers import LlamaConfig
        if self.args.tiny or small:
            return LlamaConfig(vocab_size=1000, hidden_size=128 if small else 64, intermediate_size=256,
                               num_hidden_layers=2, num_attention_heads=4 if small else 4, num_key_value_heads=2,
                               max_position_embeddings=16384, rope_theta=500000.0, tie_word_embeddings=True)
        return LlamaConfig(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                           num_attention_heads=32, num_key_value_heads=8, head_dim=64,
                           max_position_embeddings=131072, rope_theta=500000.0, tie_word_embeddings=True,
                           rms_norm_eps=1e-5)

    def build_model(self):
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM
        torch.manual_seed(0)
        with torch.device(self.device):
            model = AutoModelForCausalLM.from_config(self.config(), attn_implementation="sdpa", dtype=self.dtype)
        model.config.use_cache = False
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear",
                                                 task_type="CAUSAL_LM"))
        model.train()
        trainable = [p for p in model.parameters() if p.requires_grad]
        kwargs = {"fused": True} if self.device.type == "cuda" else {}
        self.optimizer = torch.optim.AdamW(trainable, lr=1e-4, **kwargs)
        self.model = model
        n_all = sum(p.numel() for p in model.parameters())
        n_train = sum(p.numel() for p in trainable)
        self.results["model"] = {"parameters": n_all, "trainable": n_train, "dtype": str(self.dtype),
                                 "activation_checkpointing": True, "lora": "r=16, all linear layers"}
        log(f"model: {n_all / 1e6:.0f}M parameters, {n_train / 1e6:.1f}M trainable (LoRA), {self.dtype}")

    def data(self):
        a = self.args
        if a.tiny:
            lens = lengths(16, 48, 0.8, 256, 8, a.seed)
        else:
            lens = lengths(a.sequences, 1631, 0.8, 8192, 32, a.seed)
        g = self.torch.Generator().manual_seed(a.seed)
        vocab = self.config().vocab_size
        self.seqs = [self.torch.randint(0, vocab, (n,), generator=g).tolist() for n in lens]
        self.row_tokens = 256 if a.tiny else a.row_tokens
        self.results["data"] = {"sequences": len(lens), "tokens": sum(lens), "median": sorted(lens)[len(lens) // 2],
                                "max": max(lens), "min": min(lens), "row_tokens": self.row_tokens}
        log(f"data: {len(lens)} sequences, {sum(lens)} tokens, median {sorted(lens)[len(lens) // 2]}, max {max(lens)}")

    # ------------------------------------------------------------------ batches
    def padded_batches(self, order: list[int]) -> list[dict]:
        torch = self.torch
        batches = []
        for i in range(0, len(order), self.args.batch):
            group = [self.seqs[j] for j in order[i:i + self.args.batch]]
            width = max(len(s) for s in group)
            ids = torch.zeros((len(group), width), dtype=torch.long)
            labels = torch.full((len(group), width), -100, dtype=torch.long)
            mask = torch.zeros((len(group), width), dtype=torch.long)
            for b, s in enumerate(group):
                ids[b, :len(s)] = torch.tensor(s)
                labels[b, :len(s)] = torch.tensor(s)
                mask[b, :len(s)] = 1
            batches.append({"input_ids": ids, "labels": labels, "attention_mask": mask})
        return batches

    def packed_batches(self) -> list[dict]:
        rows = self.pk.pack([{"input_ids": s, "labels": s} for s in self.seqs], self.row_tokens)
        per = self.args.rows_per_step
        return [self.pk.collate(rows[i:i + per], pad_token_id=0, length=self.row_tokens)
                for i in range(0, len(rows), per)]

    # ------------------------------------------------------------------ steps
    def step(self, batch: dict, mask_kind: str) -> None:
        torch = self.torch
        dev = self.device
        inputs = {"input_ids": batch["input_ids"].to(dev, non_blocking=True),
                  "labels": batch["labels"].to(dev, non_blocking=True)}
        if mask_kind == "padding":
            inputs["attention_mask"] = batch["attention_mask"].to(dev, non_blocking=True)
        else:
            docs = batch["document_ids"].to(dev, non_blocking=True)
            inputs["position_ids"] = batch["position_ids"].to(dev, non_blocking=True)
            inputs["attention_mask"] = self.pk.block_mask(docs) if mask_kind == "flex" else self.pk.dense_mask(docs)
        if mask_kind == "flex" and dev.type == "cpu":
            # torch has no flex-attention backward on CPU ("FlexAttention does not support backward on
            # CPU"): the --tiny dry run checks the forward path only
            with torch.no_grad():
                return self.model(**inputs).loss
        loss = self.model(**inputs).loss
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss

    def sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()

    def run_phase(self, name: str, batches: list[dict], attention: str, mask_kind: str, note: str) -> None:
        torch = self.torch
        set_attention(self.model, attention)
        # warm-up: a couple of steps, and one of every distinct shape when shapes are fixed (compilation)
        shapes = {}
        for b in batches:
            shapes.setdefault(tuple(b["input_ids"].shape), b)
        warm = list(shapes.values()) if len(shapes) <= 3 else batches[:self.args.warmup]
        warm = (warm * self.args.warmup)[:max(self.args.warmup, len(warm))]
        t = time.monotonic()
        for b in warm:
            self.step(b, mask_kind)
        self.sync()
        warm_s = time.monotonic() - t
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        useful = sum(int(b["attention_mask"].sum()) for b in batches)
        positions = sum(b["input_ids"].numel() for b in batches)
        self.sync()
        t = time.monotonic()
        last = None
        for b in batches:
            last = self.step(b, mask_kind)
        self.sync()
        seconds = time.monotonic() - t
        peak = torch.cuda.max_memory_allocated() / 2**30 if self.device.type == "cuda" else None
        result = {"note": note, "attention": attention, "steps": len(batches), "seconds": round(seconds, 2),
                  "useful_tokens": useful, "positions": positions, "useful_tokens_per_s": round(useful / seconds, 1),
                  "padding": round(1 - useful / positions, 4), "peak_gib": round(peak, 2) if peak else None,
                  "warmup_steps": len(warm), "warmup_s": round(warm_s, 1), "last_loss": round(float(last), 4)}
        self.results["phases"][name] = result
        log(f"{name}: {result['useful_tokens_per_s']:,.0f} useful tokens/s, padding {result['padding']:.0%}, "
            f"peak {result['peak_gib']} GiB, {len(batches)} steps in {seconds:.1f} s (warm-up {warm_s:.1f} s)")

    # ------------------------------------------------------------------ contamination
    def contamination(self) -> None:
        """Packed logits vs each sequence alone, on the benchmark's device: a small fp32 model."""
        torch = self.torch
        from transformers import AutoModelForCausalLM
        torch.manual_seed(1)
        with torch.device(self.device):
            model = AutoModelForCausalLM.from_config(self.config(small=True), attn_implementation="eager",
                                                     dtype=torch.float32).eval()
        g = torch.Generator().manual_seed(2)
        seqs = [torch.randint(0, 1000, (n,), generator=g).tolist() for n in (37, 120, 64, 300, 9, 200)]
        rows = self.pk.pack([{"input_ids": s} for s in seqs], 512)
        batch = self.pk.collate(rows, pad_token_id=0, length=512)
        batch = {k: v.to(self.device) for k, v in batch.items()}
        errors = {}
        with torch.no_grad():
            alone = {tuple(s): model(input_ids=torch.tensor([s], device=self.device)).logits[0] for s in seqs}

            def worst(logits):
                out = 0.0
                for b, row in enumerate(rows):
                    start = 0
                    for n in row["seq_lengths"]:
                        key = tuple(row["input_ids"][start:start + n])
                        out = max(out, (logits[b, start:start + n] - alone[key]).abs().max().item())
                        start += n
                return out
            common = {"input_ids": batch["input_ids"], "position_ids": batch["position_ids"]}
            for name, impl, mask in (
                    ("flex_blockmask", "flex_attention", lambda: self.pk.block_mask(batch["document_ids"])),
                    ("sdpa_dense", "sdpa", lambda: self.pk.dense_mask(batch["document_ids"])),
                    ("sdpa_position_ids_only", "sdpa", lambda: batch["attention_mask"])):
                try:
                    model.set_attn_implementation(impl)
                    errors[name] = worst(model(**common, attention_mask=mask()).logits)
                except Exception as exc:  # noqa: BLE001
                    errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        scale = max(v.abs().max().item() for v in alone.values())
        ok = all(isinstance(errors.get(k), float) and errors[k] < 1e-3 * max(1.0, scale)
                 for k in ("flex_blockmask", "sdpa_dense"))
        naive = errors.get("sdpa_position_ids_only")
        self.results["contamination"] = {"max_abs_error": errors, "logit_scale": round(scale, 3),
                                         "isolated": ok, "naive_differs": isinstance(naive, float) and naive > 1e-2}
        log(f"contamination (fp32, small model, {len(seqs)} sequences in {len(rows)} rows): "
            + ", ".join(f"{k} {v:.2e}" if isinstance(v, float) else f"{k} {v}" for k, v in errors.items())
            + f" -> {'ISOLATED' if ok else 'NOT ISOLATED'}, naive packing {'differs' if self.results['contamination']['naive_differs'] else 'does NOT differ'}")
        del model

    # ------------------------------------------------------------------ main
    def save(self) -> None:
        out = Path(self.args.out)
        out.mkdir(parents=True, exist_ok=True)
        self.results["elapsed_s"] = round(time.monotonic() - T0, 1)
        (out / "gpu_train_bench.json").write_text(json.dumps(self.results, indent=2, default=str))

    def guarded(self, name: str, func, *args) -> bool:
        try:
            func(*args)
            return True
        except Exception as exc:  # noqa: BLE001 - every phase is independent
            self.results["errors"][name] = f"{type(exc).__name__}: {exc}"[:2000]
            log(f"{name} FAILED: {type(exc).__name__}: {str(exc)[:500]}")
            traceback.print_exc(limit=6)
            if self.device.type == "cuda":
                self.torch.cuda.empty_cache()
            return False
        finally:
            self.save()

    def main(self) -> None:
        import torch
        import transformers
        versions = {"python": platform.python_version(), "torch": torch.__version__,
                    "transformers": transformers.__version__}
        try:
            import peft
            versions["peft"] = peft.__version__
        except ImportError:
            versions["peft"] = None
        versions["cuda"] = torch.version.cuda
        versions["device"] = torch.cuda.get_device_name(0) if self.device.type == "cuda" else platform.processor() or "cpu"
        self.results["versions"] = versions
        self.results["args"] = vars(self.args)
        log("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = False  # fp32 contamination check at full precision
        try:  # one static compilation per shape (the packed rows all share one), no dynamic-shape kernels
            import torch._dynamo
            torch._dynamo.config.automatic_dynamic_shapes = False
            torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 32)
        except Exception:  # noqa: BLE001
            pass
        self.guarded("contamination", self.contamination)
        if not self.guarded("setup", lambda: (self.data(), self.build_model())):
            return
        budget = self.args.budget_s
        order = list(range(len(self.seqs)))
        phases = [
            ("a_padded", lambda: self.padded_batches(order), "sdpa", "padding",
             f"padded batches of {self.args.batch}, arrival order", True),
            ("b_packed_flex", self.packed_batches, "flex_attention", "flex",
             f"packed rows of {self.row_tokens}, flex-attention document BlockMask", True),
            ("c_grouped", lambda: self.padded_batches(self.grouped_order()), "sdpa", "padding",
             f"padded batches of {self.args.batch}, grouped by length", False),
            ("d_packed_dense", self.packed_batches, "sdpa", "dense",
             f"packed rows of {self.row_tokens}, dense 4D mask (sdpa)", False),
        ]
        for name, make, attention, mask_kind, note, required in phases:
            spent = time.monotonic() - T0
            done = [p["seconds"] + p["warmup_s"] for p in self.results["phases"].values()]
            estimate = max(done) * 1.3 if done else 0
            if not required and spent + estimate > budget:
                log(f"{name}: skipped ({spent:.0f} s spent, about {estimate:.0f} s more would pass the {budget} s budget)")
                self.results["phases"][name] = {"note": note, "skipped": "time budget"}
                continue
            self.guarded(name, lambda: self.run_phase(name, make(), attention, mask_kind, note))
        self.report()

    def grouped_order(self) -> list[int]:
        order = sorted(range(len(self.seqs)), key=lambda i: len(self.seqs[i]))
        groups = [order[i:i + self.args.batch] for i in range(0, len(order), self.args.batch)]
        random.Random(self.args.seed).shuffle(groups)
        return [i for g in groups for i in g]

    def report(self) -> None:
        phases = self.results["phases"]
        print()
        print("| phase | batching | useful tokens/s | padding | peak GPU memory | steps | s |")
        print("|---|---|---|---|---|---|---|")
        for name, p in phases.items():
            if "useful_tokens_per_s" in p:
                peak = f"{p['peak_gib']} GiB" if p["peak_gib"] is not None else "-"
                print(f"| {name} | {p['note']} | {p['useful_tokens_per_s']:,.0f} | {p['padding']:.0%} | {peak} | "
                      f"{p['steps']} | {p['seconds']} |")
            else:
                print(f"| {name} | {p.get('note')} | {p.get('skipped') or 'failed'} | | | | |")
        a, b = phases.get("a_padded", {}), phases.get("b_packed_flex", {})
        if "useful_tokens_per_s" in a and "useful_tokens_per_s" in b:
            ratio = b["useful_tokens_per_s"] / a["useful_tokens_per_s"]
            self.results["ratio_packed_flex_over_padded"] = round(ratio, 2)
            print(f"\npacked (flex) / padded (arrival order): {ratio:.2f}x  (target >= 2.5x: "
                  f"{'met' if ratio >= 2.5 else 'NOT met'})")
        c = self.results.get("contamination")
        if c:
            print(f"contamination check: {'isolated' if c['isolated'] else 'NOT isolated'}; "
                  f"max abs errors {c['max_abs_error']}")
        for name, error in self.results["errors"].items():
            print(f"error in {name}: {error.splitlines()[0][:300]}")
        self.save()
        print(f"\nresults: {Path(self.args.out) / 'gpu_train_bench.json'} ({time.monotonic() - T0:.0f} s in all)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.environ.get("OUT", "."), help="folder for gpu_train_bench.json")
    parser.add_argument("--tiny", action="store_true", help="CPU, tiny model, short sequences (a dry run)")
    parser.add_argument("--sequences", type=int, default=96)
    parser.add_argument("--batch", type=int, default=4, help="sequences per padded batch")
    parser.add_argument("--row-tokens", type=int, default=8192, help="tokens per packed row")
    parser.add_argument("--rows-per-step", type=int, default=1, help="packed rows per step")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-s", type=float, default=300.0,
                        help="skip the optional phases (c, d) when they would end past this many seconds")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    if not args.tiny and not torch.cuda.is_available():
        print("no CUDA device: run with --tiny for the CPU dry run", file=sys.stderr)
        return 2
    Bench(args).main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
