"""The ASGI app (Starlette): the Anthropic Messages API over a LocalModel.

Routes: `POST /v1/messages` (SSE when `"stream": true`, else one JSON message),
`POST /v1/messages/count_tokens`, `GET /v1/models[/{id}]`, `GET|HEAD /` and `/health`.
Anything else gets the API's 404 error shape. Errors use the API's error JSON
(`{"type": "error", "error": {"type", "message"}}`); an error after a stream has started is
sent as an SSE `error` event, as the API does.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .model import Finished, LocalModel
from .prompt import Chat, RequestError, dumps, fit, to_chat
from .toolcalls import CallSplitter, Text, ToolUse

DEFAULT_MAX_TOKENS_CAP = 1024  # Claude Code asks for 32000; a small local model needs far fewer
MIN_REPLY_ROOM = 256


@dataclass
class ServeConfig:
    system_mode: str = "trained"            # "trained" | "client" (see prompt.py)
    max_tokens_cap: int = DEFAULT_MAX_TOKENS_CAP
    api_key: str | None = None              # required in x-api-key / Bearer when set
    log_home: Path | None = None            # the store to log exchanges to (None: no logging)
    echo: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))


def error_body(kind: str, message: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(kind, message), status_code=status)


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


class Reply:
    """Splitter events -> the API's content blocks and stream events, for one message."""

    def __init__(self, message_id: str, model: str, input_tokens: int, splitter: CallSplitter,
                 capped: bool = False) -> None:
        self.id, self.model, self.input_tokens = message_id, model, input_tokens
        self.splitter = splitter
        self.capped = capped      # the server's cap, not the client's max_tokens, limits this answer
        self.cut_at_cap = False
        self.finished: Finished | None = None  # set by finish()
        self.stop_reason: str | None = None
        self.output_tokens = 0
        self.content: list[dict] = []
        self.open_text: int | None = None  # index of the text block being streamed
        self.held_space = ""               # whitespace waiting for a visible character

    def start_events(self) -> list[tuple[str, dict]]:
        message = {"id": self.id, "type": "message", "role": "assistant", "model": self.model, "content": [],
                   "stop_reason": None, "stop_sequence": None, "usage": self.usage(1)}
        return [("message_start", {"type": "message_start", "message": message}), ("ping", {"type": "ping"})]

    def usage(self, output_tokens: int) -> dict:
        return {"input_tokens": self.input_tokens, "output_tokens": output_tokens,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}

    def feed(self, piece: str) -> list[tuple[str, dict]]:
        return self._events(self.splitter.feed(piece))

    def finish(self, finished: Finished) -> list[tuple[str, dict]]:
        events = self._events(self.splitter.finish())
        events += self._close_text()
        if not self.content:  # the API never answers with no block at all
            self.content.append({"type": "text", "text": ""})
            events += [("content_block_start", {"type": "content_block_start", "index": 0,
                                                "content_block": {"type": "text", "text": ""}}),
                       ("content_block_stop", {"type": "content_block_stop", "index": 0})]
        self.finished = finished
        self.stop_reason = self._stop_reason(finished)
        self.output_tokens = finished.output_tokens
        delta = {"stop_reason": self.stop_reason, "stop_sequence": self.splitter.stopped}
        return events + [("message_delta", {"type": "message_delta", "delta": delta,
                                            "usage": {"output_tokens": finished.output_tokens}}),
                         ("message_stop", {"type": "message_stop"})]

    def message(self) -> dict:
        return {"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                "content": self.content, "stop_reason": self.stop_reason,
                "stop_sequence": self.splitter.stopped, "usage": self.usage(self.output_tokens)}

    def _stop_reason(self, finished: Finished) -> str:
        if any(b["type"] == "tool_use" for b in self.content):
            return "tool_use"
        if self.splitter.stopped is not None:
            return "stop_sequence"
        if finished.reason == "length" and self.capped:
            # Cut by --max-tokens-cap, below what the client allowed: Claude Code reads
            # "max_tokens" as its own limit hit and asks again and again, then fails the turn.
            self.cut_at_cap = True
            return "end_turn"
        return "max_tokens" if finished.reason == "length" else "end_turn"

    def _events(self, items: list[Text | ToolUse]) -> list[tuple[str, dict]]:
        events: list[tuple[str, dict]] = []
        for item in items:
            if isinstance(item, ToolUse):
                events += self._close_text()
                self.held_space = ""
                index = len(self.content)
                self.content.append({"type": "tool_use", "id": item.id, "name": item.name, "input": item.input})
                events += [
                    ("content_block_start", {"type": "content_block_start", "index": index, "content_block":
                                             {"type": "tool_use", "id": item.id, "name": item.name, "input": {}}}),
                    ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {
                        "type": "input_json_delta", "partial_json": json.dumps(item.input, ensure_ascii=False)}}),
                    ("content_block_stop", {"type": "content_block_stop", "index": index})]
                continue
            text = self.held_space + item.text
            if not text.strip():
                self.held_space = text
                continue
            self.held_space = ""
            if self.open_text is None:
                text = text.lstrip()
                self.open_text = len(self.content)
                self.content.append({"type": "text", "text": ""})
                events.append(("content_block_start", {"type": "content_block_start", "index": self.open_text,
                                                       "content_block": {"type": "text", "text": ""}}))
            self.content[self.open_text]["text"] += text
            events.append(("content_block_delta", {"type": "content_block_delta", "index": self.open_text,
                                                   "delta": {"type": "text_delta", "text": text}}))
        return events

    def _close_text(self) -> list[tuple[str, dict]]:
        if self.open_text is None:
            return []
        index, self.open_text = self.open_text, None
        self.content[index]["text"] = self.content[index]["text"].rstrip()
        return [("content_block_stop", {"type": "content_block_stop", "index": index})]


