"""`claude-rec serve`: the tuned local model behind an Anthropic-compatible Messages API.

- `prompt.py`: an Anthropic request -> the chat the model was trained on (the dataset's format),
  fitted to the model's context.
- `toolcalls.py`: the model's text, as it streams -> text and `tool_use` blocks.
- `model.py`: the GGUF in llama.cpp: chat template, token counts, streamed generation.
- `app.py`: the ASGI app (Starlette): `/v1/messages` (SSE and JSON), `count_tokens`, models.
- `commands.py`: the click command.
"""
