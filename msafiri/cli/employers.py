"""`msafiri employer ...` and `msafiri agency ...`: the registries (issue 16).

Registering offers the records with a similar name in the same country and
refuses until the officer picks one or says `--not-duplicate`; a contract
typed with a free-text employer that resembles a registered one is refused
the same way (`case register-contract`, below), naming the ids to use.
"""

from __future__ import annotations

import click

from domain.cases import commands as cc
from domain.cases.service import CASE_HANDLERS
from domain.commands import Command
from domain.employers import commands as ec
from domain.employers.service import CHECKERS, HISTORY_READERS, LICENSING, PROPOSERS, REGISTRARS
from domain.errors import InvalidCommand
from msafiri.cli.context import CliContext, emit
from msafiri.cli.forms import command_for
from projections.employer_queries import Match, PartyHistory, history_lines


def _offers(matches: list[Match]) -> str:
    return "; ".join(
        f"{m.row.name} ({m.row.city or m.row.country}, id {m.row.party_id[:8]}, "
        f"{m.row.watchlist.replace('_', ' ')})"
        for m in matches[:5]
    )


def _similar(ctx: CliContext, party_kind: str, name: str, country: str) -> list[Match]:
    return ctx.system.read_models.queries.search_parties(party_kind, name, country, limit=5)


def _not_duplicate() -> bool:
    return bool(click.get_current_context().params.get("not_duplicate"))


def _register_employer(ctx: CliContext, command: Command) -> dict:
    assert isinstance(command, ec.RegisterEmployer)
    similar = _similar(ctx, "employer", command.name, command.country)
    if similar and not _not_duplicate():
        raise InvalidCommand(
            [
                (
                    "name",
                    f"similar employers in {command.country}: {_offers(similar)}; use one, "
                    "or add --not-duplicate",
                )
            ]
        )
    party_id = ctx.system.employers.register_employer(ctx.actor(), command)
    return {"employer_id": str(party_id), "name": command.name}


def _register_agency(ctx: CliContext, command: Command) -> dict:
    assert isinstance(command, ec.RegisterAgency)
    similar = _similar(ctx, "agency", command.name, command.licensing_country)
    if similar and not _not_duplicate():
        raise InvalidCommand(
            [("name", f"similar agencies: {_offers(similar)}; use one, or add --not-duplicate")]
        )
    party_id = ctx.system.employers.register_agency(ctx.actor(), command)
    return {"agency_id": str(party_id), "name": command.name}


def _party_result(ctx: CliContext, command: Command) -> dict:
    party = ctx.system.employers.execute(ctx.actor(), command)
    result = {"id": str(party.id), "name": party.name, "watchlist": party.watchlist.value}
    if hasattr(party, "licence_status"):
        result["licence"] = party.licence_status.value
    return result


def _with_not_duplicate(command: click.Command) -> click.Command:
    command.params.append(
        click.Option(
            ["--not-duplicate"],
            is_flag=True,
            help="register even though records with a similar name exist",
        )
    )
    return command


def history_data(history: PartyHistory) -> dict:
    party = history.party
    return {
        "id": party.party_id,
        "kind": party.party_kind,
        "name": party.name,
        "country": party.country,
        "city": party.city,
        "watchlist": party.watchlist,
        "listing_reason": party.listing_reason,
        "licence_status": party.licence_status,
        "licence_valid_until": party.licence_valid_until,
        "migrants_placed": history.migrants_placed,
        "placements": history.placements,
        "incidents": history.incidents,
        "open_claims": history.open_claims,
        "recovered_claims": history.recovered_claims,
        "recovered_minor": history.recovered,  # per currency
        "merged_ids": list(history.merged_ids),
    }


