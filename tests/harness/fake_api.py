"""A fake Anthropic Messages API on 127.0.0.1 that replays a scenario to the real Claude Code CLI.

`POST /v1/messages` streams Server-Sent Events the way the real API does (message_start,
ping, content_block_start, content_block_delta with text_delta / input_json_delta,
content_block_stop, message_delta with stop_reason and usage, message_stop), or answers
one JSON message when the request has `"stream": false`.

Which assistant turn to send is worked out from the request itself, not from a counter,
so a retried request gets the same answer:
- the prompt is the latest scenario prompt whose text appears in a user message;
- the turn is one past the turn that produced the last tool_use id answered by a
  tool_result after that prompt (tool_use ids are assigned here, so they are known).

Small side requests (title / topic generation, quota probes, classifiers, ...) are
recognised by the absence of `tools` in the request and get a short answer without
consuming a scenario turn. `HEAD /`, `count_tokens` and anything unknown get a sensible
answer. Every request is appended to a JSONL log.
"""
from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOLD_TIMEOUT = 60.0  # a held turn goes on by itself after this long (the driver failed)


@dataclass
class Served:
    """One scenario turn the fake API has streamed (or started streaming)."""

    prompt: int
    turn: int
    finished: bool = False


@dataclass
class ScenarioState:
    """What the driver can wait on: the turns served, the held turn, errors."""

    cond: threading.Condition = field(default_factory=threading.Condition)
    served: list[Served] = field(default_factory=list)
    held: tuple[int, int] | None = None  # (prompt, turn) currently paused mid-stream
    release: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)
    side_requests: int = 0
    main_requests: int = 0


def tool_use_id(prompt: int, turn: int, block: int) -> str:
    # Real ids look like toolu_01AbC...; the CLI does not care about the shape.
    return f"toolu_fake_p{prompt}t{turn}b{block}"


_ID_RE = re.compile(r"^toolu_fake_p(\d+)t(\d+)b(\d+)$")


def _chunks(text: str, size: int) -> list[str]:
    if not text:
        return [""]
    return [text[i:i + size] for i in range(0, len(text), size)]


