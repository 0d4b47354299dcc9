"""Window size: the child starts at the user's size and follows every resize, recorded as 'r'."""
from __future__ import annotations

from pathlib import Path

from conftest import finish, meta_of, program, read_cast, spawn_recorder


def test_child_starts_at_the_users_size(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    child = spawn_recorder(program("winsize.py"), cast, dimensions=(37, 123))
    child.expect("size 123x37")
    child.send("q")
    assert finish(child) == 0
    header, _ = read_cast(cast)
    assert (header["width"], header["height"]) == (123, 37)
    assert (meta_of(cast)["width"], meta_of(cast)["height"]) == (123, 37)


def test_resizes_reach_the_child_and_are_recorded(tmp_path: Path) -> None:
    cast = tmp_path / "s.cast"
    child = spawn_recorder(program("winsize.py"), cast)
    child.expect("size 80x24")
    for rows, cols in ((30, 100), (10, 40), (50, 200)):
        child.setwinsize(rows, cols)
        child.expect(f"size {cols}x{rows}")
    child.send("q")
    assert finish(child) == 0
    _, events = read_cast(cast)
    resizes = [data for _, code, data in events if code == "r"]
    assert resizes == ["100x30", "40x10", "200x50"]
    reported = [event for event in events if event[1] == "o" and "size 40x10" in event[2]]
    resize_time = next(t for t, code, data in events if code == "r" and data == "40x10")
    assert reported and reported[0][0] >= resize_time
