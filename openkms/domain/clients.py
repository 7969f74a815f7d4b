"""Which source addresses count as one client, for the limits and records kept per client."""

import functools
import ipaddress

IPV6_CLIENT_PREFIX = 64


@functools.lru_cache(maxsize=65_536)
def client_group(address: str) -> str:
    """The addresses counted as one client: an IPv4 address, or an IPv6 address's /64, since one
    host is commonly given a whole /64 and could otherwise spread a flood over 2**64 budgets."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False))
    return str(parsed)
