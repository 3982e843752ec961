"""schemathesis over the served /openapi.json: no 5xx, no answer outside the schema, with
and without a valid device token, for valid and invalid requests."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server.conftest import enrol

EXAMPLES = 25
# What the brief asks: no 5xx, and no status, media type, header or body outside the schema.
# (Schemathesis's guesses about semantics, such as "a schema-valid protocol version must be
# accepted", are not checked: a newer or older client gets its documented 426 or 400.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def token(store, org) -> str:
    """Enrolled before any fuzzing: the fuzzer's failed sign-ins count against 127.0.0.1."""
    return str(enrol(store.base_url, org.login("paula")).client.token)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
def test_the_served_schema_matches_every_answer(store, token: str,
                                                 mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{store.base_url}/openapi.json")
    tokens = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/info", "/v1/enrol", "/v1/push",
                                               "/v1/pull", "/v1/tips", "/v1/digest", "/v1/me",
                                               "/v1/devices"}
    statuses: set[int] = set()
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and operation.path == "/v1/info":
            continue  # it takes no input that could be invalid

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            if mode == GenerationMode.POSITIVE and "Authorization" not in (case.headers or {}):
                case.headers = {**(case.headers or {}), **tokens}
            response = case.call(base_url=store.base_url, timeout=30)
            statuses.add(response.status_code)
            assert response.status_code < 500, response.text
            case.validate_response(response, checks=CHECKS)

        check()
    assert 200 in statuses or mode == GenerationMode.NEGATIVE
