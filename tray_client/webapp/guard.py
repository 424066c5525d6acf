"""Pure: the web app's access rules. A page in the user's browser can reach any loopback port, so every request
proves it comes from the window the tray opened.

- The tray opens `/login?k=SECRET`: a per-run secret (in the URL only once) exchanged for an HttpOnly,
  SameSite=Strict session cookie. Without the cookie nothing but the login is served: no data, no page.
- `Host` must be `127.0.0.1:PORT` or `localhost:PORT`: a DNS-rebinding page (evil.example resolving to 127.0.0.1)
  sends its own name and is refused.
- A state-changing request (anything but GET/HEAD) needs an `Origin` equal to the origin it was sent to and the
  CSRF token that only a page of ours can read (from /api/session, behind the cookie), in `X-CSRF-Token`.

Secrets are compared in constant time (`hmac.compare_digest`).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

__all__ = ["COOKIE", "CSRF_HEADER", "Guard", "Refusal"]

COOKIE = "qd_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
LOGIN_PATH = "/login"


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, and the HTTP status that says so."""

    status: int
    reason: str


@dataclass(frozen=True)
class Guard:
    """The rules for one run of the server on `port`; the secrets are made per run."""

    port: int
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}"})

    def login_url(self, page: str = "") -> str:
        """What the tray opens: the secret once, then the page (`#settings`, `#history`...)."""
        target = f"&page={page}" if page else ""
        return f"http://127.0.0.1:{self.port}{LOGIN_PATH}?k={self.secret}{target}"

    def check_host(self, host: str | None) -> Refusal | None:
        if (host or "").lower() not in self.hosts:
            return Refusal(421, f"wrong Host header {host!r}: open the app from the tray (127.0.0.1:{self.port})")
        return None

    def check_login(self, key: str | None) -> Refusal | None:
        if not key or not hmac.compare_digest(key.encode(), self.secret.encode()):
            return Refusal(403, "wrong or missing key: open the app from the tray menu (Settings…)")
        return None

    def check(self, method: str, host: str | None, origin: str | None, cookie: str | None,
              csrf: str | None) -> Refusal | None:
        """The rules for every request but the login, in order; None when it may go on."""
        refused = self.check_host(host)
        if refused is not None:
            return refused
        if not cookie or not hmac.compare_digest(cookie.encode(), self.session.encode()):
            return Refusal(401, "not signed in: open the app from the tray menu (Settings…)")
        if method.upper() in SAFE_METHODS:
            return None
        if origin is None or origin.lower() != f"http://{(host or '').lower()}":
            return Refusal(403, f"cross-origin request refused (Origin {origin!r})")
        if not csrf or not hmac.compare_digest(csrf.encode(), self.csrf.encode()):
            return Refusal(403, "missing or wrong CSRF token: reload the page")
        return None
