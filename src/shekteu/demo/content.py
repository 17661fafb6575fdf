"""What the demo is made of: invented shops (every handle ends in ``_demo``), their posts in Russian
and Kazakh, citizens' reports, walls, zones and field sites — placed in real districts (Almaty, Astana,
Shymkent, the Chu valley) so the map and the district figures have something true to stand on."""

from __future__ import annotations

from typing import Any

CHANNELS: dict[str, list[str]] = {
    "sneg_almaty_demo": [
        "Клады в наличии по всему Алматы ❄️ Меф, альфа, шишки. Заказ через @sneg_almaty_demo_bot, оператор @sneg_op_demo",
        "Работа курьером: 300 000 ₸ в неделю, опыт не нужен. Оплата USDT TRC20 "
        "TRFyxWtXtG8wapJKvh2Lax6kkKFg5HNPbn. Пиши @sneg_hr_demo",
        "Новое поступление, качество топ. Карта 4400 4301 2345 6789, после оплаты фото клада с координатами. "
        "@sneg_almaty_demo_bot",
        "Закладки Бостандыкский, Алмалинский, Ауэзовский районы. Отзывы: https://t.me/sneg_reviews_demo",
        "Полиция Алматы задержала закладчика на Абая. Возбуждено уголовное дело (новость для подписчиков).",
    ],
    "ak_kar_astana_demo": [
        "Ақ қар Астана: мефедрон, гашиш, закладкалар бар, жеткізу 30 минут. Бот @akkar_astana_demo_bot, "
        "оператор +7 701 555 01 23",
        "Курьер керек! Аптасына 250 000 теңге, тәжірибе қажет емес. Жаз @akkar_job_demo",
        "Оплата на Kaspi 5169 4931 1234 5676 или крипта. Мирроры: akkar-demo.shop, akkar2-demo.shop",
        "Бүгін ауа райы жақсы, саябақта серуендеңіздер.",
    ],
    "shymkent_news_demo": [
        "Шымкентте полиция есірткі зертханасын жапты, үш адам ұсталды.",
        "В Шымкенте прошла акция «Чистая стена»: волонтёры закрасили 40 надписей.",
        "Городской футбольный турнир перенесён на субботу.",
    ],
}

# (channel, text, lat, lon, kind) — what citizens send through the web form
TIPS: list[tuple[str, str, float | None, float | None]] = [
    ("web", "Продают закладки через бота @sneg_almaty_demo_bot, видел рекламу в подъезде", 43.2389, 76.8897),
    ("web", "https://t.me/ak_kar_astana_demo — канал с продажей, бот @akkar_astana_demo_bot", 51.1605, 71.4704),
    ("web", "Сайт akkar-demo.shop продаёт мефедрон, оплата картой 5169 4931 1234 5676", None, None),
    ("web", "Мектеп жанында қабырғаға @sneg_op_demo деп жазылған", 42.3417, 69.5901),
    ("open311", "На остановке наклейка с QR, ведёт на бот @sneg_almaty_demo_bot", 43.2567, 76.9286),
    ("web", "Здравствуйте, подскажите как работает ваш сервис?", None, None),
]

# (lat, lon, QR payload or None, painted text or None): walls photographed by reporters
WALLS: list[tuple[float, float, str | None, str | None]] = [
    (43.238949, 76.889709, "https://t.me/sneg_almaty_demo_bot", None),
    (43.2420, 76.8950, None, "@SNEG_OP_DEMO"),
    (51.1280, 71.4300, "https://t.me/akkar_astana_demo_bot", None),
    (42.3170, 69.5960, None, "@AKKAR_JOB_DEMO"),
]

# Zones that receive spots: housing cooperatives and volunteer teams (rectangles around the walls)
ZONES: list[tuple[str, str, float, float, float]] = [  # kind, name, lat, lon, half-size in degrees
    ("osi", "ОСИ «Абая 10» (демо)", 43.2400, 76.8920, 0.01),
    ("volunteers", "Волонтёры «Чистая стена» Алматы (демо)", 43.2500, 76.9200, 0.03),
    ("ksk", "КСК «Есіл» (демо)", 51.1300, 71.4300, 0.02),
    ("volunteers", "Еріктілер «Таза қабырға» Шымкент (демо)", 42.3200, 69.5900, 0.03),
]

# Wild-hemp and plantation sites in the Chu valley (Zhambyl region): (lat, lon, hectares, status)
SITES: list[tuple[float, float, float, str]] = [
    (43.60, 73.76, 4.2, "suspected"),
    (43.52, 74.10, 1.3, "confirmed"),
    (43.75, 73.40, 0.6, "destroyed"),
    (43.30, 74.60, 2.8, "suspected"),
    (43.95, 73.95, 0.9, "dismissed"),
]

# Takedowns in every state: (target type, target, the states it moves through after "proposed")
TAKEDOWNS: list[tuple[str, str, list[str]]] = [
    ("telegram_bot", "@sneg_almaty_demo_bot", ["approved", "sent", "blocked", "verified"]),
    ("telegram_account", "@sneg_op_demo", ["approved", "sent", "blocked"]),
    ("telegram_channel", "@ak_kar_astana_demo", ["approved", "sent"]),
    ("domain", "akkar-demo.shop", ["approved"]),
    ("telegram_bot", "@akkar_astana_demo_bot", []),
    ("telegram_account", "@sneg_hr_demo", ["rejected"]),
    ("domain", "akkar2-demo.shop", ["approved", "sent", "blocked", "verified", "reappeared"]),
]

USERS: list[tuple[str, str]] = [
    ("demo-admin", "admin"), ("demo-analyst", "analyst"), ("demo-approver", "approver"),
    ("demo-coordinator", "coordinator"), ("demo-auditor", "auditor"),
]  # fmt: skip


def export_json() -> list[dict[str, Any]]:
    """Telegram Desktop exports (one per channel), dated over the last weeks of November 2026."""
    out = []
    for n, (name, posts) in enumerate(CHANNELS.items()):
        messages = [{"id": i + 1, "type": "message", "date": f"2026-11-{10 + i:02d}T1{n}:30:00", "from": name,
                     "text": text} for i, text in enumerate(posts)]  # fmt: skip
        out.append({"name": name, "type": "public_channel", "id": 2_000_000_000 + n, "messages": messages})
    return out


def square(lat: float, lon: float, half: float) -> dict[str, Any]:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half],
            [lon - half, lat - half]]  # fmt: skip
    return {"type": "Polygon", "coordinates": [ring]}
