"""`<home>/config.toml`: the generic loader and the [privacy] table's validation."""
from __future__ import annotations

from pathlib import Path

import pytest

from claude_rec.parser.config import ConfigError, load_config, privacy_settings


def write(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)
    return home


def test_missing_file_is_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path) == {}
    s = privacy_settings({})
    assert s.patterns == () and s.allow == () and s.detect_secrets and not s.identity_store and s.identity_exports


def test_full_table_and_other_tables_kept(tmp_path: Path) -> None:
    home = write(tmp_path, '[privacy]\npatterns = [{name = "emp-id", regex = "EMP-\\\\d{6}"}]\n'
                           'allow = ["x", "AKIA.*TEST"]\nidentity_store = true\n\n[engine]\nport = 1\n')
    config = load_config(home)
    assert config["engine"] == {"port": 1}
    s = privacy_settings(config)
    assert s.patterns[0].name == "emp-id" and s.patterns[0].regex.fullmatch("EMP-123456")
    assert s.allow == ("x", "AKIA.*TEST") and s.identity_store


@pytest.mark.parametrize("text, message", [
    ("[privacy\n", "invalid TOML"),
    ("privacy = 3\n", "privacy: must be a table"),
    ("[privacy]\ncolour = 1\n", "privacy.colour: unknown key"),
    ("[privacy]\npatterns = 'x'\n", "privacy.patterns: must be a list"),
    ('[privacy]\npatterns = [{name = "a"}]\n', "privacy.patterns[0].regex: must be a non-empty string"),
    ('[privacy]\npatterns = [{name = "a", regex = "("}]\n', "privacy.patterns[0].regex: invalid regular expression"),
    ('[privacy]\npatterns = [{name = "a", regex = "x*"}]\n', "privacy.patterns[0].regex: matches the empty string"),
    ('[privacy]\npatterns = [{name = "Bad Name!", regex = "x"}]\n', "privacy.patterns[0].name"),
    ('[privacy]\npatterns = [{name = "a", regex = "x", flags = 1}]\n', "privacy.patterns[0].flags: unknown key"),
    ("[privacy]\nallow = [1]\n", "privacy.allow[0]: must be a non-empty string"),
    ('[privacy]\nidentity_exports = "yes"\n', "privacy.identity_exports: must be true or false"),
])
def test_errors_are_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    home = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        privacy_settings(load_config(home))
    assert message in str(info.value) and "\n" not in str(info.value)
    assert "config.toml" in str(info.value)
