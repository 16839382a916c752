"""Which network addresses a webhook may reach: public ones only, unless allowed.

A callback URL is chosen by the client, so without this rule the API would POST to
itself, to the cloud metadata service or to anything on the private network (SSRF).
The rule is on addresses, not on spellings: `127.1`, `0x7f000001`, `2130706433` and
`[::ffff:127.0.0.1]` are all 127.0.0.1. Name resolution is I/O, so it is passed in.

Python's `ipaddress.is_global` is not the rule: it calls several of IANA's
special-purpose ranges global (192.0.0.9, 192.88.99.0/24, the NAT64 prefix 64:ff9b::/96,
whose addresses carry any IPv4 address, loopback included). Every range in IANA's IPv4
and IPv6 special-purpose registries is refused by name, and an IPv6 address outside
2000::/3 (the global unicast space) is refused as reserved.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from app.domain.errors import InvalidCallbackUrl

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]

# IANA's special-purpose address registries (IPv4 and IPv6), each with what it is for.
_SPECIAL_PURPOSE = tuple(
    (ipaddress.ip_network(network), purpose)
    for network, purpose in (
        ("0.0.0.0/8", "'this network'"),
        ("100.64.0.0/10", "shared carrier-grade NAT"),
        ("192.0.0.0/24", "IETF protocol assignment"),
        ("192.0.2.0/24", "documentation"),
        ("192.31.196.0/24", "AS112 anycast"),
        ("192.52.193.0/24", "AMT anycast"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.175.48.0/24", "AS112 anycast"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
        ("64:ff9b::/96", "NAT64 translation"),
        ("64:ff9b:1::/48", "NAT64 translation"),
        ("100::/64", "discard-only"),
        ("100:0:0:1::/64", "dummy prefix"),
        ("2001::/23", "IETF protocol assignment"),
        ("2001:db8::/32", "documentation"),
        ("2002::/16", "6to4"),
        ("2620:4f:8000::/48", "AS112 anycast"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing"),
    )
)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")

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
        ("private", ip.is_private and not _special_purpose(ip)),
    )
    named = next((name for name, hit in checks if hit), None)
    if named:
        return named
    special = _special_purpose(ip)
    if special:
        return f"special-purpose {special}"
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST_V6:
        return "reserved (outside 2000::/3)"
    if ip.is_reserved:
        return "reserved"
    return None if ip.is_global else "not globally routable"


def _special_purpose(ip: Address) -> str | None:
    return next(
        (
            purpose
            for network, purpose in _SPECIAL_PURPOSE
            if ip.version == network.version and ip in network
        ),
        None,
    )


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
