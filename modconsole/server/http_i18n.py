"""``GET /i18n/LANG.json``: the message catalogue the browser pages read, for LANG in ar, zh, en, fr, ru, es.

Served on the websocket's host and port, by websockets' own HTTP handling (a GET, no body), from the
compiled files beside the ``.po`` (modconsole/i18n.py). The shape: ``{msgid: msgstr}``; a plural entry maps
its singular id to ``{CLDR category: form}`` (pick it with ``Intl.PluralRules(lang).select(n)``, else
``other``); ``""`` holds ``language``, ``direction`` (``rtl`` for Arabic) and ``plural_categories``.

This module owns that route. It must never read anything but the compiled catalogue.
"""

from __future__ import annotations

import functools
import hashlib
import http
import re

from websockets.datastructures import Headers
from websockets.http11 import Response

from modconsole.i18n import LANGUAGES, catalogue_json

I18N_PATH = re.compile(r"^/i18n/([a-z]{2})\.json$")


@functools.cache
def _catalogue(language: str) -> tuple[bytes, str] | None:
    """The catalogue's bytes and their entity tag, read once."""
    body = catalogue_json(language)
    return (body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"') if body is not None else None


def i18n_response(path: str, if_none_match: str | None = None) -> Response | None:
    """The answer for ``path`` when it is a catalogue's (404 naming the languages for one we lack; 304 when
    ``if_none_match`` is its entity tag), else None."""
    if not path.startswith("/i18n/"):
        return None
    found = I18N_PATH.match(path)
    catalogue = _catalogue(found.group(1)) if found else None
    if catalogue is None:
        text = f"no such catalogue; the languages are {', '.join(LANGUAGES)}: /i18n/LANG.json\n".encode()
        return Response(http.HTTPStatus.NOT_FOUND, "Not Found", Headers([("Content-Type", "text/plain")]), text)
    body, etag = catalogue
    headers = Headers(
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Cache-Control", "no-cache"),  # revalidated: a server upgraded in place serves the new words at once
            ("ETag", etag),
            ("X-Content-Type-Options", "nosniff"),
        ]
    )
    if if_none_match == etag:
        return Response(http.HTTPStatus.NOT_MODIFIED, "Not Modified", headers, b"")
    return Response(http.HTTPStatus.OK, "OK", headers, body)
