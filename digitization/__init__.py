"""The inventory of all procedures, exemptions, availability and usage rates,
snapshots and the auditors' dashboard. Built in issue #8."""
