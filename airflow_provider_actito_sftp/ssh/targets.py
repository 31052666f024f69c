"""Which servers the provider may connect to: the Host as typed, and the platform's allow-list,
``[actito_sftp] allowed_targets``.

The Host field holds the server alone: a name or an address, an IPv6 address with or without brackets (``[::1]`` is
read as ``::1``). A port, a user or a URL typed into it is refused with where each part goes (:func:`host_problem`):
the same words for a stored connection (:func:`checked_host`, field ``host``) and for a server named before a
connection exists (:func:`checked_target`, e.g. the page's host-key fetch).

Empty (the default), any server. Otherwise every connection the provider opens (a session, a host-key
fetch) is checked before anything is sent: the host must match a host name pattern, or its address an
address block, with the port in the entry's ports. A host name allowed only through an address block is
resolved once, here, and the connection goes to the address that was checked (a second lookup could answer
otherwise). Every refusal is the same :class:`~airflow_provider_actito_sftp.exceptions.TargetNotAllowedError`,
raised before any packet leaves, so its answer and timing tell nothing about the target.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from airflow_provider_actito_sftp.exceptions import (
    ConnectionConfigError,
    HostFieldError,
    PlatformConfigError,
    TargetNotAllowedError,
)
from airflow_provider_actito_sftp.platform_config import SECTION, option_text

OPTION = "allowed_targets"
DEFAULT_PORTS = (22, 22)
RESOLVE_TIMEOUT = 10.0
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# "[2001:db8::]/32:22", "203.0.113.0/24:22-2222", "*.partner.example:2222", "sftp.acme.example"
_ENTRY = re.compile(r"(?:\[(?P<bracketed>[^\]]+)\](?P<length>/\d+)?|(?P<plain>[^:]+))(?::(?P<ports>\d+(?:-\d+)?))?")
_HOST_PATTERN = re.compile(r"[A-Za-z0-9*?.-]+")
# What people type into a Host field besides the server: "sftp.example:2222", "[::1]:2222", "sftp://...", "me@..."
_HOST_AND_PORT = re.compile(r"(?:\[(?P<bracketed>[^\]]*)\]|(?P<plain>[^:\[\]]+)):(?P<port>[0-9]*)")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://.*")
_NOT_IN_A_HOST = re.compile(r"[\s/\\]")


def host_problem(host: str) -> str | None:
    """What is wrong with a Host as typed, and the fix; None for a server's name or address alone (``[::1]`` too).

    :param host: the Host field's value.
    """
    text = host.strip()
    if _URL.fullmatch(text):
        return _url_problem(text)
    user, at, server = text.rpartition("@")
    if at:
        return f"{text!r} holds a user: put {user!r} in the Username field, the server alone in Host ({server!r})"
    found = _HOST_AND_PORT.fullmatch(text)
    if found is not None:
        alone = found["bracketed"] if found["bracketed"] is not None else found["plain"]
        port = f"{found['port']} in the Port field" if found["port"] else "the port in the Port field"
        return f"{text!r} holds a port: put the server alone in Host ({alone!r}) and {port}"
    if text.startswith("[") or text.endswith("]"):
        inner = _address(text[1:-1]) if text.startswith("[") and text.endswith("]") else None
        if inner is None or inner.version != 6:
            return f"{text!r}: brackets hold an IPv6 address only (e.g. [2001:db8::1]); type a name or IPv4 bare"
    elif text.count(":") > 1 and _address(text) is None:
        return f"{text!r} is neither a host name nor an IP address"
    if _NOT_IN_A_HOST.search(text):
        return f"{text!r} is not a host name or address (it holds a space or a slash): type the server's name alone"
    return None


def _url_problem(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    fix = [f"put the server's name alone in Host ({parts.hostname or ''!r})"]
    if port is not None:
        fix.append(f"{port} in the Port field")
    if parts.username:
        fix.append(f"{parts.username!r} in the Username field")
    if parts.path.strip("/"):
        fix.append(f"the folder ({parts.path!r}) in a location")
    return f"{url!r} is a URL, not a server: " + ", ".join(fix)


def connect_host(host: str) -> str:
    """The host to connect to: ``host`` without surrounding spaces, an IPv6 address without its brackets."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        return text[1:-1]
    return text


def checked_host(conn_id: str, host: str) -> str:
    """A connection's Host, checked and as it is connected to (``[::1]`` -> ``::1``).

    :param conn_id: the connection, for the message.
    :param host: the Host field's value.
    :raises ConnectionConfigError: field ``host``: a port, a user or a URL in it (:func:`host_problem`).
    """
    problem = host_problem(host)
    if problem is not None:
        raise ConnectionConfigError(conn_id, "host", problem)
    return connect_host(host)


