"""infra/template.yaml: lint, offline SAM translation, deployment into moto (in-process and server)."""

from __future__ import annotations

import copy

import boto3
import pytest
from moto import mock_aws
from samtranslator.model.exceptions import InvalidDocumentException

from civic_dev.local.cfn import (
    DEFAULT_TEMPLATE,
    code_paths,
    lint,
    lint_errors,
    load_sam_template,
    translate,
)
from civic_dev.local.deploy import deploy_stack

REGION = "ap-southeast-1"
TABLES = {
    # logical id: (key schema, {GSI name: key schema}, stream view type)
    "ReportsTable": ([("id", "HASH")], {
        "ByUnitStatus": [("queue", "HASH"), ("status_created", "RANGE")],
        "ByCitizen": [("citizen_id", "HASH"), ("created_key", "RANGE")],
        "ByCell": [("cell", "HASH"), ("created_key", "RANGE")],
        "ByDue": [("sla_day", "HASH"), ("sla_next_at", "RANGE")],
        "ByDay": [("created_day", "HASH"), ("created_key", "RANGE")],
        "ByReview": [("review", "HASH"), ("created_key", "RANGE")],
    }, None),
    "TimelineTable": ([("report_id", "HASH"), ("seq", "RANGE")], {}, "NEW_IMAGE"),
    "UnitsTable": ([("code", "HASH")], {"ByParent": [("parent_code", "HASH"), ("code", "RANGE")]}, None),
    "UsersTable": ([("user_id", "HASH")], {}, None),
    "StatsTable": ([("pk", "HASH"), ("sk", "RANGE")], {}, None),
    "IdempotencyTable": ([("id", "HASH")], {}, None),
    "QuotasTable": ([("key", "HASH")], {}, None),
}
BUCKETS = ["UploadsBucket", "MediaBucket", "WebBucket", "ConfigBucket"]
GROUPS = {"citizen", "officer", "leader", "coordinator", "moderator", "admin"}
SETTINGS_ENV = {
    "STAGE", "REPORTS_TABLE", "TIMELINE_TABLE", "UNITS_TABLE", "USERS_TABLE", "STATS_TABLE",
    "IDEMPOTENCY_TABLE", "UPLOADS_BUCKET", "MEDIA_BUCKET", "CONFIG_BUCKET", "NOTIFY_QUEUE_URL",
    "USER_POOL_ID", "USER_POOL_CLIENT_ID", "MEDIA_BASE_URL", "TRACKING_PREFIX",
    "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL",
    "QUOTAS_TABLE", "QUOTA_REPORTS_PER_HOUR", "QUOTA_REPORTS_PER_DAY", "QUOTA_OPEN311_PER_HOUR",
    "QUOTA_ANONYMOUS_READS_PER_MINUTE", "QUOTA_FLAGS_PER_DAY",
}


@pytest.fixture(scope="module")
def sam() -> dict:
    return load_sam_template()


@pytest.fixture(scope="module")
def translated(sam) -> dict:
    return translate(sam, region=REGION)


def _keys(schema):
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


# --------------------------------------------------------------------------- lint + translate

def test_sam_template_lints_clean():
    assert [str(m) for m in lint_errors(DEFAULT_TEMPLATE)] == []


def test_sam_template_has_no_lint_warnings():
    # Warnings are not errors, but there are none today: keep it that way or ignore one with a reason.
    assert [str(m) for m in lint(DEFAULT_TEMPLATE)] == []


def test_translated_template_lints_clean(translated):
    types = {r["Type"] for r in translated["Resources"].values()}
    assert not any(t.startswith("AWS::Serverless::") for t in types)
    assert [str(m) for m in lint_errors(translated)] == []


# cfn-lint's list of stateful resource types (from CloudFormation's documentation) that we keep on
# purpose with the default Delete, and why.
NOT_RETAINED = {
    # failed events and dead letters are a 14-day working buffer, redriven or read by operators; the
    # queues have generated names, so a retained copy would be an orphan nobody reads
    "AWS::SQS::Queue",
    # function and API logs expire after LogRetentionDays anyway
    "AWS::Logs::LogGroup",
}


def _stateful_types() -> set[str]:
    import json
    from importlib import resources

    spec = json.loads(resources.files("cfnlint.data.AdditionalSpecs").joinpath("StatefulResources.json").read_text())
    return set(spec["ResourceTypes"]) - NOT_RETAINED


