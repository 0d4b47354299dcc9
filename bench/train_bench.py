"""Benchmark: a short LoRA fine-tune of the embedded SmolLM2-135M on synthetic tool-call chats.

    .venv/bin/python bench/train_bench.py [--steps 6] [--base PATH] [--json]

Prints training tokens/s (non-padding tokens, after the first step's warm-up), seconds per
step and the process's peak resident memory. Baseline on the 2-core CPU machine (reference):
about 110-130 tokens/s, 2.3 GB (SmolLM2-135M, r=16 on q,k,v,o, batch 4, fp32).
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--base", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from transformers import TrainerCallback

    from claude_rec.parser.store import Store
    from claude_rec.training import dataset as ds
    from claude_rec.training import fixtures
    from claude_rec.training.train import TrainOptions, train

    marks: list[tuple[int, float, int]] = []

    class Clock(TrainerCallback):
        def on_step_end(self, a, state, control, **kw):
            marks.append((state.global_step, time.monotonic(), state.num_input_tokens_seen))

    with tempfile.TemporaryDirectory(prefix="claude-rec-bench-") as tmp:
        home = Path(tmp)
        with Store.open(home) as store:
            fixtures.populate(store, 48)
            ds.build(store, ds.default_dir(home))
        run = train(home, TrainOptions(base=args.base, max_steps=args.steps, export=False, promote=False,
                                       eval_prompts=1, save_steps=10_000),
                    echo=lambda line: print(line, file=sys.stderr), callbacks=(Clock(),))
    if len(marks) >= 2:
        (s0, t0, k0), (s1, t1, k1) = marks[0], marks[-1]
        rate, per_step = (k1 - k0) / (t1 - t0), (t1 - t0) / (s1 - s0)
    else:
        rate, per_step = run.get("tokens_per_s"), run.get("seconds")
    result = {"base": run["base"]["name"], "steps": run["steps"], "device": run["device"],
              "precision": run["precision"], "tokens_per_s": round(rate, 1), "s_per_step": round(per_step, 2),
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['base']}: {result['tokens_per_s']} tokens/s, {result['s_per_step']} s/step, "
              f"peak {result['peak_rss_mb']} MB ({result['device']} {result['precision']}, {result['steps']} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
