"""The user pool, for managing staff (civic.services.staff_admin): find, invite, group, disable people."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civic.settings import Settings


class CognitoPeople:
    """`civic.domain.ports.People` on a Cognito user pool; people are known by their email (the username)."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self._pool = settings.user_pool_id
        if client is None:
            import boto3

            client = boto3.client("cognito-idp", region_name=settings.aws_region,
                                  endpoint_url=settings.aws_endpoint_url)
        self._client = client

    @staticmethod
    def _attributes(user: dict[str, Any]) -> dict[str, str]:
        return {a["Name"]: a["Value"] for a in user.get("UserAttributes") or user.get("Attributes") or []}

    def find(self, email: str) -> dict[str, Any] | None:
        try:
            user = self._client.admin_get_user(UserPoolId=self._pool, Username=email)
        except self._client.exceptions.UserNotFoundException:
            return None
        attrs = self._attributes(user)
        return {"user_id": attrs["sub"], "email": email, "name": attrs.get("name"), "enabled": bool(user["Enabled"])}

    def invite(self, email: str, name: str | None, temporary: str | None) -> str:
        """A new person with a temporary password: Cognito emails it, or (`temporary`, the local stack,
        which sends no email) it is the one given. Returns their user id (`sub`)."""
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        if name:
            attributes.append({"Name": "name", "Value": name})
        invitation = {"TemporaryPassword": temporary, "MessageAction": "SUPPRESS"} if temporary else {
            "DesiredDeliveryMediums": ["EMAIL"]}
        try:
            user = self._client.admin_create_user(UserPoolId=self._pool, Username=email, UserAttributes=attributes,
                                                  **invitation)["User"]
        except self._client.exceptions.InvalidParameterException:
            raise ValueError("the user pool refused the email or name") from None
        return self._attributes(user)["sub"]

    def reinvite(self, email: str, temporary: str | None) -> None:
        if temporary:
            self._client.admin_set_user_password(UserPoolId=self._pool, Username=email, Password=temporary,
                                                 Permanent=False)
        else:
            self._client.admin_create_user(UserPoolId=self._pool, Username=email, MessageAction="RESEND",
                                           DesiredDeliveryMediums=["EMAIL"])

    def set_role(self, email: str, role: str, roles: tuple[str, ...]) -> None:
        """Exactly one of `roles` as a Cognito group (the role the API reads from the token)."""
        groups = self._client.admin_list_groups_for_user(UserPoolId=self._pool, Username=email)["Groups"]
        for group in groups:
            if group["GroupName"] in roles and group["GroupName"] != role:
                self._client.admin_remove_user_from_group(UserPoolId=self._pool, Username=email,
                                                          GroupName=group["GroupName"])
        self._client.admin_add_user_to_group(UserPoolId=self._pool, Username=email, GroupName=role)

    def role_of(self, email: str, roles: tuple[str, ...]) -> str | None:
        groups = self._client.admin_list_groups_for_user(UserPoolId=self._pool, Username=email)["Groups"]
        return next((g["GroupName"] for g in groups if g["GroupName"] in roles), None)

    def set_enabled(self, email: str, enabled: bool) -> None:
        if enabled:
            self._client.admin_enable_user(UserPoolId=self._pool, Username=email)
        else:
            self._client.admin_disable_user(UserPoolId=self._pool, Username=email)
            # Signed-in sessions end too (id tokens already issued expire within the hour).
            self._client.admin_user_global_sign_out(UserPoolId=self._pool, Username=email)

    def members(self, role: str) -> list[dict[str, Any]]:
        out = []
        for page in self._client.get_paginator("list_users_in_group").paginate(UserPoolId=self._pool, GroupName=role):
            for user in page.get("Users", []):
                attrs = self._attributes(user)
                out.append({"user_id": attrs.get("sub"), "email": attrs.get("email") or user["Username"],
                            "name": attrs.get("name"), "enabled": bool(user.get("Enabled", True)), "role": role})
        return out
