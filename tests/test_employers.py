"""Employer and agency registries, merge, watchlist maker-checker and the
contract warnings (issue 16 items 1-3), on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.cases import commands as c
from domain.employers import commands as ec
from domain.employers.vocabulary import name_key
from domain.errors import (
    AlreadyExists,
    IllegalTransition,
    InvalidCommand,
    NeedsJustification,
    NotAuthorised,
)
from tests.employer_helpers import (
    agency,
    contract_with,
    employer,
    list_party,
    oriented_migrant,
    supervisor,
)
from tests.factories import days_ago


def test_name_keys_ignore_case_accents_punctuation_and_legal_forms():
    assert name_key("Al-Harbi Household") == name_key("al harbi  household")
    assert name_key("Gulf Trading Co.") == name_key("GULF TRADING COMPANY")
    assert name_key("Café Noor LLC") == "cafe noor"


def test_register_employers_and_agencies_and_refuse_duplicates(system, officers):
    employer_id = employer(system, officers.registrar, registration_number="cr-1010")
    record = system.employers.get(employer_id)
    assert (record.name, record.kind, record.country, record.city) == (
        "Al-Harbi household",
        "household",
        "SA",
        "Riyadh",
    )
    # The same name (by key) in the same city is the same record.
    with pytest.raises(AlreadyExists, match="same employer name"):
        employer(system, officers.attache, name="al harbi HOUSEHOLD")
    # The same registration number in the same country too.
    with pytest.raises(AlreadyExists, match="same registration number"):
        employer(system, officers.attache, name="Other name", registration_number="CR-1010")
    # Another city is another household.
    assert employer(system, officers.attache, city="Jeddah") != employer_id
    agency_id = agency(system, officers.registrar)
    with pytest.raises(AlreadyExists, match="same licence number"):
        agency(system, officers.registrar, name="Another Agency")
    with pytest.raises(AlreadyExists, match="same agency name"):
        agency(system, officers.registrar, licence_number="PREA-9")
    assert system.employers.get(agency_id).licence_number == "PREA-0042"
    # Who may register; bad input names the field.
    with pytest.raises(NotAuthorised):
        employer(system, officers.fund, name="Fund's employer")
    with pytest.raises(InvalidCommand, match="licence_valid_until"):
        agency(system, officers.registrar, licence_valid_until=days_ago(800), name="X")
    with pytest.raises(InvalidCommand, match="kind"):
        employer(system, officers.registrar, kind="person", name="Y")


def test_merge_keeps_both_ids_resolving_and_refuses_bad_merges(system, officers):
    keep = employer(system, officers.registrar, name="Gulf Trading Co.", kind="company")
    dup = employer(system, officers.registrar, name="Gulf Tradings", kind="company")
    elsewhere = employer(system, officers.registrar, country="AE", city="Dubai")
    agency_id = agency(system, officers.registrar)
    merge = ec.MergeDuplicate(party_id=dup, into_id=keep, reason="same company")
    with pytest.raises(NotAuthorised):
        system.employers.execute(officers.fund, merge)
    with pytest.raises(IllegalTransition, match="into itself"):
        system.employers.execute(
            officers.registrar, ec.MergeDuplicate(party_id=dup, into_id=dup, reason="dup")
        )
    with pytest.raises(IllegalTransition, match="same country"):
        system.employers.execute(
            officers.registrar, ec.MergeDuplicate(party_id=elsewhere, into_id=keep, reason="dup")
        )
    with pytest.raises(IllegalTransition, match="employer and an agency"):
        system.employers.execute(
            officers.registrar, ec.MergeDuplicate(party_id=agency_id, into_id=keep, reason="dup")
        )
    system.employers.execute(officers.attache, merge)
    assert system.employers.resolve(dup).id == keep
    assert system.employers.resolve(keep).id == keep
    assert system.employers.get(keep).absorbed == [dup]
    with pytest.raises(IllegalTransition, match="was merged into"):
        system.employers.execute(officers.attache, merge)
    with pytest.raises(IllegalTransition, match="was merged into"):
        system.employers.execute(officers.attache, ec.ProposeListing(party_id=dup, reason="dup"))
    # A contract naming the duplicate's id is recorded against the survivor.
    migrant_id = oriented_migrant(system, officers)
    system.cases.execute(officers.registrar, contract_with(migrant_id, employer_id=dup))
    contract = system.cases.get(migrant_id).contract
    assert (contract.employer_id, contract.employer_name) == (keep, "Gulf Trading Co.")


def test_watchlist_maker_checker(system, officers):
    boss = supervisor(system, officers)
    employer_id = employer(system, officers.registrar)
    propose = ec.ProposeListing(party_id=employer_id, reason="four abuse incidents")
    # Only a labour attaché proposes.
    for actor in (officers.registrar, boss):
        with pytest.raises(NotAuthorised):
            system.employers.execute(actor, propose)
    with pytest.raises(IllegalTransition, match="no watchlist proposal"):
        system.employers.execute(boss, ec.ApproveWatchlistChange(party_id=employer_id))
    system.employers.execute(officers.attache, propose)
    with pytest.raises(IllegalTransition, match="nothing to propose"):
        system.employers.execute(officers.attache2, propose)
    # The proposer cannot approve; a registrar may not decide at all.
    with pytest.raises(IllegalTransition, match="you proposed"):
        system.employers.execute(officers.attache, ec.ApproveWatchlistChange(party_id=employer_id))
    with pytest.raises(NotAuthorised):
        system.employers.execute(
            officers.registrar, ec.ApproveWatchlistChange(party_id=employer_id)
        )
    # Another attaché may approve; rejected first, then proposed again and approved.
    system.employers.execute(
        officers.attache2, ec.RejectWatchlistChange(party_id=employer_id, reason="need more")
    )
    assert system.employers.get(employer_id).watchlist == "not_listed"
    system.employers.execute(officers.attache, propose)
    system.employers.execute(boss, ec.ApproveWatchlistChange(party_id=employer_id))
    record = system.employers.get(employer_id)
    assert (record.watchlist, record.listing_reason) == ("listed", "four abuse incidents")
    # Delisting the same way.
    with pytest.raises(IllegalTransition, match="only a listed record"):
        system.employers.execute(
            officers.attache,
            ec.ProposeDelisting(party_id=agency(system, officers.registrar), reason="dup"),
        )
    system.employers.execute(
        officers.attache2, ec.ProposeDelisting(party_id=employer_id, reason="settled")
    )
    assert system.employers.get(employer_id).listed  # still listed until approved
    with pytest.raises(IllegalTransition, match="you proposed"):
        system.employers.execute(officers.attache2, ec.ApproveWatchlistChange(party_id=employer_id))
    system.employers.execute(officers.attache, ec.ApproveWatchlistChange(party_id=employer_id))
    assert system.employers.get(employer_id).watchlist == "not_listed"


def test_contract_with_a_listed_employer_needs_a_recorded_justification(system, officers):
    employer_id = employer(system, officers.registrar)
    list_party(system, officers.attache, officers.attache2, employer_id, "withheld wages")
    migrant_id = oriented_migrant(system, officers)
    command = contract_with(migrant_id, employer_id=employer_id)
    with pytest.raises(NeedsJustification) as refused:
        system.cases.execute(officers.registrar, command)
    assert refused.value.errors[0][0] == "justification"
    assert "on the watchlist: withheld wages" in str(refused.value)
    assert system.cases.get(migrant_id).contract is None  # nothing stored
    justified = command.model_copy(update={"justification": "employer cleared by the embassy"})
    migrant = system.cases.execute(officers.registrar, justified)
    assert migrant.contract.employer_id == employer_id
    events = list(system.store.events.get(migrant_id))
    warning = [e for e in events if type(e).__name__ == "ContractWarningJustified"]
    assert len(warning) == 1
    assert warning[0].justification == "employer cleared by the embassy"
    assert warning[0].step == "register contract"
    assert "withheld wages" in warning[0].warnings[0]
    # An employer in another country than the destination is refused.
    other = employer(system, officers.registrar, country="AE", city="Dubai", name="Z household")
    with pytest.raises(IllegalTransition, match="destination is SA"):
        system.cases.execute(
            officers.registrar,
            contract_with(
                oriented_migrant(
                    system, officers, national_id="22334455", passport_number="BK7654321"
                ),
                employer_id=other,
            ),
        )


def test_renewal_and_change_of_employer_warn_likewise(system, officers):
    employer_id = employer(system, officers.registrar)
    listed = employer(system, officers.registrar, name="Bad household")
    agency_id = agency(system, officers.registrar)
    migrant_id = oriented_migrant(system, officers)
    cases = system.cases
    cases.execute(
        officers.registrar, contract_with(migrant_id, employer_id=employer_id, agency_id=agency_id)
    )
    cases.execute(
        officers.registrar, c.RecordDeparture(migrant_id=migrant_id, departed_on=days_ago(360))
    )
    cases.execute(
        officers.attache, c.RecordArrival(migrant_id=migrant_id, arrived_on=days_ago(359))
    )
    list_party(system, officers.attache, officers.attache2, listed, "confinement")
    change = c.ChangeEmployer(
        migrant_id=migrant_id, employer_id=listed, reason="transfer", changed_on=days_ago(100)
    )
    with pytest.raises(NeedsJustification, match="confinement"):
        cases.execute(officers.attache, change)
    cases.execute(
        officers.attache, change.model_copy(update={"justification": "migrant's own choice"})
    )
    assert cases.get(migrant_id).contract.employer_name == "Bad household"
    renew = c.RenewContract(migrant_id=migrant_id, ends_on=days_ago(-800), renewed_on=days_ago(10))
    with pytest.raises(NeedsJustification, match="confinement"):
        cases.execute(officers.attache, renew)
    cases.execute(officers.attache, renew.model_copy(update={"justification": "checked"}))


def test_expired_or_revoked_agency_licence_warns(system, officers):
    expired = agency(
        system,
        officers.registrar,
        name="Old Agency",
        licence_number="PREA-1",
        licence_valid_from=days_ago(900),
        licence_valid_until=days_ago(5),
    )
    revoked = agency(system, officers.registrar, name="Revoked Agency", licence_number="PREA-2")
    revoke = ec.RevokeAgencyLicence(party_id=revoked, reason="fee charging", revoked_on=days_ago(1))
    with pytest.raises(NotAuthorised):
        system.employers.execute(officers.attache, revoke)
    system.employers.execute(officers.registrar, revoke)
    with pytest.raises(IllegalTransition, match="already revoked"):
        system.employers.execute(officers.admin, revoke)
    with pytest.raises(IllegalTransition, match="new registration"):
        system.employers.execute(
            officers.registrar, ec.RenewAgencyLicence(party_id=revoked, valid_until=days_ago(-900))
        )
    employer_id = employer(system, officers.registrar)
    with pytest.raises(IllegalTransition, match="not a recruitment agency"):
        system.employers.execute(
            officers.registrar,
            ec.RenewAgencyLicence(party_id=employer_id, valid_until=days_ago(-9)),
        )
    migrant_id = oriented_migrant(system, officers)
    for agency_id, words in ((expired, "expired on"), (revoked, "revoked: fee charging")):
        with pytest.raises(NeedsJustification, match=words):
            system.cases.execute(
                officers.registrar,
                contract_with(migrant_id, employer_id=employer_id, agency_id=agency_id),
            )
    # Renewed, the expired licence warns no more.
    with pytest.raises(IllegalTransition, match="must end after"):
        system.employers.execute(
            officers.registrar, ec.RenewAgencyLicence(party_id=expired, valid_until=days_ago(10))
        )
    system.employers.execute(
        officers.registrar, ec.RenewAgencyLicence(party_id=expired, valid_until=days_ago(-365))
    )
    migrant = system.cases.execute(
        officers.registrar, contract_with(migrant_id, employer_id=employer_id, agency_id=expired)
    )
    assert migrant.contract.recruitment_agency == "Old Agency"
    # Suspension and reinstatement.
    suspend = ec.RevokeAgencyLicence(
        party_id=expired, reason="inspection", suspended=True, revoked_on=days_ago(0)
    )
    system.employers.execute(officers.admin, suspend)
    assert system.employers.contract_warnings(None, expired, days_ago(0))[0].endswith(
        "suspended: inspection"
    )
    system.employers.execute(
        officers.admin, ec.ReinstateAgencyLicence(party_id=expired, reason="inspection passed")
    )
    assert system.employers.contract_warnings(None, expired, days_ago(0)) == []


def test_old_free_text_contracts_are_linked_once(system, officers):
    migrant_id = oriented_migrant(system, officers)
    system.cases.execute(
        officers.registrar, contract_with(migrant_id, employer_name="Al-Harbi household")
    )
    assert system.cases.get(migrant_id).contract.employer_id is None
    employer_id = employer(system, officers.registrar)
    link = c.LinkContractParties(migrant_id=migrant_id, employer_id=employer_id)
    with pytest.raises(NotAuthorised):
        system.cases.execute(officers.fund, link)
    system.cases.execute(officers.registrar, link)
    assert system.cases.get(migrant_id).contract.employer_id == employer_id
    with pytest.raises(IllegalTransition, match="already linked"):
        system.cases.execute(officers.registrar, link)
    with pytest.raises(InvalidCommand, match="employer_id or an agency_id"):
        c.LinkContractParties.parse({"migrant_id": str(migrant_id)})
    with pytest.raises(InvalidCommand, match="registered employer"):
        contract_with(migrant_id)
    assert timedelta


def test_the_history_counts_the_claims_on_the_partys_incidents(system, officers):
    """Issue 16 item 2: open and recovered claims at a glance, money in
    the claim's currency; a claim on another employer's incident is not its."""
    from tests.claims_helpers import open_claim, recover, wage_incident
    from tests.factories import send_abroad

    employer_id = employer(system, officers.registrar)
    migrant_id = send_abroad(system, officers)
    link = c.LinkContractParties(migrant_id=migrant_id, employer_id=employer_id)
    system.cases.execute(officers.registrar, link)
    other = send_abroad(system, officers, national_id="22334455", passport_number="BK7654321")
    system.read_models.catch_up()
    claim_id = open_claim(
        system, officers.attache, migrant_id, wage_incident(system, officers, migrant_id)
    )
    recover(system, officers.attache, claim_id, 150_050)
    open_claim(system, officers.attache, other, wage_incident(system, officers, other))
    system.read_models.catch_up()
    history = system.read_models.queries.party_history(str(employer_id))
    assert (history.open_claims, history.recovered_claims) == (1, 1)
    assert history.recovered == {"SAR": 150_050}
    from projections.employer_queries import history_lines

    assert "claims: 1 open, 1 with money recovered (1,500.50 SAR)" in history_lines(history)
