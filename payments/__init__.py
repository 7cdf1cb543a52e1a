"""Fees and online payment through provider plugins, webhooks, refunds,
reconciliation and receipts. Built in issue #7."""
