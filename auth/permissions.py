"""Strawberry permission classes: who may call a field.

Put them on a field with `requires(...)`; they run in order before the resolver, and the
first that refuses decides the error:
- nobody signed in -> UNAUTHENTICATED,
- signed in without the right -> FORBIDDEN.

    IsAuthenticated        a user or a partner
    IsUser                 a signed-in user (not a partner key)
    HasRole(*roles)        a user with one of these roles
    IsStaff (STAFF)        an admin: the one staff permission of every staff-only field
    ListsForOwnDealer      createVehicle: a dealer lists only for their own dealer
    OwnershipPermission    base: admins pass, others must own the resource `owner` finds
     ├── IsVehicleOwner    the vehicle named by `input` belongs to the caller's dealer
     ├── IsOrderOwner      the order named by `input`, `orderId` or `id` is the caller's
     └── IsPaymentOwner    the payment named by `input` is for an order of the caller's
    CanOrder               a buyer or a partner: who may place orders

Schema directives are off (`use_directives=False`): a permission is documented in the
field's description, and the SDL stays free of server-only directives.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Protocol

from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from auth.principal import ANONYMOUS, Principal, PrincipalKind
from models.account import UserRole
from schema.errors import ForbiddenError, UnauthenticatedError
from schema.ids import decode_int_id

SIGN_IN_MESSAGE = "Sign in first: send Authorization: Bearer <access token>, or an API key."


def requires(*permissions: BasePermission) -> PermissionExtension:
    """The field extension that runs `permissions` in order before the resolver."""
    return PermissionExtension(permissions=list(permissions), use_directives=False)


def principal_of(info: Info[Any, Any]) -> Principal:
    """The caller, as authentication left it on the context (anonymous if absent)."""
    principal = getattr(info.context, "principal", ANONYMOUS)
    return principal if isinstance(principal, Principal) else ANONYMOUS


def _signed_in(info: Info[Any, Any]) -> Principal:
    principal = principal_of(info)
    if not principal.is_authenticated:
        raise UnauthenticatedError(SIGN_IN_MESSAGE)
    return principal


class _Permission(BasePermission):
    message = "You are not allowed to do this."

    def on_unauthorized(self) -> None:
        raise ForbiddenError(self.message or "You are not allowed to do this.")


class IsAuthenticated(_Permission):
    """Any signed-in user or partner."""

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        _signed_in(info)
        return True


class IsUser(_Permission):
    """A signed-in user; a partner key is not a user."""

    message = "Only a signed-in user may do this, not a partner key."

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return _signed_in(info).kind is PrincipalKind.USER


class HasRole(_Permission):
    """A signed-in user holding one of `roles`."""

    def __init__(self, *roles: UserRole) -> None:
        self.roles = frozenset(roles)
        self.message = "Requires the role " + " or ".join(sorted(role.value for role in roles))

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = _signed_in(info)
        return principal.kind is PrincipalKind.USER and principal.role in self.roles


class IsStaff(HasRole):
    """Staff: a signed-in ADMIN user; the one permission every staff-only field uses."""

    def __init__(self) -> None:
        super().__init__(UserRole.ADMIN)


STAFF = IsStaff()


class DealerReference(Protocol):
    def dealer_key(self) -> int | None:
        """The dealer's primary key named by the input, None when it names none."""


class ListsForOwnDealer(_Permission):
    """Admins list vehicles for any dealer; a dealer only for their own (or unnamed) dealer."""

    message = "A dealer may list vehicles only for their own dealer."

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = _signed_in(info)
        if principal.is_admin:
            return True
        if principal.role is not UserRole.DEALER:
            return False
        reference: DealerReference = kwargs["input"]
        dealer = reference.dealer_key()
        return dealer is None or dealer == principal.dealer_id


