"""The access log (issue 14 item 4): every read of a person's record, chained."""
