from __future__ import annotations

from enum import StrEnum


class IncidentCategory(StrEnum):
    UNPAID_OR_DELAYED_WAGES = "unpaid_or_delayed_wages"
    CONTRACT_SUBSTITUTION = "contract_substitution"
    EXCESSIVE_HOURS_NO_REST_DAY = "excessive_hours_no_rest_day"
    DOCUMENT_CONFISCATION = "document_confiscation"
    CONFINEMENT_OR_RESTRICTED_COMMUNICATION = "confinement_or_restricted_communication"
    PHYSICAL_ABUSE = "physical_abuse"
    PSYCHOLOGICAL_ABUSE = "psychological_abuse"
    SEXUAL_HARASSMENT_OR_VIOLENCE = "sexual_harassment_or_violence"
    INJURY = "injury"
    ILLNESS = "illness"
    DEATH = "death"
    DETENTION_OR_CRIMINALISATION = "detention_or_criminalisation"
    DEPORTATION = "deportation"
    TRAFFICKING_INDICATORS = "trafficking_indicators"
    WANTS_TO_RETURN = "wants_to_return"


class GbvSubtype(StrEnum):
    """Gender-based violence sub-types, recorded only for sexual harassment or violence."""

    SEXUAL_HARASSMENT = "sexual_harassment"
    SEXUAL_ASSAULT = "sexual_assault"
    RAPE = "rape"
    SEXUAL_EXPLOITATION = "sexual_exploitation"
    FORCED_MARRIAGE = "forced_marriage"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ReporterChannel(StrEnum):
    WALK_IN = "walk_in"
    HOTLINE = "hotline"
    EMPLOYER = "employer"
    AGENCY = "agency"
    FAMILY = "family"


class IncidentStatus(StrEnum):
    REPORTED = "reported"
    ASSESSED = "assessed"
    REFERRED = "referred"
    ASSISTED = "assisted"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (
    IncidentStatus.REPORTED,
    IncidentStatus.ASSESSED,
    IncidentStatus.REFERRED,
    IncidentStatus.ASSISTED,
)


class AssistanceKind(StrEnum):
    SHELTER = "shelter"
    LEGAL_AID = "legal_aid"
    MEDICAL_CARE = "medical_care"
    COUNSELLING = "counselling"
    REPATRIATION = "repatriation"
    REPATRIATION_OF_REMAINS = "repatriation_of_remains"


# Kinds the fund pays for in money: a request for one of these needs an estimate.
MONEY_ASSISTANCE = (
    AssistanceKind.LEGAL_AID,
    AssistanceKind.MEDICAL_CARE,
    AssistanceKind.REPATRIATION,
    AssistanceKind.REPATRIATION_OF_REMAINS,
)


class ReferralTarget(StrEnum):
    SHELTER = "shelter"
    POLICE = "police"
    LABOUR_COURT = "labour_court"
    LEGAL_AID_PROVIDER = "legal_aid_provider"
    HOSPITAL = "hospital"
    NGO = "ngo"
    RECRUITMENT_AGENCY = "recruitment_agency"
    HOST_LABOUR_MINISTRY = "host_labour_ministry"
