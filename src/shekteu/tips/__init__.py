"""Citizen tips: anonymous reports from the bot, WhatsApp, the web form and Open311, with tickets."""
