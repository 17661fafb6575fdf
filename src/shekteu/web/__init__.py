"""The web adapter (FastAPI): the citizen form, Open311 GeoReport v2 and the WhatsApp webhook."""
