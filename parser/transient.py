"""What was only ever a moving part of Claude Code's screen, never conversation.

Spinner lines ("✢ Thinking… (3s · esc to interrupt)"), and the live area at the bottom
of the screen: the input box (a rule, the `❯` prompt being typed, a rule) and the hints
under it. Kept deliberately small and tolerant: a line not recognised here is kept.
"""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import compress, repeat
from operator import contains

SPINNER_GLYPHS = "·✢✳✶✻✽*∗⋆✦"
SPINNER = re.compile(rf"^\s*[{SPINNER_GLYPHS}]\s+\S.*…(?:\s*\(.*)?$")
INTERRUPT_HINT = re.compile(r"esc to interrupt|ctrl\+c to interrupt", re.I)
RULE = re.compile(r"^\s*─{10,}\s*$")
RULE_RUN = "─" * 10  # in every rule: a substring test rules most rows out at C speed
# Just above the input box: right-aligned status ("◐ medium · /effort") and the menu of
# slash commands that opens while one is typed ("❯ /exit     Exit the CLI").
RIGHT_ALIGNED = re.compile(r"^\s{20,}\S")
SLASH_MENU = re.compile(r"^\s*(?:❯\s+)?/[\w:-]+\s{2,}\S")


@lru_cache(maxsize=1 << 14)  # the same rows are looked at frame after frame
def is_transient(text: str) -> bool:
    return bool(SPINNER.match(text) or INTERRUPT_HINT.search(text))


def drop_live_area(rows: list[str]) -> list[str]:
    """Rows without the input box (rule, prompt, rule) and everything under it."""
    candidates = compress(range(len(rows)), map(contains, rows, repeat(RULE_RUN)))  # at C speed
    rules = [i for i in candidates if RULE.match(rows[i])]
    if len(rules) < 2:
        return _trim(rows)
    rows = _trim(rows[: rules[-2]])
    while rows and (RIGHT_ALIGNED.match(rows[-1]) or SLASH_MENU.match(rows[-1])):
        rows = _trim(rows[:-1])
    return rows


def _trim(rows: list[str]) -> list[str]:
    end = len(rows)
    while end and not rows[end - 1]:
        end -= 1
    return rows[:end]
