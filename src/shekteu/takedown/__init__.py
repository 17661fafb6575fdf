"""Takedowns: requests to block a shop's addresses and accounts, driven to a verified end."""
