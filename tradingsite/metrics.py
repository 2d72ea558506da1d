"""The site's own metrics, exported on /metrics beside django-prometheus's request metrics."""

from prometheus_client import Counter

# Requests refused for want of valid credentials are counted and logged, not audited: nobody is known
# to have done anything, and a flood of them must not each take the audit chain's lock.
unauthenticated_requests = Counter(
    "tradingsite_unauthenticated_requests_total",
    "Requests refused with 401 because they carried no valid credentials, by what they carried: "
    "missing (nothing), malformed (an Authorization header that is not one bearer token), "
    "api_token (a personal token unknown, expired, revoked or of a deactivated user), "
    "provider_token (a provider access token the site does not accept).",
    ["reason"],
)
