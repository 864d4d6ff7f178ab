"""The shared browser-library mechanism and the analyst role (dashboard/vendor.py, dashboard/auth.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dashboard.auth import parse_tokens
from dashboard.vendor import NODE_MODULES, vendor_router

ROOT = Path(__file__).resolve().parents[2]


def _client() -> TestClient:
    app = FastAPI()
    app.include_router(vendor_router())
    return TestClient(app)


def test_analyst_sits_between_wall_and_supervisor():
    t = parse_tokens("wall:w,analyst/ann:a,supervisor:s,admin:x")
    assert t["a"].allows("analyst") and t["a"].allows("wall") and not t["a"].allows("supervisor")
    assert t["s"].allows("analyst") and t["x"].allows("analyst") and not t["w"].allows("analyst")
    assert t["a"].name == "ann"


def test_echarts_is_pinned_in_the_lock_file():
    pkg = json.loads((ROOT / "dashboard" / "package.json").read_text())
    lock = json.loads((ROOT / "dashboard" / "package-lock.json").read_text())
    want = pkg["dependencies"]["echarts"]
    assert lock["packages"]["node_modules/echarts"]["version"] == want


@pytest.mark.skipif(not (NODE_MODULES / "echarts" / "dist" / "echarts.min.js").is_file(),
                    reason="dashboard/node_modules not installed (npm missing when make ran)")
def test_echarts_is_served_from_the_installed_package():
    r = _client().get("/vendor/echarts.min.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.content == (NODE_MODULES / "echarts" / "dist" / "echarts.min.js").read_bytes()


def test_absent_or_unknown_files_are_404(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOORWATCH_NODE_MODULES", str(tmp_path))
    c = _client()
    r = c.get("/vendor/echarts.min.js")
    assert r.status_code == 404 and "npm ci" in r.json()["detail"]
    # Only the listed files: nothing else of node_modules can be fetched.
    (tmp_path / "echarts").mkdir()
    (tmp_path / "echarts" / "package.json").write_text("{}")
    assert c.get("/vendor/package.json").status_code == 404
    assert c.get("/vendor/..%2Fecharts%2Fpackage.json").status_code == 404
