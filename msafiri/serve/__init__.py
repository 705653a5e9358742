"""`msafiri serve`: the officers' terminal UI in a browser (textual-serve),
bounded — a fixed command, a cap on app processes, connection attempts
rate-limited per address, no app process outliving its connection or the
server. The app's own sign-in is the only gate (docs/operations.md)."""
