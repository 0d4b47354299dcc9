"""A redacted copy of a recording, for sharing: `claude-rec redact CAST [-o OUT]`.

The raw `.cast` stays where it is (0600 in the 0700 data directory). The copy has every
secret in the terminal output replaced, found on the decoded text of the stream, not on
single events: consecutive output events are joined, escape sequences are taken out
(a colour change in the middle of a key does not hide it), line breaks and cursor moves
become line breaks (a key wrapped onto the next line is followed there), and each match is
mapped back to the event text. The visible characters of a secret are deleted and its
placeholder put where it started; the escape sequences and line breaks inside it stay, so
the terminal's state (colours, cursor) is what it was. Input events ('i', present only with
--capture-input) are left out; markers and the header's command and title are redacted.

The stream is handled in blocks of about 1 MB with a 64 KB overlap, in constant memory.
"""
from __future__ import annotations

import bisect
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..recorder.home import open_private
from .cast import CastError, CastReader
from .redact import PLACEHOLDER, Identity, Redactor, identity_spans

BLOCK = 1 << 20
OVERLAP = 64 << 10

# Escape sequences and line breaks: what they become in the decoded text.
_ESC = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
                  r"|\x1b[ -/]*[0-~]|\x1b|\r\n|[\r\n]|[\x00-\x08\x0b-\x1f\x7f]")
_MOVES_DOWN = set("ABEFHfdLMST")  # cursor moves that leave the line: a line break
_MOVES_ACROSS = set("CG`aI")  # moves along the line: a space


def _decoded(esc: str) -> str:
    if esc in ("\r\n", "\r", "\n"):
        return "\n"
    if esc.startswith("\x1b["):
        final = esc[-1]
        private = len(esc) > 2 and esc[2] in "<=>?"
        if private or final in "mKJhlnr":
            return ""
        if final in _MOVES_DOWN:
            return "\n"
        if final in _MOVES_ACROSS:
            return " "
        return ""
    if esc in ("\x1bM", "\x1bD", "\x1bE"):
        return "\n"
    if esc == "\t":
        return "\t"
    return ""


@dataclass
class View:
    """The decoded text of a raw stream, with the way back to raw positions."""

    text: str
    v_starts: list[int]  # per segment: start in `text`
    r_starts: list[int]  # per segment: start in the raw stream
    literal: list[bool]  # the segment's text is the raw text (else: an escape's stand-in)
    r_ends: list[int]

    def segments(self, start: int, end: int):
        """The segments overlapping text[start:end]: (index, v_start, v_end)."""
        i = bisect.bisect_right(self.v_starts, start) - 1
        while i < len(self.v_starts) and self.v_starts[i] < end:
            v0 = self.v_starts[i]
            v1 = self.v_starts[i + 1] if i + 1 < len(self.v_starts) else len(self.text)
            if v1 > start or v1 == v0 == start:
                yield i, v0, v1
            i += 1

    def raw_position(self, v: int) -> int:
        i = max(bisect.bisect_right(self.v_starts, v) - 1, 0)
        if self.literal[i]:
            return self.r_starts[i] + (v - self.v_starts[i])
        return self.r_starts[i]


def decode(raw: str) -> View:
    pieces: list[str] = []
    v_starts: list[int] = []
    r_starts: list[int] = []
    r_ends: list[int] = []
    literal: list[bool] = []
    v = pos = 0
    for match in _ESC.finditer(raw):
        if match.start() > pos:
            v_starts.append(v), r_starts.append(pos), r_ends.append(match.start()), literal.append(True)
            pieces.append(raw[pos:match.start()])
            v += match.start() - pos
        stand_in = _decoded(match.group())
        v_starts.append(v), r_starts.append(match.start()), r_ends.append(match.end()), literal.append(False)
        pieces.append(stand_in)
        v += len(stand_in)
        pos = match.end()
    if pos < len(raw):
        v_starts.append(v), r_starts.append(pos), r_ends.append(len(raw)), literal.append(True)
        pieces.append(raw[pos:])
    return View("".join(pieces), v_starts, r_starts, literal, r_ends)


@dataclass
class RedactStats:
    events: int = 0
    output_chars: int = 0
    findings: dict[str, int] = field(default_factory=dict)
    dropped_input: int = 0


def _spans(view: View, redactor: Redactor, identity: Identity | None) -> list[tuple[int, int, str, str]]:
    """(start, end, replacement, kind) on the decoded text: secrets, then identity where no secret is."""
    spans = [(f.start, f.end, PLACEHOLDER.format(f.kind), f.kind) for f in redactor.find(view.text)]
    if identity is not None:
        taken = [(s, e) for s, e, _, _ in spans]
        for s, e, repl in identity_spans(view.text, identity):
            i = bisect.bisect_right(taken, (s, float("inf"))) - 1
            if (i >= 0 and taken[i][1] > s) or (i + 1 < len(taken) and taken[i + 1][0] < e):
                continue
            spans.append((s, e, repl, "identity"))
        spans.sort()
    return spans


