"""The Textual terminal UI. Only `tui.app` imports Textual; the core never does."""
