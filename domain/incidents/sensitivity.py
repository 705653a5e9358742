"""How sensitive each incident category is (docs/privacy.md, "Who sees what").

A *restricted* incident's free text - the narrative, assessment and referral
notes, notes, resolution and closing words, and the justification of any fund
request made for it - is read only by the officers assigned to the case, the
officer who reported it and officers holding a grant (or break-glass) on the
case. Everyone else sees that it exists, its category group, dates, status and
the amounts: what their work needs, never the story.

Restricted are the groups the issue names: sexual and gender-based violence;
trafficking and forced labour (trafficking indicators, and confinement or
restricted communication - the ILO forced-labour indicator that most often
hides trafficking); health and mental health (injury, illness, and
psychological abuse, whose narrative is the migrant's mental health); and
death. Document confiscation, physical abuse and the labour disputes stay
ordinary: case workers across stations need their stories to act.
"""

from __future__ import annotations

from enum import StrEnum

from domain.incidents.vocabulary import IncidentCategory as C


class Sensitivity(StrEnum):
    ORDINARY = "ordinary"
    RESTRICTED = "restricted"


# Restricted category -> the group a viewer without access is told.
RESTRICTED_GROUPS: dict[C, str] = {
    C.SEXUAL_HARASSMENT_OR_VIOLENCE: "sexual and gender-based violence",
    C.TRAFFICKING_INDICATORS: "trafficking and forced labour",
    C.CONFINEMENT_OR_RESTRICTED_COMMUNICATION: "trafficking and forced labour",
    C.INJURY: "health and mental health",
    C.ILLNESS: "health and mental health",
    C.PSYCHOLOGICAL_ABUSE: "health and mental health",
    C.DEATH: "death",
}

RESTRICTED_CATEGORIES: frozenset[str] = frozenset(c.value for c in RESTRICTED_GROUPS)


def sensitivity(category: str) -> Sensitivity:
    return Sensitivity.RESTRICTED if category in RESTRICTED_CATEGORIES else Sensitivity.ORDINARY


def is_restricted(category: str | None) -> bool:
    return category in RESTRICTED_CATEGORIES


def category_group(category: str) -> str:
    """What anyone may be told of a category: its group if restricted, else itself."""
    group = RESTRICTED_GROUPS.get(C(category)) if category in RESTRICTED_CATEGORIES else None
    return group or category.replace("_", " ")
