"""asciicast v2 encoding: headers, split characters, invalid bytes, resizes."""
from __future__ import annotations

import json

from claude_rec.recorder.asciicast import EventEncoder, header


def test_header_keeps_only_shell_and_term() -> None:
    head = header(100, 30, 1700000000, "claude --resume", {"SHELL": "/bin/zsh", "TERM": "xterm",
                                                           "ANTHROPIC_API_KEY": "sk-secret"})
    assert head == {"version": 2, "width": 100, "height": 30, "timestamp": 1700000000,
                    "command": "claude --resume", "env": {"SHELL": "/bin/zsh", "TERM": "xterm"}}


def test_a_character_split_across_reads_stays_whole() -> None:
    encoder = EventEncoder()
    euro = "€".encode()
    assert encoder.data(0.1, "o", b"a" + euro[:1]) == b'[0.1, "o", "a"]\n'
    assert encoder.data(0.2, "o", euro[1:2]) == b""
    line = encoder.data(0.3, "o", euro[2:] + b"b")
    assert json.loads(line) == [0.3, "o", "€b"]


def test_invalid_bytes_become_replacement_characters() -> None:
    encoder = EventEncoder()
    assert json.loads(encoder.data(1, "o", b"x\xff\xfey")) == [1, "o", "x\ufffd\ufffdy"]
    assert encoder.data(2, "o", b"\xe2\x82") == b""
    assert json.loads(encoder.finish(3)) == [3, "o", "\ufffd"]


def test_streams_decode_independently() -> None:
    encoder = EventEncoder()
    assert encoder.data(0, "o", "é".encode()[:1]) == b""
    assert json.loads(encoder.data(0, "i", b"k")) == [0, "i", "k"]
    assert json.loads(encoder.data(0, "o", "é".encode()[1:])) == [0, "o", "é"]


def test_resize_and_time_rounding() -> None:
    encoder = EventEncoder()
    assert json.loads(encoder.resize(1.23456789, 120, 40)) == [1.234568, "r", "120x40"]
