"""The single gate every text passes on its way into the store.

`clean(text)` is applied by `store.py` to every text field (prompts, answers, thinking,
tool inputs, tool results, signal values) before it is written. It replaces secrets with
typed placeholders (`parser/redact.py`), using the user's `[privacy]` settings from
`<home>/config.toml`, loaded once per process; with `identity_store = true` it also hides
the home path, host name and user name.

The home is, in this order: the one given to `configure(home)`, the `--home` of the
running `claude-rec` command, `$CLAUDE_REC_HOME` / the XDG default. A bad config file makes
`clean` raise `ConfigError` (a ValueError: ingest records the file as failed, with the
reason), so that nothing goes in unredacted.
"""
from __future__ import annotations

import threading
from pathlib import Path

from .config import PrivacySettings, load_config, privacy_settings
from .redact import Redactor, redact_identity

_lock = threading.Lock()
_home: Path | None = None
_state: tuple[Redactor, PrivacySettings] | None = None


def configure(home: Path | str | None) -> None:
    """Use `home`'s config.toml from now on (None: find the home again on next use)."""
    global _home, _state
    with _lock:
        _home = Path(home) if home is not None else None
        _state = None


def _find_home() -> Path:
    if _home is not None:
        return _home
    try:
        import click

        ctx = click.get_current_context(silent=True)
        obj = ctx.find_root().obj if ctx is not None else None
        if isinstance(obj, dict) and obj.get("home"):
            return Path(obj["home"])
    except ImportError:
        pass
    from ..recorder.home import default_home

    return default_home()


def redactor() -> tuple[Redactor, PrivacySettings]:
    """The process's redactor and settings (built on first use)."""
    global _state
    state = _state
    if state is None:
        with _lock:
            if _state is None:
                settings = privacy_settings(load_config(_find_home()))
                _state = (Redactor(settings), settings)
            state = _state
    return state


def clean(text: str) -> str:
    if not text:
        return text
    red, settings = redactor()
    text = red.redact(text)
    if settings.identity_store:
        text = redact_identity(text)
    return text
