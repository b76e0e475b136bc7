"""Issue 12: a bounded schemathesis run against the OpenAPI spec finds no 5xx.

Every operation of ``/openapi.json`` (in-process, over ASGI) gets up to ``FUZZ_EXAMPLES``
generated requests (valid and schema-violating) authenticated with an admin API key, on a
real case store (SQLite) and the fake knowledge service. Destructive account operations
(creating, changing or revoking users and keys) and uploads (which start ingest jobs) are left
out. Any 5xx fails the test.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from api.app import create_app
from api.users import UserService
from tests.api.support import FakeKnowledge

FUZZ_EXAMPLES = 200


def test_no_server_errors(
    settings: Any, session_factory: Any, case_service: Any, user_service: UserService
) -> None:
    _api_key, key = user_service.create_api_key("fuzz", "admin")
    app = create_app(settings, knowledge=FakeKnowledge(), cases=case_service, session_factory=session_factory)
    schema = (
        schemathesis.openapi.from_asgi("/openapi.json", app)
        .exclude(method="POST", path="/v1/users")
        .exclude(method="PATCH", path="/v1/users/{username}")
        .exclude(method="POST", path="/v1/api-keys")
        .exclude(method="DELETE", path="/v1/api-keys/{name}")
        .exclude(method="POST", path="/v1/documents")
    )
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(
            case=st.one_of(
                operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
            )
        )
        @hypothesis_settings(
            max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def fuzz(case: Any) -> None:
            response = case.call(headers={"X-API-Key": key})
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r}")

        fuzz()
    print(f"fuzz: {len(operations)} operations, {sum(statuses.values())} requests, statuses {dict(statuses)}")
    assert not failures, failures[:10]
