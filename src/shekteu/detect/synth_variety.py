"""More varied generated messages: the kinds real held-out ads and hard negatives showed (issue 21).

The first generator (``synth``) writes long, complete ads; the real ones it missed were short
recruiting lines with no drug in them ("курьер в шоп, оплата еженедельно, пиши в лс"), "нарко-"
compounds, bare product lists, euphemistic "лавка … 24/7 … отзывы" ads, ads for cities abroad,
and transliterated or misspelt text. Its false alarms were people telling what they took,
harm-reduction advice, forum rules and Kazakh news. Each generator here builds such messages from
fragments (so no two are alike), and ``noise`` writes any message the way people type: typos,
transliteration, letters from three scripts, no punctuation. Ordinary jobs in shops and chat about
everyday "шишки", "соль" and "снег" keep the model from learning that a shop or a job alone is a
drug ad.
"""

from __future__ import annotations

import random

from shekteu.detect.spelling import _TRANSLIT

# -- fragments -------------------------------------------------------------------------------------
NEED = ["Требуется", "Требуются", "Нужен", "Нужны", "Ищем", "Ищу", "Набор:", "В поиске", "Срочно нужен",
        "Открыт набор:", "Ищем в команду", "Возьмём"]  # fmt: skip
JOBS = ["курьер", "курьеры", "курьера", "водитель", "водителя", "работник", "работники", "сотрудник",
        "сотрудники", "складмен", "кладовщик", "фасовщик", "оператор", "помощник", "автокурьер", "пеший курьер"]  # fmt: skip
DRUG_SHOPS = ["в шоп", "в наш шоп", "в ровный шоп", "в крупный шоп", "в команду шопа", "на склад шопа", "в шоп {city}",
              "в магазин", "в наш магазин", "в онлайн магазин", "в проверенный шоп", "в тёмный магазин"]  # fmt: skip
NARCO_JOBS = ["наркокурьер", "нарко-курьер", "наркозакладчик", "нарко работа", "работа в наркошопе", "нарко-шоп",
              "наркокурьеры", "наркоработа", "в нарко шоп", "нарко закладчик"]  # fmt: skip
WEEKLY = ["оплата еженедельно", "ЗП каждую неделю", "выплаты раз в неделю", "от {n}00к в неделю",
          "еженедельные выплаты", "зп еженедельно", "{n}0 000 в день", "выплата каждый день", "оплата в неделю {n}00к",
          "платим каждую неделю", "от {n}0к в день"]  # fmt: skip
SHORT_CONTACT = ["пиши в лс", "лс", "в личку", "пиши", "подробности в лс", "пиши {contact}", "писать в личные",
                 "за подробностями в лс", "жду в лс", "{contact}", "пишите"]  # fmt: skip
PRODUCTS = ["шишки", "бошки", "гаш", "гашик", "меф", "мефедрон", "альфа", "мука", "кристаллы", "крис", "скорость",
            "соль", "таблы", "марки", "экстази", "мдма", "кокс", "амф", "фен", "план", "шоколад", "мяу", "ск", "герыч",
            "травка", "4ммс", "apvp", "стафф"]  # fmt: skip
SEPARATORS = [", ", " / ", " | ", " ", "\n", " • ", " - ", "; "]
SHOP_WORDS = ["Лавка", "Наша лавка", "Магазин", "Шоп", "Лавочка", "Маркет", "Наш магазин", "Точка"]
SERVICE = ["работаем 24/7", "оператор на связи", "отзывы в канале", "ровные позиции", "моментальная выдача",
           "для ценителей отдыха", "все позиции в боте", "оператор ответит", "отзывы в группе", "быстрая выдача",
           "круглосуточно", "оператор онлайн", "новые позиции", "снова открыты", "только проверенные позиции",
           "работаем без выходных", "выдача по всему городу", "ассортимент в боте", "лучшие отзывы"]  # fmt: skip
ABROAD = ["Варшава", "Берлин", "Тбилиси", "Прага", "Киев", "Минск", "Бишкек", "Ташкент", "Стамбул", "Дубай",
          "Ереван", "Рига", "Вильнюс", "Душанбе", "Баку", "Warsaw", "Berlin", "Prague", "Istanbul", "Tbilisi"]  # fmt: skip
EN_PRODUCTS = ["weed", "coke", "hash", "pills", "molly", "meth", "kush", "shrooms", "ket", "xtc", "buds", "mdma"]
CITIES = ["Алматы", "Астана", "Шымкент", "Караганда", "Тараз", "Актобе", "Москва", "Новосибирск"]

