"""No route hands out data or takes an action without a token: every route of the app is called without
one, and with a token of a role that may do nothing there.

The routes are read from the app itself, so a route added later is checked without anyone listing it here.
The few that need no token are the page shells and their static files (they hold no data: a page reads its
token from ``?token=`` and every call it makes carries it), ``/healthz`` for load balancers, and the favicon.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dashboard.app import create_app
from dashboard.auth import parse_tokens

PUBLIC = {"/", "/favicon.ico", "/healthz", "/reports", "/staffing"}
PUBLIC_PREFIXES = ("/static", "/vendor/", "/docs", "/redoc", "/openapi.json")


def _app():
    # A Redis nobody listens on: refusing a caller must not need the live state.
    return create_app("redis://127.0.0.1:1/0", tokens=parse_tokens("ingest:ing,wall:w"))


def _walk(routes, prefix=""):
    for r in routes:
        inner = getattr(r, "original_router", None)  # an included router (FastAPI keeps it whole)
        if inner is not None:
            yield from _walk(inner.routes, prefix + r.include_context.prefix)
        elif isinstance(r, (APIRoute, APIWebSocketRoute)):
            yield prefix + r.path, sorted(getattr(r, "methods", None) or {"WS"})


def _routes():
    out = []
    for path, methods in _walk(_app().routes):
        if path not in PUBLIC and not path.startswith(PUBLIC_PREFIXES):
            out += [(m, re.sub(r"\{[^}]+\}", "x", path)) for m in methods if m != "HEAD"]
    return out


ROUTES = _routes()


def test_the_app_has_data_routes_to_check() -> None:
    paths = {p for _, p in ROUTES}
    assert {"/api/snapshot", "/api/alerts", "/metrics", "/ws", "/api/events", "/api/history", "/api/staffing",
            "/api/silences", "/api/alerts/x/ack"} <= paths, paths


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_without_a_token_nothing(method: str, path: str) -> None:
    client = TestClient(_app())
    if method == "WS":
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect(path) as ws:
                ws.receive_text()
        assert refused.value.code in (1008, 4401, 4001, 4003), refused.value.code
        return
    r = client.request(method, path, json={})
    assert r.status_code == 401, (r.status_code, r.text[:200])


def _forbidden(method: str, path: str) -> list[str]:
    """The roles (of the test's tokens) that must be refused on a route."""
    if path == "/api/events":
        return ["w"]  # a wall screen posts nothing
    # A ticket machine reads and changes nothing but its events; a wall screen changes nothing and reads
    # neither history, plans, the audit log nor the metrics.
    wall_may = method in ("GET", "WS") and not path.startswith(("/api/history", "/api/staffing", "/api/audit", "/metrics"))
    return ["ing"] if wall_may else ["ing", "w"]


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_a_role_that_may_not_is_refused(method: str, path: str) -> None:
    client = TestClient(_app())
    for token in _forbidden(method, path):
        if method == "WS":
            with pytest.raises(WebSocketDisconnect):
                with client.websocket_connect(f"{path}?token={token}") as ws:
                    ws.receive_text()
            continue
        r = client.request(method, path, json={}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 403, (token, r.status_code, r.text[:200])
