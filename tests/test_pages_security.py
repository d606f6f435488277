"""The web app's security: cookies, CSRF, content security policy, CORS, and no secret rendered."""
from __future__ import annotations

import re

import pytest

from web.app import create_app
from web.pages.session import SESSION_COOKIE


def _csrf(page: bytes) -> str:
    return re.search(rb'name="csrf-token" content="([0-9a-f]+)"', page).group(1).decode()


def _cookie_header(response, name: str) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def test_every_page_has_a_content_security_policy_and_loads_nothing_from_elsewhere(client):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<script>" not in response.data  # scripts are files of our own, never inline
    assert not re.search(rb'(src|href)="(https?:)?//', response.data)  # nothing from another site (no CDN)


def test_signing_in_with_a_token_sets_an_httponly_samesite_cookie_and_never_renders_the_token(client, farmer):
    form = client.get("/signin")
    response = client.post("/signin", data={"token": farmer.token, "csrf_token": _csrf(form.data)})
    assert response.status_code == 303 and response.headers["Location"] == "/me"
    cookie = _cookie_header(response, SESSION_COOKIE)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP on localhost only
    page = client.get("/me")
    assert page.status_code == 200 and farmer.token.encode() not in page.data


def test_the_session_cookie_is_secure_anywhere_but_plain_http_localhost(client, farmer):
    form = client.get("/signin", base_url="http://pool.example")
    response = client.post("/signin", base_url="http://pool.example",
                           data={"token": farmer.token, "csrf_token": _csrf(form.data)})
    assert "Secure" in _cookie_header(response, SESSION_COOKIE)


def test_a_form_without_its_csrf_token_is_refused_and_signs_nobody_in(client, farmer):
    response = client.post("/signin", data={"token": farmer.token})
    assert response.status_code == 403 and SESSION_COOKIE not in response.headers.get("Set-Cookie", "")


def test_a_wrong_token_does_not_sign_in(client):
    form = client.get("/signin")
    response = client.post("/signin", data={"token": "kpf_" + "x" * 43, "csrf_token": _csrf(form.data)})
    assert response.status_code == 401 and b"not valid" in response.data


def test_a_state_change_through_the_session_needs_the_csrf_token(client, farmer):
    form = client.get("/signin")
    client.post("/signin", data={"token": farmer.token, "csrf_token": _csrf(form.data)})
    refused = client.post("/web/api/farmers/me/exit", json={})
    assert refused.status_code == 403
    assert client.get("/web/api/farmers/me").get_json()["status"] == "awaiting_funding"
    token = _csrf(client.get("/me").data)
    accepted = client.post("/web/api/farmers/me/exit", json={}, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 202 and accepted.get_json()["status"] == "leaving"


def test_pages_for_a_role_send_anyone_else_to_sign_in(client):
    for path in ("/me", "/pooler", "/audit", "/audit/blocks/5"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["Location"] == "/signin"


def test_joining_shows_the_new_token_once_and_signs_the_browser_in(client, pooler):
    from stellar_sdk import Keypair

    token = _csrf(client.get("/join").data)
    response = client.post("/join", headers={"X-CSRF-Token": token}, json={
        "payout_address": Keypair.random().public_key, "pooler_id": pooler.id, "stake_bps": 5000})
    assert response.status_code == 201 and response.get_json()["api_token"].startswith("kpf_")
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/web/api/farmers/me").status_code == 200


def test_the_api_allows_no_cross_site_origin_by_default(client):
    response = client.get("/api/v1/poolers", headers={"Origin": "https://farm.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.fixture
def cors_client(db, api_settings):
    import dataclasses

    app = create_app(dataclasses.replace(api_settings, cors_origins=("https://farm.example",)))
    return app.test_client()


def test_the_api_answers_allowed_origins_and_their_preflight(cors_client):
    preflight = cors_client.options("/api/v1/farmers/me", headers={
        "Origin": "https://farm.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://farm.example"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    other = cors_client.get("/api/v1/poolers", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Access-Control-Allow-Origin" not in cors_client.get("/", headers={"Origin": "https://farm.example"}).headers


def test_the_qr_code_is_an_svg_of_a_valid_address_only(client, farmer):
    address = farmer.data["custodial_address"]
    response = client.get(f"/qr/{address}.svg")
    assert response.status_code == 200 and response.content_type == "image/svg+xml"
    assert b"<svg" in response.data
    assert client.get("/qr/GNOTANADDRESS.svg").status_code == 404


def test_the_session_door_passes_query_parameters_to_the_api(client, farmer):
    form = client.get("/signin")
    client.post("/signin", data={"token": farmer.token, "csrf_token": _csrf(form.data)})
    assert client.get("/web/api/farmers/me/history?limit=3").get_json()["limit"] == 3
    assert client.get("/web/api/farmers/me/history?limit=0").status_code == 400  # the API's own validation
