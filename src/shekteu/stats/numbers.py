"""Numbers as Russian and Kazakh (Cyrillic and Latin) press releases write them, with their units.

"4 655", "26,1", "3,5 тысячи", "44 тыс.", "2,6 млрд", "1 млн 300 тыс.", "четырёх", "полутора тысяч",
"үш", "tórt", "ekeýi", "900-ден астам", "1 тонна 642 кг", "Т850 млн", "в 3 раза", "втрое", "на 15,3 %".
Each mention keeps its character span, so every figure can be shown where it came from. Years,
dates, ages, times and ranges of minutes are recognised here so that the extractor can skip them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SPACES = "\u00a0\u202f\u2009\u2007"


def normalise(text: str) -> str:
    """Lower case, ё→е, odd spaces and dashes made plain — the same length, so spans stay valid."""
    out = []
    for c in text:
        low = c.lower()
        if len(low) != 1:
            low = c
        if low == "ё":
            low = "е"
        elif low in SPACES:
            low = " "
        elif low in "–—−":
            low = "-"
        out.append(low)
    return "".join(out)


RU_WORDS = {
    "один": 1, "одна": 1, "одно": 1, "одну": 1, "одного": 1, "одной": 1, "одним": 1, "одном": 1, "одному": 1,
    "два": 2, "две": 2, "двух": 2, "двум": 2, "двумя": 2, "двое": 2, "двоих": 2,
    "три": 3, "трех": 3, "трем": 3, "тремя": 3, "трое": 3, "троих": 3,
    "четыре": 4, "четырех": 4, "четырем": 4, "четырьмя": 4, "четверо": 4,
    "пять": 5, "пяти": 5, "пятью": 5, "пятеро": 5, "шесть": 6, "шести": 6, "шестью": 6,
    "семь": 7, "семи": 7, "восемь": 8, "восьми": 8, "девять": 9, "девяти": 9, "десять": 10, "десяти": 10,
    "одиннадцать": 11, "одиннадцати": 11, "двенадцать": 12, "двенадцати": 12, "пятнадцать": 15, "пятнадцати": 15,
    "двадцать": 20, "двадцати": 20, "тридцать": 30, "тридцати": 30, "сорок": 40, "сорока": 40,
    "пятьдесят": 50, "пятидесяти": 50, "сто": 100, "ста": 100, "двести": 200, "двухсот": 200,
    "триста": 300, "трехсот": 300, "пятьсот": 500, "пятисот": 500,
    "полутора": 1.5, "полторы": 1.5, "полтора": 1.5,
}  # fmt: skip
KK_WORDS = {
    "бір": 1, "екі": 2, "үш": 3, "төрт": 4, "бес": 5, "алты": 6, "жеті": 7, "сегіз": 8, "тоғыз": 9, "он": 10,
    "жиырма": 20, "отыз": 30, "қырық": 40, "елу": 50, "жүз": 100,
    "екеуі": 2, "үшеуі": 3, "төртеуі": 4, "бесеуі": 5, "екеу": 2, "үшеу": 3,
    "bir": 1, "eki": 2, "úsh": 3, "tórt": 4, "bes": 5, "alty": 6, "jeti": 7, "segiz": 8, "toǵyz": 9, "on": 10,
    "jıyrma": 20, "otyz": 30, "qyryq": 40, "elý": 50, "júz": 100, "ekeýi": 2, "úsheýi": 3, "tórteýi": 4,
}  # fmt: skip
MULTIPLIERS = [
    (re.compile(r"тыс\.?|тысяч[аиу]?|тыщ\w*|мың\w*|myń\w*|mıń\w*"), 1e3),
    (re.compile(r"млн\.?|миллион\w*|mln\.?|mıllıon\w*|million\w*"), 1e6),
    (re.compile(r"млрд\.?|миллиард\w*|mlrd\.?|mıllıard\w*|milliard\w*"), 1e9),
]
UNITS = [  # unit, pattern; the first that matches right after the number wins
    ("t", r"тонн\w*|тонна\w*|tonna\w*|tonn\w*|т\.(?=\s)"),
    ("kg", r"кг\.?|килограмм\w*|кило(?=\s)|келі\w*|keli\w*|kg\.?"),
    ("g", r"граммов|грамм\w*|гр\.|гр(?=[\s,;.)])|г(?=[\s,;)])|gramm\w*|gr\."),
    ("l", r"литр\w*|л\.(?=\s)|л(?=[\s,;)])|lıtr\w*"),
    ("ha", r"гектар\w*|га(?=[\s,;.)]|$)|gektar\w*"),
    ("KZT", r"тенге|теңге|тг\.?(?=\s|$)|₸|teńge"),
    ("USD", r"долл\w*|\$|usd|ақш\s+доллар\w*|aqsh\s+dollar\w*"),
    ("pct", r"%|процент\w*|пайыз\w*|paıyz\w*"),
    ("doses", r"(?:разовых\s+|синтетических\s+)?доз\w*"),
]
UNIT_RE = [(u, re.compile(p)) for u, p in UNITS]
MASS_KG = {"t": 1000.0, "kg": 1.0, "g": 0.001}
MONTHS = (r"январ|феврал|март|апрел|ма[яй]|июн|июл|август|сентябр|октябр|ноябр|декабр|қаңтар|ақпан|наурыз|сәуір|"
          r"мамыр|маусым|шілде|тамыз|қыркүйек|қазан|қараша|желтоқсан|maýsym|qazan|shilde|tamyz")  # fmt: skip

DIGITS = re.compile(r"(?<![\w.,])(?:[т₸](?=\d))?(\d{1,3}(?:[ ]\d{3})+|\d+)(?:[.,](\d+))?(?!\d)(-[a-zа-яәғқңөұүһіıáǵńóúý]+)?")
WORD = re.compile(r"[a-zа-яәғқңөұүһіıáǵńóúý]+(?:-[a-zа-яәғқңөұүһіıáǵńóúý]+)?")
RATIO_WORDS = {"вдвое": 2, "втрое": 3, "вчетверо": 4, "впятеро": 5}
KAZAKH = re.compile(r"[әғқңөұүһі]|[áǵńóúý]|\bjyl|\besirtki")


@dataclass
class Number:
    value: float
    start: int
    end: int  # the number and any multiplier ("3,5 тысячи"); the unit comes after
    unit: str = "count"
    unit_end: int = -1  # end of the unit word (or of the number when there is none)
    kind: str = "digits"  # digits, words
    distractor: str = ""  # year, date, age, time, … (why it is not a figure)
    ratio: bool = False

    @property
    def span_end(self) -> int:
        return max(self.end, self.unit_end)


def is_kazakh(text: str) -> bool:
    return bool(KAZAKH.search(text))


def find(text: str) -> list[Number]:
    """Every number mention in ``text`` (already ``normalise``d), in order, with unit and distractor tags."""
    kk = is_kazakh(text)
    found: list[Number] = []
    taken = [False] * (len(text) + 1)
    for m in DIGITS.finditer(text):
        whole, frac, suffix = m.group(1), m.group(2), m.group(3) or ""
        value = float(whole.replace(" ", "") + ("." + frac if frac else ""))
        n = Number(value, m.start(), m.end())
        if m.group(0)[0] in "т₸":
            n.unit = "KZT"
        _tag_distractor(text, n, whole, suffix)
        found.append(n)
        for i in range(m.start(), m.end()):
            taken[i] = True
    words = (kk and KK_WORDS) or RU_WORDS
    for m in WORD.finditer(text):
        w = m.group(0)
        if taken[m.start()]:
            continue
        if w in RATIO_WORDS:
            found.append(Number(float(RATIO_WORDS[w]), m.start(), m.end(), unit="ratio", kind="words", ratio=True))
        elif w in words or w in RU_WORDS:
            value = float(words.get(w, RU_WORDS.get(w, 0)))
            found.append(Number(value, m.start(), m.end(), kind="words"))
        elif w.startswith("полукилограмм"):
            found.append(Number(0.5, m.start(), m.start(), unit="kg", unit_end=m.end(), kind="words"))
        elif any(rx.fullmatch(w) for rx, _ in MULTIPLIERS) and not _after_number(text, m.start()):
            found.append(Number(1.0, m.start(), m.start(), kind="words"))  # "мыңнан астам": a thousand
    found.sort(key=lambda n: n.start)
    merged = _join_words(found, text)
    for n in merged:
        _scale_and_unit(text, n)
    out = _mixed_units(_compound(merged, text), text)
    kept: list[Number] = []
    for n in out:  # a multiplier word already read as part of the number before it ("полутора тысяч")
        if kept and n.start < kept[-1].span_end:
            continue
        kept.append(n)
    for n in kept:
        if n.kind == "words" and not n.distractor:
            _tag_distractor(text, n, "", "")
    return kept


def _after_number(text: str, pos: int) -> bool:
    return bool(re.search(r"\d[.,]?\d*\s*$", text[max(0, pos - 12) : pos]))


def _tag_distractor(text: str, n: Number, whole: str, suffix: str) -> None:
    after = text[n.end : n.end + 24]
    before = text[max(0, n.start - 14) : n.start]
    plain = whole.replace(" ", "")
    if suffix.startswith(("-лет", "-жыл", "-летн")) or re.match(r"\s*(?:-?летн|лет\b|года?\s+рожд|жаст|jas)", after):
        n.distractor = "age"
    elif plain.isdigit() and len(plain) == 4 and 1990 <= int(plain) <= 2100 and " " not in whole and (
        re.match(r"\s*(?:-?(?:го|м|й)\b)?\s*(?:год|г\.|гг|жыл|jyl|ж\.)|\s*[-–]\s*(?:19|20)\d\d|\s*$", after)
        or re.search(r"(?:\bв|\bс|\bдо|\bза|\bпо|\bот|\bк|\bна|[-–])\s*$", before)
    ):
        n.distractor = "year"
    elif re.match(rf"\s*(?:{MONTHS})", after) or suffix.startswith(("-inen", "-ine", "-нен", "-не")):
        n.distractor = "date"
    elif re.match(r"\s*(?:минут|час|сут|сағат|минут|ай\b|айда|айы|месяц|дн[ея]|день|күн|неделю|жыл)", after):
        n.distractor = "time"
    elif re.match(r"-\d", text[n.end : n.end + 2]) or re.search(r"\d-$", before):
        n.distractor = "range"
    elif re.search(r"(?:стать\w*|ст\.|бап\w*|пункт\w*|№|номер\w*|п\.)\s*$", before) or re.match(r"\s*мрп", after):
        n.distractor = "reference"
    elif re.match(r"\s*(?:км|километр|метр|м\b|шақырым)", after):
        n.distractor = "distance"


def _join_words(found: list[Number], text: str) -> list[Number]:
    """Word numbers next to each other add up: "двадцать пять", "жиырма бес"."""
    out: list[Number] = []
    for n in found:
        prev = out[-1] if out else None
        if (prev and prev.kind == "words" and n.kind == "words" and not n.ratio and not prev.ratio
                and text[prev.end : n.start].strip() == "" and prev.value >= 20 and n.value < prev.value
                and prev.value % 10 == 0):  # fmt: skip
            prev.value += n.value
            prev.end = n.end
            continue
        out.append(n)
    return out


def _scale_and_unit(text: str, n: Number) -> None:
    pos = n.end
    m = re.match(r"\s*([^\s\d]+)", text[pos:])
    if m and n.unit_end < 0:
        word = m.group(1).rstrip(",;:")
        for rx, factor in MULTIPLIERS:
            if rx.fullmatch(word):
                n.value *= factor
                n.end = pos + m.end(1) - (len(m.group(1)) - len(word))
                break
    if n.unit_end >= 0:
        return
    rest = text[n.end : n.end + 40]
    ratio = re.match(r"\s*(?:раз[аы]?\b|есе\b|ese\b)", rest)
    if (ratio and re.search(r"(?:\bв|\bво)\s+\S*$", text[max(0, n.start - 6) : n.start] + " ")) or (
        ratio and re.match(r"\s*(?:есе|ese)", rest)
    ):
        n.unit, n.ratio, n.unit_end = "ratio", True, n.end + ratio.end()
        return
    if n.unit == "KZT":
        n.unit_end = n.end
        return
    for unit, rx in UNIT_RE:
        um = re.match(r"\s*(?:" + rx.pattern + ")", rest)
        if um:
            n.unit, n.unit_end = unit, n.end + um.end()
            return
    n.unit_end = n.end


def _compound(found: list[Number], text: str) -> list[Number]:
    """"1 млн 300 тыс." is one number."""
    out: list[Number] = []
    for n in found:
        prev = out[-1] if out else None
        if (prev and prev.unit == n.unit == "count" and prev.value >= 1e6 and n.value < prev.value
                and n.value >= 1e3 and text[prev.end : n.start].strip() == ""):  # fmt: skip
            prev.value += n.value
            prev.end, prev.unit_end = n.end, n.unit_end
            continue
        out.append(n)
    return out


def _mixed_units(found: list[Number], text: str) -> list[Number]:
    """"1 тонна 642 кг" is 1,642 kg."""
    out: list[Number] = []
    for n in found:
        prev = out[-1] if out else None
        if (prev and prev.unit in MASS_KG and n.unit in MASS_KG and MASS_KG[n.unit] < MASS_KG[prev.unit]
                and text[prev.unit_end : n.start].strip() in ("", "и") and n.value < 1000):  # fmt: skip
            prev.value = prev.value * MASS_KG[prev.unit] / MASS_KG[n.unit] + n.value
            prev.unit, prev.end, prev.unit_end = n.unit, n.end, n.unit_end
            continue
        out.append(n)
    return out
