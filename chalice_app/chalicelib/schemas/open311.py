"""Open311 GeoReport v2 wire shapes: the form of POST requests.*, answers and errors (JSON; XML is text)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, RootModel

from chalicelib.schemas.common import CategoryCode


class Open311RequestForm(BaseModel):
    """POST requests.xml|json (application/x-www-form-urlencoded)."""

    api_key: str = Field(description="Issued per client by administrators")
    service_code: CategoryCode
    lat: float = Field(None, ge=-90, le=90)
    long: float = Field(None, ge=-180, le=180)
    address_string: str = None
    address_id: str = None
    email: str = None
    device_id: str = None
    account_id: str = None
    first_name: str = None
    last_name: str = None
    phone: str = None
    description: str = None
    media_url: str = None
    # POST servicerequestupdates (mySociety's extension): the request, the client's own id of the update.
    service_request_id: str = Field(None, description="servicerequestupdates: the request commented on")
    update_id: str = Field(None, description="servicerequestupdates: the client's id of this update")
    updated_datetime: str = Field(None, description="servicerequestupdates: when it was written (W3C)")
    status: str = Field(None, description="servicerequestupdates: read and ignored (only the unit changes it)")


class Open311RequestMultipart(Open311RequestForm):
    """POST requests.xml|json as multipart/form-data, with the photo itself."""

    media: bytes = Field(None, description="One photo (JPEG, PNG, WebP or HEIC)", json_schema_extra={"format": "binary"})


class Open311ErrorItem(BaseModel):
    code: int
    description: str


class Open311Errors(RootModel[list[Open311ErrorItem]]):
    """GeoReport v2 errors"""


class Open311Json(RootModel[list[dict[str, Any]] | dict[str, Any]]):
    """A GeoReport v2 answer as JSON: a list (services, requests, updates, tokens) or an object (discovery)."""
