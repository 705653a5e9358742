"""Msafiri's neutral package: settings, the composition root, the CLI and the demo.

`settings` is a leaf (it imports nothing of ours) and is the only module that
reads the environment; every layer may take its values. `bootstrap` builds the
configured system; `cli` and `tui` (the Textual app, a sibling package) are the
two front ends on top of it.
"""