def host_and_port(host: str, port: int) -> str:
    """``host:port`` for messages, an IPv6 address in brackets (``[::1]:22``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class TargetRule:
    """One entry of the allow-list: a host name pattern or an address block, and a port range.

    :param host_pattern: a host name pattern (``*`` and ``?`` as in file names), lower case; None for a block.
    :param network: an address block; None for a host name pattern.
    :param ports: the first and last port allowed.
    """

    host_pattern: str | None
    network: IpNetwork | None
    ports: tuple[int, int] = DEFAULT_PORTS

    def allows_port(self, port: int) -> bool:
        return self.ports[0] <= port <= self.ports[1]

    def allows_name(self, host: str) -> bool:
        return self.host_pattern is not None and fnmatch.fnmatchcase(host.lower().rstrip("."), self.host_pattern)

    def allows_address(self, address: IpAddress) -> bool:
        return self.network is not None and address.version == self.network.version and address in self.network


def parse_rules(text: str) -> tuple[TargetRule, ...]:
    """The allow-list's entries; empty for an empty setting (any server).

    :param text: the setting's value: comma-separated entries.
    :raises PlatformConfigError: an entry that is neither a host pattern nor an address block, or bad ports.
    """
    return tuple(_parse_entry(entry.strip()) for entry in text.split(",") if entry.strip())


def _parse_entry(entry: str) -> TargetRule:
    if entry.count(":") > 1 and not entry.startswith("["):  # an IPv6 block without a port: 2001:db8::/32
        return TargetRule(None, _network(entry, entry), DEFAULT_PORTS)
    match = _ENTRY.fullmatch(entry)
    if match is None:
        raise _bad_entry(entry, "expected HOST-OR-BLOCK[:PORT[-PORT]]")
    ports = _ports(entry, match["ports"])
    if match["bracketed"] is not None:
        return TargetRule(None, _network(entry, match["bracketed"] + (match["length"] or "")), ports)
    plain = match["plain"].strip()
    try:
        return TargetRule(None, ipaddress.ip_network(plain, strict=False), ports)
    except ValueError:
        pass
    if not _HOST_PATTERN.fullmatch(plain):
        raise _bad_entry(entry, "a host name pattern has letters, digits, '.', '-', '*' and '?' only")
    return TargetRule(plain.lower().rstrip("."), None, ports)


def _network(entry: str, text: str) -> IpNetwork:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _bad_entry(entry, f"{text!r} is not an address block") from None


def _ports(entry: str, text: str | None) -> tuple[int, int]:
    if text is None:
        return DEFAULT_PORTS
    first, _, last = text.partition("-")
    low, high = int(first), int(last or first)
    if not 1 <= low <= high <= 65535:
        raise _bad_entry(entry, "ports run from 1 to 65535, the first not above the last")
    return low, high


def _bad_entry(entry: str, why: str) -> PlatformConfigError:
    return PlatformConfigError(f"[{SECTION}] {OPTION}: entry {entry!r} is not understood: {why}")


def configured_rules() -> tuple[TargetRule, ...]:
    """The allow-list from Airflow's configuration (empty: any server).

    :raises PlatformConfigError: the setting does not parse.
    """
    return parse_rules(option_text(OPTION))


async def checked_target(host: str, port: int, rules: tuple[TargetRule, ...] | None = None) -> str:
    """The host to connect to, once the allow-list allows it: ``host`` itself (an IPv6 address without brackets), or
    the address it was checked at when only an address block allows it.

    :param host: the server as configured (``[::1]`` is connected to as ``::1``).
    :param port: its port.
    :param rules: the allow-list (default: Airflow's configuration).
    :raises HostFieldError: ``host`` holds a port, a user or a URL besides the server (:func:`host_problem`).
    :raises TargetNotAllowedError: the allow-list does not allow it (the same error whatever the reason).
    :raises PlatformConfigError: the setting does not parse.
    """
    problem = host_problem(host)
    if problem is not None:
        raise HostFieldError(f"Host {problem}")
    host = connect_host(host)
    rules = configured_rules() if rules is None else rules
    if not rules:
        return host
    by_port = [rule for rule in rules if rule.allows_port(port)]
    literal = _address(host)
    if literal is not None:
        if any(rule.allows_address(literal) for rule in by_port):
            return host
        raise TargetNotAllowedError(host, port)
    if any(rule.allows_name(host) for rule in by_port):
        return host
    blocks = [rule for rule in by_port if rule.network is not None]
    if blocks:
        for address in await _resolve(host, port):
            if any(rule.allows_address(address) for rule in blocks):
                return str(address)
    raise TargetNotAllowedError(host, port)


def _address(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def _resolve(host: str, port: int) -> list[IpAddress]:
    """The addresses ``host`` resolves to (none if it does not), within :data:`RESOLVE_TIMEOUT`."""
    loop = asyncio.get_running_loop()
    try:
        answers = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT)
    except (OSError, TimeoutError, UnicodeError):
        return []
    addresses = [_address(str(answer[4][0])) for answer in answers]
    return [address for address in addresses if address is not None]
