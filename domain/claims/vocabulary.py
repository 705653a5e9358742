from __future__ import annotations

from enum import StrEnum


class ClaimKind(StrEnum):
    UNPAID_WAGES = "unpaid_wages"
    DELAYED_WAGES = "delayed_wages"
    END_OF_SERVICE_BENEFITS = "end_of_service_benefits"
    WITHHELD_DOCUMENTS_COSTS = "withheld_documents_costs"
    # Owed on return by the destination's scheme (domain/coverage).
    SOCIAL_SECURITY_CONTRIBUTIONS = "social_security_contributions"


class ClaimBasis(StrEnum):
    """What a claim arises from: an incident abroad, or the return (what the
    destination's scheme owes: end-of-service, contributions)."""

    INCIDENT = "incident"
    RETURN = "return"


class ClaimStep(StrEnum):
    """Where the claim was filed."""

    EMPLOYER = "employer"
    LABOUR_OFFICE = "labour_office"
    COURT = "court"
    SOCIAL_SECURITY_SCHEME = "social_security_scheme"


class RecoveryChannel(StrEnum):
    DIRECT = "direct"  # paid to the migrant
    MISSION = "mission"  # paid through the embassy / mission


class ClaimOutcome(StrEnum):
    RECOVERED_IN_FULL = "recovered_in_full"
    PARTLY_RECOVERED = "partly_recovered"
    SETTLED = "settled"
    NOT_RECOVERED = "not_recovered"
    WITHDRAWN = "withdrawn"


class ClaimStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