def sse(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode("utf-8")


async def generate(model: LocalModel, prompt: list[int], cancel: threading.Event, **params: Any) -> AsyncIterator[str | Finished]:
    """model.stream in a worker thread, its items handed to the event loop as they come."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    end = object()

    def put(item: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone (server shutting down)
            cancel.set()

    def work() -> None:
        items = model.stream(prompt, cancel=cancel, **params)
        try:
            for item in items:
                put(item)
        except Exception as exc:  # noqa: BLE001 - handed to the request, which answers with an error
            put(exc)
        finally:
            items.close()
            put(end)

    threading.Thread(target=work, name="generate", daemon=True).start()
    try:
        while True:
            item = await queue.get()
            if item is end:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        cancel.set()


class Server:
    """The routes' shared state: the model, the settings, the request log."""

    def __init__(self, model: LocalModel, config: ServeConfig) -> None:
        self.model, self.config = model, config
        self.model_id = f"claude-rec/{model.name}"

    # ------------------------------------------------------------------ helpers
    def authorized(self, request: Request) -> bool:
        key = self.config.api_key
        if not key:
            return True
        given = request.headers.get("x-api-key") or ""
        bearer = request.headers.get("authorization") or ""
        if bearer.lower().startswith("bearer "):
            given = given or bearer[7:]
        return secrets.compare_digest(given.encode(), key.encode())

    async def body(self, request: Request) -> dict:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise RequestError("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise RequestError("the request body must be a JSON object")
        return body

    def prepare(self, body: dict) -> tuple[Chat, list[int], int, bool]:
        """(chat, prompt tokens, max_tokens, capped) for a messages request, fitted to the context;
        capped: the server allows fewer tokens than the client asked for."""
        requested = body.get("max_tokens")
        if not isinstance(requested, int) or isinstance(requested, bool) or requested < 1:
            raise RequestError("max_tokens: a positive integer is required")
        max_tokens = min(requested, self.config.max_tokens_cap)
        room = min(max(max_tokens, MIN_REPLY_ROOM), self.model.n_ctx // 2)
        max_tokens = min(max_tokens, room)
        chat = to_chat(body, system_mode=self.config.system_mode, known_tools=self.model.known_tools)
        fit(chat, self.model.count, self.model.n_ctx - room)
        return chat, self.model.tokens(chat.messages), max_tokens, max_tokens < requested

    @staticmethod
    def sampling(body: dict) -> dict:
        def number(key: str, default: float) -> float:
            value = body.get(key)
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default
        return {"temperature": number("temperature", 0.0), "top_p": number("top_p", 1.0),
                "top_k": int(number("top_k", 0))}

    # ------------------------------------------------------------------ routes
    async def messages(self, request: Request) -> Response:
        if not self.authorized(request):
            return _error(401, "authentication_error", "invalid x-api-key")
        started = time.perf_counter()
        try:
            body = await self.body(request)
            chat, prompt, max_tokens, capped = await asyncio.to_thread(self.prepare, body)
        except RequestError as exc:
            self.config.echo(f"POST /v1/messages 400 {exc}")
            return _error(400, "invalid_request_error", str(exc))
        stops = body.get("stop_sequences") if isinstance(body.get("stop_sequences"), list) else None
        reply = Reply(new_message_id(), self.model_id, len(prompt), CallSplitter(chat.tool_names, stops), capped)
        headers = {"request-id": "req_" + reply.id[4:], "x-claude-rec-model": self.model.name,
                   "x-claude-rec-context": chat.context_note() or "whole request"}
        cancel = threading.Event()
        params = {"max_tokens": max_tokens, **self.sampling(body)}
        stream = bool(body.get("stream"))
        if not stream:
            try:
                async for _ in self.answer(reply, prompt, cancel, params):
                    pass
            except Exception as exc:  # noqa: BLE001
                self.config.echo(f"POST /v1/messages 500 {exc}")
                return _error(500, "api_error", f"generation failed: {exc}")
            self.done(body, chat, reply, stream, started)
            return JSONResponse(reply.message(), headers=headers)

        async def events() -> AsyncIterator[bytes]:
            for name, data in reply.start_events():
                yield sse(name, data)
            try:
                async for name, data in self.answer(reply, prompt, cancel, params):
                    yield sse(name, data)
            except Exception as exc:  # noqa: BLE001 - the stream has started: an error event
                self.config.echo(f"POST /v1/messages stream error: {exc}")
                yield sse("error", error_body("api_error", f"generation failed: {exc}"))
                return
            self.done(body, chat, reply, stream, started)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={**headers, "cache-control": "no-cache"})

    async def answer(self, reply: Reply, prompt: list[int], cancel: threading.Event,
                     params: dict) -> AsyncIterator[tuple[str, dict]]:
        """Generate, and yield the content events of the answer, the closing ones included (both
        the stream and the JSON answer run this); a stop sequence stops the generation."""
        finished = None
        async for item in generate(self.model, prompt, cancel, **params):
            if isinstance(item, Finished):
                finished = item
                continue
            for event in reply.feed(item):
                yield event
            if reply.splitter.stopped is not None:
                cancel.set()
        for event in reply.finish(finished or Finished("cancelled", 0, len(prompt), None, 0.0)):
            yield event

    async def count_tokens(self, request: Request) -> Response:
        if not self.authorized(request):
            return _error(401, "authentication_error", "invalid x-api-key")
        try:
            body = await self.body(request)
            chat = to_chat(body, system_mode=self.config.system_mode, known_tools=self.model.known_tools)
            count = await asyncio.to_thread(self.model.count, chat.messages)
        except RequestError as exc:
            return _error(400, "invalid_request_error", str(exc))
        return JSONResponse({"input_tokens": count})

    def model_info(self) -> dict:
        return {"type": "model", "id": self.model_id, "display_name": f"{self.model.name} (local, claude-rec)",
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.model.path.stat().st_mtime))}

    async def models(self, request: Request) -> Response:
        info = self.model_info()
        return JSONResponse({"data": [info], "has_more": False, "first_id": info["id"], "last_id": info["id"]})

    async def one_model(self, request: Request) -> Response:
        return JSONResponse(self.model_info())  # whatever id the client names, this is what answers

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "model": self.model.name, "path": str(self.model.path),
                             "context": self.model.n_ctx})

    async def not_found(self, request: Request, exc: Exception) -> Response:
        self.config.echo(f"{request.method} {request.url.path} 404")
        return _error(404, "not_found_error", f"{request.method} {request.url.path} is not served here")

    # ------------------------------------------------------------------ after a reply
    def done(self, body: dict, chat: Chat, reply: Reply, stream: bool, started: float) -> None:
        finished = reply.finished
        status = "ok" if finished.reason != "cancelled" else "cancelled"
        ttft = finished.first_token_s
        line = (f"POST /v1/messages 200 {'stream' if stream else 'json'} tools={len(chat.tool_names)} "
                f"in={reply.input_tokens} "
                f"out={reply.output_tokens} stop={reply.stop_reason} "
                f"ttft={'-' if ttft is None else f'{ttft:.2f}s'} total={time.perf_counter() - started:.2f}s")
        if reply.cut_at_cap:
            line += f" [cut at --max-tokens-cap {self.config.max_tokens_cap}]"
        if chat.context_note():
            line += f" [{chat.context_note()}]"
        self.config.echo(line)
        if self.config.log_home is None:
            return
        row = {"id": reply.id, "model": self.model.name, "model_path": str(self.model.path),
               "requested_model": str(body.get("model") or ""), "client_session": _client_session(body),
               "stream": int(stream), "system_mode": self.config.system_mode,
               "prompt": dumps(chat.messages), "response": dumps(reply.content), "stop_reason": reply.stop_reason,
               "input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
               "context": "; ".join(filter(None, [chat.context_note(), "cut at the server's cap" if reply.cut_at_cap
                                                  else ""])),
               "first_token_ms": None if ttft is None else round(ttft * 1000, 1),
               "total_ms": round((time.perf_counter() - started) * 1000, 1), "status": status}
        threading.Thread(target=_log_exchange, args=(self.config.log_home, row, self.config.echo),
                         name="serve-log", daemon=False).start()


