"""End to end: the real Claude Code CLI, recorded by `claude-rec run`, against a fake API.

Each scenario in tests/scenarios/ runs against each pinned CLI version (installed by
.ci/install-claude-cli, which .ci/setup runs; a version that is not installed fails).
See tests/harness/README.md.
"""
from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from harness import cli_install
from harness.driver import (Driver, Result, ScenarioTimeout, Timeouts, load_scenario, prepare, scenario_names,
                            scripted_tool_uses, squash)
from harness.fake_api import FakeAPI
from claude_rec.parser.store import Store
from harness.transcript_checks import check_transcript
from tmux_oracle import tmux_render

SCENARIOS = scenario_names()
VERSIONS = cli_install.versions()


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(params=VERSIONS)
def claude_bin(request) -> Path:
    version = request.param
    found = cli_install.find_claude(version)
    if found is None:
        pytest.fail(f"claude {version} is not installed: run .ci/install-claude-cli (cache {cli_install.cache_dir()})")
    return found


@pytest.fixture(params=SCENARIOS)
def scenario(request, tmp_path) -> dict:
    return prepare(load_scenario(request.param), tmp_path)


@pytest.fixture
def fake_api(scenario, tmp_path):
    api = FakeAPI(scenario, tmp_path / "api.jsonl").start()
    try:
        yield api
    finally:
        api.stop()


def processes_under(directory: Path) -> list[str]:
    """Processes whose working directory is inside `directory` (what a run may leave behind)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cwd = Path(os.readlink(f"/proc/{entry}/cwd"))
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if cwd == directory or directory in cwd.parents:
                found.append(f"{entry}: {cmdline.strip()}")
    return found


# -- the end-to-end test -------------------------------------------------------------------------
@pytest.mark.slow
def test_scenario(scenario, claude_bin, fake_api, tmp_path) -> None:
    session = Driver(scenario, claude_bin, tmp_path, api=fake_api).run()
    assert not processes_under(tmp_path), f"processes left running: {processes_under(tmp_path)}"
    assert not session.api_errors, f"the fake API saw unexpected requests: {session.api_errors}"
    assert session.exit_status == 0, f"claude-rec exited {session.exit_status} (signal {session.signal_status})"
    events = check_cast(session.cast, scenario)
    check_meta(session.meta)
    check_session_log(session, scenario)
    check_output(events, scenario)
    check_transcript(session.cast, scenario, tmux_render)
    check_screen_against_log(session, tmp_path / "store-home")
    check_hooks(session, scenario)


def check_hooks(session: Result, scenario: dict) -> None:
    """claude-rec's hooks logged the session (id, prompts, every tool call with its input),
    and the user's own hooks still ran."""
    path = session.cast.with_name(session.cast.name.removesuffix(".cast") + ".hooks.jsonl")
    assert path.is_file(), "claude-rec's hooks never ran"
    events = [json.loads(line) for line in path.read_text().splitlines()]
    names = [event.get("hook_event_name") for event in events]
    assert "UserPromptSubmit" in names and all(event.get("session_id") for event in events), names
    logged = [(e["tool_name"], e.get("tool_input")) for e in events if e.get("hook_event_name") == "PreToolUse"]
    for _, block in scripted_tool_uses(scenario):
        if block.get("error"):
            continue  # a call refused at validation (an Edit whose text is not there) fires no hook
        assert any(name == block["name"] and all(tool_input.get(k) == v for k, v in block["input"].items())
                   for name, tool_input in logged), f"no PreToolUse hook event for {block['name']}"
    if "hooks" in scenario.get("settings", {}):
        assert (session.home / "user-hook.log").is_file(), "the user's own hook did not run beside ours"


def check_screen_against_log(session: Result, home: Path) -> None:
    """The parser's accuracy target: every prompt exact, and the tool calls the screen drew
    match the log's by name and key argument, in order, with none invented."""
    with Store.open(home) as store:
        for log in session.session_logs():
            assert store.ingest_log(log).status == "ingested"
        ingested = store.ingest_recording(session.cast)
        assert ingested.status == "ingested", ingested.line()
        assert ingested.sessions, "the recording was not linked to its session log"
        result = store.reconciliation(ingested.sessions[0])
    assert result is not None, "no reconciliation: the screen parser stored nothing"
    assert result["screen_only"] == [], f"on screen but not in the log: {result['screen_only']}"
    assert result["match_rate"] >= 0.98
    assert not [item for item in result["log_only"] if item["kind"] == "prompt"], result["log_only"]


