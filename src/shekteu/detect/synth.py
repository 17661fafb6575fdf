"""Generated training messages: drug-shop ads, courier recruitment and the look-alikes that are not.

Real labelled ads are scarce (a few dozen in the development set) and any model trained on them
alone learns their accidents. This generator writes messages the way shops and their neighbours
in the same chats do — product lists, stash talk, disguised job offers, police news, pharmacy
talk, ordinary courier jobs, tobacco and crypto spam — in Russian, Kazakh and English, and then
disguises some of them as shops do (look-alike letters, digits, spaced letters, emoji, invisible
characters). It is seeded, so ``shekteu model train`` is reproducible.
"""

from __future__ import annotations

import random
import re

# -- vocabulary ------------------------------------------------------------------------------------
DRUGS_RU = [
    "меф", "мефедрон", "МЕФ", "мука", "4-ММС", "альфа", "альфа-PVP", "соль", "СК", "кристаллы", "скорость",
    "фен", "амфетамин", "гаш", "гашиш", "ШОКОЛАД", "шишки", "бошки", "трава", "план", "экстази", "таблы",
    "MDMA", "мдма", "марки", "ЛСД", "герыч", "кокаин", "кокс", "метадон", "спайс", "миксы", "стафф",
    "вкусняхи", "мяу", "крис", "гашик", "травка", "ганджа", "шмаль", "первитин", "мет",
]  # fmt: skip
DRUGS_EN = ["weed", "kush", "coke", "cocaine", "MDMA", "molly", "meth", "crystal", "hash", "shrooms", "LSD",
            "ketamine", "xanax", "mephedrone", "Lemon haze", "OG kush", "pills"]  # fmt: skip
DRUGS_KK = ["есірткі", "меф", "гашиш", "марихуана", "қарасора", "шишки", "соль", "альфа", "кристалл"]
UNITS = ["г", "гр", "грамм", "шт", "кг"]
CITIES = ["Алматы", "Астана", "Шымкент", "Тараз", "Караганда", "Актобе", "Павлодар", "Усть-Каменогорск",
          "Кызылорда", "Костанай", "Атырау", "Семей", "Москва", "Новосибирск", "Бишкек", "Ташкент"]  # fmt: skip
HANDLES = [
    "[USERNAME]",
    "@{h}",
    "@{h}_bot",
    "t.me/{h}",
    "https://t.me/{h}",
    "@{h}",
    "тг: @{h}",
    "t.me/+{inv}",
]
HANDLE_PARTS = [
    "mef",
    "almaty",
    "shop",
    "kz",
    "magic",
    "snow",
    "crystal",
    "green",
    "boss",
    "fast",
    "shishki",
    "rc",
    "labs",
    "city",
    "market",
    "store",
    "dark",
    "white",
    "moon",
    "lux",
    "24",
    "777",
    "top",
]
CURRENCY = ["₸", "тг", "тенге", "руб", "р", "[CURRENCY]", "$", "USDT", "₽"]

SALE_OPENERS = [
    "В наличии", "Всегда в наличии", "Новое поступление!", "Ассортимент обновлен", "Привет, друзья!",
    "Работаем 24/7", "Лучший шоп города", "Свежий завоз", "Только топ качество", "Открылись!",
    "Магазин снова работает", "ПРАЙС", "Прайс на сегодня", "Наш ассортимент", "Акция выходного дня",
    "Для своих", "Пробники бесплатно", "Залетай", "Ровный шоп", "Приветствуем уважаемые клиенты",
]  # fmt: skip
SALE_STASH = [
    "готовые клады", "моментальные клады", "клады в наличии", "свежие адреса", "адреса по всему городу",
    "магнит и прикоп", "прикопы и магниты", "тайники в каждом районе", "закладки по городу",
    "мастерклад", "клад через 15 минут после оплаты", "адреса в боте", "фото и координаты сразу",
    "доставка по городу", "бесконтактная доставка", "оптом и в розницу", "опт и миниопт", "предзаказы",
]  # fmt: skip
SALE_QUALITY = [
    "чистейший продукт", "качество гарантируем", "кайф гарантирован", "не китайская шелуха",
    "ровный стафф", "проверено лабораторией", "отзывы в канале", "перезаклад при ненаходе",
    "отличное качество", "сильный эффект", "эйфория на всю ночь", "лучшие цены в городе",
]  # fmt: skip
SALE_PAY = ["оплата картой", "оплата в крипте", "BTC, USDT, LTC", "оплата Kaspi", "принимаем крипту",
            "оплата на карту", "оплата биткоин", "перевод на карту", "любой способ оплаты"]  # fmt: skip
