"""What reporters read, in Russian, Kazakh and English (the language of their app, or chosen)."""

from __future__ import annotations

LANGS = ("ru", "kk", "en")

TEXTS: dict[str, dict[str, str]] = {
    "received": {
        "ru": "Спасибо! Сообщение принято, номер обращения {ticket}. Мы сообщим, когда оно приведёт к результату.",
        "kk": "Рахмет! Хабарлама қабылданды, өтініш нөмірі {ticket}. Нәтиже болғанда хабарлаймыз.",
        "en": "Thank you! Report received, ticket {ticket}. We will tell you when it leads somewhere.",
    },
    "received_web": {  # the web form has no channel back to the reporter: say so, and how to look
        "ru": "Спасибо! Сообщение принято, номер обращения {ticket}. Сохраните номер: ответ вам не придёт "
              "(мы не знаем, кто вы), но статус можно проверить на этом сайте по номеру.",
        "kk": "Рахмет! Хабарлама қабылданды, өтініш нөмірі {ticket}. Нөмірді сақтаңыз: сізге жауап келмейді "
              "(біз сіздің кім екеніңізді білмейміз), бірақ мәртебесін осы сайттан нөмір бойынша тексеруге болады.",
        "en": "Thank you! Report received, ticket {ticket}. Keep the number: no reply will reach you (we do not "
              "know who you are), but you can check its status on this site with the number.",
    },
    "duplicate": {
        "ru": "Об этом уже сообщали ({ticket}), ваше сообщение тоже учтено — спасибо.",
        "kk": "Бұл туралы бұрын хабарланған ({ticket}), сіздің хабарламаңыз да есепке алынды — рахмет.",
        "en": "This was already reported ({ticket}); your report still counts — thank you.",
    },
    "status": {
        "ru": "Обращение {ticket}: {status}",
        "kk": "{ticket} өтініші: {status}",
        "en": "Ticket {ticket}: {status}",
    },
    "unknown_ticket": {
        "ru": "Обращение {ticket} не найдено.",
        "kk": "{ticket} өтініші табылмады.",
        "en": "No ticket {ticket}.",
    },
    "rate_limited": {
        "ru": "Слишком много сообщений подряд. Попробуйте позже — уже отправленные сохранены.",
        "kk": "Хабарламалар тым көп. Кейінірек қайталаңыз — жіберілгендері сақталды.",
        "en": "Too many reports in a row. Please try again later — those sent are kept.",
    },
    "greeting": {
        "ru": "Здравствуйте! Чтобы сообщить о продаже наркотиков, пришлите ссылку, @имя канала или бота, "
              "или фото надписи с местом.",
        "kk": "Сәлеметсіз бе! Есірткі сатылуы туралы хабарлау үшін сілтемені, арнаның не боттың @атын, "
              "немесе жазудың суретін орнымен жіберіңіз.",
        "en": "Hello! To report drug sales, send a link, the @name of a channel or bot, or a photo of a "
              "wall ad with its location.",
    },
    "lookups_limited": {
        "ru": "Слишком много запросов статуса. Подождите минуту и попробуйте снова.",
        "kk": "Мәртебе сұраулары тым көп. Бір минут күтіп, қайталаңыз.",
        "en": "Too many status lookups. Please wait a minute and try again.",
    },
    "location_added": {
        "ru": "Геопозиция добавлена к обращению {ticket}. Спасибо!",
        "kk": "Геолокация {ticket} өтінішіне қосылды. Рахмет!",
        "en": "Location added to ticket {ticket}. Thank you!",
    },
    "unsupported": {
        "ru": "Пришлите ссылку или @имя магазина, фото надписи или геопозицию.",
        "kk": "Дүкеннің сілтемесін не @атын, жазудың фотосын немесе геолокацияны жіберіңіз.",
        "en": "Send a link or @handle of the shop, a photo of the graffiti, or a location.",
    },
    "bad_photo": {
        "ru": "Не удалось принять фото: {reason}. Попробуйте другое.",
        "kk": "Фото қабылданбады: {reason}. Басқасын жіберіп көріңіз.",
        "en": "Could not take the photo: {reason}. Please try another.",
    },
    "need_location": {
        "ru": "На фото нет координат. Отправьте, пожалуйста, геопозицию места.",
        "kk": "Фотода координаттар жоқ. Орынның геолокациясын жіберіңіз.",
        "en": "The photo has no location. Please share the location of the place.",
    },
}

STATUS_TEXT: dict[str, dict[str, str]] = {
    "received": {"ru": "принято", "kk": "қабылданды", "en": "received"},
    "in_review": {"ru": "на проверке", "kk": "тексерілуде", "en": "in review"},
    "actioned": {"ru": "приняты меры", "kk": "шаралар қабылданды", "en": "action taken"},
    "closed": {
        "ru": "закрыто, спасибо за помощь",
        "kk": "жабылды, көмегіңізге рахмет",
        "en": "closed, thank you",
    },
    "rejected": {"ru": "отклонено", "kk": "қабылданбады", "en": "rejected"},
}


def text(key: str, lang: str | None, **values: str) -> str:
    table = TEXTS[key]
    return table.get(lang or "ru", table["ru"]).format(**values)


def status_text(status: str, lang: str | None) -> str:
    table = STATUS_TEXT[status]
    return table.get(lang or "ru", table["ru"])
