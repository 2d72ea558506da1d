"""The trading REST API (/api/v1/), one module per area: market data, orders and trades, accounts,
approvals; `base` holds the input fields, pagination and permissions they share.

One view per operation, input and output serializers nested. Views parse, call a service or
selector, and render; they hold no business logic. Another user's objects are always 404, never 403,
so ids cannot be probed."""
