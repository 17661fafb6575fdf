"""WhatsApp Cloud API: the signed webhook and replies and notifications through the Graph API."""
