"""The tests use the package's local Bot API server (``integrations/telegram/local_api.py``)."""

from shekteu.integrations.telegram.local_api import BOT_USER, TOKEN, FakeBotAPI, LocalBotAPI, command, message

__all__ = ["BOT_USER", "TOKEN", "FakeBotAPI", "LocalBotAPI", "command", "message"]
