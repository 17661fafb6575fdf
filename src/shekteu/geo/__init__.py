"""Geography shared by street ads and field mapping: districts (KATO) and distances."""
