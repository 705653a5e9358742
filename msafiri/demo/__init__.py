"""`msafiri demo`: a realistic, deterministic synthetic population."""
