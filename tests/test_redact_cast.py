"""`claude-rec redact CAST`: a shareable copy of a real recording with planted secrets in its output,
split across output events, across lines and inside colour changes; and the raw recording stays private."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import CLAUDE_REC, finish, program, read_cast, spawn_recorder
from privacy_corpus import CONTEXT_SECRETS, NEEDLES, PRIVATE_KEY, SECRETS, leaks

ESC = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.")


def planted_chunks() -> list[str]:
    s = SECRETS
    pk = PRIVATE_KEY.replace("\n", "\r\n")
    chunks = [
        "plain: " + s["anthropic-api"] + "\n",
        "split across events: " + s["anthropic-admin"][:25], s["anthropic-admin"][25:] + "\n",
        "colour: " + s["github-pat"][:15] + "\x1b[31m" + s["github-pat"][15:40] + "\x1b[0m" + s["github-pat"][40:] + "\n",
        # colour change exactly where the event is cut
        "both: " + s["openai-proj"][:30] + "\x1b[1;3", "2m" + s["openai-proj"][30:] + "\x1b[0m\n",
        # hard-wrapped by the program, as a renderer does at the window's edge
        "wrapped output that runs to the edge of the window: " + s["anthropic-oat"][:30] + "\n  "
        + s["anthropic-oat"][30:] + "\n",
        # cursor positioning between the halves, as Claude Code's renderer does
        "positioned: " + s["github-ghp"][:20] + "\x1b[12;1H" + "  " + s["github-ghp"][20:] + "\n",
        pk[:120], pk[120:] + "\n",
        *(f"{kind}: {value}\n" for kind, value in s.items()),
        *(line + "\n" for line in CONTEXT_SECRETS.values() if "PRIVATE" not in line),
        "home: " + os.path.expanduser("~") + "/project\n",
        "done\n",
    ]
    return chunks


def record_planted(tmp_path: Path, cast: Path | None) -> Path:
    chunks = tmp_path / "chunks.json"
    chunks.write_text(json.dumps(planted_chunks()))
    child = spawn_recorder(program("print_chunks.py") + [str(chunks)], cast, dimensions=(40, 120))
    assert finish(child) == 0
    return cast


def visible(events: list[list]) -> str:
    return ESC.sub("", "".join(d for _, code, d in events if code == "o")).replace("\r", "")


def rec(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLAUDE_REC, *args], capture_output=True, text=True, timeout=60, env=dict(os.environ))


@pytest.fixture
def planted_cast(tmp_path: Path) -> Path:
    return record_planted(tmp_path, tmp_path / "planted.cast")


def test_raw_recording_has_them_and_is_private(planted_cast: Path) -> None:
    _, events = read_cast(planted_cast)
    assert sum(code == "o" for _, code, _ in events) > 10  # the chunks arrived as separate events
    assert len(leaks(visible(events))) == len(NEEDLES)  # every secret was really recorded
    assert planted_cast.stat().st_mode & 0o777 == 0o600


def test_redacted_copy_has_none(planted_cast: Path, tmp_path: Path) -> None:
    out = tmp_path / "share" / "copy.cast"
    out.parent.mkdir()
    done = rec("redact", str(planted_cast), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "anthropic-key" in done.stdout and SECRETS["anthropic-api"] not in done.stdout + done.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    header, events = read_cast(out)  # strict: every line JSON
    assert header["version"] == 2 and header["width"] == 120
    assert all(isinstance(e[0], float) and e[1] in "or" and isinstance(e[2], str) for e in events)
    times = [e[0] for e in events]
    assert times == sorted(times)
    text = visible(events)
    assert leaks(text) == [], leaks(text)
    raw = out.read_text()
    assert leaks(raw) == [] and leaks(json.loads(json.dumps(raw))) == []
    # readable: the context stays, typed placeholders instead of the secrets
    assert "plain: [REDACTED:anthropic-key]" in text
    assert "split across events: [REDACTED:anthropic-key]" in text
    assert "colour: [REDACTED:github-token]" in text and "both: [REDACTED:openai-key]" in text
    assert "DB_PASSWORD=[REDACTED:password]" in text and "@db.example.com" in text
    assert "[REDACTED:private-key]" in text and "done" in text
    # the colour codes inside the secrets are still there (the terminal's state is unchanged)
    assert "\x1b[31m" in raw.encode().decode("unicode_escape", "ignore") or "\\u001b[31m" in raw
    # identity: on by default for exports
    assert "home: ~/project" in text and os.path.expanduser("~") + "/project" not in text
    # it still plays as a recording: the transcript of the copy works and has no secret either
    shown = rec("transcript", str(out))
    assert shown.returncode == 0, shown.stderr
    assert leaks(shown.stdout) == [] and "[REDACTED:" in shown.stdout


def test_default_output_name_and_no_identity(planted_cast: Path) -> None:
    done = rec("redact", "--no-identity", str(planted_cast))
    assert done.returncode == 0, done.stderr
    out = planted_cast.with_name("planted.redacted.cast")
    assert out.is_file() and out.stat().st_mode & 0o777 == 0o600
    _, events = read_cast(out)
    assert os.path.expanduser("~") + "/project" in visible(events)
    assert leaks(visible(events)) == []


def test_refuses_to_overwrite_and_bad_input(planted_cast: Path, tmp_path: Path) -> None:
    same = rec("redact", str(planted_cast), "-o", str(planted_cast))
    assert same.returncode != 0 and "overwrite" in same.stderr
    junk = tmp_path / "junk.cast"
    junk.write_bytes(b"\x00\x01 not a cast")
    bad = rec("redact", str(junk))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_default_recording_location_is_private(isolated_home: Path, tmp_path: Path) -> None:
    """Recorded without -o: the .cast and its sidecar are 0600, every folder down to them 0700."""
    record_planted(tmp_path, None)
    casts = list((isolated_home / "recordings").rglob("*.cast"))
    assert len(casts) == 1
    for path in [isolated_home, *isolated_home.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_long_stream_in_blocks(tmp_path: Path) -> None:
    """Past the block size (1 MB): secrets at the block edges are still found."""
    from claude_rec.parser import redact_cast as rc
    from claude_rec.parser.redact import Redactor

    key = SECRETS["anthropic-ort"]
    src = tmp_path / "long.cast"
    lines = [json.dumps({"version": 2, "width": 80, "height": 24})]
    t = 0.0
    for i in range(3000):
        t += 0.001
        data = "x" * 700 + "\r\n"
        if i % 97 == 0:
            data += "key " + key[: i % 40 + 10]
            lines.append(json.dumps([t, "o", data]))
            data = "\x1b[3" + "2m" + key[i % 40 + 10:] + "\x1b[0m\r\n"
        lines.append(json.dumps([t, "o", data]))
    src.write_text("\n".join(lines) + "\n")
    stats = rc.redact_cast(src, tmp_path / "long.redacted.cast", Redactor())
    assert stats.findings == {"anthropic-key": 31}
    out = (tmp_path / "long.redacted.cast").read_text()
    assert leaks(out, [key]) == [] and out.count("[REDACTED:anthropic-key]") == 31
