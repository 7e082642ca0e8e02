"""Audit log, profile and GDPR root fields: arguments in, one service call, payload out."""

from __future__ import annotations

import uuid
from functools import partial

import strawberry

from auth.permissions import principal_of
from core.job_queue import ArqJobQueue
from models.audit import DataExportStatus
from resolvers.origin import audit_actor, client_info
from schema.context import Info
from schema.errors import ForbiddenError, NotFoundError
from schema.ids import decode_int_id
from schema.pagination import PageInfo, decode_or_bad_input, validate_page_args
from schema.payloads import input_errors, refusal_errors
from schema.privacy import (
    AccountErasurePayload,
    AuditEntry,
    AuditEntryConnection,
    AuditEntryEdge,
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
from services.accounts import profile as profiles
from services.audit import queries
from services.crypto import FieldCipher
from services.gdpr import erasure, exports
from services.gdpr.errors import GdprRefusalError
from services.gdpr.links import download_path


def _cipher(info: Info) -> FieldCipher:
    return FieldCipher.from_settings(info.context.settings)


def _signed_in_user(info: Info) -> int:
    user_id = principal_of(info).user_id
    assert user_id is not None  # IsUser ran first
    return user_id


def _target(info: Info, user_id: strawberry.ID | None) -> int:
    """The account a GDPR request is for: the caller's own, or (staff) the one named."""
    own = _signed_in_user(info)
    if user_id is None:
        return own
    target = decode_int_id(user_id, "User", field="userId")
    if target != own and not principal_of(info).is_admin:
        raise ForbiddenError("Only staff may act on another person's account.")
    return target


def _export(info: Info, record: exports.ExportRecord) -> DataExport:
    url = None
    if record.status is DataExportStatus.READY and record.expires_at is not None:
        base = str(info.context.request.base_url).rstrip("/")
        url = base + download_path(info.context.settings.personal_data_key, record.id,
                                   record.expires_at)  # fmt: skip
    return DataExport(
        id=strawberry.ID(str(record.id)), status=record.status, requested_at=record.created_at,
        ready_at=record.finished_at, expires_at=record.expires_at, download_url=url,
    )  # fmt: skip


async def request_data_export(info: Info, input: RequestDataExportInput) -> DataExportPayload:
    ctx = info.context
    target = _target(info, input.user_id)
    try:
        record = await exports.request_export(
            await ctx.db.for_writes(), target, actor=audit_actor(ctx.principal),
            client=client_info(info),
        )  # fmt: skip
    except GdprRefusalError as error:
        return DataExportPayload(user_errors=refusal_errors(error))
    await ArqJobQueue(ctx.redis).enqueue(
        exports.BUILD_EXPORT_JOB, str(record.id), job_id=exports.export_job_id(record.id)
    )
    return DataExportPayload(data_export=_export(info, record))


async def data_export(info: Info, id: strawberry.ID) -> DataExport:
    try:
        export_id = uuid.UUID(str(id))
    except ValueError:
        raise NotFoundError(f"no data export with id {id}", field="id") from None
    record = await exports.fetch_export(await info.context.db.get(), export_id)
    principal = principal_of(info)
    if record is None or (record.user_id != principal.user_id and not principal.is_admin):
        raise NotFoundError(f"no data export with id {id}", field="id")
    return _export(info, record)


async def request_account_erasure(
    info: Info, input: RequestAccountErasureInput
) -> AccountErasurePayload:
    ctx = info.context
    target = _target(info, input.user_id)
    if target == _signed_in_user(info) and not await profiles.password_matches(
        await ctx.db.for_writes(), target, input.password or ""
    ):
        return AccountErasurePayload(
            user_errors=input_errors(profiles.wrong_password("password").problems)
        )
    try:
        result = await erasure.erase_account(
            await ctx.db.for_writes(), ctx.redis, target, actor=audit_actor(ctx.principal),
            client=client_info(info),
        )  # fmt: skip
    except GdprRefusalError as error:
        return AccountErasurePayload(user_errors=refusal_errors(error))
    return AccountErasurePayload(
        erased=True, sessions_revoked=result.sessions_revoked, orders_kept=result.orders_kept
    )


async def audit_log(
    info: Info, flt: AuditLogFilter | None, *,
    first: int | None, after: str | None, last: int | None, before: str | None,
) -> AuditEntryConnection:  # fmt: skip
    limit, backwards = validate_page_args(
        first=first, after=after, last=last, before=before,
        max_page_size=info.context.settings.max_page_size,
    )  # fmt: skip
    given = flt or AuditLogFilter()
    service_filter = queries.AuditFilter(
        # An actorId is a User's: its kind is USER unless another is asked for.
        actor_kind=given.actor_kind or ("USER" if given.actor_id is not None else None),
        actor_id=decode_int_id(given.actor_id, "User", field="actorId")
        if given.actor_id is not None
        else None,
        action=given.action,
        subject_type=given.subject_type,
        subject_id=given.subject_id,
        subject_user_id=decode_int_id(given.subject_user_id, "User", field="subjectUserId")
        if given.subject_user_id is not None
        else None,
        since=given.since,
        until=given.until,
    )
    decode = queries.decode_entry_cursor
    conn = await info.context.db.get()
    page = await queries.fetch_page(
        conn, service_filter, limit=limit, backwards=backwards,
        after=decode_or_bad_input(partial(decode, argument="after"), after),
        before=decode_or_bad_input(partial(decode, argument="before"), before),
    )  # fmt: skip
    edges = [
        AuditEntryEdge(cursor=queries.encode_entry_cursor(row["id"]), node=AuditEntry.from_row(row))
        for row in page.rows
    ]

    async def count() -> int:
        return await queries.count(await info.context.db.get(), service_filter)

    return AuditEntryConnection(
        edges=edges,
        page_info=PageInfo.of(
            edges, has_next_page=page.has_next_page, has_previous_page=page.has_previous_page
        ),
        count=count,
    )


def _profile(found: profiles.Profile) -> Profile:
    return Profile(full_name=found.full_name, phone=found.phone, address=found.address)


async def my_profile(info: Info) -> Profile | None:
    found = await profiles.read_profile(
        await info.context.db.get(), _cipher(info), _signed_in_user(info)
    )
    return None if found is None else _profile(found)


async def update_profile(info: Info, input: UpdateProfileInput) -> ProfilePayload:
    ctx = info.context
    changes = {"fullName": input.full_name, "phone": input.phone, "address": input.address}
    try:
        found = await profiles.update_profile(
            await ctx.db.for_writes(), _cipher(info), _signed_in_user(info), changes,
            actor=audit_actor(ctx.principal), client=client_info(info),
        )  # fmt: skip
    except profiles.ProfileRefusedError as error:
        return ProfilePayload(user_errors=input_errors(error.problems))
    return ProfilePayload(profile=_profile(found))


async def change_password(info: Info, input: ChangePasswordInput) -> ChangePasswordPayload:
    try:
        await profiles.change_password(
            await info.context.db.for_writes(), _signed_in_user(info), input.current_password,
            input.new_password, client=client_info(info),
        )  # fmt: skip
    except profiles.ProfileRefusedError as error:
        return ChangePasswordPayload(user_errors=input_errors(error.problems))
    return ChangePasswordPayload(changed=True)


async def set_user_role(info: Info, input: SetUserRoleInput) -> SetUserRolePayload:
    ctx = info.context
    user_id = decode_int_id(input.user_id, "User", field="userId")
    dealer_id = (
        decode_int_id(input.dealer_id, "Dealer", field="dealerId")
        if input.dealer_id is not None
        else None
    )
    try:
        await profiles.set_role(
            await ctx.db.for_writes(), user_id, input.role, dealer_id,
            actor=audit_actor(ctx.principal), client=client_info(info),
        )  # fmt: skip
    except profiles.ProfileRefusedError as error:
        return SetUserRolePayload(user_errors=input_errors(error.problems))
    return SetUserRolePayload(changed=True)
