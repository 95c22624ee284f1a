"""PynamoDB models of the tables declared in infra/template.yaml (a test checks they agree).

Table names are bound at runtime from the settings (`bind`), never at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

if TYPE_CHECKING:
    from civic.settings import Settings


class _Meta:
    table_name = "unbound"
    region = "ap-southeast-1"
    billing_mode = "PAY_PER_REQUEST"


class ByUnitStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "ByUnitStatus"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    status_created = UnicodeAttribute(range_key=True)


class ByCitizen(GlobalSecondaryIndex):
    class Meta:
        index_name = "ByCitizen"
        projection = AllProjection()

    citizen_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class ByCell(GlobalSecondaryIndex):
    class Meta:
        index_name = "ByCell"
        projection = AllProjection()

    cell = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class ByDue(GlobalSecondaryIndex):
    class Meta:
        index_name = "ByDue"
        projection = AllProjection()

    sla_day = UnicodeAttribute(hash_key=True)
    sla_next_at = UnicodeAttribute(range_key=True)


class ByDay(GlobalSecondaryIndex):
    """Reports by the Asia/Ho_Chi_Minh day they were submitted (open data exports one day at a time)."""

    class Meta:
        index_name = "ByDay"
        projection = AllProjection()

    created_day = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class ByReview(GlobalSecondaryIndex):
    """The moderation queue: sparse, only reports a moderator must look at carry `review`."""

    class Meta:
        index_name = "ByReview"
        projection = AllProjection()

    review = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class MediaMap(MapAttribute):
    media_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    content_type = UnicodeAttribute()
    declared_size = NumberAttribute()
    status = UnicodeAttribute()
    reason = MapAttribute(null=True)
    renditions = MapAttribute(null=True)
    formats = ListAttribute(of=UnicodeAttribute, null=True)
    gps_distance_m = NumberAttribute(null=True)
    taken_at = UnicodeAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    reused_from = UnicodeAttribute(null=True)
    role = UnicodeAttribute(null=True)
    uploader = UnicodeAttribute(null=True)
    hidden = BooleanAttribute(null=True)
    pages = NumberAttribute(null=True)
    declared_lat = NumberAttribute(null=True)
    declared_lon = NumberAttribute(null=True)


class ReportModel(Model):
    class Meta(_Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    tracking_code = UnicodeAttribute()
    status = UnicodeAttribute()
    category = UnicodeAttribute()
    description = UnicodeAttribute()
    lat = NumberAttribute()
    lon = NumberAttribute()
    address = UnicodeAttribute(null=True)
    anonymous = BooleanAttribute(default=False)
    citizen_id = UnicodeAttribute()
    priority = UnicodeAttribute(default="normal")
    unit_code = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # Optimistic concurrency: every change is conditioned on the version it read.
    version = NumberAttribute()
    media = ListAttribute(of=MediaMap, default=list)
    flags = ListAttribute(of=UnicodeAttribute, default=list)
    accept_due_at = UnicodeAttribute(null=True)
    duplicate_of = UnicodeAttribute(null=True)
    routed_at = UnicodeAttribute(null=True)
    accepted_at = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    assignee = UnicodeAttribute(null=True)
    answer = UnicodeAttribute(null=True)
    evidence = ListAttribute(of=UnicodeAttribute, null=True)
    awaiting_info_since = UnicodeAttribute(null=True)
    info_question = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    rating = MapAttribute(null=True)
    # The published location (rounded in private categories): public searches filter on it, so
    # a tiny bbox or radius cannot reveal where a security report was exactly made.
    pub_lat = NumberAttribute()
    pub_lon = NumberAttribute()
    # Index keys, derived from the fields above when the row is written.
    cell = UnicodeAttribute()
    created_key = UnicodeAttribute()
    queue = UnicodeAttribute()  # the unit's code, or "#triage" while no unit handles it
    status_created = UnicodeAttribute()
    sla_day = UnicodeAttribute(null=True)  # the day of sla_next_at: the ByDue partition
    sla_next_at = UnicodeAttribute(null=True)  # when the SLA function must look at this report next
    sla_stage = UnicodeAttribute(null=True)  # what it will do then (civic.domain.sla_watch)
    created_day = UnicodeAttribute(null=True)  # the local (Asia/Ho_Chi_Minh) day of created_at: ByDay
    # Moderation (civic.domain.moderation); `review` is ByReview's key, absent unless a moderator must look.
    hidden = UnicodeAttribute(null=True)
    redacted = MapAttribute(null=True)
    flag_count = NumberAttribute(null=True)
    review = UnicodeAttribute(null=True)
    transferred_from = ListAttribute(of=UnicodeAttribute, null=True)

    by_unit_status = ByUnitStatus()
    by_citizen = ByCitizen()
    by_cell = ByCell()
    by_due = ByDue()
    by_day = ByDay()
    by_review = ByReview()


class TrackingCodeModel(Model):
    """A guard row in the Reports table (`id = "tracking#<code>"`): makes tracking codes unique,
    and answers a lookup by code with a strongly consistent read."""

    class Meta(_Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    report_id = UnicodeAttribute()


class FlagModel(Model):
    """A guard row in the Reports table (`id = "flag#<report id>#<user id>"`): one flag per account
    per report, written in the same transaction as the report's flag count."""

    class Meta(_Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    reason = UnicodeAttribute()
    at = UnicodeAttribute()


class BySender(GlobalSecondaryIndex):
    """ByUnitStatus read for the rows of SentModel: `queue = "sent#<unit>"`, newest transfer last."""

    class Meta:
        index_name = "ByUnitStatus"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    status_created = UnicodeAttribute(range_key=True)


class SentModel(Model):
    """An index row in the Reports table (`id = "sent#<unit>#<report id>"`): this unit transferred the
    report away. Written in the transfer's transaction; its `queue` ("sent#<unit>") puts it in the
    ByUnitStatus index, where the "transferred by us" inbox view reads it (no unit code starts so)."""

    class Meta(_Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    report_id = UnicodeAttribute()
    queue = UnicodeAttribute()
    status_created = UnicodeAttribute()  # "<transfer time>#<report id>"

    by_sender = BySender()


class PhotoHashModel(Model):
    """A guard row in the Reports table (`id = "photo#<sha256>"`): the first report a photo was
    attached to, so the same photo sent again with another report is flagged as reused."""

    class Meta(_Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    report_id = UnicodeAttribute()


class TimelineModel(Model):
    class Meta(_Meta):
        pass

    report_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    type = UnicodeAttribute()
    at = UnicodeAttribute()
    actor_role = UnicodeAttribute()
    actor_id = UnicodeAttribute(null=True)
    public = BooleanAttribute(default=True)
    status = UnicodeAttribute(null=True)
    data = MapAttribute(default=dict)


class ByParent(GlobalSecondaryIndex):
    class Meta:
        index_name = "ByParent"
        projection = AllProjection()

    parent_code = UnicodeAttribute(hash_key=True)
    code = UnicodeAttribute(range_key=True)


class UnitModel(Model):
    class Meta(_Meta):
        pass

    code = UnicodeAttribute(hash_key=True)
    parent_code = UnicodeAttribute(null=True)
    kind = UnicodeAttribute()  # province | ward | district | agency | ...
    name_vi = UnicodeAttribute()
    name_en = UnicodeAttribute()
    categories = ListAttribute(of=UnicodeAttribute, default=list)
    contact = MapAttribute(null=True)
    synthetic = BooleanAttribute(default=False)
    requires_approval = BooleanAttribute(default=False)
    # Only on the one row `civic.adapters.dynamo.units.VERSION_CODE`: bumped by every change of a unit or
    # a rule, so caches check one item instead of scanning both tables.
    data_version = NumberAttribute(null=True)

    by_parent = ByParent()


class RuleModel(Model):
    class Meta(_Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    category = UnicodeAttribute()
    scope = UnicodeAttribute()
    target = UnicodeAttribute()
    where = UnicodeAttribute(null=True)
    priority = NumberAttribute(default=0)
    enabled = BooleanAttribute(default=True)
    note = UnicodeAttribute(default="")


class ByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "ByUser"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    report_id = UnicodeAttribute(range_key=True)


class FollowModel(Model):
    class Meta(_Meta):
        pass

    report_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    at = UnicodeAttribute()

    by_user = ByUser()


class UserModel(Model):
    """Staff membership and citizen profiles; the only table that holds personal data."""

    class Meta(_Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute()
    units = ListAttribute(of=UnicodeAttribute, default=list)
    display_name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    # Notification preferences (civic.services.notify; GET/PUT /v1/me/preferences, POST /v1/me/devices).
    channels = ListAttribute(of=UnicodeAttribute, null=True)
    language = UnicodeAttribute(null=True)
    quiet_start = UnicodeAttribute(null=True)
    quiet_end = UnicodeAttribute(null=True)
    zalo_user_id = UnicodeAttribute(null=True)
    home_unit = UnicodeAttribute(null=True)
    follow_units = ListAttribute(of=UnicodeAttribute, null=True)  # areas followed beyond the home ward
    devices = ListAttribute(of=MapAttribute, null=True)  # [{"platform", "token"}]
    verified = UnicodeSetAttribute(null=True)  # contact keys confirmed by their owner (civic.domain.contacts)


class NotificationModel(Model):
    """The Notifications table: pk/sk items of several kinds (civic.adapters.dynamo.notify):
    inbox#<user> / <at>.<message id> (an in-app notification), area#<unit> / <user> (who lives or
    reported there: alert recipients), staff#<unit> / <user> (officers and leaders), alerts / <id>,
    device#<hash of a push token> / owner (the one person a device's notifications go to), and contact
    verification items (civic.adapters.dynamo.contacts)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute(null=True)
    role = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(null=True)
    event_type = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)
    report_id = UnicodeAttribute(null=True)
    tracking_code = UnicodeAttribute(null=True)
    alert_id = UnicodeAttribute(null=True)
    read = BooleanAttribute(null=True)
    at = UnicodeAttribute(null=True)
    source = UnicodeAttribute(null=True)
    data = MapAttribute(null=True)
    expires = NumberAttribute(null=True)  # TTL (epoch seconds)
    sent_at = UnicodeAttribute(null=True)  # when an inbox item was delivered
    tally = NumberAttribute(null=True)  # verification counters: messages a day, wrong codes


class StatModel(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class Open311ClientModel(Model):
    """An Open311 client (an app allowed to POST requests), in the Users table under
    `user_id = "open311-client#<id>"`; only a hash of its API key is stored (civic.adapters.dynamo.open311)."""

    class Meta(_Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute()
    name = UnicodeAttribute()
    contact = UnicodeAttribute(null=True)
    key_hash = UnicodeAttribute()
    key_hint = UnicodeAttribute()  # the key's first characters, so admins can tell keys apart
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)


class Open311KeyModel(Model):
    """`user_id = "open311-key#<sha256 of the key>"` → the client: one GetItem checks a key."""

    class Meta(_Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute()


class Open311RegistryModel(Model):
    """`user_id = "open311-clients"`: the ids of all clients, so listing them never scans the table."""

    class Meta(_Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    client_ids = UnicodeSetAttribute(null=True)


class QuotaModel(Model):
    """A fixed-window counter of civic.domain.quotas: `key` = <quota>#<subject>#<window start>; the item
    expires (TTL) after its window, so the table holds only current windows."""

    class Meta(_Meta):
        pass

    key = UnicodeAttribute(hash_key=True)
    uses = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # TTL (epoch seconds)


# Model → the settings field naming its table. Models sharing a table share a name.
TABLE_OF = {
    ReportModel: "reports_table",
    TrackingCodeModel: "reports_table",
    PhotoHashModel: "reports_table",
    FlagModel: "reports_table",
    SentModel: "reports_table",
    TimelineModel: "timeline_table",
    UnitModel: "units_table",
    UserModel: "users_table",
    Open311ClientModel: "users_table",
    Open311KeyModel: "users_table",
    Open311RegistryModel: "users_table",
    RuleModel: "rules_table",
    FollowModel: "follows_table",
    StatModel: "stats_table",
    NotificationModel: "notifications_table",
    QuotaModel: "quotas_table",
}


def bind(settings: Settings) -> None:
    """Point every model at the tables, region and endpoint of these settings."""
    for model, setting in TABLE_OF.items():
        model.Meta.table_name = getattr(settings, setting)
        model.Meta.region = settings.aws_region
        model.Meta.host = settings.aws_endpoint_url
        model._connection = None  # PynamoDB caches the connection with the old name
