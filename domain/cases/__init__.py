"""The migrant case: one person's lifecycle from pre-departure to reintegration,
over one or more migration cycles (re-migration starts a new cycle)."""
