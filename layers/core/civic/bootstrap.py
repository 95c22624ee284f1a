"""The one composition root: the settings, the PynamoDB models bound to their tables, and every adapter
and wired use case the API and the functions need, each built on first use.

`services()` is what a handler or a route calls. It is cheap: one container keeps one `Services` for as
long as its settings stand (tests that change the environment clear `get_settings` and get a new one).
Adapters are built lazily so that moto can intercept their clients and a cold start builds only what it
uses; heavy modules (PynamoDB, boto3, pydantic-settings) are imported here, not at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civic.settings import Settings

_current: Services | None = None


def services() -> Services:
    """The services of the current settings (read once per container, at the first request)."""
    global _current
    from civic.settings import get_settings

    settings = get_settings()
    if _current is None or _current.settings is not settings:
        _current = Services(settings)
    return _current


class Services:
    def __init__(self, settings: Settings) -> None:
        from civic.adapters.dynamo import models

        self.settings = settings
        models.bind(settings)  # the only place the models learn their tables, region and endpoint

    # ------------------------------------------------------------------ DynamoDB

    @cached_property
    def store(self):
        from civic.adapters.dynamo.reports import DynamoReportStore

        return DynamoReportStore()

    @cached_property
    def photos(self):
        from civic.adapters.dynamo.reports import DynamoPhotoRegistry

        return DynamoPhotoRegistry()

    @cached_property
    def units(self):
        from civic.adapters.dynamo.units import DynamoUnitStore

        return DynamoUnitStore()

    @cached_property
    def follows(self):
        from civic.adapters.dynamo.units import DynamoFollowStore

        return DynamoFollowStore()

    @cached_property
    def staff_directory(self):
        from civic.adapters.dynamo.units import DynamoStaffDirectory

        return DynamoStaffDirectory()

    @cached_property
    def stats_store(self):
        from civic.adapters.dynamo.stats import DynamoStatsStore

        return DynamoStatsStore()

    @cached_property
    def notify_store(self):
        from civic.adapters.dynamo.notify import DynamoNotifyStore

        return DynamoNotifyStore()

    @cached_property
    def open311_store(self):
        from civic.adapters.dynamo.open311 import Open311Store

        return Open311Store()

    @cached_property
    def people(self):
        """The user pool, for managing staff (civic.services.staff_admin)."""
        from civic.adapters.cognito import CognitoPeople

        return CognitoPeople(self.settings)

    @cached_property
    def quotas(self):
        """Quotas against spam (civic.services.quotas): `.report(citizen)`, `.open311_post(client)`,
        `.anonymous_read(ip)`, `.flag(user)`; each raises TooMany past its limit, counting nothing."""
        from civic.adapters.dynamo.quotas import DynamoQuotaCounters
        from civic.domain.quotas import limits_from
        from civic.services.quotas import Quotas

        return Quotas(DynamoQuotaCounters(), limits_from(self.settings))

    @cached_property
    def verification(self):
        """Contact verification: its store, the notify queue, the links' base and the daily caps."""
        from civic.adapters.dynamo.contacts import DynamoContactStore
        from civic.services.contacts import Verification

        s = self.settings
        return Verification(store=DynamoContactStore(), queue=self.notify_queue, web_base=s.web_base_url,
                            account_cap=s.verify_account_day_cap, open311_cap=s.verify_open311_client_day_cap)

    # ------------------------------------------------------------------ S3, SQS, channels

    @cached_property
    def notify_queue(self):
        from civic.adapters.dynamo.notify import SqsNotifyQueue

        return SqsNotifyQueue(self.settings.notify_queue_url)

    @cached_property
    def signer(self):
        from civic.adapters.s3.uploads import S3UploadSigner

        return S3UploadSigner(self.settings)

    @cached_property
    def blobs(self):
        from civic.adapters.s3.uploads import S3BlobStore

        return S3BlobStore(self.settings)

    @cached_property
    def open_data(self):
        from civic.adapters.s3.opendata import S3OpenDataStore

        return S3OpenDataStore(self.settings)

    @cached_property
    def channels(self):
        from civic.adapters.channels import Channels

        return Channels(self.settings, self.notify_store)

    @cached_property
    def directory(self):
        """Units, rules and the routing index, cached per container and refreshed cheaply."""
        from civic.adapters.routing_cache import Directory

        return Directory(self.settings, units_store=self.units)

    @cached_property
    def verifier(self):
        from civic.auth import TokenVerifier

        return TokenVerifier.from_settings(self.settings)

    # ------------------------------------------------------------------ wired use cases

    def extend_due(self, due: str, paused_from: str, resumed: str) -> str:
        """A deadline pushed back by the working time the unit waited for the citizen."""
        from civic.domain.sla import extend_due
        from civic.services.routing import working_calendar

        return extend_due(working_calendar(), due, paused_from, resumed)

    def due_state(self, due_at: str | None) -> str:
        """on_time / due_soon / overdue / none, right now."""
        from civic.services.routing import due_state_now

        return due_state_now(due_at)

    def workflow_context(self, now: str):
        """What staff actions need to know: units (transfer, approval) and deadlines."""
        from civic.domain.categories import evidence_optional
        from civic.domain.workflow import Context
        from civic.services.routing import report_deadlines, working_calendar

        tree = self.directory.tree
        return Context(
            now=now,
            unit_exists=lambda code: code in tree,
            parent_of=lambda code: (tree.get(code).parent_code if tree.get(code) else None),
            requires_approval=lambda code: bool(tree.get(code) and tree.get(code).requires_approval),
            evidence_optional=evidence_optional,  # the category's flag (civic/data/categories.json)
            may_be_assigned=lambda whom, unit: unit is not None and (
                # one of the unit's departments (not a ward under a district: that is a transfer)
                (whom in tree and tree.get(whom).parent_code == unit and tree.get(whom).is_agency)
                or (len(whom) <= 128 and unit in self.staff_directory.staff_units(whom))),
            deadlines=lambda report, priority, start: report_deadlines(
                tree, report.category, priority, report.unit_code, start
            ),
            calendar=working_calendar(),
        )

    @cached_property
    def idempotent_create(self) -> Callable[..., dict]:
        """`create_report` behind Powertools idempotency: one report per (citizen, Idempotency-Key)."""
        from civic.adapters.dynamo.idempotency import idempotent
        from civic.domain.submission import ReportSubmission
        from civic.services.intake import create_report, created

        s = self.settings

        @idempotent(s)
        def create_once(request: dict[str, Any]) -> dict:
            submission = ReportSubmission.model_validate(request["body"])
            # Only a new submission counts: a replayed key never reaches here, and a refusal (TooMany)
            # makes Powertools delete the in-progress record, so nothing is written and the key stays usable.
            self.quotas.report(request["citizen_id"])
            report = create_report(submission, citizen_id=request["citizen_id"], store=self.store, settings=s)
            return created(report)

        return create_once

    @cached_property
    def idempotent_alert(self) -> Callable[..., dict]:
        """`publish_alert` behind Powertools idempotency: a retried POST /v1/staff/alerts (the same
        author and Idempotency-Key) answers the first alert and fans out nothing more."""
        from civic.adapters.dynamo.idempotency import idempotent
        from civic.clock import now_iso
        from civic.services.notify import publish_alert

        @idempotent(self.settings)
        def publish_once(request: dict[str, Any]) -> dict:
            directory = self.directory
            return publish_alert(request["body"], actor=request["actor"], store=self.notify_store,
                                 queue=self.notify_queue, tree=directory.tree, geometry_of=directory.geometry,
                                 now=now_iso(), within=request["within"])

        return publish_once

    @cached_property
    def open311_create(self) -> Callable[..., dict]:
        """The same for Open311 POSTs, which carry the submitter and the channel's details; a retried
        POST replays the first answer. Kept apart from `idempotent_create`, whose body is the citizen's.

        `request["client_id"]` is counted against its quota before anything is written; the submitter's
        contact (`request["contact"]`: never part of the idempotency record) is saved only then."""
        from civic.adapters.dynamo.idempotency import idempotent
        from civic.domain.submission import ReportSubmission
        from civic.services.intake import create_report, created

        s = self.settings

        @idempotent(s)
        def create(request: dict[str, Any]) -> dict:
            body = request["body"]
            submission = ReportSubmission.model_validate(body["report"])
            self.quotas.open311_post(request["client_id"])
            contact = request.get("contact")
            if contact:
                self.open311_store.save_contact(body["citizen_id"], contact["details"], contact["name"])
            report = create_report(submission, citizen_id=body["citizen_id"], store=self.store, settings=s,
                                   event_data=body["event_data"])
            return created(report)

        return create
