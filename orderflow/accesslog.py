"""gunicorn's access log without what the input gate keeps out of every other record.

The request line is logged as ``METHOD /path PROTOCOL`` with the query string left out
(search terms, tokens and refused card numbers travel there) and any card number in the path
replaced by a marker; the referrer loses its query string too. ``gunicorn.conf.py`` names
this class as ``logger_class``.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from orderflow.carddata import redact_card_numbers


def loggable_path(path: str) -> str:
    path = redact_card_numbers(path or "/")
    return "".join(char if char.isprintable() else "?" for char in path)


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = loggable_path(environ.get("PATH_INFO", ""))
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["U"] = path
        atoms["q"] = ""
        referer = atoms.get("f") or "-"
        atoms["f"] = loggable_path(referer.split("?", 1)[0]) if referer != "-" else "-"
        return atoms
