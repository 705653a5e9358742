"""The words of the lifecycle, taken from the ILO / UN Women / AUC-UNECA notes."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    PRE_DEPARTURE = "pre_departure"
    DEPARTED = "departed"  # left the country, not yet confirmed arrived
    ON_SITE = "on_site"
    RETURNED = "returned"
    REINTEGRATION = "reintegration"
    CLOSED = "closed"


ABROAD = (Stage.DEPARTED, Stage.ON_SITE)
HOME_AFTER_RETURN = (Stage.RETURNED, Stage.REINTEGRATION)


class Education(StrEnum):
    NONE = "none"
    PRIMARY = "primary"
    SECONDARY = "secondary"
    TVET = "tvet"  # technical and vocational education and training
    UNIVERSITY = "university"


class IdentityDocument(StrEnum):
    NATIONAL_ID = "national_id"
    PASSPORT = "passport"


class Sector(StrEnum):
    DOMESTIC_WORK = "domestic_work"
    CARE_WORK = "care_work"
    CONSTRUCTION = "construction"
    HOSPITALITY = "hospitality"
    SECURITY = "security"
    DRIVING = "driving"
    AGRICULTURE = "agriculture"
    MANUFACTURING = "manufacturing"
    RETAIL = "retail"
    OTHER = "other"


class ContractEndReason(StrEnum):
    COMPLETED = "completed"
    TERMINATED_BY_EMPLOYER = "terminated_by_employer"
    RESIGNED = "resigned"
    EMPLOYER_BREACH = "employer_breach"
    ABSCONDING_ALLEGED = "absconding_alleged"
    DEPORTED = "deported"
    DEATH = "death"
    OTHER = "other"


class WelfareCheckChannel(StrEnum):
    PHONE_CALL = "phone_call"
    VIDEO_CALL = "video_call"
    HOME_VISIT = "home_visit"
    EMPLOYER_VISIT = "employer_visit"
    SHELTER_VISIT = "shelter_visit"


class WelfareStatus(StrEnum):
    WELL = "well"
    CONCERNS = "concerns"
    URGENT = "urgent"


class ReturnReason(StrEnum):
    CONTRACT_COMPLETED = "contract_completed"
    CONTRACT_TERMINATED = "contract_terminated"
    ABUSE_OR_EXPLOITATION = "abuse_or_exploitation"
    ILLNESS_OR_INJURY = "illness_or_injury"
    DEPORTATION = "deportation"
    FAMILY_REASONS = "family_reasons"
    DEATH = "death"  # remains repatriated
    OTHER = "other"


class ReferralService(StrEnum):
    JOB_PLACEMENT = "job_placement"
    SACCO_MEMBERSHIP = "sacco_membership"
    BUSINESS_TRAINING = "business_training"
    CREDIT_OR_LOAN = "credit_or_loan"
    HOUSING_LOAN = "housing_loan"
    PSYCHOSOCIAL_COUNSELLING = "psychosocial_counselling"
    FINANCIAL_LITERACY = "financial_literacy"


class ReferralOutcome(StrEnum):
    COMPLETED = "completed"
    ONGOING = "ongoing"
    DECLINED = "declined"
    NOT_ELIGIBLE = "not_eligible"
    DID_NOT_ATTEND = "did_not_attend"
