"""Where a feed may be fetched from: public internet addresses only.

A feed URL is named by staff, and the fetch runs inside our network: without a rule, a
URL could reach the database, Redis, the metrics endpoint or a cloud metadata service.
So the host is resolved and every address it resolves to must be public: loopback,
private, shared (100.64/10), link-local, multicast, reserved and unspecified addresses
are refused, as are IPv6 forms that carry one of them (IPv4-mapped, 6to4, Teredo).
Numeric spellings (`0x7f000001`, `2130706433`, `0177.1`) are resolved like any name,
so they meet the same rule.

The rule is applied twice: when a run is started (`check_host`, a userError naming
`url`), and at every connection the fetch opens (`GuardedBackend`, below httpx), which
covers redirects and a name that resolves differently the second time (DNS rebinding):
the connection goes to the very address that was checked. `FEED_ALLOWED_NETWORKS` opens
chosen networks (a feed server on the local network, the tests' server on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore

from services.errors import FieldProblem
from services.feeds.errors import FeedUnreadableError, StartRefusedError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
RESOLVE_TIMEOUT_SECONDS = 10.0


class FeedAddressRefusedError(FeedUnreadableError):
    """The feed's host is, or resolves to, an address feeds may not be fetched from."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(address: IPAddress) -> bool:
    """Whether `address` is a public (globally routed, unicast) internet address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def address_allowed(address: IPAddress, allowed: Sequence[IPNetwork]) -> bool:
    """Public, or inside one of the networks FEED_ALLOWED_NETWORKS opens."""
    return any(address in network for network in allowed) or is_public(address)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (a numeric host resolves to itself)."""
    loop = asyncio.get_running_loop()
    try:
        found = await asyncio.wait_for(
            loop.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM),
            RESOLVE_TIMEOUT_SECONDS,
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    addresses: list[IPAddress] = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


async def allowed_addresses(host: str, port: int, allowed: Sequence[IPNetwork]) -> list[IPAddress]:
    """The addresses of `host`, all of them allowed; `FeedAddressRefusedError` otherwise."""
    addresses = await resolve(host, port)
    if not addresses:
        raise FeedAddressRefusedError(f"the feed's host {host} does not resolve")
    if not all(address_allowed(address, allowed) for address in addresses):
        raise FeedAddressRefusedError(
            f"the feed's host {host} is not a public internet address (FEED_ALLOWED_NETWORKS "
            "opens chosen networks)"
        )
    return addresses


async def check_host(host: str, port: int, allowed: Sequence[IPNetwork]) -> None:
    """Vet a new run's URL host: `StartRefusedError` naming `url` if it may not be fetched."""
    try:
        await allowed_addresses(host, port, allowed)
    except FeedAddressRefusedError as error:
        raise StartRefusedError(
            FieldProblem("url", "FEED_URL_NOT_ALLOWED", error.reason[0].upper() + error.reason[1:])
        ) from None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to allowed addresses of a host."""

    def __init__(self, allowed: Sequence[IPNetwork]) -> None:
        self._allowed = tuple(allowed)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await allowed_addresses(host, port, self._allowed)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )  # fmt: skip
            except httpcore.ConnectError as error:
                last = error
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise FeedAddressRefusedError("feeds are not fetched over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
