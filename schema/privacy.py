"""Audit log, personal data and GDPR types (root fields: privacy_root)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry

from models.account import UserRole
from models.audit import DataExportStatus
from schema.ids import to_global_id
from schema.pagination import PageInfo
from schema.payloads import UserError

DataExportStatusEnum = strawberry.enum(
    DataExportStatus,
    description="PENDING while the job builds it, READY to download, FAILED.",
)


@strawberry.type(description="One entry of the append-only audit log.")
class AuditEntry:
    id: strawberry.ID = strawberry.field(description="The entry's number in the chain.")
    at: datetime
    actor_kind: str = strawberry.field(
        description="USER, PARTNER, SYSTEM, LINK (a download link) or ANONYMOUS."
    )
    actor_id: strawberry.ID | None = strawberry.field(
        description="The acting user's or partner's global ID."
    )
    action: str = strawberry.field(description='What happened, e.g. "auth.sign_in".')
    subject_type: str | None
    subject_id: str | None
    subject_user_id: strawberry.ID | None = strawberry.field(
        description="The global ID of the account the entry is about."
    )
    client_address: str | None
    user_agent: str | None
    details: str = strawberry.field(description="Facts of the action, as a JSON object.")

    @classmethod
    def from_row(cls, row: Any) -> AuditEntry:
        actor_type = {"USER": "User", "PARTNER": "Partner"}.get(row["actor_kind"])
        return cls(
            id=strawberry.ID(str(row["id"])),
            at=row["at"],
            actor_kind=row["actor_kind"],
            actor_id=strawberry.ID(to_global_id(actor_type, row["actor_id"]))
            if actor_type and row["actor_id"] is not None
            else None,
            action=row["action"],
            subject_type=row["subject_type"],
            subject_id=row["subject_id"],
            subject_user_id=strawberry.ID(to_global_id("User", row["subject_user_id"]))
            if row["subject_user_id"] is not None
            else None,
            client_address=row["client_address"],
            user_agent=row["user_agent"],
            details=json.dumps(row["details"], sort_keys=True),
        )


@strawberry.type
class AuditEntryEdge:
    cursor: str
    node: AuditEntry


@strawberry.type(description="A page of audit entries, newest first (Relay connection).")
class AuditEntryConnection:
    edges: list[AuditEntryEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many entries match, on every page together.")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.input(description="Which audit entries to list; every given field must match.")
class AuditLogFilter:
    actor_id: strawberry.ID | None = strawberry.field(
        default=None, description="Entries by this user (a User's global ID)."
    )
    actor_kind: str | None = strawberry.field(
        default=None, description="USER, PARTNER, SYSTEM, LINK or ANONYMOUS."
    )
    action: str | None = None
    subject_type: str | None = strawberry.field(default=None, description='e.g. "Order".')
    subject_id: str | None = None
    subject_user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Entries about this account (a User's global ID)."
    )
    since: datetime | None = strawberry.field(default=None, description="Inclusive.")
    until: datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.type(description="A personal-data export (GDPR Art. 15 and 20).")
class DataExport:
    id: strawberry.ID
    status: DataExportStatus
    requested_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None = strawberry.field(
        description="When the download link stops working and the file is removed."
    )
    download_url: str | None = strawberry.field(
        description="A signed link to the JSON document, while READY and not expired."
    )


@strawberry.input(description="Whose data to export: yourself, or (staff) a user.")
class RequestDataExportInput:
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff only: the account to export; omit for your own."
    )


@strawberry.type
class DataExportPayload:
    data_export: DataExport | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(description="Whose account to erase: yours, or (staff) a user's.")
class RequestAccountErasureInput:
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff only: the account to erase; omit for your own."
    )
    password: str | None = strawberry.field(
        default=None,
        description="Your password, required to erase your own account (a token alone "
        "does not suffice).",
    )


@strawberry.type
class AccountErasurePayload:
    erased: bool = False
    sessions_revoked: int = 0
    orders_kept: int = strawberry.field(
        default=0, description="Orders kept for accounting, with the person removed."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="Your own details, stored encrypted.")
class Profile:
    full_name: str | None
    phone: str | None
    address: str | None


@strawberry.input(description='Details to change; an omitted field stays, "" clears it.')
class UpdateProfileInput:
    full_name: str | None = None
    phone: str | None = None
    address: str | None = None


@strawberry.type
class ProfilePayload:
    profile: Profile | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.type
class ChangePasswordPayload:
    changed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(description="Staff: give a user another role.")
class SetUserRoleInput:
    user_id: strawberry.ID
    role: UserRole
    dealer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for DEALER, absent otherwise."
    )


@strawberry.type
class SetUserRolePayload:
    changed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)
