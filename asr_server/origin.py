"""Who may talk to the server from a browser: the Host and Origin rules for every request on the port.

Pure: header values in, a refusal (or None) out. Two attacks from a web page the user happens to visit:
- DNS rebinding: a page on `rebind.example` makes its name resolve to 127.0.0.1; the browser then sends our server
  requests with `Host: rebind.example` and lets the page read the answers. A server that answers only its own
  names (IP addresses, localhost, --host, --allowed-hosts) is immune: a rebinding page cannot send another Host.
- Cross-site requests: any page may open a WebSocket or POST a form to 127.0.0.1 (no CORS preflight for either).
  Browsers always send `Origin` with both, so a request whose Origin is present and not allowed is refused.
  Programs that are not browsers (the tray client, curl, OpenAI client libraries) send no Origin and pass.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused (HTTP 403), in words that say which setting lets it through."""

    message: str


@dataclass(frozen=True)
class OriginPolicy:
    """The server's own names and the web origins allowed besides its own; see the module docstring."""

    hosts: frozenset[str]
    origins: frozenset[str]

    @classmethod
    def build(cls, listen_host: str, allowed_hosts: tuple[str, ...], allowed_origins: tuple[str, ...]) -> OriginPolicy:
        """Loopback names, the listening host (unless a wildcard address) and the configured names."""
        hosts = {*_LOOPBACK_NAMES, *(name.strip().lower().rstrip(".") for name in allowed_hosts)}
        if listen_host not in ("", "0.0.0.0", "::"):
            hosts.add(listen_host.lower())
        origins = frozenset(origin.strip().lower().rstrip("/") for origin in allowed_origins)
        return cls(frozenset(hosts), origins)

    def check(self, host: str | None, origin: str | None) -> Refusal | None:
        """None when `Host` names this server and `Origin` (when present) is allowed; else the refusal."""
        name = host_name(host or "")
        if not self.host_allowed(name):
            return Refusal(f"Host {host!r} is not a name of this server (DNS rebinding protection): connect to "
                           "127.0.0.1 or localhost, or add the name to --allowed-hosts")
        if origin is not None and not self.origin_allowed(origin, host or ""):
            return Refusal(f"Origin {origin!r} may not use this server (a web page other than the server's own): "
                           "add it to --allowed-origins to allow it")
        return None

    def host_allowed(self, name: str) -> bool:
        """IP literals (a rebinding page cannot send one), loopback names and the configured names."""
        if "*" in self.hosts or name in self.hosts:
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    def origin_allowed(self, origin: str, host: str) -> bool:
        """The server's own origin (same host and port as the request's Host) or a configured one."""
        normalized = origin.strip().lower().rstrip("/")
        if "*" in self.origins or normalized in self.origins:
            return True
        parts = urlsplit(normalized)
        return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host.strip().lower()


def host_name(host: str) -> str:
    """`Host` without its port, lower-case: `[::1]:8765` -> `::1`, `LocalHost.:80` -> `localhost`."""
    value = host.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")
