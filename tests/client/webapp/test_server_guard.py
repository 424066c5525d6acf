"""The web app's access rules, over real HTTP on loopback: each refusal of guard.py, and the way in."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dictation_devtools.polling import wait_for
from tray_client.webapp.api import AppHooks
from tray_client.webapp.guard import COOKIE, CSRF_HEADER, Guard
from tray_client.webapp.server import WebServer


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[WebServer, Guard]]:
    saved: list[dict[str, object]] = []
    server = WebServer(AppHooks(config_file=str(tmp_path / "config.toml"),
                                history_file=tmp_path / "history.sqlite3", on_saved=saved.append))
    guard = server.start()
    yield server, guard
    server.stop()


def request(guard: Guard, method: str, path: str, headers: dict[str, str] | None = None,
            body: bytes | None = None, host: str | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", guard.port, timeout=30)
    connection.putrequest(method, path, skip_host=True)
    connection.putheader("Host", host if host is not None else f"127.0.0.1:{guard.port}")
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(len(body or b"")))
    connection.endheaders(body)
    response = connection.getresponse()
    response.read_body = response.read()  # type: ignore[attr-defined]
    return response


def signed_in(guard: Guard) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={guard.session}"}


def writer(guard: Guard) -> dict[str, str]:
    return {**signed_in(guard), "Origin": f"http://127.0.0.1:{guard.port}", CSRF_HEADER: guard.csrf,
            "Content-Type": "application/json"}


def test_the_login_url_gives_an_httponly_strict_cookie_and_then_the_data(served) -> None:
    _server, guard = served
    login = request(guard, "GET", guard.login_url("history").removeprefix(f"http://127.0.0.1:{guard.port}"))
    assert login.status == 303
    assert login.getheader("Location") == "/#history"
    cookie = login.getheader("Set-Cookie")
    assert f"{COOKIE}={guard.session}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    session = request(guard, "GET", "/api/session", signed_in(guard))
    assert session.status == 200 and json.loads(session.read_body)["csrf"] == guard.csrf


@pytest.mark.parametrize("path", ["/", "/api/settings", "/api/history", "/api/session", "/static/app.js",
                                  "/api/export/csv"])
def test_without_the_secret_there_is_no_page_and_no_data(served, path: str) -> None:
    _server, guard = served
    assert request(guard, "GET", path).status == 401
    assert request(guard, "GET", path, {"Cookie": f"{COOKIE}=guessed"}).status == 401


def test_a_wrong_login_key_is_refused_and_sets_no_cookie(served) -> None:
    _server, guard = served
    for path in ("/login", "/login?k=", f"/login?k={guard.secret[:-1]}x"):
        response = request(guard, "GET", path)
        assert response.status == 403 and response.getheader("Set-Cookie") is None


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1", "127.0.0.1:1",
                                  "[::1]:{port}", ""])
def test_a_foreign_host_header_is_refused_even_with_the_cookie_and_key(served, host: str) -> None:
    """DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends its own Host."""
    _server, guard = served
    host = host.format(port=guard.port)
    assert request(guard, "GET", "/api/settings", signed_in(guard), host=host).status == 421
    assert request(guard, "GET", f"/login?k={guard.secret}", host=host).status == 421


def test_localhost_is_the_same_app(served) -> None:
    _server, guard = served
    assert request(guard, "GET", "/api/settings", signed_in(guard), host=f"localhost:{guard.port}").status == 200


def test_a_change_from_another_origin_is_refused(served) -> None:
    _server, guard = served
    body = json.dumps({"min_silence_ms": "300"}).encode()
    for origin in ("http://evil.example", f"http://localhost:{guard.port + 1}", "null"):
        headers = {**writer(guard), "Origin": origin}
        assert request(guard, "POST", "/api/settings", headers, body).status == 403
    headers = writer(guard)
    del headers["Origin"]
    assert request(guard, "POST", "/api/settings", headers, body).status == 403


def test_a_change_without_the_csrf_token_is_refused_and_writes_nothing(served, tmp_path: Path) -> None:
    _server, guard = served
    body = json.dumps({"min_silence_ms": "300"}).encode()
    for token in (None, "", "wrong"):
        headers = writer(guard)
        if token is None:
            del headers[CSRF_HEADER]
        else:
            headers[CSRF_HEADER] = token
        assert request(guard, "POST", "/api/settings", headers, body).status == 403
        assert request(guard, "DELETE", "/api/history/1", headers).status == 403
    assert not (tmp_path / "config.toml").exists()
    saved = request(guard, "POST", "/api/settings", writer(guard), body)
    assert saved.status == 200, saved.read_body
    assert "min_silence_ms = 300" in (tmp_path / "config.toml").read_text()


def test_nothing_listens_beyond_loopback(served) -> None:
    _server, guard = served
    import psutil

    listening = [c for c in psutil.net_connections("tcp") if c.status == "LISTEN" and c.laddr.port == guard.port]
    assert listening and all(c.laddr.ip == "127.0.0.1" for c in listening)


class _Meter:
    """The microphone stands in (no audio device here): a level that rises."""

    def __init__(self, device: str | None) -> None:
        self.device, self.error, self.closed, self._level = device, "", False, 0.0

    def read(self) -> float:
        self._level = min(1.0, self._level + 0.25)
        return self._level

    def close(self) -> None:
        self.closed = True


def test_the_level_meter_streams_server_sent_events_and_closes_the_mic(tmp_path: Path) -> None:
    meters: list[_Meter] = []
    server = WebServer(AppHooks(config_file=str(tmp_path / "c.toml"), history_file=tmp_path / "h.sqlite3",
                                level=lambda device: meters.append(_Meter(device)) or meters[-1]))
    guard = server.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", guard.port, timeout=30)
        connection.request("GET", "/api/level?device=USB", headers={**signed_in(guard),
                                                                     "Host": f"127.0.0.1:{guard.port}"})
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"
        events: list[dict[str, object]] = []
        while len(events) < 4:
            line = response.readline().decode().strip()
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
        assert [event["level"] for event in events][-1] > 0 and meters[0].device == "USB"
        connection.close()
        assert wait_for(lambda: meters[0].closed, 30)
        assert request(guard, "GET", "/api/level").status == 401  # no cookie, no microphone
    finally:
        server.stop()