def _edits(view: View, spans: list[tuple[int, int, str, str]]) -> tuple[list[tuple], list[int]]:
    """Raw edits for the spans: sorted ops (pos, 0, text, pos) inserts and (start, 1, None, end) deletes."""
    ops: list[tuple] = []
    raw_ends: list[int] = []
    for start, end, replacement, _ in spans:
        ops.append((view.raw_position(start), 0, replacement, 0))
        last = view.raw_position(start)
        for i, v0, v1 in view.segments(start, end):
            if not view.literal[i]:
                last = max(last, view.r_ends[i])
                continue
            a = view.r_starts[i] + max(start, v0) - v0
            b = view.r_starts[i] + min(end, v1) - v0
            if b > a:
                ops.append((a, 1, None, b))
                last = max(last, b)
        raw_ends.append(last)
    ops.sort(key=lambda op: (op[0], op[1]))
    return ops, raw_ends


def _rebuild(raw: str, bounds: list[tuple[int, int]], ops: list[tuple]) -> list[str]:
    out_events = []
    j = 0
    for a, b in bounds:
        out: list[str] = []
        pos = a
        k = j
        while k < len(ops) and ops[k][0] < b:
            p, typ, text, end = ops[k]
            if typ == 0:
                if p >= a:
                    out.append(raw[pos:p])
                    pos = p
                    out.append(text)
            else:
                s, e = max(p, a), min(end, b)
                if s > pos:
                    out.append(raw[pos:s])
                pos = max(pos, e)
            k += 1
        out.append(raw[pos:b])
        out_events.append("".join(out))
        while j < len(ops) and ops[j][0] < b and (ops[j][1] == 0 or ops[j][3] <= b):
            j += 1
    return out_events


class _Stream:
    def __init__(self, redactor: Redactor, identity: Identity | None, emit: Callable[[list], None],
                 stats: RedactStats) -> None:
        self.redactor, self.identity, self.emit, self.stats = redactor, identity, emit, stats
        self.pending: list[list] = []  # [time, code, data] in file order, not yet written
        self.size = 0

    def add(self, event: list) -> None:
        self.pending.append(event)
        if event[1] == "o":
            self.size += len(event[2])
            if self.size >= BLOCK + OVERLAP:
                self.flush(final=False)
        elif len(self.pending) > 10_000 and self.size == 0:
            self.flush(final=True)

    def flush(self, final: bool) -> None:
        outputs = [e for e in self.pending if e[1] == "o"]
        raw = "".join(e[2] for e in outputs)
        bounds, pos = [], 0
        for e in outputs:
            bounds.append((pos, pos + len(e[2])))
            pos += len(e[2])
        view = decode(raw)
        spans = _spans(view, self.redactor, self.identity)
        cut_v = len(view.text) if final else max(len(view.text) - OVERLAP, 0)
        spans = [s for s in spans if s[0] < cut_v]
        ops, raw_ends = _edits(view, spans)
        for s in spans:
            if s[3] != "identity":
                self.stats.findings[s[3]] = self.stats.findings.get(s[3], 0) + 1
        new_data = _rebuild(raw, bounds, ops)
        for e, data in zip(outputs, new_data):
            e[2] = data
        if final:
            keep_from = len(outputs)
        else:
            raw_cut = max([view.raw_position(cut_v), *raw_ends])
            keep_from = next((i for i, (a, b) in enumerate(bounds) if b > raw_cut), len(outputs))
        carried = outputs[keep_from:]
        first_carried = carried[0] if carried else None
        emitted = 0
        for event in self.pending:
            if event is first_carried:
                break
            self.emit(event)
            emitted += 1
        self.pending = self.pending[emitted:]
        self.size = sum(len(e[2]) for e in self.pending if e[1] == "o")


def redact_cast(src: Path, dst: Path, redactor: Redactor, identity: Identity | None = None,
                warn: Callable[[str], None] | None = None) -> RedactStats:
    """Write a redacted copy of `src` to `dst` (mode 0600)."""
    src, dst = Path(src), Path(dst)
    if dst.exists() and dst.resolve() == src.resolve():
        raise CastError(f"{dst}: the output would overwrite the recording")
    stats = RedactStats()
    with CastReader(src, warn) as reader:
        with open(src, "rb") as handle:
            header = json.loads(handle.readline().decode("utf-8", "replace"))
        for key in ("command", "title"):
            if isinstance(header.get(key), str):
                header[key] = _redact_plain(header[key], redactor, identity)
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
        fd = open_private(tmp)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(header, ensure_ascii=False) + "\n")

                def emit(event: list) -> None:
                    stats.events += 1
                    if event[1] == "o":
                        stats.output_chars += len(event[2])
                    out.write(json.dumps([round(event[0], 6), event[1], event[2]], ensure_ascii=False) + "\n")

                stream = _Stream(redactor, identity, emit, stats)
                for event in reader.events():
                    if event.code == "i":
                        stats.dropped_input += 1
                        continue
                    data = event.data
                    if event.code == "m":
                        data = _redact_plain(data, redactor, identity)
                    stream.add([event.time, event.code, data])
                stream.flush(final=True)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, dst)
    return stats


def _redact_plain(text: str, redactor: Redactor, identity: Identity | None) -> str:
    from .redact import redact_identity

    text = redactor.redact(text)
    return redact_identity(text, identity) if identity is not None else text
