"""Name resolution for the webhook address rule (domain/destinations.py)."""

from __future__ import annotations

import socket


def resolve_host(host: str) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6), de-duplicated, in resolver order."""
    infos = socket.getaddrinfo(host.strip("[]"), None, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for *_rest, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)
