"""`claude-rec train` under `accelerate launch` with 2 processes on CPU (DDP over gloo), unchanged:
a tiny random model (2 layers, hidden 64) with SmolLM2's real tokenizer, 2 steps, packing on.
Both ranks train (the run record lists them), rank 0 alone writes the run (one run folder,
one adapter) and evaluates it.

Note: accelerate 1.15's `--cpu` flag selects its single-process launcher (several CPU processes
need mpirun there); `--multi_gpu --num_processes 2` runs torchrun, which on a machine without
CUDA gives a gloo process group on CPU."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("accelerate")

from claude_rec.parser.store import Store  # noqa: E402
from claude_rec.training import dataset as ds  # noqa: E402
from claude_rec.training import fixtures, models  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_train_under_accelerate_launch_two_processes(tmp_path, isolated_home):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this checks CPU processes (gloo); with CUDA, accelerate would place them on GPUs")
    try:
        base = models.hf_dir(models.resolve_base(None))
    except models.ModelError as exc:
        pytest.skip(str(exc))
    tiny = models.make_tiny(tmp_path / "tiny", base, hidden=64)
    with Store.open(isolated_home) as store:
        fixtures.populate(store, 40)
        ds.build(store, ds.default_dir(isolated_home))
    user = tmp_path / "user"
    user.mkdir()
    env = dict(os.environ, HOME=str(user), CLAUDE_REC_HOME=str(isolated_home), CLAUDE_CONFIG_DIR=str(user / ".claude"),
               CLAUDE_REC_CACHE=str(base.parent.parent), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    claude_rec = str(Path(sys.executable).parent / "claude-rec")
    argv = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
            "--main_process_port", str(free_port()),
            claude_rec, "train", "--base", str(tiny), "--no-build", "--max-steps", "2", "--batch-size", "2",
            "--max-length", "256", "--save-steps", "1", "--no-export", "--packing"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]

    runs = [p for p in (isolated_home / "models").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1, runs  # rank 1 did not start a run of its own
    run = json.loads((runs[0] / "run.json").read_text())
    assert run["status"] == "done" and run["steps"] == 2 and run["world_size"] == 2
    assert sorted(p["rank"] for p in run["processes"]) == [0, 1]
    assert len({p["pid"] for p in run["processes"]}) == 2 and all(p["steps"] == 2 for p in run["processes"])
    assert run["packing"]["rows"] > 0
    assert (runs[0] / "adapter" / "adapter_model.safetensors").is_file()
    assert sorted(p.name for p in (runs[0] / "checkpoints").glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    assert output.count("training " + run["id"]) == 1  # rank 0 speaks for the run
    assert "2 processes" in output and "Traceback" not in output
    assert (isolated_home / "models" / "current").resolve() == runs[0].resolve()
