"""Security headers on every page and API answer; /docs served by the hall, no CDN."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.api.auth import TokenRegistry
from controller.satisfaction.embedded import embedded_satisfaction_app
from tests.integration.api.conftest import Hall, auth

PATHS = [
    ("/api/state", "display", 200),
    ("/api/state", None, 401),
    ("/api/events?nothing", None, 401),
    ("/api/tickets/no-such-ticket", "floor", 404),
    ("/kiosk", None, 200),
    ("/dashboard", None, 200),
    ("/console", None, 200),
    ("/screen", None, 200),
    ("/t/20261123-A001", None, 404),  # by id: 404 with a hint (the QR code holds a token)
    ("/docs", None, 200),
    ("/openapi.json", None, 200),
    ("/metrics", "admin", 200),
    ("/no/such/page", None, 404),
]


@pytest.mark.parametrize(("path", "role", "status"), PATHS)
def test_every_answer_carries_the_security_headers(
    hall: Hall, path: str, role: str | None, status: int
) -> None:
    response = hall.client.get(path, headers=auth(role) if role else {})
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "http:" not in policy and "https:" not in policy


def test_a_refused_body_carries_them_too(hall: Hall) -> None:
    response = hall.client.post("/api/tickets", content=b'{"service": "SB"}')
    assert response.status_code == 401
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    "page", ["/kiosk", "/dashboard", "/console", "/screen", "/t/{token}", "/docs"]
)
def test_a_page_may_run_only_its_own_inline_script(hall: Hall, page: str) -> None:
    if "{token}" in page:  # the status page is addressed by its ticket's QR token
        status, ticket = hall.post("/api/tickets", "kiosk", {"service": "SB"})
        assert status == 201
        page = page.format(token=hall.runtime.ticket_links.token(ticket["id"]))
    response = hall.client.get(page)
    policy = response.headers["content-security-policy"]
    scripts = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    assert scripts, "every page has its inline script"
    directive = next(d for d in policy.split("; ") if d.startswith("script-src "))
    allowed = set(directive.split()[1:])
    wanted = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts
    }
    assert allowed == {"'self'"} | wanted
    injected = "alert(document.cookie)"  # what a stored script would hash to: not allowed
    bad = base64.b64encode(hashlib.sha256(injected.encode()).digest()).decode()
    assert f"'sha256-{bad}'" not in policy


def test_docs_load_their_files_from_the_hall_not_a_cdn(hall: Hall) -> None:
    page = hall.client.get("/docs").text
    assert "cdn" not in page.lower() and "https://" not in page and "http://" not in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/docs-assets/") for s in sources), sources
    for source in sources:
        asset = hall.client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 1000
        assert asset.headers["x-content-type-options"] == "nosniff"
    script = hall.client.get("/docs-assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in script.content
    assert hall.client.get("/docs-assets/..%2Fcore.py").status_code == 404
    assert hall.client.get("/redoc").status_code == 404  # its inline styles need a weaker CSP


def test_the_satisfaction_docs_under_the_hall_load_from_their_mount(
    hall: Hall, tmp_path: Path
) -> None:
    app = create_app(hall.runtime, TokenRegistry([]))
    satisfaction = embedded_satisfaction_app(hall.runtime.config, tmp_path, outbox_token="o" * 24)
    app.mount("/satisfaction", satisfaction)
    client = TestClient(app)
    page = client.get("/satisfaction/docs")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert (
        '"/satisfaction/openapi.json"' in page.text or "'/satisfaction/openapi.json'" in page.text
    )
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/satisfaction/docs-assets/") for s in sources), sources
    assert all(client.get(s).status_code == 200 for s in sources)


def test_an_unexpected_error_page_carries_them_too(hall: Hall) -> None:
    app = create_app(hall.runtime, TokenRegistry([]))

    @app.get("/broken-for-the-test")
    def broken() -> None:
        raise RuntimeError("a bug")

    response = TestClient(app, raise_server_exceptions=False).get("/broken-for-the-test")
    assert response.status_code == 500
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