# hard negatives
PEOPLE = ["Я", "Вчера я", "Мы с другом", "Брат", "Мой парень", "Подруга", "Как-то раз я", "В студенчестве я",
          "Знакомый", "Лет пять назад я"]  # fmt: skip
TOOK = ["взял", "попробовал", "купил", "употреблял", "курил", "сидел на", "брал", "нюхал", "пробовал"]
EFFECT = ["отходняк был жесть", "больше никогда не буду", "сердце колотилось", "не спал двое суток", "ничего не понял",
          "голова болела весь день", "потом бросил", "сейчас год чистый", "еле вытащили", "накрыло сильно",
          "ломка была страшная", "жалею до сих пор", "в итоге завязал", "родители узнали"]  # fmt: skip
QUESTIONS = ["Сколько выводится {drug} из организма?", "Чем опасен {drug}?", "Как помочь другу, который сидит на {drug}?",
             "Кто-нибудь бросил {drug} сам?", "Правда ли, что {drug} вызывает зависимость с первого раза?"]  # fmt: skip
HARM = ["Не мешайте {drug} с алкоголем", "Пейте воду и делайте перерывы", "Если другу плохо, положите его на бок и "
        "вызывайте скорую", "Проверяйте вещества тест-полосками", "Налоксон спасает при передозировке",
        "Анонимная горячая линия помощи зависимым работает круглосуточно", "Снижение вреда: не употребляйте в одиночку",
        "Обратитесь к наркологу анонимно", "Реабилитационный центр принимает бесплатно"]  # fmt: skip
RULES = ["Правила чата: продажа веществ запрещена, бан сразу", "Реклама шопов и кладов запрещена",
         "За ссылки на магазины бан без предупреждения", "Модератор удаляет объявления о продаже наркотиков",
         "Обсуждение покупки запрещено правилами форума", "Сообщения о закладках удаляются, автор блокируется",
         "Напоминаем: реклама в чате запрещена"]  # fmt: skip
KK_PLACES = ["Алматыда", "Астанада", "Шымкентте", "Қарағандыда", "Таразда", "Ақтөбеде", "Павлодарда", "Облыста",
             "Түркістан облысында", "Жамбыл облысында"]  # fmt: skip
KK_DRUGS = ["есірткі", "синтетикалық есірткі", "марихуана", "гашиш", "мефедрон", "{n} кг есірткі", "героин",
            "психотроптық заттар", "қарасора"]  # fmt: skip
KK_NEWS_VERBS = ["тәркіленді", "тәркіледі", "анықталды", "ұсталды", "алынды", "жойылды", "табылды"]
KK_NEWS_EXTRA = ["Қылмыстық іс қозғалды.", "Полиция қызметкерлері тексеріс жүргізуде.", "Күдікті қамауға алынды.",
                 "Зертхана жабылды.", "Ішкі істер департаменті хабарлады.", "Сот үкім шығарды.",
                 "Жедел-профилактикалық шара жалғасуда.", "Есірткі сатумен айналысқан топ ұсталды.",
                 "Жасөспірімдер арасында есірткі тұтыну артып келеді."]  # fmt: skip
KK_SALE = ["{drug} бар, {contact}", "{drug} сатамыз, жасырын орын дайын", "{drug} сатылымда, жеткізу қала бойынша",
           "Сапалы {drug}, тәулік бойы, {contact}", "{drug} және {drug2} бар, жаз {contact}"]  # fmt: skip
KK_RECRUIT = ["Курьер керек, жалақы аптасына {n}00 мың, жаз", "Жұмыс: тауарды қала бойынша тарату, күніне {n}0 000",
              "Таратушы керек, {city}, жаз {contact}", "Шопқа курьер керек, жалақы күнде"]  # fmt: skip
KK_DRUG_SLANG = ["меф", "шишки", "гашиш", "альфа", "соль", "кристалл"]
LEGIT_SHOPS = ["в магазин цветов", "в кофе-шоп", "в магазин одежды", "в продуктовый магазин", "на склад стройматериалов",
               "в пиццерию", "в сервис доставки", "в барбершоп", "в зоомагазин", "в шоурум", "в коворкинг"]  # fmt: skip
LEGIT_TERMS = ["оформление по ТК", "официальное трудоустройство", "свой транспорт", "график 5/2", "соцпакет",
               "медкнижка", "опыт от года", "собеседование в офисе", "адрес: ул. Абая 10",
               "обучение за счёт компании"]  # fmt: skip
