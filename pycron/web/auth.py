"""Who may read the status page, its API and `/metrics`, and what every
answer carries.

With a token, every request must show it: an `Authorization: Bearer TOKEN`
header (programs, Prometheus), or `?token=TOKEN` in the address (a person's
browser). A page opened with `?token=` sets a cookie that stands for the
token, so that the page's own links and refreshes, which do not repeat it,
keep working. Only GET and HEAD are served: nothing here changes anything.
Every response, errors included, carries headers that let a browser run
only the scripts and styles the package ships, never frame the page, and
never send its address (which may hold the token) to another site.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts, styles, fonts and images come from the page's own address only:
# no inline script, no CDN, no plugin; no framing; forms (filters) stay here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
READ_METHODS = frozenset({"GET", "HEAD"})
# Where the application answers in JSON, errors included.
API_PATHS = ("/api/", "/healthz")
TOKEN_PARAMETER = "token"
# What the cookie's value is derived from: the cookie stands for the token
# without holding it, so a cookie read off a disk does not give the token away.
COOKIE_PURPOSE = b"pycron status page cookie"


class Guard:
    """ASGI middleware in front of the whole application: the token (if
    any), the read-only methods, and the security headers."""

    def __init__(self, app: ASGIApp, token: str | None = None) -> None:
        self.app = app
        self.token = token.encode() if token is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra: dict[str, str] = dict(SECURITY_HEADERS)
        send = _adding(send, extra)
        if self.token is not None:
            verdict = self._check(scope)
            if isinstance(verdict, Response):
                await verdict(scope, receive, send)
                return
            scope, cookie = verdict
            if cookie is not None:
                extra["set-cookie"] = cookie
        if scope["method"] not in READ_METHODS:
            message = f"{scope['method']} is not allowed: this server is read-only (GET and HEAD)"
            refusal = _refusal(scope, 405, message, {"Allow": "GET, HEAD"})
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> Response | tuple[Scope, str | None]:
        """The 401 answer to a request without the token; else the request
        as the application sees it (without the token in its query) and the
        cookie to set (when the token came in the query)."""
        assert self.token is not None
        headers = Headers(scope=scope)
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self._matches(credentials.strip()):
            return scope, None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [value for name, value in query if name == TOKEN_PARAMETER]
        rest = [(name, value) for name, value in query if name != TOKEN_PARAMETER]
        if given and self._matches(given[-1]):
            stripped = {**scope, "query_string": urlencode(rest).encode("latin-1")}
            return stripped, self._cookie(scope)
        cookie = cookie_parser(headers.get("cookie", "")).get(_cookie_name(scope))
        if cookie is not None and hmac.compare_digest(cookie.encode(), self._session()):
            return scope, None
        presented = bool(given or credentials or cookie is not None)
        challenge = 'Bearer realm="pycron"' + (', error="invalid_token"' if presented else "")
        message = (
            "this pycron serves only those who show its token: open the page as "
            "...?token=TOKEN, or send the header 'Authorization: Bearer TOKEN'"
        )
        return _refusal(scope, 401, message, {"WWW-Authenticate": challenge})

    def _matches(self, given: str) -> bool:
        assert self.token is not None
        return hmac.compare_digest(given.encode(), self.token)

    def _session(self) -> bytes:
        """The cookie's value: derived from the token, not the token itself."""
        assert self.token is not None
        return hmac.new(self.token, COOKIE_PURPOSE, hashlib.sha256).hexdigest().encode()

    def _cookie(self, scope: Scope) -> str:
        """The Set-Cookie value that lets the browser in without the token in
        each address: for this server's port (cookies ignore ports, and two
        pycrons on one machine have two tokens), for this browser session,
        out of reach of scripts and of requests started by other sites."""
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        value = self._session().decode()
        return f"{_cookie_name(scope)}={value}; Path=/; HttpOnly; SameSite=Strict{secure}"


def _refusal(scope: Scope, status: int, message: str, headers: dict[str, str]) -> Response:
    """The guard's answer to a request it does not let through: in JSON
    (`{"error": ...}`) under the API's paths and the health check, whose
    answers all are; in text
    elsewhere, for a person or a scraper to read."""
    if scope["path"].startswith(API_PATHS):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    return PlainTextResponse(f"{status} {message}\n", status_code=status, headers=headers)


def _cookie_name(scope: Scope) -> str:
    server = scope.get("server")
    return f"pycron-{server[1]}" if server else "pycron"


def _adding(send: Send, headers: dict[str, str]) -> Send:
    """`send`, with `headers` added to the response's start (read when it
    starts, so that what is added to them meanwhile is sent too). A header
    the response sets itself is kept: a route may ask for more than the
    baseline (the pages' stricter policy)."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            response = MutableHeaders(scope=message)
            for name, value in headers.items():
                if name == "set-cookie":
                    response.append(name, value)
                elif name not in response:
                    response[name] = value
        await send(message)

    return sending


def middleware(token: str | None) -> list[Middleware]:
    """The middleware of the application: the guard, with the token
    requests must show (None: anyone who can connect may read)."""
    return [Middleware(Guard, token=token)]