def check_cast(path: Path, scenario: dict) -> list[list]:
    """A valid asciicast v2 file; returns its events."""
    assert path.is_file(), f"no recording at {path}"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines, "the recording is empty"
    header = json.loads(lines[0])
    assert isinstance(header, dict) and header.get("version") == 2, f"bad header {lines[0][:200]}"
    assert isinstance(header.get("width"), int) and isinstance(header.get("height"), int)
    assert [header["width"], header["height"]] == scenario["size"]
    events, last = [], 0.0
    for n, line in enumerate(lines[1:], start=2):
        event = json.loads(line)
        assert isinstance(event, list) and len(event) == 3, f"line {n}: not [time, code, data]: {line[:200]}"
        t, code, data = event
        assert isinstance(t, (int, float)) and t >= last, f"line {n}: time {t} goes back from {last}"
        assert code in ("o", "i", "r", "m") and isinstance(data, str), f"line {n}: {line[:200]}"
        last = t
        events.append(event)
    assert any(code == "o" for _, code, _ in events), "no output recorded"
    resizes = [data for _, code, data in events if code == "r"]
    expected = [f"{turn['resize'][0]}x{turn['resize'][1]}" for p in scenario["prompts"]
                for turn in p["turns"] if turn.get("resize")]
    expected += [f"{p['resize_before'][0]}x{p['resize_before'][1]}" for p in scenario["prompts"]
                 if p.get("resize_before")]
    assert sorted(resizes) == sorted(expected), f"resize events {resizes}, expected {expected}"
    return events


def check_meta(path: Path) -> None:
    assert path.is_file(), f"no sidecar at {path}"
    meta = json.loads(path.read_text())
    assert meta.get("complete") is True, f"recording not complete: {meta}"
    assert meta.get("exit_status") == 0, f"exit_status {meta.get('exit_status')}: {meta}"
    for key in ("id", "started", "ended", "cwd", "command", "args"):
        assert key in meta, f"sidecar lacks {key}: {meta}"


def check_session_log(session: Result, scenario: dict) -> None:
    """Claude Code's own log holds the prompts and the scripted tool calls and their results."""
    logs = session.session_logs()
    assert logs, f"no session log under {session.home / '.claude' / 'projects'}"
    entries = session.session_entries()
    user_texts, tool_uses, tool_results = [], {}, {}
    for entry in entries:
        message = entry.get("message")
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            if entry.get("type") == "user":
                user_texts.append(content)
            continue
        for block in content or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and entry.get("type") == "user":
                user_texts.append(block.get("text", ""))
            elif block.get("type") == "tool_use":
                tool_uses[block.get("id")] = block
            elif block.get("type") == "tool_result":
                tool_results.setdefault(block.get("tool_use_id"), block)
    for prompt in scenario["prompts"]:
        assert any(prompt["text"] in text for text in user_texts), \
            f"prompt {prompt['text']!r} not in the session log {logs}"
    for tool_id, block in scripted_tool_uses(scenario):
        logged = tool_uses.get(tool_id)
        assert logged is not None, f"tool_use {tool_id} ({block['name']}) not in the session log"
        assert logged.get("name") == block["name"]
        for key, value in block.get("input", {}).items():
            assert logged.get("input", {}).get(key) == value, f"{tool_id} input {key}: {logged.get('input')}"
        result = tool_results.get(tool_id)
        assert result is not None, f"no tool_result for {tool_id} ({block['name']})"
        if block.get("error"):
            assert result.get("is_error") is True, f"{tool_id} was expected to fail: {result}"
        else:
            assert result.get("is_error") is not True, f"{tool_id} failed: {result}"


def check_output(events: list[list], scenario: dict) -> None:
    """Each prompt was drawn on the recorded screen (compared without escapes and spaces)."""
    output = squash("".join(data for _, code, data in events if code == "o"))
    for prompt in scenario["prompts"]:
        assert squash(prompt["text"]) in output, f"prompt {prompt['text']!r} not in the recorded output"


# -- fast checks of the harness itself (no CLI needed) ----------------------------------------------
HUNG_CLI = """#!/bin/sh
# Draws an input prompt, then never talks to the API: a CLI that hangs.
printf 'fake cli\\r\\n\\342\\235\\257 '
sleep 600 &
wait
"""


