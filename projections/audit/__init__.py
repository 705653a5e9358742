"""The auditor's side: a tamper-evident hash chain over the event log,
verification, point-in-time replay, who-did-what and open exports."""
