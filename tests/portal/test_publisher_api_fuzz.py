"""schemathesis against the Publisher API's OpenAPI document: no 5xx, no schema violation."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.factories import Api
from tests.portal.test_publisher_api import Setup

pytestmark = pytest.mark.schemathesis

EXAMPLES_PER_OPERATION = 15


def _aim(case: Any, world: Setup, pick: bool) -> None:
    """Point a generated request at a real instance, campaign and job, with a real key."""
    params = dict(case.path_parameters or {})
    params["subdomain"] = world.acme.subdomain
    if "campaign_id" in params:
        params["campaign_id"] = world.cid
    if "job_id" in params:
        params["job_id"] = world.list_job["id"] if pick else world.cond_job["id"]
    case.path_parameters = params
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {world.key}"}


def test_publisher_api_conforms(app: FastAPI, acme: Api) -> None:
    world = Setup(acme)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="/publisher/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9  # every Publisher API operation of the contract is documented
    for operation in operations:

        @given(case=operation.as_strategy(), pick=st.booleans())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any, pick: bool) -> None:
            _aim(case, world, pick)
            # Which fields a lead may carry depends on the campaign, which a schema cannot
            # say; a schema-valid lead with unknown fields is rightly refused with 422.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