@pytest.mark.parametrize("which", ["template", "merge"])
def test_every_stateful_resource_is_retained(which):
    """Deleting the stack, or a change that replaces a resource, never deletes reports, photos or accounts."""
    from civic_dev.local.cfn import DEFAULT_MERGE_TEMPLATE

    template = load_sam_template(DEFAULT_TEMPLATE if which == "template" else DEFAULT_MERGE_TEMPLATE)
    stateful = {lid: r for lid, r in template["Resources"].items() if r["Type"] in _stateful_types()}
    if which == "template":
        assert {"AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Cognito::UserPool"} <= \
            {r["Type"] for r in stateful.values()}
    for lid, res in stateful.items():
        assert res.get("DeletionPolicy") in ("Retain", "Snapshot"), lid
        assert res.get("UpdateReplacePolicy") in ("Retain", "Snapshot"), lid


#: SAM event types through which AWS invokes a function asynchronously (Lambda's internal queue).
ASYNC_EVENTS = {"S3", "SNS", "Schedule", "ScheduleV2", "CloudWatchEvent", "EventBridgeRule", "CloudWatchLogs", "IoTRule"}


def test_every_asynchronously_invoked_function_keeps_its_failures(sam):
    """An S3 notification or a schedule that keeps failing lands in the failed-events queue, never nowhere."""
    functions = {lid: r["Properties"] for lid, r in sam["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    async_functions = {lid for lid, p in functions.items()
                       if any(e["Type"] in ASYNC_EVENTS for e in p.get("Events", {}).values())}
    assert {"MediaFunction", "BoundariesFunction", "ExportFunction", "SlaFunction"} <= async_functions
    for lid in async_functions:
        on_failure = functions[lid].get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure", {})
        assert on_failure.get("Destination") == {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}, lid
        allowed = [p for p in functions[lid]["Policies"] if isinstance(p, dict) and "SQSSendMessagePolicy" in p]
        assert {"QueueName": {"Fn::GetAtt": ["FailedEventsQueue", "QueueName"]}} in \
            [p["SQSSendMessagePolicy"] for p in allowed], lid


def _alarms(template: dict) -> list[dict]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]


def _dead_letter_queues(template: dict) -> set[str]:
    """Queues that receive what something gave up on: redrive targets and on-failure destinations."""
    import json

    text = json.dumps(template["Resources"])
    return {lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::SQS::Queue"
            and (f'"deadLetterTargetArn": {{"Fn::GetAtt": ["{lid}", "Arn"]}}' in text
                 or f'"Destination": {{"Fn::GetAtt": ["{lid}", "Arn"]}}' in text)}


