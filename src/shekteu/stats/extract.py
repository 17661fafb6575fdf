"""Figures from the text of a press release: what was counted, how much, of what, where and when.

Rule-based on purpose: the releases are formulaic ("изъято 6 тонн наркотических средств, 2 тонны
марихуаны", "ликвидировано 9 нарколабораторий и 3 ОПГ, в том числе 1 транснациональной"), every rule
can be read and corrected by an analyst, and every figure carries its span for review. For each number
(``numbers``; years, dates, ages, times and references are skipped):

- the **measure** comes from its unit (mass → a seizure, or hemp destroyed where the clause destroys;
  hectares → hemp area; tenge → which sum by the words before; % and "в N раз" → changes) or, for a
  count, from the words right after it (``data/patterns.tsv``, a file that grows), then from the words
  before it for generic nouns ("человек", "дерек");
- the **substance** from the words after the amount, else the nearest one before it in the sentence
  ("изъяты марихуана и гашиш общим весом 20 кг" → marijuana+hashish);
- the **qualifier** from "более/свыше/превысил", "около/почти/порядка", "астам/аса", "жуық/шамамен";
- the **scope** is ``case`` when the sentence tells of one incident (a detained person, a search);
- **region** and **period** from the sentence, else the text and its date (``places``).

A figure stated twice in one text (headline and body) is kept once.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from shekteu.stats import StatsError, places
from shekteu.stats.numbers import MASS_KG, Number, find, normalise

MAX_TEXT = 2_000_000  # characters of one text
SUBSTANCES = [  # first match in the words after the amount (or the nearest before it)
    ("precursors_solid", r"прекурсор\w*\s+в\s+тверд"),
    ("precursors_liquid", r"прекурсор\w*\s+в\s+жидк"),
    ("a-PVP", r"a-pvp|а-pvp|альфа-pvp|\bскорость"),
    ("mephedrone", r"мефедрон|mefedron"),
    ("heroin", r"героин|geroın"),
    ("cocaine", r"кокаин|kokaın"),
    ("opium", r"\bопи[йяуе]"),
    ("hashish", r"гашиш|gashısh"),
    ("marijuana", r"марихуан|marıhýana|marihuana"),
    ("synthetic", r"синтет|sıntetı|синтетикалық"),
    ("precursors", r"прекурсор|prekýrsor"),
    ("chemicals", r"химическ\w+\s+веществ"),
    ("cannabis_plant", r"растени\w*\s+каннабис|каннабис|конопл|қарасора|qarasora"),
    ("poppy", r"көкнар|мак\b"),
    ("drug_plants", r"наркосодержащ\w+\s+растен|өсімдік|ósimdik|растени"),
    ("drugs_total", r"наркотик|наркотическ|наркосредств|психотропн|есірткі|esirtki|запрещенн"),
]
SUBSTANCE_RE = [(name, re.compile(rx)) for name, rx in SUBSTANCES]
RANK = {name: i for i, (name, _rx) in enumerate(SUBSTANCES)}  # the more specific first
GT_BEFORE = re.compile(r"(?:более|свыше|больше|превысил\w*|превыша\w*|не\s+менее|более\s+чем)\s+(?:\S+\s+)?$")
APPROX_BEFORE = re.compile(r"(?:около|порядка|почти|примерно(?:\s+на)?|приблизительно|ориентировочно|шамамен|shamamen|"
                           r"около\s+на)\s+(?:\S+\s+)?$")  # fmt: skip
GT_AFTER = re.compile(r"^\W*(?:астам|аса|артық|astam|asa)")
APPROX_AFTER = re.compile(r"^\W*(?:жуық|jýyq)")
DESTROY = re.compile(r"уничтож|скош|скашив|сжиг|сожг|жойыл|joıyl")
SEIZE = re.compile(r"изъят|изъял|обнаруж|тәркіле|tárkilen")
GENERIC = re.compile(r"^\W*(?:человек|адам|лиц\b|дерек|derek|факт\w*|fakt\w*|случа\w*)")
CASE = re.compile(r"у котор|у задержанн|у него\b|у них\b|\d+-летн|житель|жительниц|гражданин|мужчин|молодой человек|"
                  r"при обыске|при осмотре|во дворе|в доме\b|тұрғын|жанынан|жолаушы|күдікті|семейн\w+ пар|задержаны двое|"
                  r"у подозреваем|в аэропорту|служебная собака|выявлена лаборатория|ер адам|жастағы")  # fmt: skip
MONEY = [  # the nearest of these before a tenge sum in its sentence decides (first on a tie)
    ("account_funds_sum", r"средств\w*\s+на\s+(?:\w+\s+)?сч[её]т|на\s+счетах"),
    ("cash_out_attempt_sum", r"обналичи"),
    ("criminal_cases_sum", r"уголовн\w+\s+дел|ущерб"),
    ("seized_value", r"стоимост|оценива|рыночн|құны"),
    ("blocked_sum", r"карт|сч[её]т"),
    ("assets_confiscated", r"имуществ|в доход государства|легализ|конфиск"),
    ("suspicious_operations_suspended", r"подозрительн"),
    ("drug_outlets_income", r"доход"),
    ("cash_seized_sum", r"наличн"),
]
COURT = re.compile(r"(?:в\s+суд|сотқа)\s+(?:\S+\s+)?$|направлен\w*\s+в\s+суд\s+(?:\S+\s+)?$")
CHANGE_AFTER = re.compile(r"^\W*(?:\w+\W+){0,1}(?:больше|меньше|көп\b|артық|kóp\b)")
PERIOD_WORDS = re.compile(r"\b20\d\d\s*(?:год|г\.|жыл|jyl)|месяц|полгод|полугод|\bай(?:да|дың|ында|ы)?\b|\baı(?:ynda|da)?\b|"
                          r"карасора|қарасора|qarasora|с начала года|жыл басынан|jyl basynan")  # fmt: skip
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[«\"(А-ЯA-ZӘҒҚҢӨҰҮҺІ0-9•-])|\n+|\s+(?=•)")


@dataclass
class Figure:
    measure: str
    value: float
    unit: str
    period: str | None
    region: str
    substance: str | None
    qualifier: str | None
    scope: str | None
    start: int
    end: int

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["value"] = int(self.value) if float(self.value).is_integer() else round(self.value, 6)
        return d


@lru_cache(maxsize=1)
def measures() -> dict[str, tuple[set[str], set[str]]]:
    """The vocabulary: measure → (units seen, substances seen), from ``data/measures.tsv``."""
    out = {}
    for line in resources.files("shekteu.stats").joinpath("data", "measures.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        if line.strip():
            name, units, subs = ([*line.split("\t"), "", ""])[:3]
            out[name] = (set(filter(None, units.split(","))), set(filter(None, subs.split(","))))
    return out


@lru_cache(maxsize=1)
def patterns() -> list[tuple[str, str, re.Pattern[str]]]:
    return parse_patterns(resources.files("shekteu.stats").joinpath("data", "patterns.tsv").read_text(encoding="utf-8"))


def parse_patterns(text: str) -> list[tuple[str, str, re.Pattern[str]]]:
    """Rows of a patterns file; StatsError naming the line for an unknown measure, place or expression."""
    known = measures()
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith(("#", "measure\t")):
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3:
            raise StatsError(f"patterns line {n}: needs measure, where and pattern separated by tabs")
        measure, where, rx = parts
        if measure not in known:
            raise StatsError(f"patterns line {n}: measure {measure!r} is not in measures.tsv (add it there first)")
        if where not in ("after", "before"):
            raise StatsError(f"patterns line {n}: where must be after or before, not {where!r}")
        try:
            rows.append((measure, where, re.compile(rx)))
        except re.error as exc:
            raise StatsError(f"patterns line {n}: not a regular expression ({exc})") from None
    return rows


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in SENTENCE_END.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def _clause(t: str, s0: int, s1: int, n: Number) -> str:
    left = max(t.rfind(",", s0, n.start), t.rfind(" и ", s0, n.start), s0 - 1) + 1
    right = t.find(",", n.span_end, s1)
    return t[left : s1 if right < 0 else right]


def _hits(text: str) -> list[tuple[int, int, str]]:
    """(start, end, substance) of every substance word in ``text``, in order."""
    return sorted((m.start(), m.end(), name) for name, rx in SUBSTANCE_RE for m in rx.finditer(text))


def _pair(text: str, hits: list[tuple[int, int, str]]) -> str | None:
    """"марихуана и гашиш", "a-PVP и мефедрона": two named substances joined by и."""
    for (_a0, a1, a), (b0, _b1, b) in itertools.pairwise(hits):
        if a != b and RANK[a] < RANK["synthetic"] and RANK[b] < RANK["synthetic"] and re.fullmatch(r"\w*\s+и\s+", text[a1:b0]):
            return f"{a}+{b}"
    return None


def _substance(after: str, before: str) -> str | None:
    """The most specific substance named right after the amount, else the nearest one before it."""
    near = after[:45]
    hits = _hits(near)
    if hits:
        return _pair(near, hits) or min(hits, key=lambda h: (RANK[h[2]], h[0]))[2]
    window = before[-90:]
    hits = _hits(window)
    if not hits:
        return None
    tail = [h for h in hits if h[0] >= hits[-1][0] - 30]
    return _pair(window, tail) or min(tail, key=lambda h: (RANK[h[2]], -h[0]))[2]


def _qualifier(before: str, after: str) -> str | None:
    if GT_BEFORE.search(before[-40:]) or GT_AFTER.match(after):
        return "gt"
    if APPROX_BEFORE.search(before[-40:]) or APPROX_AFTER.match(after):
        return "approx"
    return None


def _count_measure(after: str, before: str) -> str | None:
    """The first pattern (in file order: specific first) that reads the words after the number;
    for a generic noun ("человек", "факт"), or none, the words before it decide."""
    best = next(((measure, m) for measure, where, rx in patterns() if where == "after" for m in [rx.search(after)] if m),
                None)  # fmt: skip
    generic = GENERIC.match(after)
    if best and not (generic and best[1].end() <= generic.end() + 1):
        return best[0]
    near = max(((m.end(), measure) for measure, where, rx in patterns() if where == "before"
                for m in rx.finditer(before)), default=None)  # fmt: skip
    # the words nearest the number decide ("охват … 1 млн человек", not "акций" earlier), and only for a
    # generic noun or words right before the number ("количество акций возросло до 13 тыс.")
    if near and (generic or len(before) - near[0] <= 30):
        return near[1]
    return best[0] if best else None


def _noun_before(before: str) -> str | None:
    """The count measure of the nearest noun phrase before "с X до Y" in its sentence."""
    head = re.sub(r"(?:\bс|\bдо|\bот)\s+(?:\d[\d ]*\s+до\s+)?$", "", before)[-80:]
    for start in sorted((m.start() for m in re.finditer(r"\b\w", head)), reverse=True):
        measure = _count_measure(" " + head[start:], "")
        if measure:
            return measure
    return None


def _measure(n: Number, after: str, before: str, clause: str, sentence: str) -> tuple[str | None, str | None]:
    """(measure, substance) for one number, or (None, None) when it is not a figure."""
    if n.unit == "pct":
        return "change_pct", None
    if n.ratio:
        return "change_ratio", None
    if n.unit in MASS_KG:
        if CHANGE_AFTER.match(after):
            return "change_abs", None
        substance = _substance(after, before)
        if re.search(r"(?:весом|салмағы|салмақта)\s+(?:\S+\s+)?$", before):  # the weight of what was just counted
            return "seized", substance
        verbs = clause if (DESTROY.search(clause) or SEIZE.search(clause)) else sentence
        plant = substance in (None, "cannabis_plant", "drug_plants") and re.search(r"конопл|растени|дикорастущ", sentence)
        wild = re.search(r"дикорастущ|дикой\s+конопл", after[:50])
        if plant and ((DESTROY.search(verbs) and not SEIZE.search(verbs)) or wild):
            return "hemp_destroyed", "wild_hemp"
        return "seized", substance
    if n.unit == "l":
        return "seized", _substance(after, before)
    if n.unit == "ha":
        return ("hemp_area_mowed" if re.search(r"скош|скашив|mowed|орыл", sentence) else "hemp_area"), "wild_hemp"
    if n.unit == "KZT":
        near = max(((m.end(), -order, measure) for order, (measure, rx) in enumerate(MONEY) for m in re.finditer(rx, before)),
                   default=None)  # fmt: skip
        return (near[2] if near else None), None
    if n.unit == "USD":
        return ("crypto_arrested_value" if "крипто" in before else "seized_value"), None
    if n.unit == "doses":
        if re.search(r"не\s+допущен|предотвращ", after[:60]):
            return "doses_prevented", None
        return "seized_doses", _substance(after, before)
    if CHANGE_AFTER.match(after) and re.match(r"^\W*факт\w*\s+көп|^\W*\w*\s*(?:больше|меньше)", after):
        return "change_abs", None
    return _refine(_count_measure(after, before), after, before, clause, sentence)


def _refine(measure: str | None, after: str, before: str, clause: str, sentence: str) -> tuple[str | None, str | None]:
    """A count's measure corrected by its verbs and constructions (court, found vs blocked, destroyed vs taken)."""
    if measure == "criminal_cases" and COURT.search(before):
        measure = "cases_to_court"
    if measure == "card_accounts_blocked" and re.search(r"выявлен|установлен|анықтал", clause) and not re.search(
        r"заблок|блокир|бұғат|buǵat", clause
    ):
        measure = "bank_cards_identified"  # found, not (yet) blocked
    if measure is None and re.search(r"(?:\bс|\bдо|\bот)\s+(?:\d[\d ]*\s+до\s+)?$", before):
        measure = _noun_before(before)  # "фактов сбыта - с 1 407 до 1 637": the noun before counts both
    if measure in ("bushes_seized", "bushes_destroyed", "plants_destroyed"):
        verbs = clause if (DESTROY.search(clause) or SEIZE.search(clause)) else sentence
        destroyed = DESTROY.search(verbs) and not SEIZE.search(verbs)
        if measure != "plants_destroyed":
            measure = "bushes_destroyed" if destroyed else "bushes_seized"
        elif not destroyed:
            measure = "bushes_seized"  # plants taken, counted as bushes
        substance = _substance(after, "") if measure != "plants_destroyed" else None
        return measure, substance if substance in ("cannabis_plant", "marijuana", "poppy") else None
    return measure, None


