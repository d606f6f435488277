"""Property-based fuzzing of every operation in the OpenAPI description: no input yields a 5xx, and
every answer (status, content type, body) is one the description declares."""
import dataclasses

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from db.models import Farmer
from web.app import create_app

schema = schemathesis.pytest.from_fixture("fuzz_schema")
# No 5xx, and every status, content type and body is one the description declares. (Checks that valid-looking
# input is accepted do not apply: a checksum-failing address or a missing pooler is rightly refused.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_app(db, api_settings, devnet):
    return create_app(dataclasses.replace(api_settings, rpc_url=devnet.rpc_url))


@pytest.fixture
def fuzz_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)


@pytest.fixture
def tokens(fuzz_app, make_pooler):
    """A farmer, a pooler and an auditor token, picked per path by the test."""
    from stellar_sdk import Keypair

    from web.accounts import create_auditor

    with fuzz_app.app_context():
        pooler = make_pooler()
        farmer = fuzz_app.test_client().post("/api/v1/farmers", json={
            "payout_address": Keypair.random().public_key, "pooler_id": pooler.id, "stake_bps": 1}).get_json()
        Farmer.update(status="active").execute()
        _, auditor = create_auditor("fuzz")
    return {"farmer": farmer["api_token"], "pooler": pooler.token, "auditor": auditor}


def _token_for(path: str, tokens: dict[str, str]) -> str:
    if path.startswith("/api/v1/farmers/me"):
        return tokens["farmer"]
    if path.startswith("/api/v1/pooler/"):
        return tokens["pooler"]
    return tokens["auditor"]


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_generated_request_gets_a_server_error(case, tokens):
    headers = {"Authorization": f"Bearer {_token_for(case.path, tokens)}"}
    case.call_and_validate(headers=headers, checks=CHECKS)
