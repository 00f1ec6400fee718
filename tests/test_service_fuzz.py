"""A schemathesis fuzz of the service's OpenAPI document: no input may cause a server error.

Each operation gets EXAMPLES_PER_OPERATION generated requests (valid and invalid parameters,
bodies and files), sent with an admin key, and schemathesis' checks run on the answers: no 5xx,
statuses, content types, headers and bodies as documented. One check is left out: "schema-valid
data is accepted" cannot hold for uploads, since the schema says "bytes" and only bytes that
decode to an image with a face are accepted (random bytes get 415). (schemathesis' pytest
loader `from_fixture` fails under pytest 9, so the operations' strategies are driven directly.)
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from service_server import Server, running_server

EXAMPLES_PER_OPERATION = 50
REQUESTS = "facegate_http_requests_total{"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Return a running service on an empty gallery."""
    with running_server(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


def test_fuzzed_requests_never_get_a_server_error(server: Server) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {server.tokens['admin']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=server.url,
                headers=headers,
                excluded_checks=[positive_data_acceptance],
                timeout=60,
            )

        fuzz()
    answered = httpx.get(server.url + "/metrics").text
    counts = [
        float(line.split()[-1]) for line in answered.splitlines() if line.startswith(REQUESTS)
    ]
    print(f"{sum(counts):.0f} requests answered")
    assert sum(counts) >= 5 * len(operations)