SALE_LIFESTYLE = [
    "Самое время получить заряд бодрости", "Почилить с друзьями под ровную музыку", "Отдыхайте в приятной компании",
    "Есть всё, чтобы кайфонуть", "Удобно взял, удобно снял", "Вкусняхи на любой вкус", "Стаффчик максимального качества",
    "Чистый кристалл — основа хорошего отдыха", "Делаем ровное дело с 2020 года", "Лучшие условия для клиентов",
    "Пиши быстрей, пока не разобрали", "Пробники в ограниченном количестве", "Зарядись на выходные",
    "Всё для настроения", "Полки ломятся от товара", "Ровный движ для своих", "Порадуй себя в пятницу",
    "Угощайся, первый заказ со скидкой", "Качественный отдых начинается здесь", "Постоянным клиентам бонусы",
]  # fmt: skip
SALE_CONTACT = ["Заказ через бота", "Пиши оператору", "Заказ в боте", "Оператор", "Пиши в лс", "Бот",
                "За покупкой в бот", "Связь", "Заказывай у бота", "Витрина"]  # fmt: skip

REC_OPENERS = [
    "Требуются курьеры", "Нужны курьеры в твоем городе", "Набор в команду", "Ищем закладчиков",
    "Срочно требуется человек", "Работа для тебя", "Нужны люди", "Горящая вакансия", "Вакансия",
    "Открыт набор", "Ищу надежного человека", "Есть работа", "Набираем кладменов", "Нужен курьер в шоп",
    "Работа в нарко шопе", "Требуется склад", "Ищем граффитчиков", "Нужны трафаретчики",
]  # fmt: skip
REC_HOOKS = [
    "Кто раскидает мой товар?", "Кто может разложить товар по городу?", "Нужен человек, который будет нести кайф в этот мир",
    "Работа в шопе, в лс за работой", "Бесконтактный курьер, выплаты каждый день", "Работа в нарко шопе, пиши",
    "Нужны курьеры в твоем городе, можно без опыта", "Набор на горящую вакансию: теневой курьер",
    "Ищу людей раскидать пробы по району", "Кто хочет поднять на кладах?", "Возьму в команду кладмена",
    "Нужен склад и фасовщик в шоп", "Разнести товар по тайникам, оплата сразу",
]  # fmt: skip
REC_TASKS = [
    "раскидать товар по городу", "раскладывать товар по тайникам", "разложить клады по районам",
    "магнит и прикоп", "раскладка товара по городу", "бесконтактный курьер", "теневой курьер",
    "работа закладчиком", "курьер в шоп", "нести кайф в этот мир", "раскидать пробы в твоем городе",
    "фасовка и склад", "рисовать рекламу шопа на стенах", "делать клады", "работа кладменом",
    "разносить посылки по тайникам", "курьер-закладчик", "анонимный курьер", "склад в твоем городе",
]  # fmt: skip
REC_PAY = [
    "от {n} 000 в день", "оплата от {n}0 000 в неделю", "выплаты каждый день", "оплата в крипте",
    "оплата товаром или деньгами", "бонусы в виде товара", "зп от {n}00$ в неделю", "платим щедро",
    "выплаты в BTC", "за клад {n}000", "от {n}00 000 в месяц", "оплата сразу после работы",
]  # fmt: skip
REC_EXTRA = ["без опыта", "обучение", "гибкий график", "работа анонимно", "полная анонимность",
             "залог не нужен", "можно без залога", "с 16 лет", "поддержка 24/7", "только для своих"]  # fmt: skip

