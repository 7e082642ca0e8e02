"""A user's own details (name, phone, address), their password, and staff role changes.

The details are personal data not needed for any query, so each is stored as a Fernet
token (services/crypto.py) and decrypted only to be shown to the person or to staff.
Every change is audited (services/audit/log.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.passwords import MAX_PASSWORD_LENGTH, hash_password, password_problem, verify_password
from models.account import User, UserRole
from services.audit.log import NO_CLIENT, AuditActor, ClientInfo, record
from services.crypto import FieldCipher
from services.errors import FieldProblem, FieldProblemsError

user_table: sa.Table = User.__table__  # type: ignore[attr-defined]

TEXT_LIMITS = {"fullName": 200, "phone": 32, "address": 500}
PHONE = re.compile(r"^\+?[0-9 ()./-]{6,32}$")


class ProfileRefusedError(FieldProblemsError):
    """A detail, password or role change breaks a rule; every field at fault is named."""


@dataclass(frozen=True, slots=True)
class Profile:
    full_name: str | None
    phone: str | None
    address: str | None


def _problems(values: dict[str, str | None]) -> list[FieldProblem]:
    problems = []
    for field, value in values.items():
        if value is None:
            continue
        if len(value) > TEXT_LIMITS[field]:
            limit = TEXT_LIMITS[field]
            problems.append(FieldProblem(field, "TEXT_LENGTH", f"At most {limit} characters."))
        elif field == "phone" and value and not PHONE.match(value):
            problems.append(FieldProblem(field, "PHONE_INVALID", "Not a telephone number."))
    return problems


async def read_profile(conn: AsyncConnection, cipher: FieldCipher, user_id: int) -> Profile | None:
    """The user's details, decrypted; None when there is no such user."""
    c = user_table.c
    row = (
        await conn.execute(
            sa.select(c.full_name_enc, c.phone_enc, c.address_enc).where(c.id == user_id)
        )
    ).first()
    if row is None:
        return None
    return Profile(
        cipher.decrypt(row.full_name_enc), cipher.decrypt(row.phone_enc),
        cipher.decrypt(row.address_enc),
    )  # fmt: skip


async def update_profile(
    engine: AsyncEngine,
    cipher: FieldCipher,
    user_id: int,
    changes: dict[str, str | None],
    *,
    actor: AuditActor,
    client: ClientInfo = NO_CLIENT,
) -> Profile:
    """Set the given details ("" clears one); `ProfileRefusedError` names the fields."""
    clean = {k: (v.strip() if v is not None else None) for k, v in changes.items()}
    problems = _problems(clean)
    if problems:
        raise ProfileRefusedError(problems)
    columns = {"fullName": "full_name_enc", "phone": "phone_enc", "address": "address_enc"}
    values = {columns[k]: cipher.encrypt(v or None) for k, v in clean.items() if v is not None}
    async with engine.begin() as conn:
        if values:
            await conn.execute(
                user_table.update().where(user_table.c.id == user_id).values(**values)
            )
            await record(
                conn, "account.profile_updated", actor=actor, client=client,
                subject=("User", user_id), subject_user_id=user_id,
                details={"fields": sorted(k for k, v in clean.items() if v is not None)},
            )  # fmt: skip
        profile = await read_profile(conn, cipher, user_id)
    assert profile is not None
    return profile


async def password_matches(engine: AsyncEngine, user_id: int, password: str) -> bool:
    """Whether `password` is the user's (re-authentication before a grave step)."""
    async with engine.connect() as conn:
        stored = await conn.scalar(
            sa.select(user_table.c.password_hash).where(user_table.c.id == user_id)
        )
    return await verify_password(stored, password[:MAX_PASSWORD_LENGTH])


def wrong_password(field: str) -> ProfileRefusedError:
    return ProfileRefusedError(
        [FieldProblem(field, "PASSWORD_INCORRECT", "The password is wrong.")]
    )


async def change_password(
    engine: AsyncEngine,
    user_id: int,
    current: str,
    new: str,
    *,
    client: ClientInfo = NO_CLIENT,
) -> None:
    """Replace the password after checking the current one."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(user_table.c.password_hash, user_table.c.email).where(
                    user_table.c.id == user_id
                )
            )
        ).first()
    stored = row.password_hash if row is not None else None
    if not await verify_password(stored, current[:MAX_PASSWORD_LENGTH]):
        raise wrong_password("currentPassword")
    assert row is not None
    weak = password_problem(new, email=row.email)
    if weak is not None:
        raise ProfileRefusedError([FieldProblem("newPassword", weak.code, weak.message)])
    new_hash = await hash_password(new)
    async with engine.begin() as conn:
        await conn.execute(
            user_table.update().where(user_table.c.id == user_id).values(password_hash=new_hash)
        )
        await record(
            conn, "account.password_changed", actor=AuditActor.user(user_id), client=client,
            subject=("User", user_id), subject_user_id=user_id,
        )  # fmt: skip


async def set_role(
    engine: AsyncEngine,
    user_id: int,
    role: UserRole,
    dealer_id: int | None,
    *,
    actor: AuditActor,
    client: ClientInfo = NO_CLIENT,
) -> None:
    """Give a user another role (a DEALER needs their dealer, other roles none)."""
    if (role is UserRole.DEALER) != (dealer_id is not None):
        raise ProfileRefusedError(
            [FieldProblem("dealerId", "REQUIRED", "A DEALER needs a dealer; other roles none.")]
        )
    try:
        async with engine.begin() as conn:
            before = await conn.scalar(
                sa.select(user_table.c.role).where(user_table.c.id == user_id).with_for_update()
            )
            if before is None:
                raise ProfileRefusedError(
                    [FieldProblem("userId", "USER_NOT_FOUND", "No user with this id.")]
                )
            await conn.execute(
                user_table.update()
                .where(user_table.c.id == user_id)
                .values(role=role.value, dealer_id=dealer_id)
            )
            await record(
                conn, "account.role_changed", actor=actor, client=client,
                subject=("User", user_id), subject_user_id=user_id,
                details={"from": before, "to": role.value, "dealer": dealer_id},
            )  # fmt: skip
    except IntegrityError:
        raise ProfileRefusedError(
            [FieldProblem("dealerId", "DEALER_NOT_FOUND", "No dealer with this id.")]
        ) from None


ENCRYPTED_COLUMNS = ("full_name_enc", "phone_enc", "address_enc")


async def reencrypt_all(engine: AsyncEngine, cipher: FieldCipher, *, batch: int = 500) -> int:
    """Re-encrypt every encrypted field under the first key (key rotation); rows changed."""
    c = user_table.c
    changed, after = 0, 0
    has_data = sa.or_(*(c[name].is_not(None) for name in ENCRYPTED_COLUMNS))
    while True:
        async with engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(c.id, *(c[name] for name in ENCRYPTED_COLUMNS))
                    .where(c.id > after, has_data)
                    .order_by(c.id)
                    .limit(batch)
                    .with_for_update()
                )
            ).all()
            if not rows:
                return changed
            for row in rows:
                values = {name: cipher.rotate(getattr(row, name)) for name in ENCRYPTED_COLUMNS}
                await conn.execute(user_table.update().where(c.id == row.id).values(**values))
                changed += 1
            after = rows[-1].id