@pytest.mark.slow
@pytest.mark.parametrize("hard", [False, True])
def test_hung_cli_is_killed_with_a_clear_message(tmp_path, hard) -> None:
    fake = tmp_path / "hung-claude"
    fake.write_text(HUNG_CLI)
    fake.chmod(0o755)
    scenario = prepare(load_scenario("bash_read_answer"), tmp_path)
    timeouts = Timeouts(start=10, step=60 if hard else 2, exit=5, hard=4 if hard else 60)
    with FakeAPI(scenario, tmp_path / "api.jsonl") as api:
        with pytest.raises(ScenarioTimeout) as caught:
            Driver(scenario, fake, tmp_path, api=api, timeouts=timeouts).run()
    message = str(caught.value)
    assert "waiting for the CLI to request turn 0 of prompt 0" in message
    assert ("hard timeout (4s)" if hard else "timed out after 2s") in message
    assert "bash_read_answer" in message
    assert not processes_under(tmp_path), f"processes left running: {processes_under(tmp_path)}"


def _post(url: str, body: dict) -> tuple[str, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers.get("content-type"), response.read()


def _sse(raw: bytes) -> list[dict]:
    events = []
    for chunk in raw.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines() if ": " in line)
        if "data" in lines:
            data = json.loads(lines["data"])
            assert data["type"] == lines["event"]
            events.append(data)
    return events


def test_fake_api_streams_scenario_turns(tmp_path) -> None:
    scenario = prepare(load_scenario("bash_read_answer"), tmp_path)
    with FakeAPI(scenario, tmp_path / "api.jsonl", delay=0) as api:
        prompt = scenario["prompts"][0]["text"]
        tools = [{"name": "Bash", "input_schema": {}}]
        kind, raw = _post(api.base_url + "/v1/messages?beta=true", {
            "model": "m", "stream": True, "tools": tools,
            "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}]})
        assert kind.startswith("text/event-stream")
        events = _sse(raw)
        types = [e["type"] for e in events]
        assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
        tool_start = next(e for e in events if e["type"] == "content_block_start"
                          and e["content_block"]["type"] == "tool_use")
        partial = [e["delta"]["partial_json"] for e in events if e["type"] == "content_block_delta"
                   and e["delta"]["type"] == "input_json_delta" and e["index"] == tool_start["index"]]
        assert len([p for p in partial if p]) >= 2
        assert json.loads("".join(partial)) == scenario["prompts"][0]["turns"][0]["content"][1]["input"]
        assert events[-2]["delta"]["stop_reason"] == "tool_use"
        tool_id = tool_start["content_block"]["id"]
        # The tool result of turn 0 asks for turn 1; a retry of it gets the same answer.
        messages = [{"role": "user", "content": prompt},
                    {"role": "assistant", "content": [tool_start["content_block"]]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "x"}]}]
        for _ in range(2):
            _, raw = _post(api.base_url + "/v1/messages", {"model": "m", "tools": tools, "messages": messages})
            message = json.loads(raw)
            assert message["content"][1]["name"] == "Read" and message["stop_reason"] == "tool_use"
        # A side request (no tools) does not consume a turn.
        _, raw = _post(api.base_url + "/v1/messages", {
            "model": "m", "system": "Generate a concise, sentence-case title", "messages": messages[:1]})
        assert "title" in json.loads(json.loads(raw)["content"][0]["text"])
        _, raw = _post(api.base_url + "/v1/messages/count_tokens", {"messages": []})
        assert json.loads(raw)["input_tokens"] > 0
        assert [(s.prompt, s.turn) for s in api.state.served] == [(0, 0), (0, 1), (0, 1)]
        assert not api.state.errors
    kinds = [json.loads(line)["kind"] for line in (tmp_path / "api.jsonl").read_text().splitlines()]
    assert kinds == ["turn", "turn", "turn", "side", "count_tokens"]


def test_scenarios_are_well_formed() -> None:
    exits, fullscreen = set(), 0
    for name in SCENARIOS:
        scenario = load_scenario(name)
        exits.add(scenario["exit"])
        fullscreen += scenario["tui"] == "fullscreen"
        assert scenario["tui"] in ("default", "fullscreen")
        assert scenario["prompts"], name
        for prompt in scenario["prompts"]:
            assert prompt["text"][:1] not in "/!#?&@", f"{name}: a prompt may not start with a command key"
            assert prompt["turns"], name
            for turn in prompt["turns"]:
                for block in turn["content"]:
                    assert block["type"] in ("text", "tool_use", "thinking"), name
    assert exits == {"/exit", "ctrl-c", "ctrl-d"}
    assert fullscreen >= 3