# Hard negatives -----------------------------------------------------------------------------------
NEWS_OPENERS = [
    "В {city} полицейские задержали", "Сотрудники полиции {city} задержали", "В {city} задержан",
    "Суд приговорил", "Прокуратура {city} направила в суд дело", "В {city} пресекли деятельность",
    "Наркополицейские изъяли", "В {city} осуждён", "В ходе операции «Қарасора» изъято",
    "В {city} ликвидирована нарколаборатория", "КНБ сообщает:", "МВД: в {city}",
]  # fmt: skip
NEWS_OBJECTS = [
    "закладчика с {n}0 граммами мефедрона", "курьера наркошопа", "мужчину, который делал закладки",
    "организатора интернет-магазина наркотиков", "группу сбытчиков синтетики", "{n} кг марихуаны",
    "администратора даркнет-площадки", "кладмена", "женщину с партией гашиша", "{n} тайников с наркотиками",
    "{n} кустов дикорастущей конопли", "граффити с рекламой наркошопа",
]  # fmt: skip
NEWS_TAILS = [
    "Возбуждено уголовное дело.", "Ему грозит до {n} лет лишения свободы.", "Ведётся следствие.",
    "Суд назначил {n} лет колонии.", "Изъятые вещества направлены на экспертизу.", "Задержанный арестован.",
    "Полиция напоминает об ответственности за сбыт.", "Дело передано в прокуратуру.",
    "Сообщить о наркопритоне можно по телефону 102.", "Сайт заблокирован.",
]  # fmt: skip
PREVENTION = [
    "Профилактика наркомании: в школах {city} прошли классные часы о вреде наркотиков.",
    "Акция «Мы против наркотиков» прошла в {city}. Волонтёры закрасили {n}0 надписей с рекламой наркошопов.",
    "Если вы увидели надпись с рекламой наркотиков на стене — сообщите в полицию или в бот NarkoShekteu.",
    "Зависимость лечится. Центр реабилитации в {city} принимает анонимно.",
    "Родителям: признаки того, что подросток употребляет соли и мефедрон.",
    "Закладки — это не лёгкие деньги, а реальный срок. Не дай себя обмануть.",
    "Как распознать вербовку в закладчики: высокая зарплата, анонимность, оплата в крипте.",
    "Есірткіге қарсы акция {city} қаласында өтті. Жастар есірткінің зияны туралы білді.",
    "Полиция предупреждает: вербовщики ищут курьеров в чатах. Это уголовная статья.",
    "Drug prevention week: volunteers painted over {n}0 drug ads in {city}.",
]  # fmt: skip
MEDICINE = [
    "Врач назначил {drug} по {n} таблетке в день, побочки пока нет.", "В аптеке нет {drug}, где купить по рецепту?",
    "Пью {drug} уже месяц, от тревоги помогает.", "Лечение {drug} дорогое, но эффективное.",
    "Дозировка {drug} — {n}0 мг, принимать после еды.", "У ребёнка температура, даём {drug}.",
    "Antidepressants like {drug} take weeks to work, my doctor said.", "Дәрігер {drug} ішуге кеңес берді.",
]  # fmt: skip
MEDS = ["ибупрофен", "парацетамол", "феназепам", "амитриптилин", "пароксетин", "ксанакс", "трамадол",
        "анальгин", "кагоцел", "афобазол", "сертралин", "нурофен", "глицин", "лирику"]  # fmt: skip
