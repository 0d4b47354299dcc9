"""The user's configuration: `<home>/config.toml`.

    config = load_config(home)          # the whole file as a dict ({} when there is none)
    privacy = privacy_settings(config)  # the [privacy] table, validated

The loader is generic: it reads TOML and nothing else, so that each stage (privacy now,
the engine later) validates its own table with a function of its own. Every error is one
line that names the file and the key (`config.toml: privacy.patterns[1].regex: ...`).

The [privacy] table (every key optional):

    [privacy]
    patterns = [{name = "employee-id", regex = "EMP-[0-9]{6}"}]  # your own secrets
    allow = ["sk-test-not-a-real-key", "AKIA[0-9A-Z]{16}EXAMPLE"] # never redacted (literal or regex)
    detect_secrets = true     # also run detect-secrets' detectors (default true)
    identity_store = false    # home path / hostname / user name in the store (default off)
    identity_exports = true   # ... in `claude-rec redact` copies and datasets (default on)
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_NAME = "config.toml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,39}$")


class ConfigError(ValueError):
    """A bad config file; the message is one line naming the file and the key."""


def config_path(home: Path | str) -> Path:
    return Path(home) / CONFIG_NAME


def load_config(home: Path | str) -> dict[str, Any]:
    """`<home>/config.toml` as a dict; {} when the file does not exist."""
    path = config_path(home)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


@dataclass(frozen=True)
class Pattern:
    name: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class PrivacySettings:
    patterns: tuple[Pattern, ...] = ()
    allow: tuple[str, ...] = ()
    detect_secrets: bool = True
    identity_store: bool = False
    identity_exports: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


_PRIVACY_KEYS = {"patterns", "allow", "detect_secrets", "identity_store", "identity_exports"}


def privacy_settings(config: dict[str, Any], where: str = CONFIG_NAME) -> PrivacySettings:
    """The validated [privacy] table (defaults for what is missing)."""
    table = config.get("privacy", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: privacy: must be a table ([privacy])")
    for key in table:
        if key not in _PRIVACY_KEYS:
            raise ConfigError(f"{where}: privacy.{key}: unknown key (known: {', '.join(sorted(_PRIVACY_KEYS))})")
    patterns = []
    raw_patterns = table.get("patterns", [])
    if not isinstance(raw_patterns, list):
        raise ConfigError(f"{where}: privacy.patterns: must be a list of {{name = ..., regex = ...}} tables")
    for i, item in enumerate(raw_patterns):
        key = f"privacy.patterns[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: {key}: must be a table {{name = \"...\", regex = \"...\"}}")
        unknown = set(item) - {"name", "regex"}
        if unknown:
            raise ConfigError(f"{where}: {key}.{sorted(unknown)[0]}: unknown key (known: name, regex)")
        name, regex = item.get("name"), item.get("regex")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{where}: {key}.name: must be a short lower-case name (a-z, 0-9, - _ .)")
        if not isinstance(regex, str) or not regex:
            raise ConfigError(f"{where}: {key}.regex: must be a non-empty string")
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise ConfigError(f"{where}: {key}.regex: invalid regular expression: {exc}") from None
        if compiled.match(""):
            raise ConfigError(f"{where}: {key}.regex: matches the empty string")
        patterns.append(Pattern(name, compiled))
    allow = table.get("allow", [])
    if not isinstance(allow, list):
        raise ConfigError(f"{where}: privacy.allow: must be a list of strings")
    for i, entry in enumerate(allow):
        if not isinstance(entry, str) or not entry:
            raise ConfigError(f"{where}: privacy.allow[{i}]: must be a non-empty string")
    flags = {}
    for key, default in (("detect_secrets", True), ("identity_store", False), ("identity_exports", True)):
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: privacy.{key}: must be true or false")
        flags[key] = value
    return PrivacySettings(patterns=tuple(patterns), allow=tuple(allow), **flags)
