"""`shekteu classify` and `shekteu indicators`: the JSON Lines contracts, bad lines, streaming."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_cli import lines, run

CLASSIFY_FIELDS = {"id", "label", "score", "lang", "terms", "indicators"}


def write_input(path: Path) -> Path:
    with path.open("wb") as handle:
        handle.write(json.dumps({"id": "a1", "text": "В наличии меф и шишки, клады по городу, бот @snegkz_bot"},
                                ensure_ascii=False).encode() + b"\n")  # fmt: skip
        handle.write("Погода в Астане: завтра без осадков\n".encode())
        handle.write(b"\n")  # empty
        handle.write(b'{"id": 7, "text": 5}\n')  # JSON without text
        handle.write(b"abc\x00\x01\x02def\n")  # binary
        handle.write(b"\xff\xfe\xfa broken\n")  # invalid UTF-8
        handle.write(b"x" * 1_100_000 + b"\n")  # longer than 1 MB
        handle.write(
            '{"id": "last", "text": "Требуются курьеры раскидать товар по городу, оплата в крипте"}\n'.encode()
        )
    return path


def test_classify_contract_order_and_bad_lines(env: dict[str, str], tmp_path: Path) -> None:
    result = run(env, "classify", str(write_input(tmp_path / "in.jsonl")), "--json")
    assert result.returncode == 0, result.stderr
    rows = lines(result.stdout)
    assert [r["line"] for r in rows] == list(range(1, 9))
    good = [rows[i] for i in (0, 1, 7)]
    for row in good:
        assert CLASSIFY_FIELDS <= set(row) and "error" not in row
        for ind in row["indicators"]:
            assert {"type", "value", "normalized", "valid"} <= set(ind)
    assert (good[0]["id"], good[0]["label"], good[0]["lang"]) == ("a1", "sale", "ru")
    assert {
        "type": "telegram_bot",
        "value": "@snegkz_bot",
        "normalized": "@snegkz_bot",
        "valid": True,
    } in good[0]["indicators"]
    text = "В наличии меф и шишки, клады по городу, бот @snegkz_bot"
    assert all(text[t["start"] : t["end"]] == t["term"] for t in good[0]["terms"])
    assert good[1]["label"] == "other" and good[1]["id"] is None
    assert (good[2]["id"], good[2]["label"]) == ("last", "recruit")
    errors = {r["line"]: r["error"] for r in rows if "error" in r}
    assert errors == {
        3: "empty line",
        4: "JSON line without a string 'text' field",
        5: "binary data, not text",
        6: "invalid UTF-8 at byte 0",
        7: "line longer than 1000000 bytes",
    }
    assert rows[3]["id"] == 7


def test_indicators_contract(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text(
        "карта 4400 4301 2345 6789, кошелёк TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t\n\nпусто\n", encoding="utf-8"
    )
    result = run(env, "indicators", str(path), "--json")
    assert result.returncode == 0, result.stderr
    first, empty, plain = lines(result.stdout)
    assert first["id"] is None and [i["type"] for i in first["indicators"]] == ["bank_card", "tron"]
    card = first["indicators"][0]
    assert {"type", "value", "normalized", "valid", "start", "end"} <= set(card)
    assert card["value"] == "440043******6789" and "4301" not in json.dumps(first)
    assert empty["error"] == "empty line" and plain["indicators"] == []


def test_classify_streams_from_a_pipe(env: dict[str, str]) -> None:
    """The first verdict comes out while input is still open; memory does not grow with input."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHEKTEU_")} | env
    proc = subprocess.Popen(
        [sys.executable, "-c", "from shekteu.cli import main; main()", "classify", "-", "--json"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=full,
    )  # fmt: skip
    assert proc.stdin and proc.stdout
    try:
        line = (
            json.dumps({"text": "меф и шишки в наличии, клады по городу"}, ensure_ascii=False).encode()
            + b"\n"
        )
        proc.stdin.write(line * 600)  # more than one batch
        proc.stdin.flush()
        first = json.loads(proc.stdout.readline())
        assert first["label"] == "sale"
        import threading

        def feed() -> None:  # a writer thread: the pipes would fill up and block each other
            assert proc.stdin
            proc.stdin.write(line * 20_000)
            proc.stdin.close()

        writer = threading.Thread(target=feed)
        writer.start()
        rest = proc.stdout.read().splitlines()
        writer.join()
        assert len(rest) == 20_599
    finally:
        proc.kill()
        proc.wait()


def test_a_missing_input_file_is_one_clear_line(env: dict[str, str], tmp_path: Path) -> None:
    result = run(env, "classify", str(tmp_path / "missing.jsonl"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: cannot read") and "Traceback" not in result.stderr


def test_model_info(env: dict[str, str]) -> None:
    result = run(env, "model", "info", "--json")
    info = json.loads(result.stdout)
    assert len(info["version"]) == 16 and info["labels"] == ["sale", "recruit", "drug_other", "other"]