@dataclass(frozen=True, slots=True)
class Owner:
    """Who owns a resource: a buyer (user), a dealer, a partner; any may be unset."""

    user_id: int | None = None
    dealer_id: int | None = None
    partner_id: int | None = None

    def includes(self, principal: Principal) -> bool:
        """Whether `principal` is one of the owners."""
        if principal.kind is PrincipalKind.USER:
            return (self.user_id is not None and self.user_id == principal.user_id) or (
                self.dealer_id is not None and self.dealer_id == principal.dealer_id
            )
        if principal.kind is PrincipalKind.PARTNER:
            return self.partner_id is not None and self.partner_id == principal.partner_id
        return False

    @classmethod
    def of_order(cls, row: Any) -> Owner:
        """An order's owners: its buyer and the partner that placed it."""
        return cls(user_id=row["buyer_id"], partner_id=row["partner_id"])


def may_act_on(principal: Principal, owner: Owner) -> bool:
    """The ownership rule: staff act on everything, anyone else only on what they own."""
    return principal.is_admin or owner.includes(principal)


class OwnershipPermission(_Permission, abc.ABC):
    """Admins pass; anyone else must be among the owners of the resource `owner` finds.

    When `owner` finds nothing the check passes and the resolver answers NOT_FOUND:
    the catalog is public, so existence is no secret. Subclass it for orders and payments
    (`Owner(user_id=buyer, partner_id=partner)`).
    """

    message = "Only its owner or an admin may do this."

    async def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = _signed_in(info)
        if principal.is_admin:
            return True  # staff: no need to look the resource up
        owner = await self.owner(source, info, **kwargs)
        return owner is None or may_act_on(principal, owner)

    @abc.abstractmethod
    async def owner(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> Owner | None:
        """The owners of the resource this field acts on, None when there is none."""


class VehicleReference(Protocol):
    def vehicle_key(self) -> int:
        """The vehicle's primary key named by the input (decoded from its global ID)."""


class IsVehicleOwner(OwnershipPermission):
    """The vehicle named by the `input` argument belongs to the caller's dealer."""

    message = "Only the dealer that lists this vehicle, or an admin, may change it."

    async def owner(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> Owner | None:
        reference: VehicleReference = kwargs["input"]
        row = await info.context.loaders.vehicle_by_id.load(reference.vehicle_key())
        return None if row is None else Owner(dealer_id=row["dealer_id"])


class OrderReference(Protocol):
    def order_key(self) -> int:
        """The order's primary key named by the input (decoded from its global ID)."""


class IsOrderOwner(OwnershipPermission):
    """The order named by `input` (or the `orderId` or `id` argument) is the caller's: its
    buyer, or the partner that placed it. Staff act on every order."""

    message = "Only the order's buyer, the partner that placed it, or staff may do this."

    async def owner(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> Owner | None:
        reference: OrderReference | None = kwargs.get("input")
        if reference is not None:
            order_id = reference.order_key()
        elif "order_id" in kwargs:
            order_id = decode_int_id(kwargs["order_id"], "Order", field="orderId")
        else:
            order_id = decode_int_id(kwargs["id"], "Order")
        row = await info.context.loaders.order_by_id.load(order_id)
        return None if row is None else Owner.of_order(row)


class PaymentReference(Protocol):
    def payment_key(self) -> int:
        """The payment's primary key named by the input (decoded from its global ID)."""


class IsPaymentOwner(OwnershipPermission):
    """The payment named by `input` is for an order of the caller's (as IsOrderOwner)."""

    message = "Only the order's buyer, the partner that placed it, or staff may do this."

    async def owner(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> Owner | None:
        reference: PaymentReference = kwargs["input"]
        payment = await info.context.loaders.payment_by_id.load(reference.payment_key())
        if payment is None:
            return None
        row = await info.context.loaders.order_by_id.load(payment["order_id"])
        return None if row is None else Owner.of_order(row)


class CanOrder(_Permission):
    """Buyers and partners place orders; dealers and staff do not buy."""

    message = "Only a buyer or a partner may place orders."

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal = _signed_in(info)
        return principal.kind is PrincipalKind.PARTNER or principal.role is UserRole.BUYER
