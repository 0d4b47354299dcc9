"""The training dataset: from the store to examples in the claude-rec tool-call format (no torch needed)."""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from claude_rec.parser.store import Store
from claude_rec.recorder.cli import cli
from claude_rec.training import dataset as ds
from claude_rec.training import evaluate as ev
from claude_rec.training import fixtures

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "home")
    for log in sorted(SAMPLES.glob("*.session.jsonl")):
        s.ingest_log(log)
    for cast in sorted(SAMPLES.glob("*.cast")):
        s.ingest_recording(cast)
    yield s
    s.close()


def test_fixtures_are_deterministic(tmp_path):
    a = fixtures.write_logs(tmp_path / "a", 10)
    b = fixtures.write_logs(tmp_path / "b", 10)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert len({p.name for p in a}) == 10


def test_sample_sessions_use_the_log_and_exact_inputs(store):
    examples, skipped, _ = ds.examples_from_store(store)
    assert len(examples) == 3 and all(e.source == "log" for e in examples)
    edit = next(e for e in examples if e.session_id.startswith("b6b2"))
    roles = [m["role"] for m in edit.messages]
    assert roles[:3] == ["system", "user", "assistant"] and "tool" in roles and roles[-1] == "assistant"
    calls = [c for m in edit.messages if m["role"] == "assistant" for c in ds.parse_calls(m["content"])]
    assert [c["name"] for c in calls] == ["Read", "Edit", "Write", "Bash"]
    assert calls[3]["arguments"]["command"] == "python3 hello.py && python3 test_hello.py"
    assert "old_string" in calls[1]["arguments"]  # the full input, from the log
    assert [t["function"]["name"] for t in edit.tools] == ["Bash", "Edit", "Read", "Write"]
    assert "<tools>" in edit.messages[0]["content"]
    # the first assistant turn: its text, then the call, in the documented format
    first = edit.messages[2]["content"]
    assert first.startswith("I'll read hello.py first.\n<tool_call>{\"name\": \"Read\", \"arguments\": ")
    results = [m["content"] for m in edit.messages if m["role"] == "tool"]
    assert results[0].startswith('<tool_response>{"name": "Read", "is_error": false}\n')
    rejected = next(e for e in examples if e.session_id.startswith("1826"))
    assert any('"is_error": true' in m["content"] for m in rejected.messages if m["role"] == "tool")


def test_screen_only_session_rebuilds_inputs():
    session = {"items": [
        {"type": "message", "source": "screen", "seq": 0, "role": "user", "kind": "prompt", "text": "run it"},
        {"type": "tool_call", "source": "screen", "seq": 1, "name": "Bash", "input": None,
         "key_arg": "python3 x.py", "result": "ok", "is_error": False},
        {"type": "message", "source": "screen", "seq": 2, "role": "assistant", "kind": "text", "text": "Done."},
    ]}
    messages, tools, source = ds.session_turns(session)
    assert source == "screen"
    assert ds.parse_calls(messages[1]["content"]) == [{"name": "Bash", "arguments": {"command": "python3 x.py"}}]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]


def test_truncate_keeps_head_and_tail():
    text = "a" * 5000 + "END"
    out = ds.truncate(text, 1000)
    assert len(out) < 1100 and out.startswith("aaa") and out.endswith("END") and "omitted" in out
    assert ds.truncate("short", 1000) == "short"


def test_windows_split_long_sessions_at_turns():
    messages = []
    for i in range(6):
        messages += [{"role": "user", "content": f"q{i} " + "x" * 400},
                     {"role": "assistant", "content": f"a{i} " + "y" * 400}]
    wins = ds.windows(messages, 2000)
    assert len(wins) == 3 and all(w[0]["role"] == "user" for w in wins)
    assert sum(len(w) for w in wins) == len(messages)


