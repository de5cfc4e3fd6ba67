"""Property-based requests from the OpenAPI schema against the real service: never a 5xx,
and every response matches its documented status code, content type and schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_helpers import Process, headers

pytestmark = pytest.mark.slow
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {"admin": 10, "scorer": 3, "viewer": 3, "collector": 3}
"""Per operation and mode, for each role: bounded, a few hundred requests in all. Every role
meets every operation: the ones its role may not call must answer the documented 403."""


def test_api_never_answers_5xx_and_matches_its_schema(service: Process) -> None:
    """One test over the roles: one service for all of them."""
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {"/v1/score", "/v1/accounts/{customer_id}", "/readyz"} <= {o.path for o in operations}
    failures: list[str] = []
    for role in EXAMPLES:
        failures += _failures_as(role, operations, service)
    assert not failures, "\n\n".join(failures)


def _failures_as(role: str, operations: list, service: Process) -> list[str]:
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES[role],
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                case.call_and_validate(base_url=service.url, headers=headers(role), checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # no invalid input exists (an operation without parameters)
                continue
            except Exception as exc:  # collect every operation's failure, then report all
                inner = "; ".join(str(e)[:400] for e in getattr(exc, "exceptions", ()))
                failures.append(
                    f"{operation.label} as {role} ({mode.value}): {str(exc)[:800]} {inner}"
                )
    return failures
