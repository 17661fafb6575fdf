"""Settings: typed, documented, loud on bad input."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from shekteu.settings import SettingsError, describe, load_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_defaults_need_no_environment() -> None:
    s = load_settings({})
    assert s.data_dir == Path("shekteu-data")
    assert s.resolved_database_url.startswith("sqlite:///") and s.resolved_database_url.endswith("shekteu.db")
    assert s.fetch_max_bytes == 10_000_000 and s.fetch_max_redirects == 5
    assert s.fetch_allow_networks == ()
    assert s.telegram_web_base == "https://t.me"


def test_allow_networks_are_parsed_from_a_comma_list() -> None:
    s = load_settings({"SHEKTEU_FETCH_ALLOW_NETWORKS": "127.0.0.0/8, ::1/128,10.1.2.3"})
    assert s.fetch_allow_networks == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("10.1.2.3/32"),
    )


@pytest.mark.parametrize(
    "env",
    [
        {"SHEKTEU_FETCH_MAX_BYTES": "0"},
        {"SHEKTEU_FETCH_TIMEOUT": "soon"},
        {"SHEKTEU_FETCH_MAX_REDIRECTS": "100"},
        {"SHEKTEU_TELEGRAM_WEB_BASE": "t.me"},
        {"SHEKTEU_CAPTURE_WORKERS": "0"},
        {"SHEKTEU_NOT_A_SETTING": "1"},
    ],
)
def test_bad_values_raise_naming_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=next(iter(env))):
        load_settings(env)


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name for name, _default, help_text in describe() if name not in text or not help_text]
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    blocks = [b.split("```", 1)[0].strip() for b in README.read_text(encoding="utf-8").split("```sh\n")[1:3]]
    assert len(blocks) == 2 and "pytest" in blocks[1]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert blocks[1] in ci.splitlines()