def test_build_split_dedup_and_export(store, tmp_path):
    fixtures.populate(store, 40)
    out = ds.default_dir(store.home)
    result = ds.build(store, out)
    assert result.train + result.validation >= 40 and result.validation >= 1
    rows = ds.load(out, "train") + ds.load(out, "validation")
    assert len({json.dumps(r["messages"]) for r in rows}) == len(rows)  # deduplicated
    for r in rows:  # split by session: deterministic
        assert r["split"] == ds.split_of(r["session_id"]) or r["split"] == "validation"
    again = ds.build(store, out)
    assert (again.train, again.validation) == (result.train, result.validation)
    paths = ds.export(out, tmp_path / "exp")
    names = {p.name for p in paths}
    assert {"train.trl.jsonl", "validation.sharegpt.jsonl", "dataset_info.json"} <= names
    trl = [json.loads(l) for l in (tmp_path / "exp" / "train.trl.jsonl").read_text().splitlines()]
    assert set(trl[0]) == {"messages", "tools"} and trl[0]["tools"][0]["type"] == "function"
    for line in (tmp_path / "exp" / "train.sharegpt.jsonl").read_text().splitlines():
        row = json.loads(line)
        tags = [c["from"] for c in row["conversations"]]
        assert tags[0] == "human" and tags[-1] in ("gpt", "function_call")
        for i, tag in enumerate(tags):  # LLaMA-Factory's alternation
            assert (tag in ("gpt", "function_call")) == (i % 2 == 1)
        for c in row["conversations"]:
            if c["from"] == "function_call":
                assert "name" in json.loads(c["value"])
        assert isinstance(json.loads(row["tools"]), list)


def test_held_out_fixture_sessions_ask_for_arguments_no_training_session_has(tmp_path):
    with Store.open(tmp_path / "home") as store:
        fixtures.populate(store, 40)
        out = ds.default_dir(store.home)
        ds.build(store, out)
    train_rows, val_rows = ds.load(out, "train"), ds.load(out, "validation")
    assert not {r["session_id"] for r in train_rows} & {r["session_id"] for r in val_rows}
    prompts = ev.call_prompts(val_rows)
    constant = {"ls", "git status --short"}  # the same call whatever the project
    varying = [(p, e) for p, e in prompts if ds.key_argument(e["arguments"])[1] not in constant]
    assert len(varying) >= 8 and ev.unseen(prompts, train_rows) == varying
    for p, e in prompts:  # the key argument can be read off the request
        value = ds.key_argument(e["arguments"])[1]
        request = p[-1]["content"]
        assert e["name"] in p[0]["content"]  # the system turn lists the tool
        if e["name"] in ("Read", "Write", "Edit"):
            assert value.startswith(fixtures.CWD + "/") and value[len(fixtures.CWD) + 1:] in request
        elif e["name"] == "Glob":
            assert value.removeprefix("**/*") in request
        elif e["name"] == "Grep":
            assert value in request
        elif value not in constant:
            assert value.split()[-2 if value.endswith(" -q") else -1] in request


def test_next_call_accuracy_compares_the_tool_and_its_key_argument():
    want = {"name": "Bash", "arguments": {"command": "ls src", "description": "List src"}}
    assert ev.same_call(want, {"name": "Bash", "arguments": {"description": "other", "command": " ls src "}})
    assert not ev.same_call(want, {"name": "Bash", "arguments": {"command": "ls"}})
    assert not ev.same_call(want, {"name": "Read", "arguments": {"command": "ls src"}})
    assert not ev.same_call(want, None)
    # the expected key argument is looked up in the reply, whatever other key arguments it has
    grep = {"name": "Grep", "arguments": {"pattern": "retry", "path": "/p"}}
    assert ev.same_call(grep, {"name": "Grep", "arguments": {"path": "/elsewhere", "pattern": "retry"}})
    # no key argument: all arguments, key order and spacing aside
    todo = {"name": "TodoWrite", "arguments": {"todos": [{"a": 1, "b": 2}]}}
    assert ev.same_call(todo, {"name": "TodoWrite", "arguments": {"todos": [{"b": 2, "a": 1}]}})
    replies = ['Listing src.\n<tool_call>{"name": "Bash", "arguments": {"command": "ls src"}}</tool_call>',
               '<tool_call>{"name": "Bash", "arguments": {"command": "ls"}}</tool_call>', "I can't.",
               '<tool_call>{"name": "Bash", "arguments": {"command": "ls src"</tool_call>']  # malformed
    assert ev.score(replies, [want] * 4) == {"prompts": 4, "tool_call_rate": 0.5, "next_call_accuracy": 0.25}


