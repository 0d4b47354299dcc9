"""The engine starts a real training (a tiny model) when the threshold is reached, and
`status` shows the model it made."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_rec.parser.store import Store  # noqa: E402
from claude_rec.training import fixtures, models  # noqa: E402
from conftest import CLAUDE_REC  # noqa: E402
from test_engine import configure, rec, status, wait_for  # noqa: E402

pytestmark = pytest.mark.slow


def test_threshold_reached_training_runs_and_status_shows_the_model(env: dict, isolated_home: Path,
                                                                     tmp_path: Path) -> None:
    tiny = models.make_tiny(tmp_path / "tiny", models.hf_dir(models.resolve_base(None)))
    with Store.open(isolated_home) as store:
        fixtures.populate(store, 12)  # traces from earlier days
    configure(isolated_home, min_traces=1, train_after_new_traces=1, scan_every_seconds=1,
              train_command=[CLAUDE_REC, "train", "--base", str(tiny), "--max-steps", "2", "--save-steps", "1"])
    env["CLAUDE_REC_CACHE"] = str(models.cache_dir())  # the test's HOME is a sandbox: keep the real cache
    try:
        rec(env, "start")
        assert rec(env, "run", "--exec", "echo", "--", "one more session").returncode == 0
        wait_for(lambda: status(env)["training"]["running"], "a training to start", limit=60)
        wait_for(lambda: status(env)["training"]["last_ok"] is not None, "the training to end", limit=600)
        state = status(env)
        assert state["training"]["last_ok"] is True, (isolated_home / "logs" / "training.log").read_text()[-2000:]
        model = state["model"]
        assert model and model["status"] == "done" and Path(model["path"]).is_dir()
        assert json.loads((Path(model["path"]) / "run.json").read_text())["export"]["quantized"]["path"]
        assert state["dataset"]["train"] >= 1 and state["dataset"]["privacy"] == "privacy scan: clean"
        shown = rec(env, "status").stdout
        assert f"model       {model['path']}" in shown and "dataset     " in shown
    finally:
        rec(env, "stop", "--timeout", "120")
