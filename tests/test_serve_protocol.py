"""`claude-rec serve`, the protocol: translation of requests into the trained format, the
streamed split of the model's text into text and tool_use blocks, and the real server (the
embedded SmolLM2 GGUF in llama.cpp, uvicorn) read by the official `anthropic` SDK."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
anthropic = pytest.importorskip("anthropic")

from claude_rec.training import dataset as ds  # noqa: E402
from claude_rec.training import models  # noqa: E402
from claude_rec.training.serve import prompt as pr  # noqa: E402
from claude_rec.training.serve.app import Reply, ServeConfig, create_app  # noqa: E402
from claude_rec.training.serve.model import Finished, LocalModel, ModelNotFound, chat_template, resolve  # noqa: E402
from claude_rec.training.serve.toolcalls import CallSplitter, Text, ToolUse, split_all  # noqa: E402

from conftest import CLAUDE_REC, child_env  # noqa: E402

BASH = {"name": "Bash", "description": "Executes a given bash command in a persistent shell session. Long text.",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"},
                                                          "timeout": {"type": "number"}}, "required": ["command"]}}
CUSTOM = {"name": "mcp__notes__add", "description": "Add a note to the notebook. It is kept forever.",
          "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}


# ------------------------------------------------------------------------------ translation

def conversation() -> dict:
    return {"model": "claude-local-test", "max_tokens": 100, "tools": [BASH, CUSTOM],
            "system": [{"type": "text", "text": "You are Claude Code. " * 500}],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "<system-reminder>\nCLAUDE.md says things\n</system-reminder>\n"},
                    {"type": "text", "text": "list the files"}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "x"},
                    {"type": "text", "text": "I'll look."},
                    {"type": "tool_use", "id": "toolu_A", "name": "Bash", "input": {"command": "ls", "timeout": 5}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_A", "content": [{"type": "text", "text": "a.py\nb.py"}]},
                    {"type": "text", "text": "<system-reminder>todo list is empty</system-reminder>"}]},
                {"role": "assistant", "content": "Two files."},
                {"role": "user", "content": "thanks"}]}


def test_request_becomes_the_trained_format():
    chat = pr.to_chat(conversation())
    roles = [m["role"] for m in chat.messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]
    system = chat.messages[0]["content"]
    # the dataset's own system prompt and tool lines, not the client's 10 kB one
    assert system.startswith(ds.SYSTEM_PROMPT) and "You are Claude Code. You are" not in system
    assert "Bash(command, timeout?): Run a shell command." in system  # known tool: the dataset's description
    assert "mcp__notes__add(text): Add a note to the notebook." in system  # unknown: its first sentence
    assert ds.TOOL_INSTRUCTIONS in system
    assert chat.messages[1]["content"] == "list the files"  # reminders removed
    assert chat.messages[2]["content"] == "I'll look.\n" + ds.format_call("Bash", {"command": "ls", "timeout": 5})
    assert chat.messages[3]["content"] == ds.format_result("Bash", "a.py\nb.py", False)
    assert chat.tool_names == {"Bash", "mcp__notes__add"}
    # what the dataset parser reads back from the assistant turn is the call as given
    assert ds.parse_calls(chat.messages[2]["content"]) == [{"name": "Bash", "arguments": {"command": "ls", "timeout": 5}}]


def test_system_messages_between_turns_are_not_turns():
    body = conversation()
    body["messages"].insert(1, {"role": "system", "content": "Keep answers short."})
    assert [m["role"] for m in pr.to_chat(body).messages] == ["system", "user", "assistant", "tool", "assistant", "user"]
    client = pr.to_chat(body, system_mode="client")
    assert client.system_messages == 1 and client.messages[0]["content"].endswith("Keep answers short.")


def test_side_requests_without_tools_keep_their_own_instructions():
    body = {"system": "Write a 3-word title for this conversation as JSON {\"title\": ...}.",
            "messages": [{"role": "user", "content": "fix the login bug"}]}
    system = pr.to_chat(body).messages[0]["content"]
    assert system.startswith("Write a 3-word title") and "<tools>" not in system


def test_only_the_tools_the_model_was_trained_on_are_listed():
    body = conversation()
    body["tools"] = [CUSTOM, BASH, {**BASH, "name": "ListAgents"}]
    chat = pr.to_chat(body, known_tools={"Bash", "Read"})
    system = chat.messages[0]["content"]
    assert "Bash(" in system and "ListAgents" not in system and "mcp__notes__add" not in system
    assert chat.unlisted == 2 and chat.tool_names == {"Bash", "ListAgents", "mcp__notes__add"}  # still callable
    # none known among the offered: all are listed, sorted by name as in training
    listed = pr.to_chat(body, known_tools={"Nothing"}).messages[0]["content"]
    assert listed.index("Bash(") < listed.index("ListAgents(") < listed.index("mcp__notes__add(")


def test_client_system_mode_keeps_the_clients_prompt():
    chat = pr.to_chat(conversation(), system_mode="client")
    system = chat.messages[0]["content"]
    assert system.startswith("You are Claude Code. You are Claude Code.") and "<tools>" in system


@pytest.mark.parametrize("body, message", [
    ({"messages": []}, "at least one message"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "role must be"),
    ({"messages": [{"role": "user", "content": 5}]}, "content"),
])
def test_malformed_requests_are_refused_with_the_reason(body, message):
    with pytest.raises(pr.RequestError, match=message):
        pr.to_chat(body)


def test_fit_drops_oldest_turns_then_cuts_results():
    body = {"messages": []}
    for i in range(6):
        body["messages"] += [{"role": "user", "content": f"prompt {i}"},
                             {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Bash",
                                                                "input": {"command": f"cat f{i}"}}]},
                             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}",
                                                           "content": "x" * 1000}]}]
    body["messages"].append({"role": "user", "content": "last"})
    count = lambda messages: sum(len(m["content"]) for m in messages) // 4  # noqa: E731
    chat = pr.to_chat(body)
    full = count(chat.messages)
    size = pr.fit(chat, count, full // 2)
    assert size <= full // 2 and chat.dropped_turns >= 1
    users = [m["content"] for m in chat.messages if m["role"] == "user"]
    assert users[-1] == "last" and "prompt 0" not in users  # the oldest went first, the last stayed
    assert "dropped" in chat.context_note()
    # too small for the last turn alone: results are cut, then the request is refused
    chat = pr.to_chat({"messages": body["messages"][-4:-1]})  # one turn: prompt, call, long result
    with pytest.raises(pr.RequestError, match="prompt is too long"):
        pr.fit(chat, count, 10)
    assert chat.cut


# ------------------------------------------------------------------------------ tool calls

CALL = ds.format_call("Bash", {"command": "ls -la"})


def run_pieces(text: str, size: int, names=frozenset({"Bash"}), stops=None) -> list:
    splitter = CallSplitter(set(names), stops)
    events = []
    for i in range(0, len(text), size):
        events += splitter.feed(text[i:i + size])
    return events + splitter.finish()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_calls_are_found_whatever_the_streaming_pieces(size):
    text = f"I'll list them.\n{CALL}\n{CALL}"
    events = run_pieces(text, size)
    calls = [e for e in events if isinstance(e, ToolUse)]
    assert [(c.name, c.input) for c in calls] == [("Bash", {"command": "ls -la"})] * 2
    assert calls[0].id != calls[1].id and calls[0].id.startswith("toolu_")
    assert "".join(e.text for e in events if isinstance(e, Text)).strip() == "I'll list them."
    assert not any("<tool" in e.text for e in events if isinstance(e, Text))


@pytest.mark.parametrize("bad", [
    '<tool_call>{"name": "Bash", "arguments": {"command": "ls"</tool_call>',   # bad JSON
    '<tool_call>{"arguments": {}}</tool_call>',                                # no name
    '<tool_call>{"name": "Nope", "arguments": {}}</tool_call>',                # not offered
    '<tool_call>{"name": "Bash", "arguments": "ls"}</tool_call>',              # not an object
    '<tool_call>{"name": "Bash", "argu',                                       # cut off
])
def test_malformed_calls_become_text_as_written(bad):
    events = split_all("before " + bad, {"Bash"})
    assert all(isinstance(e, Text) for e in events)
    assert "".join(e.text for e in events) == "before " + bad


def test_a_call_left_open_at_the_end_is_still_a_call():
    events = split_all('<tool_call>{"name": "Bash", "arguments": {"command": "ls"}}')
    assert isinstance(events[-1], ToolUse) and events[-1].input == {"command": "ls"}


@pytest.mark.parametrize("size", [1, 4, 100])
def test_stop_sequences_end_the_text(size):
    splitter_events = run_pieces("one two STOP three", size, stops=["STOP"])
    assert "".join(e.text for e in splitter_events) == "one two "


def test_reply_events_form_a_valid_message():
    reply = Reply("msg_x", "m", 10, CallSplitter({"Bash"}))
    events = reply.start_events()
    for piece in ["\n", "Let me ", "check.\n<tool_", "call>", CALL[len("<tool_call>"):], "\n"]:
        events += reply.feed(piece)
    events += reply.finish(Finished("stop", 12, 10, 0.1, 0.5))
    names = [n for n, _ in events]
    assert names[:2] == ["message_start", "ping"] and names[-2:] == ["message_delta", "message_stop"]
    message = reply.message()
    assert [b["type"] for b in message["content"]] == ["text", "tool_use"]
    assert message["content"][0]["text"] == "Let me check."
    assert message["stop_reason"] == "tool_use" and message["usage"]["output_tokens"] == 12
    # every started block is stopped, at increasing indices
    starts = [d["index"] for n, d in events if n == "content_block_start"]
    stops = [d["index"] for n, d in events if n == "content_block_stop"]
    assert starts == stops == [0, 1]
    partial = "".join(d["delta"]["partial_json"] for n, d in events
                      if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta")
    assert json.loads(partial) == {"command": "ls -la"}


def test_empty_and_cut_off_answers():
    reply = Reply("msg_y", "m", 3, CallSplitter(set()))
    reply.finish(Finished("length", 0, 3, None, 0.1))
    assert reply.message()["content"] == [{"type": "text", "text": ""}]
    assert reply.message()["stop_reason"] == "max_tokens"
    # cut by the server's own cap, below the client's max_tokens: the turn ends (Claude Code
    # would take max_tokens for its own limit and ask again and again)
    capped = Reply("msg_z", "m", 3, CallSplitter(set()), capped=True)
    capped.feed("a long answer")
    capped.finish(Finished("length", 5, 3, 0.1, 0.2))
    assert capped.message()["stop_reason"] == "end_turn" and capped.cut_at_cap


def test_generation_markers_are_removed_from_a_training_template():
    source, template = chat_template(models.TRAINING_TEMPLATE)
    assert "{% generation %}" not in source and "endgeneration" not in source
    text = template.render(messages=[{"role": "user", "content": "hi"}], add_generation_prompt=True)
    assert text.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")


def test_model_resolution_errors_are_one_line(tmp_path):
    with pytest.raises(ModelNotFound, match="no current model"):
        resolve("current", tmp_path)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelNotFound, match="not a GGUF"):
        resolve(str(junk), tmp_path)


# ------------------------------------------------------------------------------ the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_model():
    return LocalModel(models.embedded_gguf(), n_ctx=2048)


@pytest.fixture(scope="module")
def server(base_model, tmp_path_factory):
    """The app on uvicorn in a thread, logging to a store of its own."""
    import uvicorn
    home = tmp_path_factory.mktemp("serve-home")
    lines: list[str] = []
    config = ServeConfig(max_tokens_cap=48, log_home=home, echo=lines.append)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(base_model, config), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield {"url": f"http://127.0.0.1:{port}", "home": home, "lines": lines}
    server.should_exit = True
    thread.join(10)


def client(server) -> "anthropic.Anthropic":
    return anthropic.Anthropic(base_url=server["url"], api_key="anything", max_retries=0, timeout=120)


def test_sdk_reads_a_json_answer(server):
    message = client(server).messages.create(model="claude-local-test", max_tokens=500,
                                             messages=[{"role": "user", "content": "Say hello."}])
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text.strip()
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert 0 < message.usage.output_tokens <= 48  # the server's cap, whatever the client asks
    assert message.usage.input_tokens > 10


def test_sdk_reads_a_stream_and_its_events_in_order(server):
    with client(server).messages.stream(model="claude-local-test", max_tokens=30, tools=[BASH],
                                        messages=[{"role": "user", "content": "Write a haiku about rain."}]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_start" in kinds and "message_delta" in kinds
    text = "".join(b.text for b in final.content if b.type == "text")
    assert text.strip() and final.stop_reason in ("end_turn", "max_tokens", "tool_use")
    assert final.usage.output_tokens <= 30


def test_history_with_tool_results_is_accepted(server):
    body = conversation()
    body["max_tokens"] = 20
    message = client(server).messages.create(**body)
    assert message.content and message.stop_reason in ("end_turn", "max_tokens", "tool_use")


def test_count_tokens_and_models(server):
    c = client(server)
    small = c.messages.count_tokens(model="x", messages=[{"role": "user", "content": "hi"}]).input_tokens
    big = c.messages.count_tokens(model="x", messages=[{"role": "user", "content": "hi " * 200}],
                                  tools=[BASH]).input_tokens
    assert 0 < small < big
    models_page = c.models.list()
    assert models_page.data[0].id.startswith("claude-rec/")


def test_errors_come_in_the_apis_shape(server):
    c = client(server)
    with pytest.raises(anthropic.BadRequestError) as bad:
        c.messages.create(model="x", max_tokens=10, messages=[])
    assert bad.value.body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.NotFoundError):
        c.get("/v1/nothing-here", cast_to=object)


def test_exchanges_are_logged_to_the_store(server):
    from claude_rec.parser.store import Store
    secret = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    client(server).messages.create(model="claude-haiku", max_tokens=5,
                                   messages=[{"role": "user", "content": f"my token is {secret}"}],
                                   metadata={"user_id": "user_abc_account__session_1234-5678"})
    deadline = time.monotonic() + 10
    rows = []
    while time.monotonic() < deadline:
        with Store.open(server["home"]) as store:
            rows = [r for r in store.served() if r["client_session"] == "1234-5678"]
        if rows:
            break
        time.sleep(0.1)
    assert rows, server["lines"]
    row = rows[0]
    assert row["requested_model"] == "claude-haiku" and row["status"] == "ok" and row["input_tokens"] > 0
    assert secret not in row["prompt"] and "REDACTED" in row["prompt"]
    assert json.loads(row["response"])[0]["type"] == "text"
    assert any(line.startswith("POST /v1/messages 200") for line in server["lines"])


def test_serve_refuses_other_hosts_without_a_key_and_prints_env(tmp_path):
    env = child_env()
    env.pop("CLAUDE_REC_SERVE_KEY", None)
    refused = subprocess.run([CLAUDE_REC, "serve", "--host", "0.0.0.0"], capture_output=True, text=True, env=env)
    assert refused.returncode != 0 and "--api-key" in refused.stderr and "Traceback" not in refused.stderr
    printed = subprocess.run([CLAUDE_REC, "serve", "--port", "9911", "--print-env"], capture_output=True,
                             text=True, env=env, check=True).stdout
    assert "export ANTHROPIC_BASE_URL=http://127.0.0.1:9911" in printed
    assert "ANTHROPIC_API_KEY=" in printed and "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1" in printed
    missing = subprocess.run([CLAUDE_REC, "serve", "--model", str(tmp_path / "none.gguf")], capture_output=True,
                             text=True, env=env)
    assert missing.returncode == 1 and "no such model" in missing.stderr and "Traceback" not in missing.stderr


def test_api_key_is_required_when_set(base_model, tmp_path):
    import uvicorn
    port = free_port()
    app = create_app(base_model, ServeConfig(api_key="s3cret-key", max_tokens_cap=4, echo=lambda line: None))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        with pytest.raises(anthropic.AuthenticationError):
            anthropic.Anthropic(base_url=url, api_key="wrong", max_retries=0).messages.create(
                model="x", max_tokens=4, messages=[{"role": "user", "content": "hi"}])
        ok = anthropic.Anthropic(base_url=url, api_key="s3cret-key", max_retries=0).messages.create(
            model="x", max_tokens=4, messages=[{"role": "user", "content": "hi"}])
        assert ok.content
    finally:
        server.should_exit = True
        thread.join(10)


def test_sessions_answered_by_the_local_model_are_not_trained_on(store):
    from claude_rec.training import fixtures
    fixtures.populate(store, 6)
    ids = sorted(r["id"] for r in store.sessions())
    before, _, _ = ds.examples_from_store(store)
    assert ids[0] in {e.session_id for e in before}
    store.log_served({"id": "msg_1", "model": "m", "client_session": ids[0], "stream": 1, "prompt": "[]",
                      "response": "[]", "status": "ok"})
    after, skipped, _ = ds.examples_from_store(store)
    assert ids[0] not in {e.session_id for e in after} and skipped["sessions of the local model"] == 1
    assert {e.session_id for e in after} == {e.session_id for e in before} - {ids[0]}
