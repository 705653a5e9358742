"""The approval queue sorted by amount: an index whose order is the queue's
(largest first within each currency, read backwards), so a page of it starts
at its keyset row comparison instead of sorting every waiting request.
"""

from yoyo import step

__depends__ = {"0006_activity"}

steps = [
    step(
        "CREATE INDEX rm_disbursements_amount ON rm_disbursements "
        "(status, currency, amount_minor, disbursement_id)",
        "DROP INDEX rm_disbursements_amount",
    )
]
