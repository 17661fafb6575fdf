"""Weak signals between shops: near-duplicate texts (MinHash) and the same picture (perceptual hash).

They never merge shops, only suggest merges for an analyst to decide, and they are bounded: one ad
template copied across a thousand bots must not become a million suggestions (issue 20), so each
bucket is read for its newest candidates only and each shop gets a few suggestions at a time.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, insert, or_, select
from sqlalchemy.orm import Session

from shekteu import images as picture
from shekteu.db.tables import ImageBand, ItemSignature, ShopItem, ShopSuggestion, SignatureBand, utcnow
from shekteu.items import _insert
from shekteu.shops import minhash

NEAR_DUPLICATE = 0.8  # estimated Jaccard similarity above which two shops' texts suggest a merge
BUCKET_CANDIDATES = 50  # newest stored items read per MinHash bucket
SHOP_SUGGESTIONS = 5  # best near-duplicate shops suggested per new item's shop and batch
OPEN_TEXT_SUGGESTIONS = 20  # a shop with this many open text suggestions gets no more until some are decided
SAME_IMAGE_BITS = 3  # perceptual-hash bits two copies of one picture may differ by


def pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def chunks(values: list[int], size: int = 5000) -> list[list[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def minhash_of(text: str) -> Any:
    """A positive item's MinHash signature and bands, computed before the linking transaction opens
    (hashing thousands of shingles inside it kept it open for hundreds of milliseconds)."""
    sig = minhash.signature(text)
    return None if sig is None else (sig, minhash.buckets(sig))


def suggest(session: Session, a: int, b: int, kind: str, similarity: float, evidence: dict) -> bool:
    """Record a merge suggestion once per pair and kind; True when it is new."""
    a, b = pair(a, b)
    stmt = (
        _insert(session)(ShopSuggestion)
        .values(
            shop_a=a,
            shop_b=b,
            kind=kind,
            similarity=similarity,
            evidence=evidence,
            status="open",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["shop_a", "shop_b", "kind"])
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _newest_in_buckets() -> Any:
    """The newest ``BUCKET_CANDIDATES`` items of each bucket, with shop and signature (built once)."""
    band, item, sig = SignatureBand.__table__.c, ShopItem.__table__.c, ItemSignature.__table__.c
    newest = (
        select(band.item_id, band.bucket,
               func.row_number().over(partition_by=band.bucket, order_by=band.item_id.desc()).label("n"))
        .where(band.bucket.in_(bindparam("buckets", expanding=True)))
        .subquery()
    )  # fmt: skip
    return (
        select(newest.c.item_id, newest.c.bucket, item.shop_id, sig.signature)
        .join(ShopItem.__table__, item.item_id == newest.c.item_id)
        .join(ItemSignature.__table__, sig.item_id == newest.c.item_id)
        .where(newest.c.n <= BUCKET_CANDIDATES)
    )


_NEWEST_IN_BUCKETS = _newest_in_buckets()


def near_duplicates(session: Session, signed: dict[int, Any], shop_of: dict[int, int]) -> int:
    """Store signatures of the batch's positive items; suggest shops whose texts nearly match."""
    if not signed:
        return 0
    done = set(session.scalars(select(ItemSignature.item_id).where(ItemSignature.item_id.in_(list(signed)))))
    sigs = {i: entry[0] for i, entry in signed.items() if i not in done and entry is not None}
    if not sigs:
        return 0
    bands = {i: signed[i][1] for i in sigs}
    by_bucket: dict[int, set[int]] = defaultdict(set)
    for i, buckets in bands.items():
        for bucket in buckets:
            by_bucket[bucket].add(i)
    known: dict[int, tuple[int, bytes]] = {}
    for chunk in chunks(sorted(by_bucket)):
        for other, bucket, shop, sig in session.connection().execute(_NEWEST_IN_BUCKETS, {"buckets": chunk}):
            by_bucket[bucket].add(other)
            known[other] = (shop, sig)
    session.execute(
        insert(ItemSignature.__table__),
        [{"item_id": i, "signature": minhash.to_bytes(s)} for i, s in sigs.items()],
    )
    session.execute(insert(SignatureBand.__table__), [{"item_id": i, "band": n, "bucket": b}
                                            for i, buckets in bands.items() for n, b in enumerate(buckets)])  # fmt: skip
    best: dict[tuple[int, int], tuple[float, int, int]] = {}
    stored = {other: minhash.from_bytes(sig) for other, (_, sig) in known.items()}
    for i, sig in sigs.items():
        shop = shop_of[i]
        others = [(o, owner) for o in {o for b in bands[i] for o in by_bucket[b]} - {i}
                  if (owner := known[o][0] if o in known else shop_of[o]) != shop]  # fmt: skip
        if not others:
            continue
        # One comparison of the item's signature with all its candidates' at once.
        sims = minhash.similarities(sig, np.stack([stored[o] if o in stored else sigs[o] for o, _ in others]))
        for (other, other_shop), sim in zip(others, sims.tolist(), strict=True):
            key = pair(shop, other_shop)
            if sim >= NEAR_DUPLICATE and sim > best.get(key, (0.0, 0, 0))[0]:
                best[key] = (sim, i, other)
    # The best few per shop, and none for shops whose analysts already have a full queue of them.
    ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
    involved = {shop for key in best for shop in key}
    full, existing = _text_suggestions_touching(session, involved)
    per_shop: dict[int, int] = defaultdict(int)
    rows = []
    for (a, b), (sim, i, o) in ranked:
        if (a, b) in existing or per_shop[a] >= SHOP_SUGGESTIONS or per_shop[b] >= SHOP_SUGGESTIONS:
            continue
        if full[a] >= OPEN_TEXT_SUGGESTIONS or full[b] >= OPEN_TEXT_SUGGESTIONS:
            continue
        rows.append({"shop_a": a, "shop_b": b, "kind": "text", "similarity": round(sim, 3),
                     "evidence": {"items": sorted([i, o])}, "status": "open", "created_at": utcnow()})  # fmt: skip
        for shop in (a, b):
            per_shop[shop] += 1
            full[shop] += 1
    if rows:  # one statement; a pair a concurrent batch has just suggested is skipped by the unique key
        session.execute(_insert(session)(ShopSuggestion.__table__)
                        .on_conflict_do_nothing(index_elements=["shop_a", "shop_b", "kind"]), rows)  # fmt: skip
    return len(rows)


