"""What the Telegram bot says and does, independent of Telegram: commands, reports, languages.

``BotCore`` turns one incoming event (a command, text, photo or location from a user) into the
reply text, calling the tips library. The aiogram adapter (``client.py``) only moves bytes: it
downloads photos, calls these methods in a worker thread and sends the answers. Languages: the
reporter's choice (``/lang``), else their Telegram app language, else Russian.
"""

from __future__ import annotations

from dataclasses import dataclass

from shekteu.db.tables import ReporterPrefs
from shekteu.runtime import Runtime, hash_key
from shekteu.throttle import LookupLimit
from shekteu.tips import messages
from shekteu.tips.intake import RateLimited, TipError, TipInput, add_location, submit
from shekteu.tips.privacy import pseudonym
from shekteu.tips.status import TipStatusError, get_tip
from shekteu.tips.tickets import parse_ticket
from shekteu.web.i18n import in_language, translator
from shekteu.wording import Said

TEXT = {
    "start": {
        "ru": "Здравствуйте! Здесь можно анонимно сообщить о продаже наркотиков.\n"
              "• Пришлите ссылку или @имя магазина, бота, канала.\n"
              "• Или фото надписи на стене — и геопозицию места.\n"
              "Мы не видим ваш номер. /status НОМЕР — узнать статус, /lang — язык, /help — помощь.",
        "kk": "Сәлеметсіз бе! Мұнда есірткі сату туралы жасырын хабарлауға болады.\n"
              "• Дүкеннің, боттың, арнаның сілтемесін не @атын жіберіңіз.\n"
              "• Немесе қабырғадағы жазудың фотосын және орынның геолокациясын.\n"
              "Нөміріңізді көрмейміз. /status НӨМІР — мәртебе, /lang — тіл, /help — көмек.",
        "en": "Hello! Here you can report drug sales anonymously.\n"
              "• Send a link or @handle of the shop, bot or channel.\n"
              "• Or a photo of graffiti on a wall — and the location.\n"
              "We do not see your number. /status TICKET — status, /lang — language, /help — help.",
    },
    "lang_set": {"ru": "Язык: русский.", "kk": "Тіл: қазақша.", "en": "Language: English."},
    "lang_ask": {"ru": "Выберите язык: /lang ru, /lang kk, /lang en", "kk": "Тілді таңдаңыз: /lang ru, /lang kk, /lang en",
                 "en": "Choose a language: /lang ru, /lang kk, /lang en"},
    "status_ask": {"ru": "Укажите номер: /status KZ-XXXX-XXXX", "kk": "Нөмірді жазыңыз: /status KZ-XXXX-XXXX",
                   "en": "Give the ticket: /status KZ-XXXX-XXXX"},
    "location_alone": {"ru": "Геопозиция получена, но к ней нет фото. Пришлите фото надписи.",
                       "kk": "Геолокация алынды, бірақ фото жоқ. Жазудың фотосын жіберіңіз.",
                       "en": "Location received, but there is no photo for it. Please send the photo."},
}  # fmt: skip


@dataclass(frozen=True)
class Reporter:
    user_id: int
    chat_id: int
    language_code: str | None = None


class BotCore:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.key = hash_key(rt.settings)
        self.lookups = LookupLimit(rt.settings.lookup_rate_limit)

    def _who(self, user: Reporter) -> str:
        return pseudonym(self.key, "telegram", str(user.user_id))

    def lang(self, user: Reporter) -> str:
        with self.rt.db.read() as session:
            chosen = session.get(ReporterPrefs, self._who(user))
        if chosen is not None:
            return chosen.lang
        code = (user.language_code or "")[:2]
        return code if code in messages.LANGS else "ru"

    def say(self, key: str, user: Reporter) -> str:
        table = TEXT[key]
        return table[self.lang(user)]

    def start(self, user: Reporter) -> str:
        return self.say("start", user)

    def set_lang(self, user: Reporter, arg: str) -> str:
        code = arg.strip().lower()[:2]
        if code not in messages.LANGS:
            return self.say("lang_ask", user)
        with self.rt.db.write() as session:
            prefs = session.get(ReporterPrefs, self._who(user))
            if prefs is None:
                session.add(ReporterPrefs(pseudonym=self._who(user), lang=code))
            else:
                prefs.lang = code
        return TEXT["lang_set"][code]

    def status(self, user: Reporter, arg: str) -> str:
        lang = self.lang(user)
        if not arg.strip():
            return TEXT["status_ask"][lang]
        if not self.lookups.allow(str(user.user_id)):
            return messages.text("lookups_limited", lang)
        try:
            with self.rt.db.read() as session:
                tip = get_tip(session, arg)
                shown = tip.public_status
                if shown == messages.status_text(tip.status, tip.lang):
                    shown = messages.status_text(tip.status, lang)
                return messages.text("status", lang, ticket=tip.ticket, status=shown)
        except TipStatusError:
            return messages.text("unknown_ticket", lang, ticket=parse_ticket(arg) or arg.strip()[:20])

    def report(self, user: Reporter, *, text: str = "", photos: list[bytes] | None = None,
               message_id: int | None = None) -> tuple[str, bool]:  # fmt: skip
        """(reply, rate_limited) for a report of text and/or photos."""
        lang = self.lang(user)
        tip = TipInput(channel="telegram", user_id=str(user.user_id), contact=str(user.chat_id), text=text,
                       photos=photos or [], lang=lang,
                       message_id=f"{user.chat_id}:{message_id}" if message_id is not None else None)  # fmt: skip
        try:
            receipt = submit(self.rt, tip)
        except RateLimited as exc:
            return str(exc), True
        except TipError as exc:
            said = in_language(exc, lang)
            return (messages.text("bad_photo", lang, reason=said) if photos else said), False
        if photos and not receipt.has_location:
            return receipt.message + "\n" + messages.text("need_location", lang), False
        return receipt.message, False

    def location(self, user: Reporter, lat: float, lon: float) -> str:
        lang = self.lang(user)
        try:
            added = add_location(self.rt, "telegram", str(user.user_id), lat, lon)
        except TipError as exc:
            return in_language(exc, lang)
        return added.message if added else TEXT["location_alone"][lang]

    def photo_refused(self, user: Reporter, reason: str | Said) -> str:
        lang = self.lang(user)
        told = reason.text(translator(lang or "ru")) if isinstance(reason, Said) else reason
        return messages.text("bad_photo", lang, reason=told)

    def unsupported(self, user: Reporter) -> str:
        return messages.text("unsupported", self.lang(user))