PERSONAL = [
    "Мой брат сидел на соли два года, сейчас в реабилитации.", "Друг попался с закладкой, теперь суд.",
    "Никогда не пробовал наркотики и не собираюсь.", "В нашем подъезде опять кладмены, вызвали полицию.",
    "Видел как какой-то тип что-то прикапывал у гаражей, сообщил в 102.",
    "В сериале героиня подсела на наркотики, тяжело смотреть.",
]  # fmt: skip
NOT_DRUGS = [
    "Работа на телефоне, оплата от {n}000 в день. НЕ закладки! Пиши в лс",
    "Нужны люди на лёгкую работу, {n}0 000 за день. Не наркотики, не кладмен, всё законно",
    "Ищу человека на простое дело, оплата {n}000 [CURRENCY]. НЕ КЛАДЫ!!!",
    "Подработка онлайн без вложений. Ничего запрещённого, не закладки. {contact}",
    "Курьер на своём авто, не закладки и не наркота, официально. {contact}",
]  # fmt: skip
OTHER_JOBS = [
    "Есть работа для {n} человек, никаких сложных задач. Оплата от {n}к в день. Пиши в ТГ",
    "Нужны люди на подработку, оплата каждый день, пиши в лс", "Курьер пеший, оплата {n}000 в день, без опыта",
    "Ищу помощника, {n}000 за пару часов, подробности в лс", "Работа в твоём городе, доход без границ, пиши",
    "Требуются люди на склад маркетплейса, выплаты 2 раза в неделю", "Набор на вакансию менеджера, обучение бесплатно",
    "Удалённая работа с телефона, от {n}000 в день, пиши {contact}", "Нужны промоутеры, оплата в день",
    "Доставка еды, свой график, выплаты ежедневно", "Ищем водителей с личным авто, оплата каждую неделю",
    "Набираю команду в крипто-арбитраж, доход от {n}00$ в неделю", "Требуются монтажники, без опыта, обучим",
    "Срочно нужны люди на разгрузку фур, оплата сразу", "Нужен курьер по доставке документов по городу",
]  # fmt: skip
OTHER = [
    "Требуются курьеры в Яндекс Еду, оплата от {n}000 за смену, гибкий график.",
    "Нужны комплектовщики на склад, оплата от {n}000 за смену, без опыта.",
    "Водитель-курьер на своём авто, {n} 000 в день, оплата топлива.",
    "Ищу укладчика плитки, оплата {n}000 за квадрат.", "Требуются грузчики, оплата ежедневно.",
    "Доставка посылок Ozon и Wildberries, оплата каждую неделю.",
    "Продаю снюс и вейпы оптом, {contact}", "Насвай оптом, доставка по городу.", "Кальянный табак в наличии.",
    "Крипта: сигналы бесплатно, доход от {n}00$ в день. {contact}", "Обучение трейдингу, пиши {contact}",
    "Репетитор по математике, {n}000 за урок.", "Готовые ООО и ИП, прайс в лс.", "Права без экзаменов, {contact}",
    "Добавьте сайт в закладки, чтобы не потерять.", "Героиня фильма снова спасла город.",
    "Отпуск на море — это кайф!", "Скорость интернета упала, что делать?", "Соль и перец по вкусу, варить 20 минут.",
    "Продаю кристаллы Сваровски для декора, {n}000 за набор.", "Шишки кедровые, {n}000 за кг, доставка.",
    "Марки для коллекции, СССР, {n}0 штук.", "Альфа-банк снизил ставки по вкладам.",
    "Закладка фундамента дома, бригада ищет разнорабочих.", "Термопрокладки для видеокарт в наличии.",
    "Смотрите новый выпуск в нашем канале {contact}", "Всем привет! Кто идёт завтра на футбол?",
    "Погода в {city}: завтра до +{n}0, без осадков.", "В {city} открыли новый парк.", "Курс тенге укрепился.",
    "Жұмыс бар: курьер керек, жалақы күніне {n}000 теңге, тәжірибе қажет емес.",
    "Сатылады: пәтер {city} қаласында, бағасы келісімді.", "Ертең {city} қаласында концерт болады.",
    "Hiring couriers for food delivery, {n}0$ per shift, flexible hours.", "Check out my new crypto channel {contact}",
    "Fresh flowers delivered across {city}, order online.", "Вакансия: кладовщик на склад, официальное оформление.",
    "Магазин одежды: новое поступление, скидки до {n}0%.", "Продам магнит на холодильник, {n}00 тг.",
]  # fmt: skip

KK_SALE = ["Сапалы {drug} бар, {contact}", "{drug} сатылады, жасырын орын дайын, {contact}",
           "{city}: {drug} {n} г — {p} теңге, төлем картаға, {contact}"]  # fmt: skip
