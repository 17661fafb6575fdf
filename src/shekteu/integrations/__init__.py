"""Messengers reporters write to, each in its own folder with the same files (issue 20):

- ``client.py``: the platform's API as we use it (aiogram's bot; the WhatsApp Graph API);
- ``inbound.py``: what arrives, turned into tips and the replies to them;
- ``webhook.py``: the route ``shekteu serve`` mounts for the platform's pushed updates;
- ``outbound.py``: the sender the ``deliver`` job uses for the reporter's notifications.
"""