def test_every_dead_letter_queue_and_function_has_its_alarms():
    """The deployed template (template.yaml + the Chalice merge): operators hear of lost events and failing code."""
    from civic_dev.local.cfn import compose_merge_template

    template = compose_merge_template()
    alarms = _alarms(template)
    for alarm in alarms:
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], alarm["AlarmName"]

    def alarmed(namespace: str, metric: str, dimension: str, value: dict) -> list[dict]:
        return [a for a in alarms if a.get("Namespace") == namespace and a.get("MetricName") == metric
                and {"Name": dimension, "Value": value} in a.get("Dimensions", [])]

    queues = _dead_letter_queues(template)
    assert queues == {"FailedEventsQueue", "NotifyDeadLetterQueue"}
    for queue in queues:
        found = alarmed("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName",
                        {"Fn::GetAtt": [queue, "QueueName"]})
        assert [(a["Threshold"], a["ComparisonOperator"]) for a in found] == [(0, "GreaterThanThreshold")], queue
    functions = [lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    assert "APIHandler" in functions and len(functions) >= 9
    for fn in functions:
        for metric in ("Errors", "Throttles"):
            assert len(alarmed("AWS/Lambda", metric, "FunctionName", {"Ref": fn})) == 1, (fn, metric)
    # The SLA schedule: EventBridge failing to invoke it, and the function not running at all.
    assert alarmed("AWS/Events", "FailedInvocations", "RuleName", {"Fn::Sub": "${AWS::StackName}-sla"})
    not_running = alarmed("AWS/Lambda", "Invocations", "FunctionName", {"Ref": "SlaFunction"})
    assert not_running and not_running[0]["TreatMissingData"] == "breaching"
    rule = template["Resources"]["SlaFunction"]["Properties"]["Events"]["Every5Minutes"]["Properties"]
    assert rule["Name"] == {"Fn::Sub": "${AWS::StackName}-sla"}
    # The API's 5xx rate, by the name the merge gives the API.
    rate = template["Resources"]["Api5xxRateAlarm"]["Properties"]
    assert template["Resources"]["RestAPI"]["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-api"}
    assert {m["Id"] for m in rate["Metrics"]} == {"errors", "requests", "rate"}
    assert template["Resources"]["Dashboard"]["Type"] == "AWS::CloudWatch::Dashboard"


def test_every_function_logs_to_a_log_group_that_expires():
    from civic_dev.local.cfn import compose_merge_template

    template = compose_merge_template()
    resources = template["Resources"]
    groups = {json_of(r["Properties"]["LogGroupName"]): r["Properties"] for r in resources.values()
              if r["Type"] == "AWS::Logs::LogGroup"}
    for fn in (lid for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"):
        name = resources[fn]["Properties"].get("FunctionName")
        expected = ({"Fn::Sub": "/aws/lambda/" + name["Fn::Sub"]} if name else {"Fn::Sub": f"/aws/lambda/${{{fn}}}"})
        assert json_of(expected) in groups, fn
        assert groups[json_of(expected)]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30


def json_of(value) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def test_code_uris_resolve_relative_to_the_template(sam):
    # SAM resolves CodeUri/ContentUri relative to the template file's folder (infra/).
    paths = code_paths(sam)
    assert paths["MediaFunction"] == "../functions/media/"
    assert paths["RouteFunction"] == "../functions/route/"
    assert paths["CoreLayer"] == "../build/layer/"
    for logical_id in ("MediaFunction", "RouteFunction"):
        assert (DEFAULT_TEMPLATE.parent / paths[logical_id]).resolve().name == logical_id[:-8].lower()


def test_translation_replaces_code_locations(translated):
    fn = translated["Resources"]["MediaFunction"]["Properties"]
    assert fn["Code"] == {"S3Bucket": "civicbridge-artifacts", "S3Key": "MediaFunction.zip"}
    assert fn["Runtime"] == "python3.12" and fn["Architectures"] == ["x86_64"]
    assert fn["MemorySize"] == 1024 and fn["Timeout"] == 60
    env = fn["Environment"]["Variables"]
    assert SETTINGS_ENV <= set(env)
    assert env["POWERTOOLS_SERVICE_NAME"] == "civicbridge"


def test_route_function_stream_mapping(translated):
    esm = next(r["Properties"] for r in translated["Resources"].values()
               if r["Type"] == "AWS::Lambda::EventSourceMapping")
    assert esm["StartingPosition"] == "TRIM_HORIZON"
    assert esm["BatchSize"] == 50
    assert esm["MaximumRetryAttempts"] == 5
    assert esm["BisectBatchOnFunctionError"] is True
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert esm["FilterCriteria"]["Filters"][0]["Pattern"] == \
        '{"dynamodb":{"NewImage":{"type":{"S":["submitted"]}}}}'


def _statements(statements):
    """Each statement, with a conditional one (Fn::If) taken in each of its branches."""
    for st in statements:
        if isinstance(st, dict) and "Fn::If" in st:
            yield from (b for b in st["Fn::If"][1:] if isinstance(b, dict) and "Action" in b)
        else:
            yield st


def test_policies_never_grant_all_resources_on_data(translated):
    for lid, res in translated["Resources"].items():
        if res["Type"] != "AWS::IAM::Role":
            continue
        for policy in res["Properties"].get("Policies", []):
            for st in _statements(policy["PolicyDocument"]["Statement"]):
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                if any(a.startswith(("s3:", "dynamodb:")) for a in actions):
                    resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                    assert "*" not in resources, (lid, st)


#: Actions granted on "*" although they have a resource type, and why.
STAR_ALLOWED = {
    "sns:publish": "SMS are published to phone numbers, which have no ARN",
}


def test_no_action_is_granted_on_all_resources_where_a_narrower_resource_exists(translated):
    """"*" only for actions without resource-level permissions (per cfn-lint's copy of IAM's reference)."""
    import json
    from importlib import resources

    from civic_dev.local.cfn import DEFAULT_MERGE_TEMPLATE

    reference = json.loads(resources.files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json").read_text())
    roles = {lid: r for lid, r in translated["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    roles.update({lid: r for lid, r in load_sam_template(DEFAULT_MERGE_TEMPLATE)["Resources"].items()
                  if r["Type"] == "AWS::IAM::Role"})
    checked = 0
    for lid, role in roles.items():
        for policy in role["Properties"].get("Policies", []):
            for st in _statements(policy["PolicyDocument"]["Statement"]):
                resources_ = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                if "*" not in resources_:
                    continue
                for action in st["Action"] if isinstance(st["Action"], list) else [st["Action"]]:
                    service, name = action.lower().split(":")
                    checked += 1
                    if action.lower() in STAR_ALLOWED:
                        continue
                    assert not reference[service]["Actions"][name].get("Resources"), (lid, action)
    assert checked >= 5
    send = json.dumps(translated["Resources"]["SendFunctionRole"])
    assert "sns:CreatePlatformApplication" not in send


@pytest.mark.parametrize("mutation,rule", [("bad_getatt", "E1010"), ("bad_ref", "E1020"),
                                           ("bad_runtime", "E3030")])
def test_translate_and_lint_catch_broken_templates(sam, mutation, rule):
    broken = copy.deepcopy(sam)
    props = broken["Resources"]["RouteFunction"]["Properties"]
    if mutation == "bad_getatt":
        props["Events"]["TimelineSubmitted"]["Properties"]["Stream"] = {"Fn::GetAtt": ["NoSuchTable", "StreamArn"]}
    elif mutation == "bad_ref":
        props["Policies"][-1]["SQSSendMessagePolicy"]["QueueName"] = {"Ref": "NoSuchQueue"}
    else:
        props["Runtime"] = "python2.9"
    try:
        errors = lint_errors(translate(broken, region=REGION))
    except InvalidDocumentException as exc:  # pragma: no cover - the translator refusing is fine too
        errors = [exc]
    assert errors, f"{mutation} went unnoticed"
    assert any(getattr(getattr(e, "rule", None), "id", None) == rule for e in errors), errors


CHALICE_APP = '''
from chalice import Chalice, CognitoUserPoolAuthorizer
app = Chalice(app_name="civicbridge")
auth = CognitoUserPoolAuthorizer(
    "CivicUserPool", provider_arns=["arn:aws:cognito-idp:ap-southeast-1:123456789012:userpool/placeholder"])

@app.route("/me", authorizer=auth)
def me():
    return {}
'''


def test_chalice_package_merges_into_a_valid_template(tmp_path):
    """What infra/package.sh does after the layer build, on a throwaway Chalice app."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    from civic_dev.local.cfn import compose_merge_template

    app = tmp_path / "app"
    (app / ".chalice").mkdir(parents=True)
    (app / "app.py").write_text(CHALICE_APP)
    (app / ".chalice" / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "civicbridge", "stages": {"prod": {"api_gateway_stage": "prod"}}}))
    out = tmp_path / "package"
    merge = tmp_path / "merge-template.yaml"
    merge.write_text(yaml.safe_dump(compose_merge_template(out_dir=out)))
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run([str(chalice), "package", "--stage", "prod", "--template-format", "yaml", "--merge-template", str(merge),
                    str(out)], cwd=app, check=True, capture_output=True,
                   env={**os.environ, "AWS_DEFAULT_REGION": REGION})
    packaged = load_sam_template(out / "sam.yaml")
    resources = packaged["Resources"]
    api = resources["APIHandler"]["Properties"]
    assert api["Runtime"] == "python3.12"
    assert api["Layers"] == [{"Ref": "CoreLayer"}]
    assert api["Role"] == {"Fn::GetAtt": ["ApiFunctionRole", "Arn"]}
    authorizer = resources["RestAPI"]["Properties"]["DefinitionBody"]["securityDefinitions"]["CivicUserPool"]
    assert authorizer["x-amazon-apigateway-authorizer"]["providerARNs"] == [{"Fn::GetAtt": ["UserPool", "Arn"]}]
    # Code paths now relative to the package folder, still pointing at the same folders.
    assert (out / resources["MediaFunction"]["Properties"]["CodeUri"]).resolve() == \
        (DEFAULT_TEMPLATE.parent / "../functions/media").resolve()
    assert "EndpointURL" in packaged["Outputs"] and "UserPoolId" in packaged["Outputs"]
    # The edge's protection: stage throttling, the integrators' usage plan, and WAF only on request.
    throttle = resources["RestAPI"]["Properties"]["MethodSettings"][0]
    assert throttle["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
    assert resources["IntegratorUsagePlan"]["Properties"]["ApiStages"] == [
        {"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPI.Stage"}}]
    assert resources["ApiWebAcl"]["Condition"] == resources["ApiWebAclAssociation"]["Condition"] == "CreateWaf"
    translated = translate(packaged, region=REGION)
    # One API Gateway stage, named after the environment (never /v1/v1/...; no SAM "Stage" stage either).
    stages = [r["Properties"] for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert len(stages) == 1 and stages[0]["StageName"] == {"Ref": "Stage"}
    stage = stages[0]
    assert all("StageName" not in r["Properties"] for r in translated["Resources"].values()
               if r["Type"] == "AWS::ApiGateway::Deployment")
    assert packaged["Outputs"]["EndpointURL"]["Value"] == {
        "Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}/"}
    assert stage["MethodSettings"][0]["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurstLimit"}
    plan = translated["Resources"]["IntegratorUsagePlan"]["Properties"]
    assert plan["Quota"] == {"Limit": {"Ref": "UsagePlanQuotaPerDay"}, "Period": "DAY"}
    assert plan["ApiStages"][0]["Stage"] == {"Ref": stage_id(translated)}
    association = translated["Resources"]["ApiWebAclAssociation"]["Properties"]["ResourceArn"]
    assert stage_id(translated) in json.dumps(association)
    assert SETTINGS_ENV <= set(translated["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"])
    # API Gateway's own 401/403/4xx/5xx carry CORS headers (a browser can read them) and the API's error shape.
    responses = next(r["Properties"]["Body"] for r in translated["Resources"].values()
                     if r["Type"] == "AWS::ApiGateway::RestApi")["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == {"UNAUTHORIZED", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses.values():
        assert response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
        assert '"request_id":"$context.requestId"' in response["responseTemplates"]["application/json"]
    # Access log and X-Ray on the stage, each behind its parameter; API Gateway's account logging role.
    assert stage["TracingEnabled"] == {"Fn::If": ["ApiTracingOn", True, False]}
    access_log = stage["AccessLogSetting"]["Fn::If"]
    assert access_log[0] == "ApiAccessLogsOn"
    assert access_log[1]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    json.loads(access_log[1]["Format"].replace("$context.", "x"))  # one JSON object per request
    assert translated["Resources"]["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"] == \
        {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]}
    assert [str(m) for m in lint_errors(translated)] == []
    assert [str(m) for m in lint(translated)] == []


def test_chalice_stages_are_the_deployment_environments():
    """`make package STAGE=<env>` packages the Chalice stage of that name, whose API Gateway stage is the same."""
    import json
    import tomllib

    from civic_dev.local.cfn import REPO_ROOT

    config = json.loads((REPO_ROOT / "chalice_app" / ".chalice" / "config.json").read_text(encoding="utf-8"))
    environments = {env for env, cmds in tomllib.loads((REPO_ROOT / "samconfig.toml").read_text()).items()
                    if isinstance(cmds, dict) and env != "default"}
    assert set(config["stages"]) == environments == {"dev", "staging", "prod"}
    assert {name: stage["api_gateway_stage"] for name, stage in config["stages"].items()} == \
        {name: name for name in environments}


def stage_id(translated: dict) -> str:
    return next(lid for lid, r in translated["Resources"].items() if r["Type"] == "AWS::ApiGateway::Stage")


# --------------------------------------------------------------------------- moto

def test_deploys_into_in_process_moto():
    with mock_aws():
        stack = deploy_stack(None, REGION, stack_name="civictest")
        cfn = boto3.client("cloudformation", region_name=REGION)
        assert cfn.describe_stacks(StackName="civictest")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"

        ddb = boto3.client("dynamodb", region_name=REGION)
        for lid, (keys, gsis, stream) in TABLES.items():
            table = ddb.describe_table(TableName=stack.physical_ids[lid])["Table"]
            assert _keys(table["KeySchema"]) == keys, lid
            assert {g["IndexName"]: _keys(g["KeySchema"]) for g in table.get("GlobalSecondaryIndexes", [])} == gsis
            assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
            assert table.get("StreamSpecification", {}).get("StreamViewType") == stream
        assert set(stack.stream_arns) == {"TimelineTable"}
        ttl = ddb.describe_time_to_live(TableName=stack.physical_ids["IdempotencyTable"])
        assert ttl["TimeToLiveDescription"]["AttributeName"] == "expiration"
        ttl = ddb.describe_time_to_live(TableName=stack.physical_ids["QuotasTable"])["TimeToLiveDescription"]
        assert (ttl["AttributeName"], ttl["TimeToLiveStatus"]) == ("expires_at", "ENABLED")

        s3 = boto3.client("s3", region_name=REGION)
        for lid in BUCKETS:
            s3.head_bucket(Bucket=stack.physical_ids[lid])
        uploads = stack.physical_ids["UploadsBucket"]
        rules = s3.get_bucket_lifecycle_configuration(Bucket=uploads)["Rules"]
        assert rules[0]["Expiration"]["Days"] == 2 and rules[0]["Filter"]["Prefix"] == "uploads/"
        assert s3.get_bucket_cors(Bucket=uploads)["CORSRules"][0]["AllowedMethods"] == ["POST", "PUT"]
        # The template maps uploads to the media function; locally the dispatcher delivers those
        # events, so moto holds no Lambda notification (it would try Docker on every upload).
        translated_notif = stack.translated["Resources"]["UploadsBucket"]["Properties"]["NotificationConfiguration"]
        assert translated_notif["LambdaConfigurations"][0]["Function"] == {"Fn::GetAtt": ["MediaFunction", "Arn"]}
        assert "LambdaFunctionConfigurations" not in s3.get_bucket_notification_configuration(Bucket=uploads)
        assert s3.get_bucket_versioning(Bucket=stack.physical_ids["MediaBucket"])["Status"] == "Enabled"

        sqs = boto3.client("sqs", region_name=REGION)
        attrs = sqs.get_queue_attributes(QueueUrl=stack.env["NOTIFY_QUEUE_URL"], AttributeNames=["All"])
        assert '"maxReceiveCount": 5' in attrs["Attributes"]["RedrivePolicy"].replace("'", '"') or \
            '"maxReceiveCount":5' in attrs["Attributes"]["RedrivePolicy"]

        idp = boto3.client("cognito-idp", region_name=REGION)
        groups = {g["GroupName"] for g in idp.list_groups(UserPoolId=stack.user_pool_id)["Groups"]}
        assert groups == GROUPS

        # moto's CloudFormation has no alarm model: the deployer creates them through CloudWatch's API.
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        alarms = cloudwatch.describe_alarms()["MetricAlarms"]
        assert len(alarms) == len(_alarms(stack.sam)) >= 20
        topic = stack.outputs["AlarmTopicArn"]
        assert all(a["AlarmActions"] == [topic] for a in alarms)
        by_name = {a["AlarmName"]: a for a in alarms}
        assert by_name["civictest-failed-events"]["Dimensions"] == [
            {"Name": "QueueName", "Value": stack.physical_ids["FailedEventsQueue"].rsplit("/", 1)[-1]}]
        assert cloudwatch.get_dashboard(DashboardName="civictest")["DashboardName"] == "civictest"
        groups = boto3.client("logs", region_name=REGION).describe_log_groups(logGroupNamePrefix="/aws/lambda/")
        retention = {g["logGroupName"]: g.get("retentionInDays") for g in groups["logGroups"]}
        assert retention[f"/aws/lambda/{stack.physical_ids['SlaFunction']}"] == 30
        functions = [k for k, r in stack.sam["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
        assert len(retention) == len(functions) == 9 and set(retention.values()) == {30}
        # Streams are handed to the local dispatcher rather than moto's Lambda integration.
        assert list(stack.event_source_mappings.values())[0]["EventSourceArn"] == stack.stream_arns["TimelineTable"]


@pytest.fixture(scope="module")
def moto_server():
    from civic_dev.local.embedded_aws import EmbeddedAWS

    server = EmbeddedAWS.on_free_port()
    yield server.url
    server.stop()


def test_deploys_into_moto_server_and_env_points_at_resources(moto_server):
    stack = deploy_stack(moto_server, REGION)
    env = stack.env
    assert SETTINGS_ENV <= set(env)
    assert env["AWS_ENDPOINT_URL"] == moto_server and env["AWS_REGION"] == REGION
    assert env["STAGE"] == "local" and env["TRACKING_PREFIX"] == "VN"

    def client(service):
        return boto3.client(service, region_name=REGION, endpoint_url=moto_server,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    ddb = client("dynamodb")
    for var in ("REPORTS_TABLE", "TIMELINE_TABLE", "UNITS_TABLE", "USERS_TABLE", "STATS_TABLE",
                "IDEMPOTENCY_TABLE"):
        assert ddb.describe_table(TableName=env[var])["Table"]["TableStatus"] == "ACTIVE"
    s3 = client("s3")
    for var in ("UPLOADS_BUCKET", "MEDIA_BUCKET", "CONFIG_BUCKET"):
        s3.head_bucket(Bucket=env[var])
    sqs = client("sqs")
    queue_name = env["NOTIFY_QUEUE_URL"].rsplit("/", 1)[-1]
    assert sqs.get_queue_url(QueueName=queue_name)["QueueUrl"].endswith(queue_name)
    idp = client("cognito-idp")
    pool = idp.describe_user_pool(UserPoolId=env["USER_POOL_ID"])["UserPool"]
    assert pool["Id"] == stack.user_pool_id
    assert set(pool["UsernameAttributes"]) == {"email", "phone_number"}
    app_client = idp.describe_user_pool_client(UserPoolId=env["USER_POOL_ID"],
                                               ClientId=env["USER_POOL_CLIENT_ID"])["UserPoolClient"]
    assert "ClientSecret" not in app_client
    assert {g["GroupName"] for g in idp.list_groups(UserPoolId=env["USER_POOL_ID"])["Groups"]} == GROUPS

    # Writing to the timeline still leaves the records on the stream for the local dispatcher.
    ddb.put_item(TableName=env["TIMELINE_TABLE"],
                 Item={"report_id": {"S": "r1"}, "seq": {"N": "1"}, "type": {"S": "submitted"}})
    streams = client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stack.stream_arns["TimelineTable"])["StreamDescription"]["Shards"][0]
    it = streams.get_shard_iterator(StreamArn=stack.stream_arns["TimelineTable"], ShardId=shard["ShardId"],
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert len(streams.get_records(ShardIterator=it)["Records"]) == 1


def test_cdn_serves_the_web_app_for_tracking_links(sam, tmp_path):
    """The CloudFront Function of the default behaviour, run in Node: /track/<code> (the links in
    notifications) becomes index.html; files and media keep their paths."""
    import json
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (make test installs it with the web app)")
    resources = sam["Resources"]
    association = resources["Cdn"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]["FunctionAssociations"][0]
    assert association["EventType"] == "viewer-request"
    code = resources["WebAppPaths"]["Properties"]["FunctionCode"]
    script = tmp_path / "paths.js"
    script.write_text(code + "\nconst uris = JSON.parse(process.argv[2]);\n"
                      "console.log(JSON.stringify(uris.map(u => handler({request: {uri: u}}).uri)));\n")
    uris = ["/track/HN-4K7Q2M", "/", "/index.html", "/assets/main.js", "/media/x/large.jpg", "/trackers.js"]
    out = subprocess.run([node, str(script), json.dumps(uris)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["/index.html", "/", "/index.html", "/assets/main.js", "/media/x/large.jpg", "/trackers.js"]


def test_samconfig_sets_only_parameters_the_deployed_template_has():
    """samconfig.toml's parameter_overrides name parameters of template.yaml or of the Chalice merge."""
    import re
    import tomllib

    from civic_dev.local.cfn import REPO_ROOT, compose_merge_template

    declared = set(compose_merge_template()["Parameters"])
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    for env, commands in config.items():
        if not isinstance(commands, dict) or "deploy" not in commands:
            continue
        overrides = commands["deploy"]["parameters"]["parameter_overrides"]
        names = set(re.findall(r'(\w+)="', overrides))
        assert names and names <= declared, (env, sorted(names - declared))
        assert {"Stage", "QuotaReportsPerHour", "EnableWaf"} <= names, env
