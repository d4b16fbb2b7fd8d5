"""Schemathesis checks for Mati, loaded with SCHEMATHESIS_HOOKS=mati_checks.

Schemathesis' own `not_a_server_error` counts every GraphQL error as a server error, so
an expected UNAUTHENTICATED or RATE_LIMITED answer would fail the run. This check fails
on what matters: a 5xx status, an INTERNAL or SERVICE_UNAVAILABLE error, or text that
only an internal failure would put into a response (a panic, a driver's message, a path
into the source tree) when the request did not carry that text itself.
"""

import json
import os

import schemathesis

# Text that only an internal failure would put into a response (shared with the fuzz
# target of the GraphQL request path).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "internal-text.txt")) as lines:
    LEAKS = tuple(line.strip() for line in lines if line.strip())
FAILURE_CODES = ("INTERNAL", "SERVICE_UNAVAILABLE")


def _request_text(response):
    body = response.request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return (body or "") + str(response.request.url)


@schemathesis.check
def mati_no_internal_failure(ctx, response, case):
    """No 5xx, no INTERNAL error, no internal text in any response."""
    if response.status_code >= 500:
        raise AssertionError(f"status {response.status_code}: {response.text[:500]}")
    sent = _request_text(response)
    for leak in LEAKS:
        if leak in response.text and leak not in sent:
            raise AssertionError(f"{leak!r} in the response: {response.text[:500]}")
    try:
        payload = json.loads(response.text)
    except ValueError:
        raise AssertionError(f"not JSON: {response.text[:500]}")
    errors = payload.get("errors") if isinstance(payload, dict) else None
    for error in errors or []:
        code = ((error or {}).get("extensions") or {}).get("code")
        if code in FAILURE_CODES:
            raise AssertionError(f"{code}: {error.get('message')}")
