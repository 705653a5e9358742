"""The plain CLI twin of the TUI, for scripts and automation.

It must not import Textual (a test checks): the TUI is imported lazily only
when `msafiri` is run without a subcommand.
"""
