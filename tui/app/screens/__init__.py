"""One module per screen an officer sees."""
