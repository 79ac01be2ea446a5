"""Where the status page, its JSON API and `/metrics` are served, and to
whom, for `pycron web` and `pycron daemon --http`: the address, the token,
the listening socket, and the page of a live daemon. Without click, as
`pycron daemon` starts without it.

`pycron.web`, and the libraries of the `web` extra with it, are loaded here
only, and only once a command is about to serve: `pycron daemon` without
`--http` never loads them.
"""

from __future__ import annotations

import errno
import gc
import ipaddress
import re
import sys
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from pycron.cli.given import open_shared_history, shared_history_url
from pycron.errors import UsageError, WebError

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from pycron.daemon import Daemon, Served
    from pycron.store import Store

LOOPBACK = "127.0.0.1"
TOKEN_ENV = "PYCRON_HTTP_TOKEN"
# A token is sent as it is in a header and in a query: characters that need no escaping in either.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~-]+")
INSTALL = "pip install 'pycron-cli[web]'"
# Seconds a thread may hold the interpreter's lock while another waits for it, in a
# daemon that serves its page (Python's default: 5 ms, which a due job could wait).
SERVING_SWITCH_INTERVAL = 0.001

# What to do when the address cannot be listened on, by the system's reason.
_LISTEN_ADVICE = {
    errno.EADDRINUSE: "another program listens there: stop it, or give another port "
    "(0: any free one)",
    errno.EADDRNOTAVAIL: "it is not an address of this machine: give one of its addresses, "
    "or 0.0.0.0 ([::] for IPv6) for all of them",
    errno.EACCES: "ports below 1024 need privileges: give a port of 1024 or above",
}


class Address(NamedTuple):
    """Where to serve: an IP address (IPv4, or IPv6 without brackets) and a port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def loopback(self) -> bool:
        """Whether only this machine can connect to it."""
        return ipaddress.ip_address(self.host).is_loopback


def parse_address(text: str) -> Address:
    """`[HOST]:PORT`, or PORT alone: HOST is an IPv4 address, an IPv6 address
    in brackets or `localhost`, 127.0.0.1 when left out; PORT 0 is any free
    port."""
    host, colon, port_text = text.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    if bracketed:
        host = host[1:-1]
    if (not colon and not text.isdigit()) or (not bracketed and ":" in host):
        raise UsageError(
            f"'{text}' is not [HOST]:PORT: write it as 127.0.0.1:8765, [::1]:8765, "
            "0.0.0.0:8765 or :8765"
        )
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        raise UsageError(f"'{text}': the port must be a number from 0 to 65535")
    host = LOOPBACK if host in ("", "localhost") else host
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(
            f"'{text}': '{host}' is not an IP address: give 127.0.0.1 (this machine only), "
            "an address of this machine, or 0.0.0.0 ([::] for IPv6) for all of them"
        ) from None
    if bracketed != (ip.version == 6):
        raise UsageError(f"'{text}': write an IPv6 address in brackets, as in [::1]:8765")
    return Address(str(ip), int(port_text))


def http_access(
    address: Address | None, token: str | None, *, token_given: bool, insecure: bool
) -> str | None:
    """The token requests must show (None: none), from the `--http` options
    (`token_given`: `--http-token` is on the command line, not only in
    TOKEN_ENV); UsageError for options that do not go together, or an
    address others can reach that is served without a word about who may
    read it."""
    if address is None:
        if token_given or insecure:
            raise UsageError("--http-token and --http-insecure go with --http: add --http ADDRESS")
        return None
    if token is not None and insecure:
        raise UsageError(
            f"--http-insecure serves without a token, but one is given (--http-token or "
            f"{TOKEN_ENV}): give one of them"
        )
    if token is not None and not TOKEN_PATTERN.fullmatch(token):
        raise UsageError(
            "--http-token: use letters, digits and - . _ ~ only, which read the same in a "
            "header and in an address (`openssl rand -hex 16` makes one)"
        )
    if token is None and not insecure and not address.loopback:
        raise UsageError(
            f"--http {address}: other machines can reach this address: add --http-token "
            f"TOKEN (or set {TOKEN_ENV}) so that only those with the token read the page, "
            "or --http-insecure to let anyone who can connect read it"
        )
    return token


def need_web(what: str) -> None:
    """WebError, saying what to install, if the `web` extra is not installed."""
    try:
        import pycron.web.app  # noqa: PLC0415, F401 - the optional extra, loaded only to serve
    except ModuleNotFoundError as error:
        missing = (error.name or "a library").split(".")[0]
        if missing == "pycron":
            raise
        raise WebError(
            f"{what}: the status page needs the web extra ({missing} is not installed): {INSTALL}"
        ) from None


def listen(address: Address) -> socket.socket:
    """A socket listening on `address`; WebError, saying why and what to do, if it cannot."""
    from pycron.web.server import bind  # noqa: PLC0415 - the optional extra

    try:
        return bind(address.host, address.port)
    except OSError as error:
        advice = _LISTEN_ADVICE.get(error.errno or 0, "give another address")
        reason = error.strerror or str(error)
        raise WebError(f"--http {address}: cannot listen there: {reason}; {advice}") from None


def shared(cluster: str | None) -> Callable[[], Store] | None:
    """What opens, at each look of a page, the history that cluster `cluster`
    shares (see `shared_history_url`); None: the page reads the state
    directory's."""
    url = shared_history_url(cluster)
    return None if url is None else partial(open_shared_history, url)


def daemon_page(address: Address, token: str | None) -> Callable[[Daemon], Served]:
    """The status page of a daemon, as `serve(..., http=)` takes it: the
    address is listened on now (a taken port ends the command before the
    daemon starts); the page shows the daemon's own state and its history
    (its cluster's, if that shares one), and its troubles go to the daemon's
    log (event `http`)."""
    need_web("--http")
    from pycron.web.app import create_app  # noqa: PLC0415 - the optional extra
    from pycron.web.server import HttpServer  # noqa: PLC0415
    from pycron.web.source import daemon_source  # noqa: PLC0415

    sock = listen(address)

    def page(daemon: Daemon) -> Served:
        settings = daemon.settings

        def report(level: str, message: str) -> None:
            daemon.log("http", level, message=message)

        # The page's requests run Python code in the server's threads, holding the
        # interpreter's lock; a job's due time must not wait for them for long.
        sys.setswitchinterval(SERVING_SWITCH_INTERVAL)
        # A collection of the oldest generation stops every thread, the loop's too,
        # and requests allocate enough to start some: what the daemon holds by now
        # (its modules, the web stack, the jobs as loaded) is left out of them.
        gc.freeze()
        source = daemon_source(
            daemon, settings.state_dir, settings.zone, daemon.clock, shared(settings.cluster)
        )
        return HttpServer(create_app(source, token=token), sock, report)

    return page
