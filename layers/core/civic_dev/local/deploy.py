"""Deploy infra/template.yaml into moto (server mode or in-process), like `sam deploy` would.

`deploy_stack` zips each function folder and the layer into a deployment bucket (the counterpart of
`sam deploy`'s managed bucket), translates the SAM template offline (`civic_dev.local.cfn.translate`),
creates the stack through moto's CloudFormation and waits for CREATE_COMPLETE.

moto's CloudFormation does not implement every resource type or property. So that the local AWS still
holds exactly what the template declares, the gaps are filled from the template's own (resolved)
properties through ordinary boto3 calls:

* AWS::Cognito::UserPool / UserPoolClient / UserPoolGroup - no moto CloudFormation model. Created
  through cognito-idp *before* the stack (they only depend on parameters), and every Ref/GetAtt to them
  in the stack (function environments, outputs) is replaced by the real ids.
* AWS::Lambda::LayerVersion - moto's model answers Ref with an object repr, so layers are published
  through the Lambda API before the stack and their ARNs substituted, like the Cognito resources.
* AWS::S3::BucketPolicy - no model. put_bucket_policy *after* the stack (it refers to the buckets).
* AWS::S3::Bucket - moto's model applies only the name, encryption and tags. Versioning, public access
  block, CORS, lifecycle rules, ownership controls and notification configuration are applied after.
* AWS::DynamoDB::Table - moto's model ignores TimeToLiveSpecification and
  PointInTimeRecoverySpecification; applied after with update_time_to_live/update_continuous_backups.
* AWS::Lambda::EventSourceMapping - deliberately NOT created in moto: moto would invoke the function
  on every table write (Docker) and drop the stream records it delivered, so the local dispatcher could
  not read the stream. Their resolved properties are returned in `DeployedStack.event_source_mappings`
  for the local dispatcher, which polls the stream itself and honours the same filters and batch sizes.
* AWS::CloudWatch::Alarm - no moto CloudFormation model. put_metric_alarm *after* the stack (alarms name
  queues, functions and the alarm topic); nothing in the stack may refer to an alarm (the dashboard
  builds alarm ARNs from their names).
* AWS::SNS::Subscription - no model (only with AlarmEmail set). subscribe *after* the stack.
* AWS::SecretsManager::Secret - no model. create_secret *before* the stack; Ref is its ARN.
* AWS::CloudFront::* - behind the CreateCdn condition, false for Stage=local (the default here);
  requesting them locally raises `UnsupportedLocally`.

Against a moto server the Lambda service is switched to its no-Docker stub (POST /moto-api/config)
so that moto's own S3-notification invocations are harmless; the local dispatcher runs the handlers.
For in-process use (`endpoint_url=None`) call this inside `moto.mock_aws()`; the same setting is
applied to moto's in-process config.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civic_dev.local.cfn import (
    DEFAULT_TEMPLATE,
    REPO_ROOT,
    Resolver,
    code_paths,
    load_sam_template,
    references,
    substitute,
    translate,
)

__all__ = [
    "DeployedStack",
    "UnsupportedLocally",
    "deploy_stack",
    "load_sam_template",
    "translate",
]

log = logging.getLogger(__name__)

#: Settings env var -> nothing; the names the handlers read (see civic.settings.Settings).
SETTINGS_ENV = (
    "STAGE", "REPORTS_TABLE", "TIMELINE_TABLE", "UNITS_TABLE", "USERS_TABLE", "RULES_TABLE", "FOLLOWS_TABLE", "STATS_TABLE",
    "IDEMPOTENCY_TABLE", "UPLOADS_BUCKET", "MEDIA_BUCKET", "CONFIG_BUCKET", "NOTIFY_QUEUE_URL",
    "USER_POOL_ID", "USER_POOL_CLIENT_ID", "MEDIA_BASE_URL", "TRACKING_PREFIX",
    "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL",
)

#: Types created through boto3 before the stack (they reference parameters and each other only).
_PRE_TYPES = {"AWS::Lambda::LayerVersion", "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup",
              "AWS::SecretsManager::Secret"}
#: Types created through boto3 after the stack (they reference stack resources). moto's CloudFormation
#: has no model for these, but its APIs hold them, so the local AWS still has what the template declares.
_POST_TYPES = {"AWS::S3::BucketPolicy", "AWS::CloudWatch::Alarm", "AWS::SNS::Subscription"}
#: Types kept out of moto and handed to the local dispatcher.
# The dispatcher applies these itself (stream/queue polling; async retries and failure destinations).
_DISPATCHER_TYPES = {"AWS::Lambda::EventSourceMapping", "AWS::Lambda::EventInvokeConfig"}


class UnsupportedLocally(RuntimeError):
    """The template asks for a resource type that neither moto nor this module can create locally."""


@dataclass
class DeployedStack:
    stack_name: str
    region: str
    endpoint_url: str | None
    #: Logical id (translated template; SAM ids such as "CoreLayer" too) -> physical id.
    physical_ids: dict[str, str]
    #: The Settings environment with physical names, plus AWS_REGION (and AWS_ENDPOINT_URL).
    env: dict[str, str]
    sam: dict
    translated: dict
    user_pool_id: str
    user_pool_client_id: str
    #: Logical id of each table with a stream -> its stream ARN.
    stream_arns: dict[str, str]
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    #: Event source mappings declared by the template (resolved properties), for the local dispatcher.
    event_source_mappings: dict[str, dict] = field(default_factory=dict)
    artifact_bucket: str = ""
    seconds: float = 0.0


# --------------------------------------------------------------------------- artifacts

def _zip_dir(directory: Path, prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if directory.is_dir():
            for path in sorted(directory.rglob("*")):
                if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
                    continue
                info = zipfile.ZipInfo(prefix + path.relative_to(directory).as_posix(), (2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                zf.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _artifact(logical_id: str, res_type: str, local_path: Path) -> bytes:
    """The zip `sam package` would upload. A layer not yet built by infra/package.sh is zipped from
    layers/core/civic as python/civic (its third-party deps are in the local venv anyway)."""
    if res_type == "AWS::Serverless::LayerVersion" and not (local_path / "python").is_dir():
        return _zip_dir(REPO_ROOT / "layers" / "core" / "civic", prefix="python/civic/")
    if not local_path.is_dir():
        log.warning("%s: %s does not exist yet; uploading an empty package", logical_id, local_path)
    return _zip_dir(local_path)


def _upload_artifacts(s3, bucket: str, sam: dict, template_dir: Path) -> dict[str, dict]:
    locations = {}
    for logical_id, rel in code_paths(sam).items():
        res_type = sam["Resources"][logical_id]["Type"]
        body = _artifact(logical_id, res_type, (template_dir / rel).resolve())
        key = f"{logical_id}/{hashlib.sha256(body).hexdigest()[:16]}.zip"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        locations[logical_id] = {"Bucket": bucket, "Key": key}
    return locations


# --------------------------------------------------------------------------- boto3 materializers

def _create_user_pool(clients, props: dict) -> tuple[str, dict]:
    params = dict(props)
    params["PoolName"] = params.pop("UserPoolName")
    pool = clients("cognito-idp").create_user_pool(**params)["UserPool"]
    region = clients.region
    atts = {
        "Arn": pool["Arn"],
        "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool['Id']}",
        "ProviderURL": f"https://cognito-idp.{region}.amazonaws.com/{pool['Id']}",
        "UserPoolId": pool["Id"],
    }
    return pool["Id"], atts


def _create_user_pool_client(clients, props: dict) -> tuple[str, dict]:
    client = clients("cognito-idp").create_user_pool_client(**props)["UserPoolClient"]
    return client["ClientId"], {"ClientId": client["ClientId"], "Name": client.get("ClientName", "")}


def _create_user_pool_group(clients, props: dict) -> tuple[str, dict]:
    group = clients("cognito-idp").create_group(**props)["Group"]
    return group["GroupName"], {}


def _put_bucket_policy(clients, props: dict) -> tuple[str, dict]:
    clients("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"]))
    return props["Bucket"], {}


#: CloudFormation's AWS::CloudWatch::Alarm properties that put_metric_alarm takes under the same name.
_ALARM_KEYS = (
    "AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
    "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
    "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
    "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId",
)


def _put_metric_alarm(clients, props: dict) -> tuple[str, dict]:
    params = {k: props[k] for k in _ALARM_KEYS if k in props}
    if "Threshold" in params:
        params["Threshold"] = float(params["Threshold"])
    for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if key in params:
            params[key] = int(params[key])
    clients("cloudwatch").put_metric_alarm(**params)
    return params["AlarmName"], {}


def _subscribe(clients, props: dict) -> tuple[str, dict]:
    arn = clients("sns").subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"],
                                   Endpoint=props["Endpoint"])["SubscriptionArn"]
    return arn, {}


def _create_secret(clients, props: dict) -> tuple[str, dict]:
    # No moto CloudFormation model; Ref of a secret is its ARN.
    arn = clients("secretsmanager").create_secret(
        Name=props["Name"], Description=props.get("Description", ""), SecretString=props.get("SecretString", "{}"))["ARN"]
    return arn, {}


def _publish_layer_version(clients, props: dict) -> tuple[str, dict]:
    # moto's LayerVersion model returns an object repr for Ref, so the layer is published directly.
    params = {k: v for k, v in props.items() if k != "RetentionPolicy"}
    arn = clients("lambda").publish_layer_version(**params)["LayerVersionArn"]
    return arn, {}


_MATERIALIZERS: dict[str, Callable] = {
    "AWS::Lambda::LayerVersion": _publish_layer_version,
    "AWS::Cognito::UserPool": _create_user_pool,
    "AWS::Cognito::UserPoolClient": _create_user_pool_client,
    "AWS::Cognito::UserPoolGroup": _create_user_pool_group,
    "AWS::S3::BucketPolicy": _put_bucket_policy,
    "AWS::CloudWatch::Alarm": _put_metric_alarm,
    "AWS::SNS::Subscription": _subscribe,
    "AWS::SecretsManager::Secret": _create_secret,
}


def _cfn_lifecycle_rule(rule: dict) -> dict:
    out: dict[str, Any] = {"ID": rule.get("Id", "rule"), "Status": rule["Status"]}
    out["Filter"] = {"Prefix": rule.get("Prefix", "")} if "TagFilters" not in rule else {
        "And": {"Prefix": rule.get("Prefix", ""), "Tags": rule["TagFilters"]}}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": rule["ExpirationInDays"]}
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    if "NoncurrentVersionExpiration" in rule:
        out["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
    elif "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["NoncurrentVersionExpirationInDays"]}
    return out


def _cfn_filter(flt: dict | None) -> dict | None:
    if not flt:
        return None
    return {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]}
                                    for r in flt.get("S3Key", {}).get("Rules", [])]}}


def _complete_bucket(s3, name: str, props: dict) -> None:
    """Apply the bucket properties moto's CloudFormation model skips."""
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(Bucket=name,
                                   PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    if "CorsConfiguration" in props:
        rules = []
        for r in props["CorsConfiguration"]["CorsRules"]:
            rule = {"AllowedOrigins": r["AllowedOrigins"], "AllowedMethods": r["AllowedMethods"]}
            for cfn_key, api_key in (("AllowedHeaders", "AllowedHeaders"), ("ExposedHeaders", "ExposeHeaders"),
                                     ("MaxAge", "MaxAgeSeconds"), ("Id", "ID")):
                if cfn_key in r:
                    rule[api_key] = r[cfn_key]
            rules.append(rule)
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    if "LifecycleConfiguration" in props:
        s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={"Rules": [_cfn_lifecycle_rule(r)
                                              for r in props["LifecycleConfiguration"]["Rules"]]})
    notif = props.get("NotificationConfiguration")
    if notif:
        config: dict[str, list] = {}
        # Lambda targets are left out: moto would try to run them in Docker on every upload
        # (which this machine lacks); the local dispatcher delivers those events instead.
        for c in notif.get("QueueConfigurations", []):
            item = {"QueueArn": c["Queue"], "Events": [c["Event"]]}
            if _cfn_filter(c.get("Filter")):
                item["Filter"] = _cfn_filter(c.get("Filter"))
            config.setdefault("QueueConfigurations", []).append(item)
        for c in notif.get("TopicConfigurations", []):
            item = {"TopicArn": c["Topic"], "Events": [c["Event"]]}
            if _cfn_filter(c.get("Filter")):
                item["Filter"] = _cfn_filter(c.get("Filter"))
            config.setdefault("TopicConfigurations", []).append(item)
        s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=config)


