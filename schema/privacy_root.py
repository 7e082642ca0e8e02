"""Audit log, profile and GDPR root fields.

auditLog (staff) lists the append-only audit log as a connection, newest first.
requestDataExport queues a personal-data export (yours, or staff: anyone's) and
dataExport(id:) follows it to its signed, time-limited downloadUrl.
requestAccountErasure erases your (staff: anyone's) personal data; it is refused with
the userError code ORDER_IN_FLIGHT while an order is not finished.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from auth.permissions import STAFF, IsUser, requires
from resolvers import privacy
from schema.context import Info
from schema.privacy import (
    AccountErasurePayload,
    AuditEntryConnection,
    AuditLogFilter,
    ChangePasswordInput,
    ChangePasswordPayload,
    DataExport,
    DataExportPayload,
    Profile,
    ProfilePayload,
    RequestAccountErasureInput,
    RequestDataExportInput,
    SetUserRoleInput,
    SetUserRolePayload,
    UpdateProfileInput,
)


@strawberry.type
class PrivacyQuery:
    @strawberry.field(
        description="The audit log, newest first, filtered by actor, action, subject and "
        "time range (staff).",
        extensions=[requires(STAFF)],
    )
    async def audit_log(
        self, info: Info,
        audit_filter: Annotated[AuditLogFilter | None, strawberry.argument(name="filter")] = None,
        first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> AuditEntryConnection:  # fmt: skip
        return await privacy.audit_log(
            info, audit_filter, first=first, after=after, last=last, before=before
        )

    @strawberry.field(
        description="A data export you requested, or for staff one of anybody; else NOT_FOUND.",
        extensions=[requires(IsUser())],
    )
    async def data_export(self, info: Info, id: strawberry.ID) -> DataExport | None:
        return await privacy.data_export(info, id)

    @strawberry.field(
        description="Your name, phone and address (stored encrypted).",
        extensions=[requires(IsUser())],
    )
    async def my_profile(self, info: Info) -> Profile | None:
        return await privacy.my_profile(info)


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(
        description="Export every personal datum held about you (GDPR Art. 15/20) as one "
        "JSON document, built in the background: follow it with dataExport(id:).",
        extensions=[requires(IsUser())],
    )
    async def request_data_export(
        self, info: Info, input: RequestDataExportInput
    ) -> DataExportPayload | None:
        return await privacy.request_data_export(info, input)

    @strawberry.mutation(
        description="Erase your personal data (GDPR Art. 17): sessions revoked, orders kept "
        "for accounting without you. Refused (ORDER_IN_FLIGHT) while an order is unfinished.",
        extensions=[requires(IsUser())],
    )
    async def request_account_erasure(
        self, info: Info, input: RequestAccountErasureInput
    ) -> AccountErasurePayload | None:
        return await privacy.request_account_erasure(info, input)

    @strawberry.mutation(
        description="Change your name, phone or address.", extensions=[requires(IsUser())]
    )
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> ProfilePayload | None:
        return await privacy.update_profile(info, input)

    @strawberry.mutation(
        description="Change your password (the current one is checked).",
        extensions=[requires(IsUser())],
    )
    async def change_password(
        self, info: Info, input: ChangePasswordInput
    ) -> ChangePasswordPayload | None:
        return await privacy.change_password(info, input)

    @strawberry.mutation(
        description="Give a user another role (staff).", extensions=[requires(STAFF)]
    )
    async def set_user_role(self, info: Info, input: SetUserRoleInput) -> SetUserRolePayload | None:
        return await privacy.set_user_role(info, input)
