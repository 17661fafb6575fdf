"""Shops: items and indicators joined into the drug shops behind them, kept current as items arrive."""
