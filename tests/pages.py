"""Test pages: Russian and Kazakh shop-like and news-like HTML, and t.me/s-shaped channel pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

RU_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Магазин «Снежок» — закладки</title>
<script>var tracking = 1;</script><style>body{color:red}</style></head>
<body><nav><a href="/">Главная</a> <a href="/about">О нас</a></nav>
<article><h1>Клады в наличии</h1>
<p>Работаем по всему городу Алматы круглосуточно. Мефедрон, альфа, шишки — качество проверено.
Оплата переводом на карту или в биткоинах, после оплаты вы получите координаты и фото клада.</p>
<p>Пишите оператору в Telegram: <a href="https://t.me/sneg_operator">@sneg_operator</a>,
бот для заказа <a href="tg://resolve?domain=sneg_bot">@sneg_bot</a>. Зеркало: <a href="http://sneg-mirror.example/">тут</a>.</p>
<p>Нужны курьеры-закладчики, оплата от 300 000 тенге в неделю, опыт не нужен, обучение бесплатно.</p>
</article><footer>© 2026</footer></body></html>"""

KK_PAGE = """<!doctype html><html lang="kk"><head><meta charset="utf-8"><title>Жаңалықтар</title></head>
<body><article><h1>Полиция есірткі дүкенін жапты</h1>
<p>Жамбыл облысының полиция департаменті қызметкерлері интернет арқылы есірткі сатқан топты ұстады.
Тергеу барысында үш адамның қылмысқа қатысы анықталды. Қазір сотқа дейінгі тергеп-тексеру жүргізілуде.</p>
<p>Азаматтар есірткі жарнамасын көрсе, полицияға хабарласуы сұралады. Бұл қоғамның ортақ міндеті.</p>
</article></body></html>"""


def tme_page(channel: str, ids: list[int], *, before_link: int | None, subscribers: str | None = None) -> str:
    """A page shaped like https://t.me/s/<channel>: posts oldest first, a 'load more' link."""
    start = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    posts = []
    for i in ids:
        date = (start + timedelta(hours=i)).isoformat()
        text = (
            f'Пост {i}: клады в наличии<br/>пишите <a href="https://t.me/{channel}_bot">@{channel}_bot</a>'
            f' и <a href="https://shop{i}.example/">сайт</a>'
        )
        photo = f"https://cdn4.telesco.pe/file/photo{i}.jpg"
        posts.append(f"""
<div class="tgme_widget_message_wrap js-widget_message_wrap">
 <div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="{channel}/{i}" data-view="x">
  <div class="tgme_widget_message_bubble">
   <a class="tgme_widget_message_photo_wrap" href="https://t.me/{channel}/{i}?single"
      style="width:800px;background-image:url('{photo}')"></a>
   <div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>
   <div class="tgme_widget_message_footer compact js-message_footer">
    <div class="tgme_widget_message_info short js-message_info">
     <span class="tgme_widget_message_views">{i}.{i % 10}K</span>
     <span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="https://t.me/{channel}/{i}">
      <time datetime="{date}" class="time">{i}:00</time></a></span>
    </div></div></div></div></div>""")
    more = (
        f'<a class="tme_messages_more js-messages_more" data-before="{before_link}" '
        f'href="/s/{channel}?before={before_link}"></a>'
        if before_link
        else ""
    )
    header = (
        f'<div class="tgme_channel_info"><div class="tgme_channel_info_counters"><div class="tgme_channel_info_counter">'
        f'<span class="counter_value">{subscribers}</span> <span class="counter_type">subscribers</span></div>'
        f'<div class="tgme_channel_info_counter"><span class="counter_value">{len(ids)}</span> '
        f'<span class="counter_type">photos</span></div></div></div>'
        if subscribers
        else ""
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{escape(channel)} – Telegram</title></head><body class="widget_frame_base tgme_body">
<main class="tgme_main">{header}<section class="tgme_channel_history js-message_history">{more}{"".join(posts)}
</section></main></body></html>"""
