"""Incidents reported by or about a migrant abroad, with their own lifecycle:
reported -> assessed -> referred / assisted -> resolved or closed."""
