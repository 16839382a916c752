"""Which network addresses a webhook may reach: public ones only, unless allowed.

A callback URL is chosen by the client, so without this rule the API would POST to
itself, to the cloud metadata service or to anything on the private network (SSRF).
The rule is on addresses, not on spellings: `127.1`, `0x7f000001`, `2130706433` and
`[::ffff:127.0.0.1]` are all 127.0.0.1. Name resolution is I/O, so it is passed in.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from app.domain.errors import InvalidCallbackUrl

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]

# Names that mean "this machine" or "the cloud's metadata service" before any lookup.
INTERNAL_NAMES = ("localhost", "metadata.google.internal", "metadata", "instance-data")


def parse_address(host: str) -> Address | None:
    """The address a literal host means, in any spelling C's inet_aton accepts; else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not host or not all(c in "0123456789abcdefxABCDEFX." for c in host):
        return None  # a name (e.g. "bad.example"), not a number in another base
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _embedded(ip: Address) -> list[Address]:
    """IPv4 addresses carried inside an IPv6 one (mapped, 6to4, Teredo)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    inner = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    return [address for address in inner if address is not None]


def forbidden_reason(ip: Address) -> str | None:
    """Why a webhook may not reach `ip` (None when it is a public unicast address)."""
    for inner in _embedded(ip):
        reason = forbidden_reason(inner)
        if reason:
            return reason
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not globally routable", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _internal_name(host: str) -> bool:
    name = host.lower().rstrip(".")
    return any(name == n or name.endswith("." + n) for n in INTERNAL_NAMES)


def checked_addresses(host: str, *, resolve: Resolver | None, allow_private: bool) -> list[str]:
    """The addresses `host` may be reached at; raises InvalidCallbackUrl naming the rule.

    Every address a name resolves to is checked (a name with one private address among
    public ones is refused: the client could get either). Without `resolve`, only literal
    addresses and well-known internal names are judged, and [] is returned for a name.
    """
    literal = parse_address(host)
    if allow_private:
        if literal is not None:
            return [str(literal)]
        return resolve(host) if resolve else []
    hint = "set VIDEO_JOBS_WEBHOOK_ALLOW_PRIVATE=true to allow it"
    if literal is None and _internal_name(host):
        raise InvalidCallbackUrl(f"callback_url host {host!r} is an internal name; {hint}")
    if literal is not None:
        addresses = [literal]
    elif resolve is None:
        return []
    else:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host)]
        except OSError as exc:
            message = f"callback_url host {host!r} does not resolve: {exc}"
            raise InvalidCallbackUrl(message) from exc
        if not addresses:
            raise InvalidCallbackUrl(f"callback_url host {host!r} does not resolve")
    for ip in addresses:
        reason = forbidden_reason(ip)
        if reason:
            raise InvalidCallbackUrl(
                f"callback_url host {host!r} is or resolves to {ip}, a {reason} address; {hint}"
            )
    return [str(ip) for ip in addresses]
