"""The single gate every text passes on its way into the store.

`clean(text)` is applied by `store.py` to every text field (prompts, answers, thinking,
tool inputs, tool results, signal values) before it is written. It is the identity for
now; the privacy work fills it in (secrets, tokens, keys), and nothing else needs to change.
"""
from __future__ import annotations


def clean(text: str) -> str:
    return text
