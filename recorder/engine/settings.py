"""The engine's thresholds: table `[engine]` of `<home>/config.toml`.

    [engine]
    train_after_new_traces = 50   # train when this many new traces arrived since the last training
    train_every_hours = 24        # ... or this often, if at least min_traces exist in all
    min_traces = 50               # no training below this many traces in all
    production_traces = 500       # where `status` says the model is "production"
    abandoned_after_minutes = 10  # a crash-leftover recording is ingested after this long untouched
    scan_every_seconds = 60       # a full look at the directories, besides file-system events
    train_command = ["claude-rec", "train"]   # what a training runs (default: this claude-rec's)
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

CONFIG_NAME = "config.toml"


class SettingsError(Exception):
    """A config problem, as one line naming the file and the key."""


@dataclass(frozen=True)
class EngineSettings:
    train_after_new_traces: int = 50
    train_every_hours: float = 24.0
    min_traces: int = 50
    production_traces: int = 500
    abandoned_after_minutes: float = 10.0
    scan_every_seconds: float = 60.0
    train_command: tuple[str, ...] | None = None  # None: `<this claude-rec> train`


def load_settings(home: Path) -> EngineSettings:
    path = home / CONFIG_NAME
    try:
        with open(path, "rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        return EngineSettings()
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: {exc}") from None
    table = config.get("engine", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [engine] must be a table")
    known = {f.name: f for f in fields(EngineSettings)}
    values = {}
    for key, value in table.items():
        if key not in known:
            raise SettingsError(f"{path}: [engine] {key}: unknown setting (known: {', '.join(known)})")
        if key == "train_command":
            if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
                raise SettingsError(f"{path}: [engine] train_command: must be a non-empty list of strings")
            values[key] = tuple(value)
            continue
        expected = known[key].type
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or (expected == "int" and not isinstance(value, int)) or value <= 0:
            kind = "a whole number" if expected == "int" else "a number"
            raise SettingsError(f"{path}: [engine] {key}: must be {kind} above 0, not {value!r}")
        values[key] = value
    return EngineSettings(**values)
