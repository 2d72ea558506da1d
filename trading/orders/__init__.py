"""The order path and the account controls around it: placement, modification and cancellation,
the broker's answers, the state machine, fills, risk checks over the account book, idempotent
placement, the outbox's entries, row locks, risk limits and their approvals, charges, session jobs.

Nothing here imports a broker, a feed or a task: brokers and feeds call in through the public
functions of `services`, `fills` and `states`."""