def _json_chunks(obj: Any, parts: int = 3) -> list[str]:
    """The JSON of a tool input split into `parts` partial deltas (as the real API does)."""
    text = json.dumps(obj, ensure_ascii=False)
    step = max(1, -(-len(text) // parts))
    return [""] + [text[i:i + step] for i in range(0, len(text), step)]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    out = []
    for block in content or []:
        if isinstance(block, dict) and block.get("type") == "text":
            out.append(block.get("text", ""))
    return "\n".join(out)


def _system_text(body: dict) -> str:
    system = body.get("system")
    if isinstance(system, list):
        return "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
    return system or ""


class FakeAPI:
    """Serve `scenario` (a dict, see tests/harness/README.md) on 127.0.0.1:<free port>."""

    def __init__(self, scenario: dict, log_path: Path, *, delay: float = 0.004,
                 model: str = "claude-sonnet-4-5-20250929") -> None:
        self.scenario = scenario
        self.prompts: list[dict] = scenario["prompts"]
        self.log_path = Path(log_path)
        self.delay = delay  # between SSE events, so the CLI renders a real stream
        self.model = model
        self.state = ScenarioState()
        self._log_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> "FakeAPI":
        api = self

        class Handler(_Handler):
            fake = api

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-api",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "FakeAPI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what the driver waits on ---------------------------------------------------------
    def wait_for(self, predicate, timeout: float) -> bool:
        with self.state.cond:
            return self.state.cond.wait_for(lambda: predicate(self.state), timeout)

    def finished(self, prompt: int, turn: int) -> bool:
        return any(s.prompt == prompt and s.turn == turn and s.finished for s in self.state.served)

    def release_hold(self) -> None:
        self.state.release.set()

    # -- logging --------------------------------------------------------------------------
    def log(self, entry: dict) -> None:
        entry = {"t": round(time.time(), 3), **entry}
        with self._log_lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def requests(self) -> list[dict]:
        if not self.log_path.exists():
            return []
        with open(self.log_path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    # -- choosing the answer --------------------------------------------------------------
    def locate(self, body: dict) -> tuple[int, int] | None:
        """(prompt, turn) the request `body` asks for, or None when it matches no prompt."""
        messages = body.get("messages") or []
        prompt_index, message_index = None, None
        for i in range(len(self.prompts) - 1, -1, -1):
            needle = self.prompts[i]["text"].strip()
            for m in range(len(messages) - 1, -1, -1):
                msg = messages[m]
                if msg.get("role") == "user" and needle in _text_of(msg.get("content")):
                    prompt_index, message_index = i, m
                    break
            if prompt_index is not None:
                break
        if prompt_index is None:
            return None
        turn = 0
        for msg in messages[message_index:]:
            content = msg.get("content")
            if msg.get("role") != "user" or not isinstance(content, list):
                continue
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    match = _ID_RE.match(str(block.get("tool_use_id", "")))
                    if match and int(match.group(1)) == prompt_index:
                        turn = max(turn, int(match.group(2)) + 1)
        return prompt_index, turn

    def is_side_request(self, body: dict) -> bool:
        return not body.get("tools")

    def message_for(self, prompt: int, turn: int) -> dict:
        """The full assistant message (as the non-streaming API would return it)."""
        turns = self.prompts[prompt].get("turns", [])
        if turn >= len(turns):
            self.state.errors.append(f"prompt {prompt} asked for turn {turn} but has {len(turns)}")
            content = [{"type": "text", "text": "(fake API: the scenario has no more turns)"}]
            spec: dict = {}
        else:
            spec = turns[turn]
            content = []
            for b, block in enumerate(spec["content"]):
                # Only API fields: scenario-only keys (permission, error, ...) stay here.
                if block["type"] == "tool_use":
                    block = {"type": "tool_use", "id": block.get("id") or tool_use_id(prompt, turn, b),
                             "name": block["name"], "input": block.get("input", {})}
                elif block["type"] == "text":
                    block = {"type": "text", "text": block["text"]}
                content.append(dict(block))
        stop = spec.get("stop_reason") or (
            "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn")
        return self._message(content, stop, spec.get("output_tokens"))

    def side_message(self, body: dict) -> dict:
        """A short answer to a request that is not a scenario turn."""
        system = _system_text(body).lower()
        last = body.get("messages", [{}])[-1] if body.get("messages") else {}
        wants_json = "json" in system or "output_format" in body or "title" in system
        if "title" in system or "topic" in system:
            text = json.dumps({"title": "Fake session", "isNewTopic": False})
        elif wants_json:
            text = json.dumps({"title": "Fake session", "result": "ok"})
        elif last and "quota" in _text_of(last.get("content")).lower():
            text = "ok"
        else:
            text = "ok"
        return self._message([{"type": "text", "text": text}], "end_turn", None)

    def _message(self, content: list[dict], stop_reason: str, output_tokens: int | None) -> dict:
        with self.state.cond:
            n = self.state.main_requests + self.state.side_requests
        words = sum(len(json.dumps(b).split()) for b in content)
        return {
            "id": f"msg_fake{n:04d}{int(time.time() * 1000) % 100000:05d}",
            "type": "message", "role": "assistant", "model": self.model,
            "content": content, "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": 1200, "output_tokens": output_tokens or max(1, words),
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        }


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAPI
    protocol_version = "HTTP/1.1"
    server_version = "fake-anthropic/1.0"

    def log_message(self, *args: Any) -> None:  # quiet: everything goes to the JSONL log
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, obj: Any, head_only: bool = False) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_fake")
        self.end_headers()
        if not head_only:
            self.wfile.write(data)

    def do_HEAD(self) -> None:
        self.fake.log({"method": "HEAD", "path": self.path})
        self._send_json(200, {}, head_only=True)

    def do_GET(self) -> None:
        self.fake.log({"method": "GET", "path": self.path})
        if self.path.split("?")[0].rstrip("/") == "/v1/models":
            self._send_json(200, {"data": [{"id": self.fake.model, "type": "model"}], "has_more": False})
        else:
            self._send_json(200, {})

    def do_POST(self) -> None:
        raw = self._body()
        path = self.path.split("?")[0]
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        entry: dict[str, Any] = {"method": "POST", "path": self.path,
                                 "beta": self.headers.get("anthropic-beta")}
        if path.endswith("/count_tokens"):
            self.fake.log({**entry, "kind": "count_tokens"})
            self._send_json(200, {"input_tokens": 1200})
            return
        if path != "/v1/messages":
            self.fake.log({**entry, "kind": "unknown", "body": body})
            self._send_json(200, {})
            return
        state = self.fake.state
        stream = bool(body.get("stream"))
        summary = {"stream": stream, "model": body.get("model"), "tools": len(body.get("tools") or []),
                   "tool_names": [t.get("name") for t in body.get("tools") or []],
                   "system": _system_text(body)[:300],
                   "messages": len(body.get("messages") or []),
                   "last_message": (body.get("messages") or [None])[-1]}
        where = None if self.fake.is_side_request(body) else self.fake.locate(body)
        if where is None:
            with state.cond:
                state.side_requests += 1
            message = self.fake.side_message(body)
            self.fake.log({**entry, "kind": "side", **summary,
                           "answer": message["content"][0]["text"]})
            self._reply(message, stream, None)
            return
        prompt, turn = where
        with state.cond:
            state.main_requests += 1
            record = Served(prompt, turn)
            state.served.append(record)
            state.cond.notify_all()
        message = self.fake.message_for(prompt, turn)
        self.fake.log({**entry, "kind": "turn", "prompt": prompt, "turn": turn, **summary})
        spec = self.fake.prompts[prompt].get("turns", [{}])
        hold = turn < len(spec) and spec[turn].get("hold")
        try:
            self._reply(message, stream, (prompt, turn) if hold else None)
        finally:
            with state.cond:
                record.finished = True
                state.cond.notify_all()

    # -- answers ----------------------------------------------------------------------------
    def _reply(self, message: dict, stream: bool, hold: tuple[int, int] | None) -> None:
        if not stream:
            self._send_json(200, message)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("request-id", "req_fake")
        self.end_headers()
        try:
            for event in self._events(message, hold):
                self._chunk(event)
                if self.fake.delay:
                    time.sleep(self.fake.delay)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.fake.log({"kind": "client_gone"})

    def _chunk(self, event: tuple[str, dict] | None) -> None:
        if event is None:
            return
        name, data = event
        payload = f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()

    def _events(self, message: dict, hold: tuple[int, int] | None):
        start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
                 "usage": {**message["usage"], "output_tokens": 1}}
        yield "message_start", {"type": "message_start", "message": start}
        yield "ping", {"type": "ping"}
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                yield "content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": {"type": "text", "text": ""}}
                pieces = _chunks(block["text"], 24)
                for n, piece in enumerate(pieces):
                    yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "text_delta", "text": piece}}
                    if hold and n == len(pieces) // 2:
                        yield from self._hold(hold)
                        hold = None
            elif block["type"] == "tool_use":
                yield "content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": {"type": "tool_use", "id": block["id"],
                                                                "name": block["name"], "input": {}}}
                for piece in _json_chunks(block["input"]):
                    yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "input_json_delta",
                                                            "partial_json": piece}}
            elif block["type"] == "thinking":
                yield "content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": {"type": "thinking", "thinking": "",
                                                                "signature": ""}}
                for piece in _chunks(block["thinking"], 24):
                    yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "thinking_delta", "thinking": piece}}
                yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "signature_delta",
                                                        "signature": block.get("signature", "fakesig")}}
            yield "content_block_stop", {"type": "content_block_stop", "index": index}
        yield "message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                "usage": {"output_tokens": message["usage"]["output_tokens"]}}
        yield "message_stop", {"type": "message_stop"}

    def _hold(self, where: tuple[int, int]):
        """Pause mid-stream until the driver releases the turn (e.g. after a resize)."""
        state = self.fake.state
        with state.cond:
            state.held = where
            state.cond.notify_all()
        if not state.release.wait(HOLD_TIMEOUT):
            state.errors.append(f"turn {where} was held for {HOLD_TIMEOUT:.0f}s and never released")
        with state.cond:
            state.held = None
            state.cond.notify_all()
        state.release.clear()
        return
        yield  # a generator that yields nothing