def _client_session(body: dict) -> str | None:
    user = (body.get("metadata") or {}).get("user_id") if isinstance(body.get("metadata"), dict) else None
    if not isinstance(user, str):
        return None
    try:  # newer CLIs send a JSON object as the user id
        value = json.loads(user)
        if isinstance(value, dict) and value.get("session_id"):
            return str(value["session_id"])
    except ValueError:
        pass
    _, found, session = user.rpartition("session_")
    return session if found else None


def _log_exchange(home: Path, row: dict, echo: Callable[[str], None]) -> None:
    from claude_rec.parser.store import Store
    try:
        with Store.open(home) as store:
            store.log_served(row)
    except Exception as exc:  # noqa: BLE001 - logging must never break serving
        echo(f"claude-rec serve: could not log the exchange to the store: {exc}")


def create_app(model: LocalModel, config: ServeConfig | None = None) -> Starlette:
    server = Server(model, config or ServeConfig())
    routes = [
        Route("/v1/messages", server.messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", server.count_tokens, methods=["POST"]),
        Route("/v1/models", server.models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", server.one_model, methods=["GET"]),
        Route("/", server.health, methods=["GET", "HEAD"]),
        Route("/health", server.health, methods=["GET", "HEAD"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: server.not_found, 405: server.not_found})
    app.state.server = server
    return app
