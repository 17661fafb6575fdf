"""Messages for people, kept as a template and its values so each adapter words them in its user's language.

The library refuses bad requests in English (the CLI's language, and the text of ``str(exc)``), but the
same refusal reaches an analyst on the dashboard who reads Russian or Kazakh. So a refusal carries an
``N_``-marked template and the values that fill it: the CLI prints it as it is, the dashboard looks the
template up in its catalogs (``web/locales``) and fills it there. Values that are themselves words (a
state, a kind) are marked ``Term`` and translated too. The library never imports the web layer: the
caller hands in its translate function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


def N_(message: str) -> str:
    """Marks a string for the catalogs where it is defined; it is translated where it is shown."""
    return message


class Term(str):
    """A value of a message that is itself a word to translate (a state, a kind, a role)."""


class Terms(tuple):
    """Several words to translate, shown joined (the states a ticket can move to)."""

    def __new__(cls, words: Iterable[str], joiner: str = ", ") -> Terms:
        made = super().__new__(cls, tuple(words))
        made.joiner = joiner
        return made


@dataclass(frozen=True)
class Said:
    """A message to be shown in a person's language: an ``N_``-marked template and its values."""

    template: str
    values: dict[str, Any]

    def text(self, translate: Callable[[str], str] = str) -> str:
        def word(value: Any) -> Any:
            if isinstance(value, Said):  # a lower layer's reason inside this one
                return value.text(translate)
            if isinstance(value, Terms):
                return value.joiner.join(translate(v) for v in value)
            return translate(value) if isinstance(value, Term) else value

        template = translate(self.template)
        return template.format(**{k: word(v) for k, v in self.values.items()}) if self.values else template


def said(template: str, /, **values: Any) -> Said:
    return Said(template, values)


class Refusal(ValueError):
    """A request the library will not carry out, with the reason as a ``Said`` (``str()`` is English)."""

    def __init__(self, template: str | Said, /, **values: Any) -> None:
        self.said = template if isinstance(template, Said) else Said(template, values)
        super().__init__(self.said.text())

    @classmethod
    def like(cls, other: BaseException) -> Refusal:
        """The same reason under this class (a lower layer's refusal passed on)."""
        return cls(other.said) if isinstance(other, Refusal) else cls(str(other))


def wording(exc: BaseException) -> str | Said:
    """What to tell a person about ``exc``: its ``Said`` when it has one, else its English text."""
    return exc.said if isinstance(exc, Refusal) else str(exc)
