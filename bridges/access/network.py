"""Source addresses and IP/CIDR allow-lists (IPv4 and IPv6)."""

from __future__ import annotations

import ipaddress
import re

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allow_list(text: str) -> list[Network]:
    """Addresses or CIDR ranges separated by commas, spaces or new lines. Raises ValueError
    naming the first bad entry."""
    networks = []
    for entry in re.split(r"[\s,]+", text or ""):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"'{entry}' is not an IP address or CIDR range") from None
    return networks


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or the address the configured number of trusted proxies saw."""
    hops = settings.ORDERFLOW_TRUSTED_PROXY_HOPS
    if hops > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                     if p.strip()]
        # Each trusted proxy appends the address it received from; the client's is the one
        # the outermost trusted proxy appended. Anything further left is client-supplied.
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR")


def ip_allowed(address: str | None, networks: list[Network]) -> bool:
    if not networks:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:203.0.113.7 is 203.0.113.7
    return any(ip.version == net.version and ip in net for net in networks)
