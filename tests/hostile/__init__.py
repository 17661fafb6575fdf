"""The standing hostile-input suite (issue 19): every entry point fed what an attacker or a careless
user sends, each case asserting a clear error, the process alive and nothing half-written."""