HOMONYMS = ["Где купить шишки для самовара?", "Соль и сахар подорожали на {n}0 процентов", "Снег в {city} выпал рано",
            "Альфа банк открыл отделение", "Кто знает хороший шоп кроссовок?", "План работы на неделю готов",
            "Продам почтовые марки СССР", "Фен для волос почти новый", "Трава на газоне выросла", "Мука для блинов",
            "Кристаллы Swarovski на платье", "Кокосовое молоко в наличии", "Скорость интернета упала",
            "Лавка мёда на рынке работает с 9", "Магазин 24/7 у дома закрылся", "Отзывы о курсе в канале",
            "Оператор сотовой связи поднял цены", "Шоколад и печенье к чаю"]  # fmt: skip

SCAM_JOB = ["Зарплата от {n}0 000 в день", "Свободный график", "Старт без залога", "Обучение и поддержка 24/7",
            "Только % с прибыли", "Доступ в приватный чат", "Работа без опыта", "Доход {n}00 в неделю",
            "Частые и стабильные выплаты", "Удалёнка с телефона", "Деньги любят скорость", "Пассивный доход",
            "Без вложений", "Набираем в команду", "Выплаты каждый день", "Подработка для студентов"]  # fmt: skip
GOODS = ["айфоны", "кроссовки", "мануалы", "аккаунты", "духи", "запчасти", "сим-карты", "шины", "телефоны", "часы"]
SPAM = ["Лучший бот для знакомств, залетай", "{goods} в наличии, доставка по городу", "Нужно раскидать снег, хорошо заплачу",
        "Раскидать листовки по району, оплата сразу", "Предоставляем услуги: {goods} в наличии, пиши в лс",
        "Мануал по заработку на крипте, оплата USDT", "Оптом и в розницу: {goods}, пиши оператору",
        "Бот подберёт тебе пару, пиши", "Разложить товар на полках магазина, 5000 в день"]  # fmt: skip


def _pick(rng: random.Random, options: list[str], city: bool = False) -> str:
    text = rng.choice(options)
    handle = "@" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(5, 10)))
    return (text.replace("{n}", str(rng.randint(1, 9))).replace("{contact}", rng.choice([handle, "[USERNAME]"]))
            .replace("{city}", rng.choice(CITIES if not city else ABROAD)))  # fmt: skip


def _join(rng: random.Random, parts: list[str]) -> str:
    return rng.choice([", ", " ", ". ", "\n", " — ", "! "]).join(p for p in parts if p)


def _products(rng: random.Random, k: tuple[int, int] = (2, 6)) -> str:
    return rng.choice(SEPARATORS).join(rng.sample(PRODUCTS, rng.randint(*k)))


