"""Reading recordings that are truncated, corrupt or not recordings at all."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_rec.parser.cast import CastError, CastReader
from claude_rec.parser.transcript import TranscriptBuilder

HEADER = json.dumps({"version": 2, "width": 40, "height": 5})


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "x.cast"
    path.write_bytes(content)
    return path


def read_all(path: Path) -> tuple[list, list[str]]:
    with CastReader(path) as reader:
        events = list(reader.events())
        return events, reader.warnings


def test_a_last_line_cut_in_half_is_ignored_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, f'{HEADER}\n[0.1, "o", "hello"]\n[0.2, "o", "wor'.encode())
    events, warnings = read_all(path)
    assert [e.data for e in events] == ["hello"]
    assert warnings == ["line 3 is cut short (the recorder was probably killed); ignored"]


def test_non_json_lines_and_unknown_codes_are_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, (f'{HEADER}\n[0.1, "o", "a"]\nnot json\n[0.2, "x", "unknown code"]\n'
                            f'[0.3, "m", "marker"]\n[0.4, "o", "b"]\n').encode())
    events, warnings = read_all(path)
    assert [(e.code, e.data) for e in events] == [("o", "a"), ("m", "marker"), ("o", "b")]
    assert warnings == ["line 3 is not a valid event; skipped"]


def test_invalid_utf8_is_replaced(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER.encode() + b'\n[0.1, "o", "caf\xc3"]\n')
    events, warnings = read_all(path)
    assert events[0].data == "caf\ufffd"
    assert "invalid UTF-8" in warnings[0]


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "line 1 is not JSON"),
    (b'{"version": 1, "width": 80, "height": 24, "stdout": []}\n', "version 1"),
    (b'{"version": 2, "width": 100000, "height": 100000}\n', "absurd terminal size"),
    (b'{"version": 2, "width": "80", "height": 24}\n', "absurd terminal size"),
])
def test_unreadable_files_are_one_line_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(CastError) as error:
        CastReader(path)
    assert message in str(error.value) and str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_time_going_backwards_is_clamped(tmp_path: Path) -> None:
    path = write(tmp_path, f'{HEADER}\n[1.0, "o", "a"]\n[0.5, "o", "b"]\n[NaN, "o", "c"]\n'.encode())
    events, _ = read_all(path)
    assert [e.time for e in events] == [1.0, 1.0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.lists(st.binary(max_size=300), max_size=20), cols=st.integers(1, 300), rows=st.integers(1, 100))
def test_reconstruction_survives_random_bytes(tmp_path: Path, chunks: list[bytes], cols: int, rows: int) -> None:
    """Random byte streams, as output events and as raw file lines: never a traceback."""
    lines = [json.dumps({"version": 2, "width": cols, "height": rows})]
    for i, chunk in enumerate(chunks):
        lines.append(json.dumps([i * 0.1, "o", chunk.decode("utf-8", "replace")]))
        if i % 5 == 4:
            lines.append(chunk.decode("latin-1"))  # junk lines between events
        if i % 7 == 6:
            lines.append(json.dumps([i * 0.1, "r", f"{(i % cols) + 1}x{(i % rows) + 1}"]))
    path = write(tmp_path, "\n".join(lines).encode())
    with CastReader(path) as reader:
        builder = TranscriptBuilder(reader.header)
        for event in reader.events():
            builder.feed(event)
        result = builder.finish()
    assert all(isinstance(line.text, str) for line in result)
