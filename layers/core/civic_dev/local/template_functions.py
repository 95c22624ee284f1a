"""The functions of the SAM template as the dispatcher runs them, their event mappings, and the
template's intrinsics resolved to the local stack's physical names (one resolver: civic_dev.local.cfn's)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civic_dev.local import cfn
from civic_dev.local.lambda_runtime import SERVERLESS_FUNCTION, LambdaFunction

log = logging.getLogger("civic_dev.local.dispatcher")


@dataclass
class EventMapping:
    function: LambdaFunction
    event_name: str
    type: str
    props: dict[str, Any]


class TemplateResolver(cfn.Resolver):
    """The template's intrinsics (cfn.Resolver evaluates them), with Ref and Fn::GetAtt answered from
    the local stack's physical names and ARNs."""

    def __init__(self, sam: dict[str, Any], physical_ids: dict[str, str], stream_arns: dict[str, str],
                 region: str, account: Callable[[], str], ddb: Any):
        super().__init__({}, sam.get("Conditions") or {})
        self.resources = sam.get("Resources", {}) or {}
        self.params = sam.get("Parameters", {}) or {}
        self.physical_ids = physical_ids
        self.stream_arns = stream_arns
        self.region = region
        self._account = account
        self._ddb = ddb

    @property
    def account(self) -> str:
        return self._account()

    def type_of(self, logical: str) -> str:
        return (self.resources.get(logical) or {}).get("Type", "")

    def ref(self, logical: str) -> str:
        if logical == "AWS::Region":
            return self.region
        if logical == "AWS::AccountId":
            return self.account
        if logical == "AWS::Partition":
            return "aws"
        if logical == "AWS::StackName":
            return self.physical_ids.get("AWS::StackName", "local")
        if logical in self.physical_ids:
            return self.physical_ids[logical]
        if logical in self.params and "Default" in self.params[logical]:
            return str(self.params[logical]["Default"])
        raise KeyError(f"no physical id for {logical!r}")

    def get_att(self, logical: str, attr: str) -> str:
        rtype = self.type_of(logical)
        if attr == "StreamArn":
            if logical in self.stream_arns:
                return self.stream_arns[logical]
            table = self.ref(logical)
            arn = self._ddb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
            if not arn:
                raise KeyError(f"table {table} has no stream")
            return arn
        if attr == "Arn":
            phys = self.ref(logical)
            if phys.startswith("arn:"):
                return phys
            if rtype == "AWS::SQS::Queue":
                return self.queue_arn(phys)
            if rtype == "AWS::S3::Bucket":
                return f"arn:aws:s3:::{phys}"
            if rtype == "AWS::DynamoDB::Table":
                return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{phys}"
            if rtype in (SERVERLESS_FUNCTION, "AWS::Lambda::Function"):
                return f"arn:aws:lambda:{self.region}:{self.account}:function:{phys}"
            if rtype == "AWS::SNS::Topic":
                return f"arn:aws:sns:{self.region}:{self.account}:{phys}"
        if attr == "QueueName" and rtype == "AWS::SQS::Queue":
            return self.ref(logical).rstrip("/").rsplit("/", 1)[-1]
        if attr == "QueueUrl":
            return self.ref(logical)
        raise KeyError(f"cannot resolve Fn::GetAtt {logical}.{attr}")

    def queue_arn(self, phys: str) -> str:
        if phys.startswith("arn:"):
            return phys
        name = phys.rstrip("/").rsplit("/", 1)[-1]
        return f"arn:aws:sqs:{self.region}:{self.account}:{name}"


def read_functions(sam: dict[str, Any], template_dir: Path, physical_ids: dict[str, str],
                   resolver: TemplateResolver, only: set[str] | None = None
                   ) -> tuple[dict[str, LambdaFunction], list[EventMapping]]:
    """Every AWS::Serverless::Function of the template with a local CodeUri, and the events it is
    mapped to (S3, DynamoDB, SQS, schedules)."""
    functions: dict[str, LambdaFunction] = {}
    mappings: list[EventMapping] = []
    glob = ((sam.get("Globals") or {}).get("Function")) or {}
    for logical, res in (sam.get("Resources") or {}).items():
        if res.get("Type") != SERVERLESS_FUNCTION:
            continue
        if only is not None and logical not in only:
            continue
        props = {**glob, **(res.get("Properties") or {})}
        code_uri = props.get("CodeUri")
        if not isinstance(code_uri, str):
            log.warning("function %s: CodeUri %r is not a local folder; not dispatched", logical, code_uri)
            continue
        name = physical_ids.get(logical)
        if not isinstance(name, str) or not name:
            fn_name = props.get("FunctionName")
            try:
                name = str(resolver.resolve(fn_name)) if fn_name else logical
            except KeyError:
                name = logical
        if name.startswith("arn:"):
            name = name.rsplit(":", 1)[-1]
        eic = props.get("EventInvokeConfig") or {}
        on_failure = (((eic.get("DestinationConfig") or {}).get("OnFailure")) or {}).get("Destination")
        is_dlq = on_failure is None and bool(props.get("DeadLetterQueue"))
        if is_dlq:
            on_failure = (props.get("DeadLetterQueue") or {}).get("TargetArn")
        fn = LambdaFunction(
            logical_id=logical,
            name=name,
            arn="",
            code_dir=(template_dir / code_uri).resolve(),
            handler_spec=str(props.get("Handler", "handler.handler")),
            timeout=float(props.get("Timeout", 3)),
            memory=int(props.get("MemorySize", 128)),
            async_max_retries=int(eic.get("MaximumRetryAttempts", 2)),
            async_on_failure=on_failure,  # resolved lazily (may be an intrinsic)
            async_on_failure_is_dlq=is_dlq,
        )
        functions[logical] = fn
        for ev_name, ev in (props.get("Events") or {}).items():
            etype = ev.get("Type")
            if etype in ("S3", "DynamoDB", "SQS", "Schedule", "ScheduleV2"):
                mappings.append(EventMapping(fn, ev_name, etype, ev.get("Properties") or {}))
            else:
                log.debug("function %s: event %s of type %s is not dispatched locally", logical, ev_name, etype)
    return functions, mappings
