"""WhatsApp notifications: a text message from the business number through the Graph API."""

from __future__ import annotations

from collections.abc import Callable

from shekteu.integrations.whatsapp.client import GraphClient
from shekteu.runtime import Runtime


def sender(rt: Runtime) -> Callable[[str, str], None]:
    return GraphClient(rt.settings).send_text