def test_too_small_dataset_is_refused(tmp_path):
    s = Store.open(tmp_path / "home")
    with pytest.raises(ds.DatasetError, match="usable example"):
        ds.build(s, ds.default_dir(s.home))
    assert not ds.default_dir(s.home).exists()
    s.close()


def test_privacy_findings_refuse_the_build(store, monkeypatch):
    fixtures.populate(store, 10)
    module = types.ModuleType("claude_rec.parser.scan")
    module.scan_dataset = lambda path: ["aws key in " + str(path)]
    monkeypatch.setitem(sys.modules, "claude_rec.parser.scan", module)
    out = ds.default_dir(store.home)
    with pytest.raises(ds.DatasetError, match="privacy scan found 1"):
        ds.build(store, out)
    assert not out.exists() and not out.with_name(out.name + ".tmp").exists()
    module.scan_dataset = lambda path: []
    assert "clean" in ds.build(store, out).privacy


def test_real_privacy_scan_is_clean_on_samples(store):
    fixtures.populate(store, 10)
    result = ds.build(store, ds.default_dir(store.home))
    assert "clean" in result.privacy or "not available" in result.privacy


def test_cli_dataset_build_and_export(tmp_path):
    home = tmp_path / "home"
    runner = CliRunner()
    empty = runner.invoke(cli, ["--home", str(home), "dataset", "build"])
    assert empty.exit_code == 1 and "usable example" in empty.output and "Traceback" not in empty.output
    r = runner.invoke(cli, ["--home", str(home), "dataset", "build", "--fixtures", "12"])
    assert r.exit_code == 0, r.output
    assert "train" in r.output
    r = runner.invoke(cli, ["--home", str(home), "dataset", "export", "--format", "trl"])
    assert r.exit_code == 0 and "train.trl.jsonl" in r.output


def test_the_users_home_host_and_name_stay_out_of_datasets(tmp_path):
    import getpass
    import socket

    from claude_rec.parser.model import Message, ParsedSession, ToolCall, ToolResult
    from claude_rec.parser.store import Store
    from claude_rec.training import dataset as ds

    home_dir = str(Path.home())
    who, host = getpass.getuser(), socket.gethostname()
    with Store.open(tmp_path / "home") as store:
        for i in range(6):
            store._upsert_session({"id": f"s{i}", "status": "ingested", "ingested_at": "now"})
            with store.write():
                store._replace_content(f"s{i}", "log", ParsedSession(f"s{i}", [
                    Message("user", "prompt", f"list {home_dir}/project{i} on {host} as {who}", source="log"),
                    ToolCall("Bash", input={"command": f"ls {home_dir}/project{i}"}, source="log",
                             result=ToolResult(f"{home_dir}/project{i}/a.py", source="log")),
                    Message("assistant", "text", f"Listed project {i}.", source="log")]))
        result = ds.build(store, ds.default_dir(store.home))
    text = "".join(p.read_text() for p in result.directory.glob("*.jsonl"))
    assert home_dir not in text and "~/project0" in text
    # Names too short or too common to replace without wrecking ordinary text ("vm", "root")
    # are left alone by redact_identity; others must be gone.
    if len(host) >= 3:
        assert f" on {host} " not in text
    from claude_rec.parser.redact import _COMMON_USERS

    if len(who) >= 3 and who not in _COMMON_USERS:
        assert f" as {who}" not in text
