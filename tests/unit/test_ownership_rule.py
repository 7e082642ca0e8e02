"""One ownership rule and one staff permission: staff act on everything, anyone else on
what they own (an order: its buyer and the partner that placed it)."""

from __future__ import annotations

from auth.permissions import STAFF, HasRole, IsStaff, Owner, may_act_on
from auth.principal import ANONYMOUS, Principal
from models.account import UserRole

ORDER = {"buyer_id": 7, "partner_id": 3}
ADMIN = Principal.user(1, UserRole.ADMIN)
BUYER = Principal.user(7, UserRole.BUYER)
OTHER_BUYER = Principal.user(8, UserRole.BUYER)
PARTNER = Principal.partner(3)
OTHER_PARTNER = Principal.partner(4)
DEALER = Principal.user(9, UserRole.DEALER, dealer_id=5)


def test_an_orders_owners_are_its_buyer_and_its_partner() -> None:
    owner = Owner.of_order(ORDER)
    assert owner == Owner(user_id=7, partner_id=3)
    assert [may_act_on(p, owner) for p in (ADMIN, BUYER, PARTNER)] == [True] * 3
    assert [may_act_on(p, owner) for p in (OTHER_BUYER, OTHER_PARTNER, DEALER, ANONYMOUS)] == [
        False
    ] * 4


def test_a_dealer_owns_its_dealers_vehicles_only() -> None:
    assert may_act_on(DEALER, Owner(dealer_id=5))
    assert not may_act_on(DEALER, Owner(dealer_id=6))
    assert not may_act_on(PARTNER, Owner(dealer_id=5))


def test_a_user_owns_their_account() -> None:
    assert may_act_on(BUYER, Owner(user_id=7))
    assert not may_act_on(PARTNER, Owner(user_id=3))  # a partner id is no user id


def test_one_staff_permission_the_admin_role() -> None:
    assert isinstance(STAFF, IsStaff)
    assert isinstance(STAFF, HasRole)
    assert STAFF.roles == frozenset({UserRole.ADMIN})
    assert STAFF.message == "Requires the role ADMIN"