def recruit(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.55:  # job × shop × pay × "пиши в лс", no drug
        job = f"{_pick(rng, NEED)} {rng.choice(JOBS)} {_pick(rng, DRUG_SHOPS)}"
        return _join(rng, [job, _pick(rng, WEEKLY), _pick(rng, SHORT_CONTACT)])
    if kind < 0.8:  # one compound word carries it
        return _join(rng, [f"{rng.choice(['', 'Требуется ', 'Ищем ', 'Нужен ', 'Работа: '])}{rng.choice(NARCO_JOBS)}",
                           _pick(rng, WEEKLY) if rng.random() < 0.7 else "", _pick(rng, SHORT_CONTACT)])  # fmt: skip
    if kind < 0.9:
        return _pick(rng, KK_RECRUIT).replace("{city}", rng.choice(CITIES))
    return _join(rng, [f"{_pick(rng, NEED)} {rng.choice(['кладмен', 'закладчик', 'курьер на клады', 'минёр'])}",
                       rng.choice(["", f"в {rng.choice(ABROAD)}", f"в {rng.choice(CITIES)}"]), _pick(rng, WEEKLY),
                       _pick(rng, SHORT_CONTACT)])  # fmt: skip


SHORT_STASH = ["Свежие клады", "Готовые адреса", "Клады", "Магниты и прикопы", "Адреса", "Тайники", "Закладки"]
SHORT_SALE_TAIL = ["наш бот {contact}", "бот {contact}", "заказ в боте {contact}", "оператор {contact}",
                   "оплата USDT", "оплата на карту", "оплата Kaspi", "оплата BTC", "пиши {contact}",
                   "по всему городу"]  # fmt: skip


def sale(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.12:  # stash, bot and payment in one line
        head = f"{rng.choice(SHORT_STASH)} {rng.choice(['в наличии', 'готовы', 'по городу', '24/7', 'в {city}'])}"
        return _join(rng, [_pick(rng, [head]), *(_pick(rng, SHORT_SALE_TAIL) for _ in range(rng.randint(1, 3)))])
    if kind < 0.35:  # a bare product list
        return _products(rng) + rng.choice(["", "", " в наличии", "", " 24/7", "!"])
    if kind < 0.6:  # the euphemistic shop
        parts = [rng.choice(SHOP_WORDS), *rng.sample(SERVICE, rng.randint(2, 4))]
        if rng.random() < 0.4:
            parts.append(_pick(rng, SHORT_CONTACT))
        return _join(rng, parts)
    if kind < 0.8:  # abroad
        city = rng.choice(ABROAD)
        if rng.random() < 0.4:
            items = " and ".join(rng.sample(EN_PRODUCTS, 2))
            how = rng.choice(["DM", "delivery", "telegram only", "drops"])
            return f"{rng.choice(['Top', 'Best', 'Fresh', ''])} {items} in {city}, {how}"
        return _join(rng, [_products(rng, (1, 4)), rng.choice([city, f"г. {city}", f"в {city}"]),
                           rng.choice(["клады готовы", "пиши оператору", "доставка", "", "в наличии"])])  # fmt: skip
    drugs = rng.sample(KK_DRUG_SLANG, 2)
    return _pick(rng, KK_SALE).replace("{drug}", drugs[0], 1).replace("{drug2}", drugs[1]).replace("{drug}", drugs[1])


def drug_other(rng: random.Random) -> str:
    kind = rng.random()
    drug = rng.choice(PRODUCTS)
    if kind < 0.35:  # personal stories
        return _join(rng, [f"{rng.choice(PEOPLE)} {rng.choice(TOOK)} {drug}", rng.choice(EFFECT)])
    if kind < 0.45:
        return rng.choice(QUESTIONS).replace("{drug}", drug)
    if kind < 0.57:
        return rng.choice(HARM).replace("{drug}", drug)
    if kind < 0.67:
        return rng.choice(RULES)
    parts = [f"{rng.choice(KK_PLACES)} {_pick(rng, KK_DRUGS)} {rng.choice(KK_NEWS_VERBS)}.",
             *rng.sample(KK_NEWS_EXTRA, rng.randint(0, 2))]  # fmt: skip
    return " ".join(parts)


def other(rng: random.Random) -> str:
    if rng.random() < 0.55:  # ordinary jobs in ordinary shops, with the same pay and contact phrases
        job = f"{_pick(rng, NEED)} {rng.choice(JOBS)} {rng.choice(LEGIT_SHOPS)}"
        return _join(rng, [job, *rng.sample(LEGIT_TERMS, rng.randint(0, 2)), _pick(rng, WEEKLY),
                           _pick(rng, SHORT_CONTACT) if rng.random() < 0.6 else ""])  # fmt: skip
    if rng.random() < 0.45:  # scam jobs and other spam that borrow the shops' phrases
        if rng.random() < 0.5:
            return _join(rng, [*(_pick(rng, SCAM_JOB) for _ in range(rng.randint(2, 5))), _pick(rng, SHORT_CONTACT)])
        return _pick(rng, SPAM).replace("{goods}", rng.choice(GOODS))
    return _pick(rng, HOMONYMS)


GENERATORS = {"sale": sale, "recruit": recruit, "drug_other": drug_other, "other": other}

# -- noise -----------------------------------------------------------------------------------------
_GREEK = {"а": "α", "в": "β", "е": "ε", "к": "κ", "о": "ο", "р": "ρ", "т": "τ", "и": "υ", "н": "η"}
_LATIN = {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "к": "k", "м": "m", "т": "t",
          "в": "b", "н": "h", "и": "u", "ш": "w", "п": "n"}  # fmt: skip


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    trick = rng.random()
    if trick < 0.4:
        return word[: i + 1] + word[i:]  # doubled
    if trick < 0.75:
        return word[:i] + word[i + 1 :]  # dropped
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]  # swapped


def _translit(rng: random.Random, text: str) -> str:
    out = []
    for ch in text:
        low = ch.lower()
        if low in _TRANSLIT:
            options = _TRANSLIT[low]
            spelled = options[0] if rng.random() < 0.8 else rng.choice(options)
            out.append(spelled.upper() if ch.isupper() and spelled else spelled)
        else:
            out.append(ch)
    return "".join(out)


def noise(rng: random.Random, text: str) -> str:
    """Write ``text`` as people type it; the label does not change."""
    trick = rng.random()
    if trick < 0.3:
        return " ".join(_typo(rng, w) if rng.random() < 0.3 else w for w in text.split(" "))
    if trick < 0.45:
        return _translit(rng, text)
    if trick < 0.6:  # Latin and Greek look-alikes in the same words
        return "".join((_LATIN.get(ch) if rng.random() < 0.5 else _GREEK.get(ch)) or ch if rng.random() < 0.5 else ch
                       for ch in text)  # fmt: skip
    if trick < 0.7:
        return text.lower().replace(",", "").replace(".", "")
    if trick < 0.78:
        return text.upper()
    return text