KK_RECRUIT = ["Курьер керек, тауарды қала бойынша тарату, күніне {n}0 000 теңге, {contact}",
              "Жұмыс: закладчик, тәжірибесіз, төлем криптомен, {contact}"]  # fmt: skip
EN_SALE = ["{drug} available in {city}, dead drops only, DM {contact}", "Menu: {drug} {n}g {p}$, {drug2} {n}g {p}$. {contact}",
           "Top quality {drug}, stash ready in 15 min after payment, BTC only. {contact}"]  # fmt: skip
EN_RECRUIT = ["Couriers wanted in {city}: drop the product in stashes, {n}00$ a week in crypto. {contact}",
              "Easy money: stash couriers needed, no experience, pay in BTC. {contact}"]  # fmt: skip

_LOOKALIKE = {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "к": "k", "м": "m", "т": "t",
              "н": "H", "в": "B", "А": "A", "Е": "E", "О": "O", "Р": "P", "С": "C", "К": "K", "М": "M", "Т": "T"}  # fmt: skip
_DIGITS = {"о": "0", "О": "0", "з": "3", "З": "3", "ч": "4", "б": "6"}
_EMOJI = {
    "меф": "❄️",
    "шишки": "🌿",
    "гаш": "🍫",
    "кристаллы": "💎",
    "соль": "🧂",
    "клады": "📍",
    "оплата": "💰",
}


def _handle(rng: random.Random) -> str:
    parts = rng.sample(HANDLE_PARTS, rng.randint(1, 3))
    inv = "".join(rng.choice("abcdefghijkLMNOPQRSTuvwxyz0123456789_-") for _ in range(16))
    return rng.choice(HANDLES).format(h="_".join(parts), inv=inv)


