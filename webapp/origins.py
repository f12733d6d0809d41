"""Which pages may open a Socket.IO connection: the server's own, plus any listed.

Engine.IO accepts only the page's own origin by default, but a list of origins replaces
that default, which would lock out the server's own pages; so a list is turned into a
check that accepts both.
"""

from __future__ import annotations


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
