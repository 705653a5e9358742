"""Officers are records too: registered, roles granted and revoked, deactivated."""
