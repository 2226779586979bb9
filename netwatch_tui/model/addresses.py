"""IP addresses as text, for the probe's socket map and /proc's socket tables alike."""

from __future__ import annotations

import functools
import ipaddress


@functools.lru_cache(maxsize=4096)
def address_text(packed: bytes) -> str:
    """An IPv4 (4 bytes) or IPv6 (16 bytes) address as text; an IPv4-mapped IPv6 address as the IPv4
    address it maps. Cached: a busy server's thousands of connections share a few addresses, and
    decoding each through ipaddress took most of the detail view's listing of them."""
    if len(packed) == 4:
        return str(ipaddress.IPv4Address(packed))
    address = ipaddress.IPv6Address(packed)
    return str(address.ipv4_mapped or address)
