"""Paying fees online. One module per job; import a service from the module that
does it:

- `start`: starting a payment (`payment_start`), with its Idempotency-Key;
- `follow`: the payer following (`payment_refresh`) or canceling (`payment_cancel`) it;
- `webhooks`: the providers' signed webhooks (`webhook_receive`);
- `expiry`: closing open payments past their deadline (`payments_expire_overdue`);
- `settlement`: telling the subject's app that its payment settled
  (`payment_settlement_dispatch`) and the sweep of those never told;
- `refunds`: refunds (`refund_request`, `refund_complete`);
- `reconciliation`: the daily comparison with the providers' books (`reconciliation_run`);
- `status`: what every job above shares: moving a payment's status forward, once,
  with its consequences (notifying the payer, queueing the settlement, recording
  reconciliation issues).

Rules enforced by these modules, for pages, the API and tasks alike:
- only the subject's owner pays it, only while its owner app says payment is due,
  only by a method its fee allows, and the amount is what the owner app says is
  due (whole yen); at most one payment per subject is open at a time (a partial
  unique constraint backs this);
- an Idempotency-Key makes starting safe to retry: the same key with the same
  request returns the same payment, the same key with another request is refused;
- a payment is marked paid only on the provider's word: a webhook whose HMAC
  signature and timestamp verify, or the provider's answer to a status query.
  Nothing the payer's browser brings back (the return page) counts;
- each provider event is applied once (its id is stored in the same transaction as
  the change), and a status only ever moves forward (models.STATUS_RANK): a late
  "failed" never overrides "succeeded";
- a settled payment moves its subject on through the registered handler, after the
  commit, in a task that is safe to run again;
- refunds need the refund permission in the organization paid to and a reason, can
  never exceed what remains refundable, even when two are requested at once (the
  payment row is locked and the amount reserved before the provider is asked);
- every change is audited in its own transaction; the payer is notified of
  payments, refunds and expired payment numbers.
"""
