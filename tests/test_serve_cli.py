"""End to end: the real Claude Code CLI, recorded by `claude-rec run`, talking to
`claude-rec serve` (ANTHROPIC_BASE_URL) with models the training pipeline produced:
- the tiny-model pipeline run: a prompt is answered on the CLI's screen, without an API error;
- a model trained to call tools: the CLI runs the call the model makes, and the result goes
  back to the model in the next request (the ids checked in the CLI's own session log).
Slow (training first, then a real agent loop on 2 cores); CI runs it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("trl")

from claude_rec.parser.store import Store  # noqa: E402
from claude_rec.training import dataset as ds  # noqa: E402
from claude_rec.training import fixtures, models  # noqa: E402
from claude_rec.training.train import TrainOptions, train  # noqa: E402
from harness import cli_install  # noqa: E402
from harness.driver import squash  # noqa: E402
from harness.serve_driver import LocalServer, ServeDriver, scenario  # noqa: E402

pytestmark = pytest.mark.slow
VERSION = cli_install.versions()[-1]  # the newest pinned CLI


@pytest.fixture(scope="module")
def claude_bin() -> Path:
    found = cli_install.find_claude(VERSION)
    if found is None:
        pytest.fail(f"claude {VERSION} is not installed: run .ci/install-claude-cli")
    return found


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """The training pipeline on a tiny random model (real tokenizer): its run folder."""
    home = tmp_path_factory.mktemp("tiny-home")
    tiny = models.make_tiny(tmp_path_factory.mktemp("tiny") / "tiny", models.hf_dir(models.resolve_base(None)))
    with Store.open(home) as store:
        fixtures.populate(store, 12)
        ds.build(store, ds.default_dir(home))
    run = train(home, TrainOptions(base=str(tiny), max_steps=2, eval_prompts=1, save_steps=10), echo=lambda s: None)
    assert run["status"] == "done"
    return home / "models" / run["id"]


def session_entries(home: Path) -> list[dict]:
    entries = []
    for path in sorted((home / ".claude" / "projects").glob("**/*.jsonl")):
        entries += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return entries


def test_cli_answered_by_the_pipelines_model(tiny_run, claude_bin, tmp_path):
    rec_home = tmp_path / "serve-home"
    server = LocalServer(tiny_run, tmp_path / "server", home=rec_home, extra=["--max-tokens-cap", "24"]).start()
    try:
        result = ServeDriver(scenario("serve-tiny", ["hello there, what is in this folder?"]), claude_bin,
                             tmp_path / "run", server=server).run()
    finally:
        server.stop()
    screen = squash(result.output)
    assert result.exit_status == 0, server.log()
    assert "APIError" not in screen and "API Error" not in result.output, server.log()
    assert "hellothere,whatisinthisfolder?" in screen
    answers = server.answers()
    assert any(tools > 0 for tools, _ in answers), server.log()  # the main loop, with Claude Code's tools
    # the CLI's own log has the model's answer, under the model name the server gave
    assistant = [e for e in session_entries(result.home) if e.get("type") == "assistant"]
    assert assistant and assistant[-1]["message"]["model"].startswith("claude-rec/")
    # and the store has the exchange, tied to the CLI's session
    session_id = assistant[-1]["sessionId"]
    with Store.open(rec_home) as store:
        rows = store.served(500)
    assert any(r["client_session"] == session_id for r in rows), [r["client_session"] for r in rows]
    assert result.cast.stat().st_size > 0  # recorded by claude-rec run as usual


@pytest.fixture(scope="module")
def tool_model(tmp_path_factory) -> Path:
    """The run folder of the embedded model tuned to call tools the way the synthetic sessions do
    (served from its quantized GGUF, listing only the tools of its training data)."""
    return fixtures.tool_calling_model(tmp_path_factory.mktemp("tool-home")).parent.parent


def content_blocks(entries: list[dict], role: str, kind: str) -> list[dict]:
    return [b for e in entries if e.get("type") == role and isinstance(e["message"].get("content"), list)
            for b in e["message"]["content"] if isinstance(b, dict) and b.get("type") == kind]


def test_cli_runs_the_tool_call_the_local_model_makes(tool_model, claude_bin, tmp_path):
    rec_home = tmp_path / "serve-home"
    files = {"alpha_notes.py": "print('alpha')\n", "beta_data.txt": "beta\n"}
    server = LocalServer(tool_model, tmp_path / "server", home=rec_home, extra=["--max-tokens-cap", "160"]).start()
    try:
        result = ServeDriver(scenario("serve-tools", ["list the files in this folder"], files=files), claude_bin,
                             tmp_path / "run", server=server).run()
    finally:
        server.stop()
    assert result.exit_status == 0, server.log()
    assert "API Error" not in result.output, server.log()
    assert any(stop == "tool_use" for _, stop in server.answers()), server.log()
    # The CLI's own log: the call it ran is the model's, and its result answers that call's id.
    entries = session_entries(result.home)
    uses = content_blocks(entries, "assistant", "tool_use")
    results = content_blocks(entries, "user", "tool_result")
    assert uses and uses[0]["name"] == "Bash" and uses[0]["input"]["command"].split()[0] == "ls", uses
    assert uses[0]["id"].startswith("toolu_")
    first = next(r for r in results if r["tool_use_id"] == uses[0]["id"])
    listing = first["content"] if isinstance(first["content"], str) else json.dumps(first["content"])
    assert "alpha_notes.py" in listing and "beta_data.txt" in listing
    # ... and the listing went back to the model, in a tool turn of the next request.
    with Store.open(rec_home) as store:
        prompts = [json.loads(r["prompt"]) for r in store.served(500)]
    tool_turns = [m["content"] for p in prompts for m in p if m["role"] == "tool"]
    assert any("alpha_notes.py" in t and t.startswith(ds.RESULT_OPEN) for t in tool_turns), tool_turns
    # the user saw it: the CLI draws an `ls` as "Listed 1 directory" (older versions: "Bash(ls)")
    screen = squash(result.output)
    assert "Listed1director" in screen or "Bash(ls" in screen, screen[-1500:]
