"""The token check, for WebSocket handshakes and HTTP requests alike: `Authorization: Bearer T` or `?token=T`."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from websockets.http11 import Request


def offered_token(authorization: str, target: str) -> str:
    """The token a request offers: the Bearer header's, else the `token` query parameter's ("" for none)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    values = parse_qs(urlsplit(target).query).get("token", [])
    return values[0] if values else ""


def token_ok(expected: str, authorization: str, target: str) -> bool:
    """True when the request offers `expected`, compared in constant time."""
    return hmac.compare_digest(offered_token(authorization, target).encode("utf-8"), expected.encode("utf-8"))


def token_matches(expected: str, request: Request) -> bool:
    """A WebSocket handshake's (or the gate's HTTP request's) token check."""
    return token_ok(expected, request.headers.get("Authorization", ""), request.path)


def headers_token_matches(expected: str, headers: Mapping[str, str], target: str) -> bool:
    """An upload's token check: `headers` with lower-case names, `target` the request's path and query."""
    return token_ok(expected, headers.get("authorization", ""), target)
