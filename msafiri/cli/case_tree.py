"""The `case` and `incident` groups with every command from the modules that
add to them (need to know, employers' contracts, the subject report), put
together in one place so the CLI can import them only when they are used."""

from __future__ import annotations

from msafiri.cli.access import case_report
from msafiri.cli.cases import case_group, incident_group
from msafiri.cli.employers import contract_command
from msafiri.cli.need_to_know import CASE_COMMANDS, INCIDENT_COMMANDS

case_group.add_command(contract_command())  # offers registered employers (issue 16)
# Need to know (docs/privacy.md): grants, break-glass, reads as the viewer may see them.
for _command in CASE_COMMANDS:
    case_group.add_command(_command)
for _command in INCIDENT_COMMANDS:
    incident_group.add_command(_command)
case_group.add_command(case_report)  # issue 14: what is held about a person

__all__ = ["case_group", "incident_group"]
