"""Shekteu: counter-narcotics platform — capture, detection, takedowns, street ads, field mapping."""

__version__ = "0.1.0"
