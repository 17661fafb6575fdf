"""The `shekteu` command as users and scripts run it: contracts, exit codes, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.command import COLD, shekteu
from tests.pages import RU_PAGE, tme_page
from tests.servers import LocalServer, Reply

CAPTURE_FIELDS = {
    "id",
    "url",
    "final_url",
    "status",
    "sha256",
    "warc",
    "title",
    "lang",
    "text_chars",
    "error",
}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | {"COLUMNS": "250"} | env
    return shekteu(*args, env=full)


def lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_capture_prints_one_json_line_per_url_and_exits_0(env: dict[str, str], web: LocalServer) -> None:
    web.route("/ru", Reply(200, RU_PAGE.encode()))
    result = run(env, "capture", "--json", web.url("/ru"), web.url("/ru"))
    assert result.returncode == 0, result.stderr
    rows = lines(result.stdout)
    assert len(rows) == 2
    assert CAPTURE_FIELDS <= rows[0].keys()
    assert rows[0]["error"] is None and rows[0]["lang"] == "ru" and rows[0]["text_chars"] > 100
    assert Path(rows[0]["warc"]).exists()


def test_capture_exits_2_with_a_reason_per_failure(env: dict[str, str], web: LocalServer) -> None:
    web.route("/ok", Reply(200, RU_PAGE.encode()))
    result = run(env, "capture", "--json", web.url("/ok"), "http://192.168.0.1/", web.url("/gone"))
    assert result.returncode == 2
    rows = lines(result.stdout)
    assert [r["error"] is None for r in rows] == [True, False, False]
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 2 and "private address" in failed[0] and "HTTP 404" in failed[1]
    assert "Traceback" not in result.stderr


def test_the_table_output_escapes_hostile_titles(env: dict[str, str], web: LocalServer) -> None:
    web.route("/evil", Reply(200, b"<title>[bold red]x[/] \x1b[2J\x1b]0;pwned\x07</title><p>text</p>"))
    result = run(env, "capture", web.url("/evil"))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "[bold red]x[/]" in result.stdout  # shown literally, not interpreted


def test_capture_telegram_prints_posts(env: dict[str, str], web: LocalServer) -> None:
    web.route("/s/snowshop", Reply(200, tme_page("snowshop", [1, 2, 3], before_link=None).encode()))
    env = env | {"SHEKTEU_TELEGRAM_WEB_BASE": web.url("").rstrip("/")}
    result = run(env, "capture", "--telegram", "snowshop", "--pages", "2", "--json")
    assert result.returncode == 0, result.stderr
    rows = lines(result.stdout)
    assert [r["post_id"] for r in rows] == [1, 2, 3]
    assert {"channel", "post_id", "permalink", "date", "text", "links"} <= rows[0].keys()
    assert rows[0]["permalink"] == "https://t.me/snowshop/1"
    again = run(env, "capture", "--telegram", "snowshop", "--json")
    assert again.returncode == 0 and again.stdout == ""


def test_import_and_list_items(env: dict[str, str], tmp_path: Path) -> None:
    data = {
        "name": "x",
        "type": "public_channel",
        "id": 5,
        "messages": [
            {"id": i, "type": "message", "date": "2026-01-01T00:00:00", "text": text}
            for i, text in (
                (1, "пост 1"),
                (2, "Меф и шишки в наличии, клады по городу, бот @mefshop_kz_bot"),
                (3, "пост 3"),
            )
        ],
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    first = run(env, "import", "telegram-export", str(path), "--json")
    second = run(env, "import", "telegram-export", str(path), "--json")
    # The drug ad is flagged as it comes in; the rerun has nothing new to flag.
    assert json.loads(first.stdout) == {"items": 3, "new": 3, "duplicates": 0, "skipped": 0, "flagged": 1}
    assert json.loads(second.stdout)["duplicates"] == 3
    assert json.loads(second.stdout)["flagged"] == 0
    listed = lines(run(env, "items", "list", "--json", "--limit", "2").stdout)
    assert [r["post_id"] for r in listed] == [3, 2]
    assert listed[1]["verdict"]["label"] == "sale" and listed[0]["verdict"]["label"] == "other"


def test_a_malformed_export_is_one_clear_line(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text("{not json", encoding="utf-8")
    result = run(env, "import", "telegram-export", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_settings_stop_the_program_with_the_variable_named(env: dict[str, str]) -> None:
    for bad, name in (
        ({"SHEKTEU_FETCH_MAX_BYTES": "lots"}, "SHEKTEU_FETCH_MAX_BYTES"),
        ({"SHEKTEU_FETCH_ALLOW_NETWORKS": "127.0.0.0/99"}, "SHEKTEU_FETCH_ALLOW_NETWORKS"),
        ({"SHEKTEU_FETCH_TIMOUT": "3"}, "SHEKTEU_FETCH_TIMEOUT"),
        ({"SHEKTEU_DATABASE_URL": "mysql://x"}, "SHEKTEU_DATABASE_URL"),
    ):
        result = run(env | bad, "items", "list")
        assert result.returncode == 2, bad
        assert name in result.stderr and "Traceback" not in result.stderr


def test_captures_list_shows_a_pages_history(env: dict[str, str], web: LocalServer) -> None:
    web.route("/p", Reply(200, RU_PAGE.encode()))
    run(env, "capture", web.url("/p"))
    run(env, "capture", web.url("/p"))
    rows = lines(run(env, "captures", "list", "--url", web.url("/p"), "--json").stdout)
    assert [r["changed"] for r in rows] == [False, None]
    assert rows[0]["previous_id"] == rows[1]["id"]


def test_db_upgrade_and_settings_commands(env: dict[str, str]) -> None:
    up = run(env, "db", "upgrade")
    assert up.returncode == 0 and "revision" in up.stdout
    listing = run(env, "settings")
    assert "SHEKTEU_FETCH_ALLOW_NETWORKS" in listing.stdout


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_forked_command_runs_as_a_cold_start_would(env: dict[str, str]) -> None:
    """tests/command.py forks the commands of this suite from a warm process: each must see only its own
    environment and standard input, print what a new interpreter prints, and a hung one must end."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | {"COLUMNS": "250"} | env
    cold = subprocess.run([*COLD, "settings"], env=full, capture_output=True, text=True, timeout=120, check=False)
    warm = shekteu("settings", env=full)
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert "SHEKTEU_SCREENSHOTS" in warm.stdout
    narrow = shekteu("settings", env={**full, "COLUMNS": "60"})
    assert max(map(len, narrow.stdout.splitlines())) <= 60 < max(map(len, warm.stdout.splitlines()))
    bad = shekteu("items", "list", env={**full, "SHEKTEU_FETCH_MAX_BYTES": "lots"})
    assert bad.returncode == 2 and "SHEKTEU_FETCH_MAX_BYTES" in bad.stderr
    assert shekteu("items", "list", env=full).returncode == 0  # the bad value stayed in its own run
    short = shekteu("users", "add", "emil", "--role", "analyst", "--password-stdin", env=full, input="short\n")
    assert short.returncode == 2 and "too short" in short.stderr
    with pytest.raises(subprocess.TimeoutExpired):
        shekteu("worker", env=full, timeout=3)
    assert shekteu("items", "list", env=full).returncode == 0  # and the next command still runs
