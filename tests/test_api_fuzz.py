"""Schemathesis against the published OpenAPI: generated requests (valid and not) to every operation,
signed in with an admin's API token, never get a server error."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from shekteu import accounts
from tests.dashboard import Dash, dash

__all__ = ["dash"]


def test_no_operation_answers_with_a_server_error(dash: Dash) -> None:
    with dash.rt.db.write() as s:
        token = accounts.create_token(s, "adm", "schemathesis", actor="test")
    schema = schemathesis.openapi.from_url(dash.base + "/api/openapi.json")
    failures: list[str] = []
    statuses: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def call(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers={"Authorization": f"Bearer {token}"}, timeout=30)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )

        call()
    assert not failures, "\n".join(failures[:10])
    assert len(statuses) >= 10 * len(operations) and 200 in statuses and 422 in statuses
