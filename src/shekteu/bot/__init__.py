"""The Telegram bot: anonymous reports in Russian, Kazakh and English (core logic + aiogram adapter)."""
