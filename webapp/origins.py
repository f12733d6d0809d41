"""Who may talk to the server: which pages may open a Socket.IO connection (the server's
own, plus any listed), and under which host names it answers at all.

Engine.IO accepts only the page's own origin by default, but a list of origins replaces
that default, which would lock out the server's own pages; so a list is turned into a
check that accepts both. The ``Host`` check stops DNS rebinding: a web site whose name
was pointed at this server would otherwise pass the origin check as its own page.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def same_origin_or(extra: list[str]):
    """Accept the page's own origin (as Engine.IO's default does) and the ``extra`` ones.

    A plain list would replace the default, and the server's own pages would be refused.
    """
    extra = {url.rstrip("/") for url in extra}

    def allowed(origin: str | None, environ: dict) -> bool:
        scheme, host = environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", "")
        own = {f"{scheme}://{host}"}
        if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
            scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
            host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
            own.add(f"{scheme}://{host}")
        return origin in own or origin in extra

    return allowed


def host_names(listen_host: str, extra_origins: list[str] | None) -> set[str]:
    """Host names (besides IP literals and localhost) this server answers to: the name it
    was told to listen on, the hosts of ``--allow-origin`` URLs, and, when it listens
    beyond this machine, the machine's own names."""
    names = {urlsplit(url).hostname or "" for url in extra_origins or []}
    if listen_host not in ("0.0.0.0", "::", "") and not _is_ip(listen_host):
        names.add(listen_host)
    if not _is_loopback(listen_host):
        hostname = socket.gethostname()
        names |= {hostname, socket.getfqdn(), f"{hostname}.local"}
    return {name.lower().rstrip(".") for name in names if name}


def host_allowed(host_header: str, names: set[str]) -> bool:
    """May a request with this ``Host`` header reach us? An IP address or ``localhost``
    always may (a page served from an address is that address's own); another name must
    be one of ``names``. A rebinding name (``evil.example`` pointed at us) is none of these."""
    host = urlsplit(f"//{host_header}").hostname if host_header else None
    if not host:
        return False
    host = host.lower().rstrip(".")
    return _is_ip(host) or host == "localhost" or host.endswith(".localhost") or host in names


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"
