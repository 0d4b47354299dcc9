"""Benchmark: `claude-rec serve` on the embedded model against llama-cpp-python called directly.

Both sides answer the same Claude Code-like requests (13 tools, a short prompt), greedily, so
they generate the same tokens. The server runs as its own process (`claude-rec serve`) and is
read with the official `anthropic` SDK, streaming; the direct side is llama_cpp.Llama in this
process, on the prompt the server would build. Each request starts with a tool of its own name
first, so the cached prompt prefix of the previous request helps neither side.
Reports time to first token (median), generation tokens/s and the server's overhead.

    .venv/bin/python bench/serve_bench.py [--requests 5] [--max-tokens 64] [--model FILE.gguf] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CLAUDE_CODE_TOOLS = ["Bash", "Read", "Write", "Edit", "Glob", "Grep", "WebFetch", "WebSearch", "TodoWrite",
                     "Task", "NotebookEdit", "BashOutput", "KillShell"]


def request(i: int, max_tokens: int) -> dict:
    from claude_rec.training import dataset as ds
    tools = [{"name": f"Probe{i}", "description": "A tool of this request only.",
              "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}}}]
    for name in CLAUDE_CODE_TOOLS:
        known = ds.KNOWN_TOOLS.get(name, {"properties": {"args": {"type": "string"}}, "required": []})
        tools.append({"name": name, "description": f"The {name} tool.",
                      "input_schema": {"type": "object", "properties": known["properties"],
                                       "required": known["required"]}})
    return {"model": "claude-local", "max_tokens": max_tokens, "tools": tools,  # greedy: the server default
            "messages": [{"role": "user", "content": f"Question {i}: what does a Python list comprehension do?"}]}


def direct(model_path: Path, bodies: list[dict]) -> list[dict]:
    from claude_rec.training.serve.model import Finished, LocalModel
    from claude_rec.training.serve.prompt import to_chat
    model = LocalModel(model_path, n_ctx=2048)
    out = []
    for body in bodies:
        tokens = model.tokens(to_chat(body).messages)
        start = time.perf_counter()
        first = None
        for item in model.stream(tokens, max_tokens=body["max_tokens"], temperature=0.0):
            if isinstance(item, Finished):
                out.append({"ttft": first, "seconds": time.perf_counter() - start, "tokens": item.output_tokens})
            elif first is None:
                first = time.perf_counter() - start
    return out


def served(model_path: Path, bodies: list[dict]) -> list[dict]:
    import anthropic
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tempfile.mkdtemp(prefix="serve-bench-")
    exe = Path(sys.executable).with_name("claude-rec")
    proc = subprocess.Popen([str(exe), "--home", home, "serve", "--model", str(model_path), "--port", str(port),
                             "--ctx", "2048", "--max-tokens-cap", "4096", "--no-log"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("claude-rec serve did not start")
                time.sleep(0.2)
        client = anthropic.Anthropic(base_url=url, api_key="bench", max_retries=0, timeout=300)
        out = []
        for body in bodies:
            start = time.perf_counter()
            first = None
            with client.messages.stream(**body) as stream:
                for event in stream:
                    if first is None and event.type == "content_block_delta":
                        first = time.perf_counter() - start
                final = stream.get_final_message()
            out.append({"ttft": first, "seconds": time.perf_counter() - start, "tokens": final.usage.output_tokens})
        return out
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


def summary(name: str, runs: list[dict]) -> dict:
    ttft = statistics.median(r["ttft"] for r in runs if r["ttft"] is not None)
    gen = [r["tokens"] / (r["seconds"] - r["ttft"]) for r in runs if r["ttft"] is not None and r["tokens"] > 1]
    return {"side": name, "requests": len(runs), "ttft_s": round(ttft, 3),
            "tokens_per_s": round(statistics.median(gen), 1) if gen else None,
            "total_s": round(sum(r["seconds"] for r in runs), 2), "tokens": sum(r["tokens"] for r in runs)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from claude_rec.training import models
    path = args.model or models.embedded_gguf()
    bodies = [request(i, args.max_tokens) for i in range(args.requests)]
    rows = [summary("llama-cpp-python, direct", direct(path, bodies)),
            summary("claude-rec serve (SSE, anthropic SDK)", served(path, bodies))]
    overhead = {"ttft_ms": round((rows[1]["ttft_s"] - rows[0]["ttft_s"]) * 1000, 1),
                "tokens_per_s_ratio": round(rows[1]["tokens_per_s"] / rows[0]["tokens_per_s"], 3)
                if rows[0]["tokens_per_s"] and rows[1]["tokens_per_s"] else None}
    if args.json:
        print(json.dumps({"model": str(path), "machine": platform.processor() or platform.machine(),
                          "cpus": os.cpu_count(), "rows": rows, "overhead": overhead}, indent=2))
        return 0
    print(f"model {Path(path).name}, {args.requests} requests, up to {args.max_tokens} tokens, {os.cpu_count()} CPUs")
    print(f"| side | TTFT median s | generation tokens/s | total s | tokens |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['side']} | {r['ttft_s']:.3f} | {r['tokens_per_s']} | {r['total_s']} | {r['tokens']} |")
    print(f"server overhead: TTFT {overhead['ttft_ms']:+.1f} ms, tokens/s x{overhead['tokens_per_s_ratio']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
