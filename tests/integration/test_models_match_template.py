"""The PynamoDB models and infra/template.yaml describe the same tables, keys and indexes."""

import pytest

from civic.adapters.dynamo import models
from civic_dev.local.cfn import load_sam_template

# Model → the template's logical id of its table.
TABLES = {
    models.ReportModel: "ReportsTable",
    models.TrackingCodeModel: "ReportsTable",
    models.PhotoHashModel: "ReportsTable",
    models.FlagModel: "ReportsTable",
    models.SentModel: "ReportsTable",
    models.TimelineModel: "TimelineTable",
    models.UnitModel: "UnitsTable",
    models.UserModel: "UsersTable",
    models.Open311ClientModel: "UsersTable",
    models.Open311KeyModel: "UsersTable",
    models.Open311RegistryModel: "UsersTable",
    models.RuleModel: "RulesTable",
    models.FollowModel: "FollowsTable",
    models.StatModel: "StatsTable",
    models.NotificationModel: "NotificationsTable",
    models.QuotaModel: "QuotasTable",
}
TYPE_CODES = {"UnicodeAttribute": "S", "NumberAttribute": "N", "BinaryAttribute": "B"}


@pytest.fixture(scope="module")
def template():
    return load_sam_template()


def _keys(schema):
    return {k["KeyType"]: k["AttributeName"] for k in schema}


def _attr_types(props):
    return {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}


@pytest.mark.parametrize("model, logical_id", TABLES.items(), ids=lambda v: getattr(v, "__name__", v))
def test_key_schema_and_types(template, model, logical_id):
    props = template["Resources"][logical_id]["Properties"]
    declared = _keys(props["KeySchema"])
    types = _attr_types(props)
    hash_key = model._hash_keyname
    range_key = model._range_keyname
    assert declared.get("HASH") == hash_key
    assert declared.get("RANGE") == range_key
    for name in filter(None, (hash_key, range_key)):
        assert types[name] == TYPE_CODES[type(model.get_attributes()[name]).__name__]


@pytest.mark.parametrize("model, logical_id", [(m, t) for m, t in TABLES.items() if m._indexes], ids=lambda v: getattr(v, "__name__", v))
def test_indexes(template, model, logical_id):
    props = template["Resources"][logical_id]["Properties"]
    declared = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
    types = _attr_types(props)
    if model is models.SentModel:  # an index row: it reads the one index its rows are written to
        assert set(model._indexes) == {"ByUnitStatus"} <= set(declared)
    else:
        assert set(declared) == set(model._indexes)
    for name, index in model._indexes.items():
        keys = _keys(declared[name]["KeySchema"])
        attrs = index.Meta.attributes.values()
        hash_attr = next(a for a in attrs if a.is_hash_key)
        range_attr = next((a for a in attrs if a.is_range_key), None)
        assert keys.get("HASH") == hash_attr.attr_name
        assert keys.get("RANGE") == (range_attr.attr_name if range_attr else None)
        assert declared[name]["Projection"]["ProjectionType"] == "ALL"
        for attr in filter(None, (hash_attr, range_attr)):
            assert types[attr.attr_name] == TYPE_CODES[type(attr).__name__]


def test_every_table_has_a_model_or_a_reason(template):
    tables = {lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}
    # The idempotency table belongs to Powertools (its own schema: id + expiration TTL).
    assert tables == set(TABLES.values()) | {"IdempotencyTable"}
    idem = template["Resources"]["IdempotencyTable"]["Properties"]
    assert _keys(idem["KeySchema"]) == {"HASH": "id"}
    assert idem["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_quota_counters_expire(template):
    props = template["Resources"]["QuotasTable"]["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": models.QuotaModel.expires_at.attr_name,
                                                "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"


def test_timeline_streams_new_images(template):
    stream = template["Resources"]["TimelineTable"]["Properties"]["StreamSpecification"]
    assert stream["StreamViewType"] in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