def _group(party_kind: str, register: click.Command) -> click.Group:
    noun = "employers" if party_kind == "employer" else "recruitment agencies"
    group = click.Group(
        name=party_kind, help=f"The registry of {noun}: search, history, watchlist."
    )
    group.add_command(_with_not_duplicate(register))

    @group.command(name="search", help=f"Find {noun} by name (similar names within a country).")
    @click.argument("text")
    @click.option("--country", help="ISO code; with it, similar names are found, e.g. SA")
    @click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def search(ctx: CliContext, text: str, country: str | None, limit: int, as_json: bool):
        ctx.system.authz.require(ctx.actor(), f"search {noun}", *HISTORY_READERS)
        found = ctx.system.read_models.queries.search_parties(
            party_kind, text, country.upper() if country else None, limit
        )
        for match in found:
            row = match.row
            emit(
                as_json,
                {
                    "id": row.party_id,
                    "name": row.name,
                    "country": row.country,
                    "city": row.city,
                    "watchlist": row.watchlist,
                    "score": round(match.score, 1),
                },
                f"{row.party_id[:8]}  {row.name}  {row.city or ''} {row.country}  "
                f"{row.watchlist.replace('_', ' ')}  ({match.score:.0f})",
            )

    search.epilog = f"\b\nExample:\n  msafiri {party_kind} search harbi --country SA"

    @group.command(name="show", help="History at a glance: placements, incidents, watchlist.")
    @click.argument("party")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def show(ctx: CliContext, party: str, as_json: bool):
        ctx.system.authz.require(ctx.actor(), f"read the history of {noun}", *HISTORY_READERS)
        party_id = ctx.reference("party_id", party)
        history = ctx.system.read_models.queries.party_history(party_id)
        if history is None or history.party.party_kind != party_kind:
            raise InvalidCommand([("party", f"no {party_kind} with id {party}")])
        emit(as_json, history_data(history), "\n".join(history_lines(history)))

    show.epilog = f"\b\nExample:\n  msafiri {party_kind} show 3f2a9c1e"

    @group.command(name="watchlist", help="Listed records and proposals waiting for a checker.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def watchlist(ctx: CliContext, as_json: bool):
        ctx.system.authz.require(ctx.actor(), "read the watchlist", *HISTORY_READERS)
        from projections import employer_queries

        db = ctx.system.read_models.queries.db
        rows = employer_queries.watchlisted(db) + employer_queries.watchlist_proposals(db)
        seen = set()
        for row in rows:
            if row.party_kind != party_kind or row.party_id in seen:
                continue
            seen.add(row.party_id)
            emit(
                as_json,
                {"id": row.party_id, "name": row.name, "watchlist": row.watchlist},
                f"{row.party_id[:8]}  {row.name}  {row.watchlist.replace('_', ' ')}",
            )

    watchlist.epilog = f"\b\nExample:\n  msafiri {party_kind} watchlist"

    for command_class, name, roles in (
        (ec.MergeDuplicate, "merge", REGISTRARS),
        (ec.ProposeListing, "propose-listing", PROPOSERS),
        (ec.ProposeDelisting, "propose-delisting", PROPOSERS),
        (ec.ApproveWatchlistChange, "approve-watchlist", CHECKERS),
        (ec.RejectWatchlistChange, "reject-watchlist", CHECKERS),
    ):
        group.add_command(command_for(command_class, name, _party_result, party_kind, roles))
    return group


employer_group = _group(
    "employer",
    command_for(ec.RegisterEmployer, "register", _register_employer, "employer", REGISTRARS),
)
agency_group = _group(
    "agency", command_for(ec.RegisterAgency, "register", _register_agency, "agency", REGISTRARS)
)
for _class, _name in (
    (ec.RenewAgencyLicence, "renew-licence"),
    (ec.RevokeAgencyLicence, "revoke-licence"),
    (ec.ReinstateAgencyLicence, "reinstate-licence"),
):
    agency_group.add_command(command_for(_class, _name, _party_result, "agency", LICENSING))


def _register_contract(ctx: CliContext, command: Command) -> dict:
    """A contract with a free-text employer that resembles a registered one
    in the destination is refused, naming the records to use."""
    assert isinstance(command, cc.RegisterContract)
    if command.employer_id is None and command.employer_name:
        similar = _similar(ctx, "employer", command.employer_name, command.destination_country)
        if similar:
            raise InvalidCommand(
                [
                    (
                        "employer_id",
                        f"registered employers like {command.employer_name!r}: "
                        f"{_offers(similar)}; give employer_id=...",
                    )
                ]
            )
    migrant = ctx.system.cases.execute(ctx.actor(), command)
    return {
        "migrant_id": str(migrant.id),
        "case_number": migrant.case_number,
        "stage": migrant.stage.value,
        "version": migrant.version,
        "employer_id": str(migrant.contract.employer_id or ""),
    }


def contract_command() -> click.Command:
    """`case register-contract`, with the offer of registered employers."""
    roles, _ = CASE_HANDLERS[cc.RegisterContract]
    return command_for(cc.RegisterContract, "register-contract", _register_contract, "case", roles)


__all__ = ["agency_group", "contract_command", "employer_group"]
