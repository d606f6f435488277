"""The browser's sign-in: the API token in an HttpOnly, SameSite cookie, and CSRF tokens bound to it.

The cookie holds the token itself (the server keeps nothing): it is never readable by
scripts, never sent cross-site, and `Secure` unless the page is plain HTTP on a loopback
host. CSRF tokens are an HMAC of the session's secret (the token, or a random anonymous
nonce before sign-in), so a form from another site can neither read nor forge one.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import Response, request

from web.auth import ROLE_OF_PREFIX

SESSION_COOKIE = "kalepool_session"
ANONYMOUS_COOKIE = "kalepool_anon"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 30 * 24 * 3600
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def session_token() -> str | None:
    """The signed-in token, None when the browser is not signed in."""
    return request.cookies.get(SESSION_COOKIE) or None


def session_role() -> str | None:
    """farmer, pooler or auditor, from the token's prefix (the API still checks the token itself)."""
    token = session_token()
    return ROLE_OF_PREFIX.get(token[:4]) if token else None


def secure_cookies() -> bool:
    """Secure cookies everywhere except plain HTTP on a loopback host (a local `up`)."""
    return request.is_secure or (urlsplit(f"//{request.host}").hostname or "") not in _LOOPBACK_HOSTS


def _set(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Strict",
                        secure=secure_cookies(), path="/")


def sign_in(response: Response, token: str) -> None:
    """Keep `token` as this browser's session."""
    _set(response, SESSION_COOKIE, token, SESSION_SECONDS)


def sign_out(response: Response) -> None:
    """Forget the session (the token itself stays valid; the API rotates tokens)."""
    response.delete_cookie(SESSION_COOKIE, path="/", samesite="Strict", secure=secure_cookies(), httponly=True)


def _csrf_seed() -> str | None:
    return session_token() or request.cookies.get(ANONYMOUS_COOKIE)


def csrf_for(seed: str) -> str:
    """The CSRF token that goes with a session seed."""
    return hmac.new(seed.encode(), b"kalepool-csrf", hashlib.sha256).hexdigest()


def csrf_token() -> str:
    """The CSRF token for forms and fetches of this browser (creates the anonymous seed if needed)."""
    seed = _csrf_seed()
    if seed is None:
        seed = request.environ.setdefault("kalepool.anon_seed", secrets.token_urlsafe(32))
    return csrf_for(seed)


def keep_anonymous_seed(response: Response) -> None:
    """Store the anonymous seed a page's CSRF token was made from, if one was made."""
    seed = request.environ.get("kalepool.anon_seed")
    if seed is not None:
        _set(response, ANONYMOUS_COOKIE, seed, None)


def csrf_ok() -> bool:
    """Whether this state-changing request carries the CSRF token of its own browser."""
    seed = _csrf_seed()
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    if seed is None or not sent:
        return False
    return hmac.compare_digest(csrf_for(seed), sent)
