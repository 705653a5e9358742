"""Statistics of money claims and social-protection coverage (issue 16), for
the statistics screen, `msafiri statistics claims|coverage` and their CSV
exports alike.

Claims: per value of a dimension (destination, sector, agency, employer) and
currency (amounts are never added across currencies), by sex: how many
claims, the amounts recovered and outstanding. A row that counts a claim on
an incident of a restricted category is suppressed like any other
restricted count (projections/suppression.py): a hidden count hides its
amounts too, so a small restricted cell cannot be read back from money. The
agency is the registered agency's name (a merged duplicate under the record
it was merged into), the contract's free text where it is not linked
(projections/claims_queries.py, CLAIM_BY).

Coverage: per destination, by sex: placements (migrants whose current
contract is there), insured, registered with the destination's social
security, under an SSA in force - counts of migrants, shown in full like the
other migrant tables, with the rates in per cent.
"""

from __future__ import annotations

from dataclasses import dataclass

from projections.claims_queries import CLAIM_BY, ClaimReads
from projections.suppression import SuppressedTable, is_restricted, legend, suppress_table

SEXES = ("female", "male")
MEASURES = ("claims", "recovered_minor", "outstanding_minor")


@dataclass(frozen=True)
class ClaimsTable:
    title: str
    dimension: str
    # (value, currency) -> the suppressed counts; amounts by measure and sex.
    counts: SuppressedTable
    amounts: dict[tuple[str, str], dict[str, tuple[int, int, int]]]
    threshold: int

    @property
    def rows(self) -> list[tuple]:
        """(value, currency, claims F, M, total, recovered F, M, total,
        outstanding F, M, total): None where hidden."""
        t = self.counts
        out = []
        for key, cells, total in zip(t.row_keys, t.cells, t.row_totals, strict=True):
            money = self.amounts[key]
            row: list = [key[0], key[1], *cells, total]
            for measure in MEASURES[1:]:
                f, m, both = money[measure]
                row += [
                    f if cells[0] is not None else None,
                    m if cells[1] is not None else None,
                    both if total is not None else None,
                ]
            out.append(tuple(row))
        return sorted(out, key=lambda r: (r[4] is None, r[0], r[1]))

    @property
    def legend(self) -> str | None:
        return legend(self.threshold) if self.counts.hidden else None

    @property
    def columns(self) -> tuple[str, ...]:
        return (
            self.dimension,
            "currency",
            *(
                f"{measure.removesuffix('_minor')} {sex}"
                for measure in MEASURES
                for sex in (*SEXES, "total")
            ),
        )

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "dimension": self.dimension,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "amounts": "minor units of the row's currency",
            "hidden": self.counts.hidden,
            "legend": self.legend,
        }


def claims_table(reads: ClaimReads, by: str, threshold: int) -> ClaimsTable:
    if by not in CLAIM_BY:
        raise ValueError(f"--by must be one of {', '.join(CLAIM_BY)}")
    counts: dict[tuple[str, str], list[int]] = {}
    money: dict[tuple[str, str], dict[str, list[int]]] = {}
    restricted: set[tuple[str, str]] = set()
    for figure in reads.claim_figures(by):
        key = (figure["value"] or "-", figure["currency"])
        column = 0 if figure["sex"] == "female" else 1
        counts.setdefault(key, [0, 0])[column] += figure["claims"]
        amounts = money.setdefault(key, {m: [0, 0] for m in MEASURES[1:]})
        for measure in MEASURES[1:]:
            amounts[measure][column] += figure[measure]
        if figure["category"] and is_restricted(figure["category"]):
            restricted.add(key)
    keys = sorted(counts)
    table = suppress_table(
        keys, SEXES, [counts[k] for k in keys], threshold, lambda key: key in restricted
    )
    amounts = {key: {m: (v[0], v[1], v[0] + v[1]) for m, v in money[key].items()} for key in keys}
    title = f"Claims by {by}: recovered and outstanding"
    return ClaimsTable(title, by, table, amounts, threshold)


CLAIM_SCREEN_DIMENSIONS = ("destination", "sector", "agency")


@dataclass(frozen=True)
class CoverageTable:
    title: str
    rows: list[tuple]  # (destination, sex, placements, insured, registered, under_ssa, % x3)

    columns = (
        "destination",
        "sex",
        "placements",
        "insured",
        "registered",
        "under_ssa",
        "insured %",
        "registered %",
        "under_ssa %",
    )

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
        }


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "-"


def coverage_table(reads: ClaimReads) -> CoverageTable:
    rows = []
    totals: dict[str, list[int]] = {}
    for f in sorted(reads.coverage_figures(), key=lambda f: (f["destination"], f["sex"])):
        figures = [f["placements"], f["insured"], f["registered"], f["under_ssa"]]
        rows.append(
            (f["destination"], f["sex"], *figures, *(_rate(x, figures[0]) for x in figures[1:]))
        )
        sums = totals.setdefault(f["sex"], [0, 0, 0, 0])
        for n, value in enumerate(figures):
            sums[n] += value
    for sex, figures in sorted(totals.items()):
        rows.append(("all", sex, *figures, *(_rate(x, figures[0]) for x in figures[1:])))
    return CoverageTable("Coverage by destination and sex", rows)
