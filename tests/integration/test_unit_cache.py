"""The units and rules cache refreshes by a version check (one GetItem), never a scan when nothing
changed; a change written by another container is seen at the next check. On moto, tables from the
template; the calls are counted by the local stack's meter (botocore, per HTTP attempt)."""

import pytest
from moto import mock_aws

from civic.adapters.dynamo import models
from civic.adapters.dynamo.units import VERSION_CODE, DynamoUnitStore
from civic.adapters.routing_cache import Directory
from civic.domain.units import RoutingRule, Unit
from civic.settings import Settings
from civic_dev.local import meter


@pytest.fixture(scope="module")
def settings():
    from civic_dev.local.deploy import deploy_stack

    with mock_aws():
        deployed = deploy_stack(endpoint_url=None, region="ap-southeast-1")
        settings = Settings(**{k.lower(): v for k, v in deployed.env.items() if k.lower() in Settings.model_fields})
        models.bind(settings)
        meter.install()
        try:
            yield settings
        finally:
            meter.uninstall()


def dynamodb_calls() -> dict[str, int]:
    return {r["operation"]: r["calls"] for r in meter.snapshot()["calls"] if r["service"] == "dynamodb"}


def check(directory: Directory) -> None:
    """As when a minute has passed in a warm container."""
    directory._loaded_at = -1e9
    meter.reset()
    directory.tree  # noqa: B018 - the property refreshes


def test_unchanged_units_cost_one_read_and_changes_are_seen(settings):
    here, elsewhere = DynamoUnitStore(), DynamoUnitStore()  # two containers
    here.put(Unit(code="CACHE-W1", name_vi="Phường 1", name_en="Ward 1", kind="ward"))
    here.put_rule(RoutingRule(id="cache-r1", category="electricity", scope="unit", target="CACHE-W1", where="CACHE-W1"))
    directory = Directory(settings, units_store=here)
    assert "CACHE-W1" in directory.tree and VERSION_CODE not in {u.code for u in here.units()}

    check(directory)
    assert dynamodb_calls() == {"GetItem": 1}  # the version row alone

    elsewhere.put(Unit(code="CACHE-W2", name_vi="Phường 2", name_en="Ward 2", kind="ward"))
    check(directory)
    assert dynamodb_calls() == {"GetItem": 1, "Scan": 2}  # moved: both tables read again
    assert "CACHE-W1" in directory.tree and "CACHE-W2" in directory.tree

    assert elsewhere.delete_rule("cache-r1")
    check(directory)
    assert "cache-r1" not in {r.id for r in directory.rules}
    check(directory)
    assert dynamodb_calls() == {"GetItem": 1}