def _fill(rng: random.Random, template: str, drugs: list[str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: _slot(rng, m.group(1), drugs), template)


def _slot(rng: random.Random, name: str, drugs: list[str]) -> str:
    if name == "contact":
        return _handle(rng)
    if name == "city":
        return rng.choice(CITIES)
    if name in ("drug", "drug2"):
        return rng.choice(drugs)
    if name == "n":
        return str(rng.randint(1, 9))
    if name == "p":
        return str(rng.choice([5, 8, 10, 12, 15, 20, 25, 35, 40, 60, 80]) * rng.choice([1, 10, 100, 1000]))
    return name


def _price_list(rng: random.Random, drugs: list[str]) -> str:
    lines = []
    for drug in rng.sample(drugs, rng.randint(1, 4)):
        qty = rng.choice(["0.5", "1", "2", "3", "5", "10", "1", "0.3"])
        price = rng.choice([8, 10, 12, 15, 18, 20, 25, 30, 45, 60]) * 1000
        lines.append(f"{drug} {qty}{rng.choice(UNITS)} - {price} {rng.choice(CURRENCY)}")
    return rng.choice(["\n", " | ", "; ", " "]).join(lines)


def _kazakh_or_english(rng: random.Random, kazakh: list[str], english: list[str], share: float) -> str | None:
    """A Kazakh or English message (each ``share`` of the time), else None for a Russian one."""
    lang = rng.random()
    if lang < share:
        return _fill(rng, rng.choice(kazakh), DRUGS_KK)
    if lang < 2 * share:
        return _fill(rng, rng.choice(english), DRUGS_EN)
    return None


def sale(rng: random.Random) -> str:
    if other_language := _kazakh_or_english(rng, KK_SALE, EN_SALE, 0.08):
        return other_language
    parts = [rng.choice(SALE_OPENERS)]
    if rng.random() < 0.4:
        parts += rng.sample(SALE_LIFESTYLE, rng.randint(1, 3))
    if rng.random() < 0.6:
        parts.append(_price_list(rng, DRUGS_RU))
    else:
        parts.append(", ".join(rng.sample(DRUGS_RU, rng.randint(2, 5))))
    parts += rng.sample(SALE_STASH, rng.randint(0, 2)) + rng.sample(SALE_QUALITY, rng.randint(0, 2))
    if rng.random() < 0.5:
        parts.append(rng.choice(SALE_PAY))
    if rng.random() < 0.5:
        parts.append(f"г. {rng.choice(CITIES)}")
    parts.append(f"{rng.choice(SALE_CONTACT)}: {_handle(rng)}")
    if len(parts) > 3 and rng.random() < 0.5:
        middle = parts[1:-1]
        rng.shuffle(middle)
        parts = [parts[0], *middle, parts[-1]]
    return rng.choice([" ", "\n", ". ", "! "]).join(parts)


def recruit(rng: random.Random) -> str:
    if other_language := _kazakh_or_english(rng, KK_RECRUIT, EN_RECRUIT, 0.07):
        return other_language
    if rng.random() < 0.3:
        parts = [rng.choice(REC_HOOKS)]
    else:
        parts = [rng.choice(REC_OPENERS), rng.choice(REC_TASKS)]
    parts += [_fill(rng, p, DRUGS_RU) for p in rng.sample(REC_PAY, rng.randint(1, 2))]
    parts += rng.sample(REC_EXTRA, rng.randint(0, 3))
    if rng.random() < 0.4:
        parts.append(f"г. {rng.choice(CITIES)}")
    parts.append(
        f"{rng.choice(['Пиши', 'Писать сюда', 'Контакт', 'Интересно пиши мне', 'Подробности в лс'])}: {_handle(rng)}"
    )
    return rng.choice([" ", "\n", ". ", ", "]).join(parts)


def drug_other(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.45:
        parts = [rng.choice(NEWS_OPENERS), rng.choice(NEWS_OBJECTS) + "."]
        parts += rng.sample(NEWS_TAILS, rng.randint(1, 2))
        return _fill(rng, " ".join(parts), DRUGS_RU)
    if kind < 0.62:
        return _fill(rng, rng.choice(PREVENTION), DRUGS_RU)
    if kind < 0.8:
        return _fill(rng, rng.choice(MEDICINE), MEDS)
    if kind < 0.9:
        return _fill(rng, rng.choice(NOT_DRUGS), DRUGS_RU)
    return rng.choice(PERSONAL)


def other(rng: random.Random) -> str:
    return _fill(rng, rng.choice(OTHER_JOBS if rng.random() < 0.35 else OTHER), DRUGS_RU)


def disguise(rng: random.Random, text: str) -> str:
    """Obfuscate as shops do; the label does not change."""
    trick = rng.random()
    if trick < 0.25:
        return "".join(_LOOKALIKE.get(ch, ch) if rng.random() < 0.6 else ch for ch in text)
    if trick < 0.4:
        return "".join(_DIGITS.get(ch, ch) if rng.random() < 0.5 else ch for ch in text)
    if trick < 0.5:
        words = text.split(" ")
        i = rng.randrange(len(words))
        words[i] = " ".join(words[i].upper())
        return " ".join(words)
    if trick < 0.62:
        for word, emoji in _EMOJI.items():
            text = text.replace(word, f"{emoji}{word}" if rng.random() < 0.5 else emoji)
        return text
    if trick < 0.7:
        return "\u200b".join(text[i : i + 3] for i in range(0, len(text), 3))
    if trick < 0.8:
        return text.upper()
    return text


GENERATORS = {"sale": sale, "recruit": recruit, "drug_other": drug_other, "other": other}


VARIETY = 0.45  # share of each label drawn from ``synth_variety`` (short, misspelt, abroad, forum talk …)


def generate(per_label: int, seed: int = 20261122) -> list[tuple[str, str]]:
    """``per_label`` (text, label) pairs for each label, the same for the same seed."""
    from shekteu.detect import synth_variety

    rng = random.Random(seed)
    rows = []
    for label, make in GENERATORS.items():
        for _ in range(per_label):
            if rng.random() < VARIETY:
                text = synth_variety.GENERATORS[label](rng)
                if rng.random() < (0.6 if label in ("sale", "recruit") else 0.4):
                    text = synth_variety.noise(rng, text)
            else:
                text = make(rng)
                if label in ("sale", "recruit") or rng.random() < 0.3:
                    text = disguise(rng, text)
            rows.append((text, label))
    rng.shuffle(rows)
    return rows