# Built once: the suggestions of a batch's shops are looked up in every analysis batch that found
# near-duplicates, holding the write lock; built per batch, the two queries this replaces were a
# tenth of a worker's CPU (bench/pipeline.py).
_S = ShopSuggestion.__table__.c
_TOUCHING = select(_S.shop_a, _S.shop_b, _S.status).where(
    _S.kind == "text", or_(_S.shop_a.in_(bindparam("a", expanding=True)), _S.shop_b.in_(bindparam("b", expanding=True)))
)


def _text_suggestions_touching(session: Session, shops: set[int]) -> tuple[dict[int, int], set[tuple[int, int]]]:
    """Of the text suggestions involving ``shops``: how many are open per shop, and every pair
    suggested already (in any state: a dismissed pair is not suggested again)."""
    status: dict[tuple[int, int], str] = {}
    for chunk in chunks(sorted(shops), 2500):
        for a, b, state in session.connection().execute(_TOUCHING, {"a": chunk, "b": chunk}):
            status[(a, b)] = state  # a pair whose shops fall in two chunks comes twice
    counts: dict[int, int] = defaultdict(int)
    for (a, b), state in status.items():
        if state == "open":
            counts[a] += 1
            counts[b] += 1
    return counts, set(status)


def store_image_bands(session: Session, rows: list[tuple[int, str, int]]) -> None:
    """Keep (item, sha256, perceptual hash) in 16-bit slices for lookups; storing twice is a no-op."""
    if rows:
        session.execute(
            _insert(session)(ImageBand.__table__)
            .values([{"item_id": i, "sha256": sha, "band": n, "bucket": b, "dhash": picture.to_signed(h)}
                     for i, sha, h in rows for n, b in enumerate(picture.bands(h))])
            .on_conflict_do_nothing(index_elements=["item_id", "sha256", "band"])
        )  # fmt: skip


def similar_images(session: Session, hashes: list[int]) -> list[tuple[int, str, int]]:
    """(item, sha256, hash) of stored images sharing a slice with any of ``hashes``."""
    buckets = sorted({b for h in hashes for b in picture.bands(h)})
    found: set[tuple[int, str, int]] = set()
    for chunk in chunks(buckets):
        rows = session.execute(
            select(ImageBand.item_id, ImageBand.sha256, ImageBand.dhash).where(ImageBand.bucket.in_(chunk))
        )
        found |= {(i, sha, h & (2**64 - 1)) for i, sha, h in rows}
    return sorted(found)


def same_images(session: Session, images: dict[int, list[tuple[str, int]]], shop_of: dict[int, int]) -> int:
    """Store the batch's image hashes; suggest shops that post the same picture (≤ SAME_IMAGE_BITS apart)."""
    fresh = [(i, sha, h) for i, found in images.items() for sha, h in dict(found).items()]
    if not fresh:
        return 0
    candidates = similar_images(session, [h for _, _, h in fresh])
    owners = dict(
        session.execute(select(ShopItem.item_id, ShopItem.shop_id).where(ShopItem.item_id.in_({c[0] for c in candidates}))).all()
    ) if candidates else {}  # fmt: skip
    known = [(i, sha, h, owners[i]) for i, sha, h in candidates if i in owners and i not in shop_of]
    store_image_bands(session, fresh)
    pool = known + [(i, sha, h, shop_of[i]) for i, sha, h in fresh]
    best: dict[tuple[int, int], tuple[int, dict]] = {}
    for i, sha, h in fresh:
        for other, other_sha, other_h, other_shop in pool:
            if other_shop == shop_of[i] or (d := picture.distance(h, other_h)) > SAME_IMAGE_BITS:
                continue
            key = pair(shop_of[i], other_shop)
            if key not in best or d < best[key][0]:
                best[key] = (
                    d,
                    {"items": sorted([i, other]), "sha256": sorted({sha, other_sha}), "bits_apart": d},
                )
    return sum(suggest(session, a, b, "image", round(1 - d / picture.HASH_BITS, 3), evidence)
               for (a, b), (d, evidence) in best.items())  # fmt: skip
