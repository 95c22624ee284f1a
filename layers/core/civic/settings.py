"""One validated settings object, read from the environment at handler entry (never at import)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

BBox = tuple[float, float, float, float]


class Settings(BaseSettings):
    """Every environment variable the handlers read. Names match `infra/template.yaml` Globals."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    stage: str = "dev"
    aws_region: str = Field("ap-southeast-1", validation_alias="AWS_REGION")
    # Set only locally (the embedded moto server); boto3/botocore read the same variable.
    aws_endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")

    reports_table: str = "civic-reports"
    timeline_table: str = "civic-timeline"
    units_table: str = "civic-units"
    users_table: str = "civic-users"
    rules_table: str = "civic-rules"
    follows_table: str = "civic-follows"
    stats_table: str = "civic-stats"
    idempotency_table: str = "civic-idempotency"
    quotas_table: str = "civic-quotas"

    uploads_bucket: str = "civic-uploads"
    media_bucket: str = "civic-media"
    config_bucket: str = "civic-config"
    notify_queue_url: str = ""
    # Notifications (civic.services.notify): inboxes, alerts and indexes; the dead-letter queue; channels.
    notifications_table: str = "civic-notifications"
    notify_dlq_url: str = ""
    email_sender: str = "no-reply@civicbridge.vn"
    # The citizen web app: messages link to <web_base_url>/track/<code>.
    web_base_url: str = ""
    # Contact verification messages a signed-in account, or an Open311 client (which reports for many
    # people), may cause per local day; an address gets at most one a day whoever asks.
    verify_account_day_cap: int = Field(5, ge=1, le=100)
    verify_open311_client_day_cap: int = Field(100, ge=1, le=100000)
    zalo_api_url: str = "https://openapi.zalo.me/v3.0/oa/message/cs"
    # In AWS the OA's tokens live in Secrets Manager (civic.adapters.channels.zalo_token), refreshed hourly;
    # ZALO_ACCESS_TOKEN is for tests only. A secret either way: never logged, never in repr.
    zalo_secret_arn: str = ""
    zalo_oauth_url: str = "https://oauth.zaloapp.com/v4/oa/access_token"
    zalo_access_token: str = Field("", repr=False)
    # Mobile push: SNS platform applications named <push_app_prefix>-<platform>, created at first use
    # when they do not exist (in AWS, create them with the FCM/APNs credentials beforehand).
    push_app_prefix: str = "civicbridge"

    user_pool_id: str = ""
    user_pool_client_id: str = ""
    # Where browsers call Cognito's JSON API; unset in AWS (the region's public endpoint). The local
    # stack sets its gateway's Cognito front (civic_dev.local.cognito_front), which answers CORS as AWS does.
    cognito_endpoint_url: str | None = None

    @property
    def cognito_endpoint(self) -> str:
        return self.cognito_endpoint_url or f"https://cognito-idp.{self.aws_region}.amazonaws.com/"

    # Where rendition URLs point: CloudFront in AWS, the local web server locally.
    media_base_url: str = ""
    # The web CDN (CloudFront), when the stack has one: a taken-down photo's paths are invalidated there.
    cdn_distribution_id: str = ""
    # Prefix of tracking codes, e.g. "HN" for Hà Nội → HN-4K7Q2M.
    tracking_prefix: str = "VN"
    # Reported locations must fall inside this box: south,west,north,east (Vietnam by default).
    service_bbox: Annotated[BBox, NoDecode] = (8.0, 102.0, 23.5, 110.0)
    # The public feed without a bbox covers this box (the province or city served).
    feed_default_bbox: Annotated[BBox | None, NoDecode] = None
    # Who runs this deployment and how its maps open (served in GET /v1/config for the web and apps).
    province_name_vi: str = ""
    province_name_en: str = ""
    map_center: Annotated[tuple[float, float] | None, NoDecode] = None  # "lat,lon"
    map_zoom: int = Field(13, ge=3, le=19)
    # A base-map tile server (`{z}/{x}/{y}` URL) and its attribution; none: maps draw boundaries only.
    tile_url: str = ""
    tile_attribution: str = ""
    # Routing: a point this close outside every boundary (coast, border) goes to the nearest unit.
    snap_distance_m: float = 500.0
    # A new report this close to an open one of the same category, this recent, is a probable duplicate.
    duplicate_radius_m: float = 50.0
    duplicate_window_days: int = 30
    # How often functions check whether a new routing index was published (one small GET).
    index_check_seconds: float = 30.0
    upload_url_ttl_seconds: int = 900
    max_upload_bytes_photo: int = 15 * 1024 * 1024
    max_upload_bytes_video: int = 100 * 1024 * 1024
    # PDF evidence (civic.media.documents has the same bound): a few scanned pages fit well within it.
    max_upload_bytes_document: int = 20 * 1024 * 1024
    # Citizens' abuse flags: this many distinct accounts hide a report until a moderator reviews it.
    flag_threshold: int = Field(3, ge=1, le=100)
    # Statistics: below this many ratings a unit shows "not enough ratings (n = …)", not a satisfied share
    # nor a satisfaction index (civic.domain.stats.DEFAULT_MIN_RATINGS).
    min_ratings: int = Field(5, ge=1, le=1000)
    # GET /v1/staff/inbox/export writes at most this many rows (and says so when it cut the list).
    staff_export_max_rows: int = Field(5000, ge=1, le=50000)

    # Quotas against spam (civic.domain.quotas, where each one's window is): 0 switches one off.
    quota_reports_per_hour: int = Field(10, ge=0)
    quota_reports_per_day: int = Field(30, ge=0)
    quota_open311_per_hour: int = Field(60, ge=0)
    quota_anonymous_reads_per_minute: int = Field(300, ge=0)
    quota_flags_per_day: int = Field(20, ge=0)

    def max_upload_bytes(self, kind: str) -> int:
        """The size limit of one upload of this media kind (photo, video, document)."""
        return {"video": self.max_upload_bytes_video, "document": self.max_upload_bytes_document}.get(
            kind, self.max_upload_bytes_photo)

    @field_validator("service_bbox", "feed_default_bbox", mode="before")
    @classmethod
    def _parse_bbox(cls, value):
        if isinstance(value, str):
            if not value.strip():
                return None
            parts = [float(p) for p in value.split(",")]
            if len(parts) != 4:
                raise ValueError("bbox must be south,west,north,east")
            return tuple(parts)
        return value

    @field_validator("map_center", mode="before")
    @classmethod
    def _parse_center(cls, value):
        if isinstance(value, str):
            if not value.strip():
                return None
            parts = [float(p) for p in value.split(",")]
            if len(parts) != 2 or not (-90 <= parts[0] <= 90 and -180 <= parts[1] <= 180):
                raise ValueError("map_center must be lat,lon")
            return tuple(parts)
        return value

    @field_validator("service_bbox", "feed_default_bbox")
    @classmethod
    def _check_bbox(cls, value):
        if value is None:
            return value
        south, west, north, east = value
        if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
            raise ValueError("bbox must be south,west,north,east with south<north and west<east")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing the env."""
    return Settings()
