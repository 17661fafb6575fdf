"""Dossiers: everything about one shop, packaged for a criminal case with a verifiable manifest."""