def extract(text: str, released: str | None = None) -> list[Figure]:
    """The figures ``text`` states, in order of appearance, each once."""
    if not isinstance(text, str):
        raise StatsError("text must be a string")
    if len(text) > MAX_TEXT:
        raise StatsError(f"text of {len(text):,} characters is over the {MAX_TEXT:,} limit")
    when = _date(released)
    t = normalise(text)
    numbers = [n for n in find(t) if not n.distractor]
    text_period = places.period_in(t, when)
    text_year = places.year_of(t, when)
    head = t[:400]
    national = re.search(r"в\s+казахстане|по\s+(?:всей\s+)?(?:стране|республике)|республиканск|в\s+рк\b|мвд\s+(?:рк|казахстана)|"
                         r"елімізде|(?<!солтүстік )(?<!шығыс )(?<!батыс )қазақстанда|qazaqstanda", head)  # fmt: skip
    text_region = None if national else places.region_in(head)
    current_period = None
    spans = _sentences(text)
    out: list[Figure] = []
    seen: set[tuple[str, float, str, str | None]] = set()
    for i, n in enumerate(numbers):
        s0, s1 = next(((a, b) for a, b in spans if a <= n.start < max(b, a + 1)), (0, len(t)))
        nxt = next((m.start for m in numbers[i + 1 :] if m.start >= n.span_end), len(t))
        after = t[n.span_end : min(s1, nxt, n.span_end + 90)]
        before = t[s0 : n.start]
        sentence = t[s0:s1]
        measure, substance = _measure(n, after, before, _clause(t, s0, s1, n), sentence)
        if measure is None:
            continue
        key = (measure, round(n.value * MASS_KG.get(n.unit, 1), 6), "mass" if n.unit in MASS_KG else n.unit)
        if (*key, substance) in seen or (*key, None) in seen or (substance is None and any(k[:3] == key for k in seen)):
            continue  # stated twice (headline and body), once with the substance left out
        seen.add((*key, substance))
        region = places.region_in(before) or text_region or places.COUNTRY
        if PERIOD_WORDS.search(sentence):  # a sentence that says its period sets it for those that follow
            current_period = places.period_in(sentence, when, text_year) or current_period
        period = current_period
        out.append(Figure(measure, n.value, n.unit, period or text_period, region, substance, _qualifier(before, after),
                          "case" if CASE.search(sentence) else None, n.start, n.span_end))  # fmt: skip
    return out


def _date(value: str | None) -> date | None:
    """The release date: YYYY-MM-DD, or YYYY-MM (its last days), or YYYY; None if unreadable."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", str(value or "").strip()[:10])
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2) or 12), int(m.group(3) or 28))
    except ValueError:
        return None
