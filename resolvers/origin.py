"""Who made a request and from where, as the audit log records it."""

from __future__ import annotations

from auth.principal import Principal, PrincipalKind
from schema.context import Info
from services.audit.log import ANONYMOUS, AuditActor, ClientInfo


def audit_actor(principal: Principal) -> AuditActor:
    """The principal as an audit entry's actor."""
    if principal.kind is PrincipalKind.USER and principal.user_id is not None:
        return AuditActor.user(principal.user_id)
    if principal.kind is PrincipalKind.PARTNER and principal.partner_id is not None:
        return AuditActor.partner(principal.partner_id)
    return ANONYMOUS


def client_info(info: Info) -> ClientInfo:
    """The request's client address and User-Agent."""
    request = info.context.request
    address = request.client.host if request.client is not None else None
    return ClientInfo(address=address, user_agent=request.headers.get("user-agent"))
