"""Telegram: the bot (long polling or webhook) and notifications through the Bot API."""
