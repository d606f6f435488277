"""The web app's routes: HTML pages (shells the page scripts fill from the JSON API), sign-in and
sign-out, the join form, a QR code, and the session's door to the API (`/web/api/...`)."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request

from web.auth import ROLE_OF_PREFIX
from web.errors import error_response
from web.pages.explorer import explorer_tx_url
from web.pages.gateway import call_api, relay
from web.pages.qr import address_svg, is_account
from web.pages.session import (csrf_for, csrf_ok, csrf_token, keep_anonymous_seed, session_role, session_token,
                               sign_in, sign_out)
from web.services import services

blueprint = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/assets")
HOME_OF_ROLE = {"farmer": "/me", "pooler": "/pooler", "auditor": "/audit"}
# The cheapest read that proves a token of each role is valid.
_PROOF_OF_ROLE = {"farmer": "/farmers/me", "pooler": "/pooler/me", "auditor": "/audit/discrepancies"}
SESSION_API = "/web/api"


def _page(template: str, status: int = 200, **context: Any) -> Response:
    """A page's HTML with what every page needs: its CSRF token, the role signed in, the network."""
    settings = services().settings
    response = Response(render_template(
        f"pages/{template}", csrf_token=csrf_token(), role=session_role(), network=settings.network_name,
        explorer=explorer_tx_url(settings) or "", session_api=SESSION_API, **context), status=status)
    response.headers["Cache-Control"] = "no-store"
    keep_anonymous_seed(response)
    return response


def _for(role: str, template: str) -> Callable[..., Response]:
    """A page only a signed-in `role` sees; anyone else is sent to sign in."""

    def view(**path: Any) -> Response:
        if session_role() != role:
            return redirect("/signin", 303)
        return _page(template, **path)

    view.__name__ = template.replace(".html", "").replace("/", "_")
    return view


def _refuse_csrf() -> Response:
    """403 in the API's error shape: the request lacks its browser's CSRF token."""
    return error_response(403, "csrf", "the form is stale or from another site; reload the page")


def _signed_in_by(answer: Response, success: int) -> Response:
    """Relay an API answer that issues a token; on success, sign in with it and add the new CSRF token."""
    if answer.status_code != success:
        return relay(answer)
    payload = answer.get_json()
    response = jsonify({**payload, "csrf_token": csrf_for(payload["api_token"])})
    response.status_code = success
    response.headers["Cache-Control"] = "no-store"  # it carries the new token
    sign_in(response, payload["api_token"])
    return response


@blueprint.get("/")
def home() -> Response:
    return _page("home.html")


@blueprint.get("/join")
def join() -> Response:
    return _page("join.html")


@blueprint.post("/join")
def join_submit() -> Response:
    """Register through the API and sign this browser in as the new farmer."""
    if not csrf_ok():
        return _refuse_csrf()
    return _signed_in_by(call_api("POST", "/farmers", None, request.get_json(silent=True)), 201)


@blueprint.get("/signin")
def signin() -> Response:
    return _page("signin.html")


@blueprint.post("/signin")
def signin_submit() -> Response:
    """Sign in with an API token pasted in the form: checked against the API, never echoed back."""
    if not csrf_ok():
        return _page("signin.html", 403, error="The form was stale; please try again.")
    token = request.form.get("token", "").strip()
    role = ROLE_OF_PREFIX.get(token[:4])
    if role is None or call_api("GET", _PROOF_OF_ROLE[role], token).status_code != 200:
        return _page("signin.html", 401, error="That token is not valid.")
    response = redirect(HOME_OF_ROLE[role], 303)
    sign_in(response, token)
    return response


@blueprint.post("/signin/stellar")
def signin_stellar() -> Response:
    """Exchange a signed SEP-10 challenge for a new farmer token (the old one stops working)."""
    if not csrf_ok():
        return _refuse_csrf()
    return _signed_in_by(call_api("POST", "/auth/token", None, request.get_json(silent=True)), 200)


@blueprint.post("/signout")
def signout() -> Response:
    if not csrf_ok():
        return _page("signin.html", 403, error="The form was stale; please try again.")
    response = redirect("/", 303)
    sign_out(response)
    return response


blueprint.add_url_rule("/me", view_func=_for("farmer", "dashboard.html"))
blueprint.add_url_rule("/pooler", view_func=_for("pooler", "pooler.html"))
blueprint.add_url_rule("/audit", view_func=_for("auditor", "audit.html"))
blueprint.add_url_rule("/audit/farmers/<int:farmer_id>", view_func=_for("auditor", "audit_farmer.html"))
blueprint.add_url_rule("/audit/blocks/<int:block_index>", view_func=_for("auditor", "block.html"))


@blueprint.get("/qr/<address>.svg")
def qr(address: str) -> Response:
    if not is_account(address):
        abort(404)
    return Response(address_svg(address), content_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


@blueprint.route(f"{SESSION_API}/<path:rest>", methods=["GET", "POST", "PATCH", "DELETE"])
def session_api(rest: str) -> Response:
    """The JSON API as the signed-in browser: the session's token goes in; state changes need the CSRF token."""
    if request.method != "GET" and not csrf_ok():
        return _refuse_csrf()
    body = request.get_json(silent=True) if request.method in ("POST", "PATCH") else None
    response = relay(call_api(request.method, f"/{rest}", session_token(), body,
                                request.query_string.decode("latin-1")))
    response.headers["Cache-Control"] = "no-store"
    return response