def _complete_table(ddb, name: str, props: dict) -> None:
    """Apply the table properties moto's CloudFormation model skips."""
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr and pitr.get("PointInTimeRecoveryEnabled"):
        ddb.update_continuous_backups(TableName=name,
                                      PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})


# --------------------------------------------------------------------------- clients

class _Clients:
    def __init__(self, endpoint_url: str | None, region: str):
        import boto3

        self.endpoint_url = endpoint_url
        self.region = region
        kwargs: dict[str, Any] = {"region_name": region}
        if endpoint_url:
            kwargs["endpoint_url"] = endpoint_url
            if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
                kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")
        self._kwargs = kwargs
        self._session = boto3.session.Session()
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str):
        if service not in self._cache:
            self._cache[service] = self._session.client(service, **self._kwargs)
        return self._cache[service]


def _use_lambda_stub(endpoint_url: str | None) -> None:
    config = {"lambda": {"use_docker": False}}
    if endpoint_url:
        import urllib.request

        req = urllib.request.Request(endpoint_url.rstrip("/") + "/moto-api/config",
                                     data=json.dumps(config).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10):
            pass
    else:
        from moto.core.config import default_user_config

        default_user_config["lambda"]["use_docker"] = False


def _moto_supported_types() -> set[str]:
    from moto.cloudformation.parsing import get_model_map

    return set(get_model_map())


