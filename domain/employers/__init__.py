"""Employers and recruitment agencies: registries, duplicates, watchlist (issue 16)."""
