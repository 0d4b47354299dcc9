"""The whole training pipeline: a tiny random model (2 layers, hidden 256, SmolLM2's real tokenizer)
through LoRA SFT, evaluation, merge, GGUF, quantization and llama.cpp; bad input; resume.
Marked slow: the embedded SmolLM2 for a few steps must learn to call tools."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("llama_cpp")

from transformers import TrainerCallback  # noqa: E402

from claude_rec.parser.store import Store  # noqa: E402
from claude_rec.training import dataset as ds  # noqa: E402
from claude_rec.training import evaluate as ev  # noqa: E402
from claude_rec.training import export as ex  # noqa: E402
from claude_rec.training import fixtures, models  # noqa: E402
from claude_rec.training.train import TrainError, TrainOptions, load_run, train  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = models.resolve_base(None)
    return models.make_tiny(tmp_path_factory.mktemp("tiny") / "tiny", models.hf_dir(base))


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with Store.open(home) as store:
        for log in sorted(SAMPLES.glob("*.session.jsonl")):
            store.ingest_log(log)
        fixtures.populate(store, 40)
        ds.build(store, ds.default_dir(home))
    return home


def test_tiny_model_whole_pipeline(tiny, home):
    run = train(home, TrainOptions(base=str(tiny), max_steps=3, eval_prompts=3, save_steps=2), echo=lambda s: None)
    run_dir = home / "models" / run["id"]
    on_disk = json.loads((run_dir / "run.json").read_text())
    assert on_disk["status"] == "done" and on_disk["steps"] == 3
    for key in ("base", "dataset", "options", "device", "train_loss", "tokens_per_s", "history", "eval", "export"):
        assert key in on_disk, key
    assert on_disk["eval"]["base"]["val_loss"] > 0 and on_disk["eval"]["tuned"]["prompts"] == 3
    assert (run_dir / "adapter" / "adapter_config.json").is_file()
    q = on_disk["export"]["quantized"]
    assert q["type"] == "Q4_K_M" and Path(q["path"]).is_file()  # 256-wide: K-quants fit
    assert Path(on_disk["export"]["f16"]).is_file() and Path(on_disk["export"]["adapter_gguf"]).is_file()
    assert "generation" in on_disk["export"]
    assert (run_dir / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert "next-call accuracy" in (run_dir / "report.txt").read_text()
    modelfile = (run_dir / "Modelfile").read_text()
    assert modelfile.startswith("FROM ./gguf/model.Q4_K_M.gguf") and 'PARAMETER stop "<|im_end|>"' in modelfile
    assert "<|im_start|>{{ .Role }}" in modelfile
    assert "ADAPTER ./gguf/adapter.f16.gguf" in (run_dir / "Modelfile.adapter").read_text()
    assert on_disk["current"] is True and (home / "models" / "current").resolve() == run_dir.resolve()
    # base + adapter GGUF loads in llama.cpp too
    base_gguf = Path(on_disk["export"]["f16"]).with_name("base.f16.gguf")
    llm = ex.load_llama(base_gguf, lora=Path(on_disk["export"]["adapter_gguf"]))
    assert isinstance(ex.generate(llm, [{"role": "user", "content": "hi"}], max_tokens=4), str)


def test_interrupted_run_resumes(tiny, home):
    class Interrupt(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 2:
                raise KeyboardInterrupt

    current_before = (home / "models" / "current").resolve() if (home / "models" / "current").exists() else None
    with pytest.raises(TrainError, match="interrupted: resume with"):
        train(home, TrainOptions(base=str(tiny), max_steps=3, save_steps=1, eval_prompts=1, export=False),
              echo=lambda s: None, callbacks=(Interrupt(),))
    run_dir = max((home / "models").glob("2*"), key=os.path.getmtime)
    assert load_run(run_dir)["status"] == "interrupted"
    assert (run_dir / "checkpoints" / "checkpoint-1").is_dir()
    if current_before:  # an interrupted run never becomes current
        assert (home / "models" / "current").resolve() == current_before
    lines = []
    run = train(home, resume=run_dir.name, echo=lines.append)
    assert run["status"] == "done" and run["steps"] == 3
    assert any("resuming from checkpoint-1" in line for line in lines)


def test_bad_base_and_small_dataset(tmp_path, home):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(models.ModelError, match="not a model"):
        train(home, TrainOptions(base=str(junk)))
    (tmp_path / "empty").mkdir()
    with pytest.raises(models.ModelError, match="no config.json"):
        train(home, TrainOptions(base=str(tmp_path / "empty")))
    with pytest.raises(models.ModelError, match="no such file"):
        train(home, TrainOptions(base=str(tmp_path / "missing")))
    with pytest.raises(ds.DatasetError, match="dataset build"):
        train(home, TrainOptions(dataset_dir=str(tmp_path / "nothing")))


def test_cli_bad_base_is_one_line(tmp_path, home):
    from click.testing import CliRunner

    from claude_rec.recorder.cli import cli
    r = CliRunner().invoke(cli, ["--home", str(home), "train", "--base", str(tmp_path / "missing")])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.strip().count("\n") == 0 and "no such file" in r.output


@pytest.mark.slow
def test_embedded_model_learns_to_call_tools(home):
    """The demo's recipe (fixtures.RECIPE: LoRA on all linear layers, a few dozen steps) on the
    embedded SmolLM2: the quantized GGUF, in llama.cpp, calls the right tool with the right key
    argument on held-out prompts (validation sessions, arguments no training example has); the
    base model does not."""
    run = train(home, TrainOptions(**fixtures.RECIPE, eval_prompts=4, promote=False), echo=print)
    base, tuned, quant = run["eval"]["base"], run["eval"]["tuned"], run["eval"]["quantized"]
    assert tuned["val_loss"] < base["val_loss"]
    assert run["export"]["quantized"]["type"] == "Q8_0"  # 576 is not a multiple of 256
    assert quant["tool_call_rate"] >= tuned["tool_call_rate"] - 1 / quant["prompts"]  # survives quantization

    train_rows = ds.load(ds.default_dir(home), "train")
    synthetic = {fixtures.session_id_of(i) for i in range(40)}
    held_out = [r for r in ds.load(ds.default_dir(home), "validation") if r["session_id"] in synthetic]
    prompts = ev.unseen(ev.call_prompts(held_out), train_rows)
    assert len(prompts) >= 8 and not {r["session_id"] for r in held_out} & {r["session_id"] for r in train_rows}
    tuned_q = ev.evaluate_gguf(Path(run["export"]["quantized"]["path"]), prompts)
    base_q = ev.evaluate_gguf(Path(run["base"]["path"]), prompts)  # the embedded GGUF, untuned
    for sample in tuned_q["samples"]:
        print(f"{sample['prompt']!r:45} -> {sample['reply'].splitlines()[-1][:150]!r}")
    print(f"held-out prompts: {len(prompts)}; base GGUF {base_q['tool_call_rate']:.2f} / "
          f"{base_q['next_call_accuracy']:.2f}, tuned Q8_0 {tuned_q['tool_call_rate']:.2f} / "
          f"{tuned_q['next_call_accuracy']:.2f} (tool-call rate / next-call accuracy)")
    assert base_q["next_call_accuracy"] <= 0.2
    assert tuned_q["tool_call_rate"] >= 0.9
    # Measured here: 0.42 to 0.50 on unseen arguments after the recipe's 24 steps (a 40-step GPU
    # sweep reached 0.94); the bar is set below that, well above the base.
    assert tuned_q["next_call_accuracy"] >= 0.3 and tuned_q["next_call_accuracy"] >= base_q["next_call_accuracy"] + 0.25