# --------------------------------------------------------------------------- deploy

def deploy_stack(endpoint_url: str | None, region: str, stack_name: str = "civicbridge-local",
                 parameters: dict | None = None, template_path: str | Path = DEFAULT_TEMPLATE,
                 timeout: float = 60.0) -> DeployedStack:
    """Deploy the SAM template into moto and return what was created (see the module docstring).

    `parameters` override the template's parameters; Stage defaults to "local" and EnableCdn to
    "false". `endpoint_url=None` deploys into the in-process `mock_aws` the caller has started.
    """
    started = time.monotonic()
    template_path = Path(template_path)
    if not template_path.is_absolute():
        template_path = (REPO_ROOT / template_path) if not template_path.exists() else template_path.resolve()
    clients = _Clients(endpoint_url, region)
    _use_lambda_stub(endpoint_url)

    sam = load_sam_template(template_path)
    params = {"Stage": "local", "EnableCdn": "false"}
    params.update({k: str(v) for k, v in (parameters or {}).items()})
    for name, spec in sam.get("Parameters", {}).items():
        if name not in params and "Default" in spec:
            params[name] = str(spec["Default"])

    account_id = clients("sts").get_caller_identity()["Account"]
    pseudo = {"AWS::Region": region, "AWS::AccountId": account_id, "AWS::StackName": stack_name,
              "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
              "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local"}

    # 1. artifacts, like `sam package`
    artifact_bucket = f"{stack_name}-artifacts-{account_id}"[:63]
    s3 = clients("s3")
    create = {"Bucket": artifact_bucket}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**create)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    locations = _upload_artifacts(s3, artifact_bucket, sam, template_path.parent)

    # 2. translate
    translated = translate(sam, locations, parameter_values=params, region=region)
    resources: dict[str, dict] = translated["Resources"]
    conditions = translated.get("Conditions", {})
    base = Resolver({**params, **pseudo}, conditions)
    active = {lid: r for lid, r in resources.items()
              if "Condition" not in r or base.condition(r["Condition"])}

    supported = _moto_supported_types()
    pre = {lid for lid, r in active.items() if r["Type"] in _PRE_TYPES}
    post = {lid for lid, r in active.items() if r["Type"] in _POST_TYPES}
    dispatcher = {lid for lid, r in active.items() if r["Type"] in _DISPATCHER_TYPES}
    missing = sorted(f"{lid} ({r['Type']})" for lid, r in active.items()
                     if r["Type"] not in supported and lid not in pre | post | dispatcher)
    if missing:
        raise UnsupportedLocally(
            "moto cannot create " + ", ".join(missing)
            + "; deploy with Stage=local / EnableCdn=false or teach civic_dev.local.deploy to create them")

    # 3. resources moto lacks and that only depend on parameters: create them first, through boto3
    refs: dict[str, Any] = {}
    atts: dict[tuple[str, str], Any] = {}
    physical: dict[str, str] = {}
    pre_resolver = Resolver({**params, **pseudo}, conditions,
                            get_att=lambda lid, a: atts[(lid, a)])
    pending = set(pre)
    while pending:
        ready = [lid for lid in sorted(pending) if not (references(active[lid]) & pending)]
        if not ready:
            raise UnsupportedLocally(f"circular references among {sorted(pending)}")
        for lid in ready:
            props = pre_resolver.resolve(active[lid].get("Properties", {}))
            ref, got = _MATERIALIZERS[active[lid]["Type"]](clients, props)
            refs[lid] = pre_resolver.refs[lid] = ref
            physical[lid] = ref
            atts.update({(lid, k): v for k, v in got.items()})
            pending.discard(lid)

    # 4. the stack moto can create
    removed = pre | post | dispatcher
    stack_resources = {}
    for lid, res in resources.items():
        if lid in removed:
            continue
        res = substitute(res, refs, atts)
        depends = res.get("DependsOn")
        if depends:
            depends = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in removed]
            if depends:
                res["DependsOn"] = depends
            else:
                res.pop("DependsOn")
        stack_resources[lid] = res
    for lid in post | dispatcher:
        users = [o for o, r in stack_resources.items() if lid in references(r)]
        if users:
            raise UnsupportedLocally(f"{users} refer to {lid}, which is created outside moto's stack")
    stack_template = {k: v for k, v in translated.items() if k not in ("Resources", "Outputs")}
    stack_template["Resources"] = stack_resources
    stack_template["Outputs"] = {
        k: substitute(v, refs, atts) for k, v in translated.get("Outputs", {}).items()
        if not (references(v) & (post | dispatcher))}

    cfn = clients("cloudformation")
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(stack_template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()
                    if k in translated.get("Parameters", {})],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            break
        if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            raise RuntimeError(f"stack {stack_name} is {status}: {stack.get('StackStatusReason', '')}")
        time.sleep(0.2)
    for summary in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]:
        if summary.get("PhysicalResourceId"):
            physical[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    # 5. what moto's models skip, then resources that refer to stack resources
    ddb = clients("dynamodb")
    stream_arns: dict[str, str] = {}
    table_descriptions: dict[str, dict] = {}
    for lid, res in stack_resources.items():
        if res["Type"] == "AWS::DynamoDB::Table":
            desc = ddb.describe_table(TableName=physical[lid])["Table"]
            table_descriptions[lid] = desc
            if desc.get("LatestStreamArn"):
                stream_arns[lid] = desc["LatestStreamArn"]

    def stack_att(lid: str, attr: str) -> Any:
        if (lid, attr) in atts:
            return atts[(lid, attr)]
        res_type = resources[lid]["Type"]
        name = physical[lid]
        if res_type == "AWS::S3::Bucket":
            return {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com",
                    "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com"}[attr]
        if res_type == "AWS::DynamoDB::Table":
            return {"Arn": table_descriptions[lid]["TableArn"], "StreamArn": stream_arns.get(lid)}[attr]
        if res_type == "AWS::SQS::Queue":
            a = clients("sqs").get_queue_attributes(QueueUrl=name, AttributeNames=["QueueArn"])
            return {"Arn": a["Attributes"]["QueueArn"], "QueueName": name.rsplit("/", 1)[-1],
                    "QueueUrl": name}[attr]
        if res_type == "AWS::Lambda::Function":
            return clients("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        if res_type == "AWS::IAM::Role":
            return clients("iam").get_role(RoleName=name)["Role"]["Arn"]
        raise KeyError(f"cannot resolve Fn::GetAtt {lid}.{attr} locally")

    resolver = Resolver({**params, **pseudo, **physical}, conditions, get_att=stack_att)
    for lid, res in stack_resources.items():
        if res["Type"] == "AWS::S3::Bucket":
            _complete_bucket(s3, physical[lid], resolver.resolve(res.get("Properties", {})))
        elif res["Type"] == "AWS::DynamoDB::Table":
            _complete_table(ddb, physical[lid], resolver.resolve(res.get("Properties", {})))
    for lid in sorted(post):
        ref, _ = _MATERIALIZERS[active[lid]["Type"]](clients, resolver.resolve(active[lid]["Properties"]))
        physical[lid] = ref
    esms = {lid: resolver.resolve(active[lid].get("Properties", {})) for lid in sorted(dispatcher)
            if active[lid]["Type"] == "AWS::Lambda::EventSourceMapping"}

    # SAM logical ids whose translated id differs (the layer gets a content hash suffix)
    for lid, res in sam.get("Resources", {}).items():
        if lid not in physical and res.get("Type") == "AWS::Serverless::LayerVersion":
            for tid in resources:
                if tid.startswith(lid) and tid in physical and resources[tid]["Type"] == "AWS::Lambda::LayerVersion":
                    physical[lid] = physical[tid]

    # 6. the Settings environment, resolved from the template's Globals
    variables = sam.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    env = {k: str(v) for k, v in resolver.resolve(variables).items()}
    env["AWS_REGION"] = region
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url

    user_pools = [lid for lid, r in active.items() if r["Type"] == "AWS::Cognito::UserPool"]
    pool_clients = [lid for lid, r in active.items() if r["Type"] == "AWS::Cognito::UserPoolClient"]
    return DeployedStack(
        stack_name=stack_name,
        region=region,
        endpoint_url=endpoint_url,
        physical_ids=physical,
        env=env,
        sam=sam,
        translated=translated,
        user_pool_id=physical[user_pools[0]] if user_pools else "",
        user_pool_client_id=physical[pool_clients[0]] if pool_clients else "",
        stream_arns=stream_arns,
        outputs=outputs,
        parameters=params,
        event_source_mappings=esms,
        artifact_bucket=artifact_bucket,
        seconds=round(time.monotonic() - started, 3),
    )
